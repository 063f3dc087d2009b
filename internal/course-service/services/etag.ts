/**
 * Strong ETags computed from the DTO, so a GET (which answers the same JSON) and a later conditional
 * PATCH or DELETE agree: `"` + the first 27 characters of base64url(sha256(JSON.stringify(dto))) + `"`.
 * That is the same hash the shared Fastify base uses for answer bodies, so an answer serialised in
 * schema order (the DTO builders keep that order) carries exactly this tag.
 */
import { createHash } from 'node:crypto';
import { HttpError } from '../../shared/utils/errors.js';

export function etagOf(dto: unknown): string {
  return `"${createHash('sha256').update(JSON.stringify(dto)).digest('base64url').slice(0, 27)}"`;
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
