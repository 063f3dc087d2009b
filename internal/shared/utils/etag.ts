/**
 * Strong ETags. The Fastify base tags every answer with `etagHash(body)`; services compute the same tag
 * from a DTO with `etagOf(dto)` (the DTO builders keep schema order, so the serialised answer is
 * exactly `JSON.stringify(dto)`), which lets a GET and a later conditional PATCH agree.
 */
import { createHash } from 'node:crypto';
import { HttpError } from './errors.js';

/** The opaque part of a tag (without quotes). */
export function etagHash(payload: string | Buffer): string {
  return createHash('sha256').update(payload).digest('base64url').slice(0, 27);
}

export function etagOf(dto: unknown): string {
  return `"${etagHash(JSON.stringify(dto))}"`;
}

/**
 * RFC 9110 section 13.1.1: `If-Match` is `*` or a list of entity tags, compared strongly (a weak tag
 * never matches). Throws 412 when the current tag is not in the list.
 */
export function checkIfMatch(ifMatch: string | undefined, current: string): void {
  if (ifMatch === undefined) return;
  const value = ifMatch.trim();
  if (value === '*') return;
  const tags = value.split(',').map((t) => t.trim());
  if (!tags.some((t) => !t.startsWith('W/') && t === current)) throw HttpError.preconditionFailed();
}
