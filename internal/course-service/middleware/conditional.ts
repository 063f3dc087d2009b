/**
 * Conditional requests (RFC 9110 section 13): the `If-Match` header a write accepts, and the ETag a
 * write's answer carries. Tags are `etagOf(dto)` (services/etag.ts), the same function the services
 * compare `If-Match` with, so "GET, then PATCH with If-Match: <its ETag>" works, and a second PATCH with
 * the old tag is 412 `precondition_failed`.
 */
import type { FastifyReply } from 'fastify';
import { IfMatchHeader } from '../../shared/utils/http_schemas.js';
import { etagOf } from '../../shared/utils/etag.js';

export const IfMatchHeaders = IfMatchHeader;
export type IfMatchHeaders = { 'if-match'?: string };

/** Headers documented on a write's answer. */
export const WriteAnswerHeaders = {
  etag: { type: 'string', description: 'Strong entity tag of the resource as it is now (use it as If-Match next time)' },
} as const;

/** Sets the answer's ETag from the DTO and returns the DTO. */
export function tagged<T>(reply: FastifyReply, dto: T): T {
  reply.header('etag', etagOf(dto));
  return dto;
}
