import { randomBytes } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';

/** Time-ordered ids (UUID v7), so primary-key indexes stay append-mostly. */
export function newId(): string {
  return uuidv7();
}

/** RFC 9562 versions 1 to 8 and the max UUID; not the nil UUID (what `uuid`'s validate and version >= 1 accept). */
const UUID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}|ffffffff-ffff-ffff-ffff-ffffffffffff)$/i;

export function isUuid(value: string): boolean {
  return value.length === 36 && UUID.test(value);
}

/**
 * The text form PostgreSQL and every client agree on: 8-4-4-4-12 hex digits, any version. ajv-formats'
 * `uuid` also takes `urn:uuid:...`, which PostgreSQL refuses (a 500 behind a 400-shaped input);
 * server.ts puts this in its place.
 */
export const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Request ids without a random draw per request: a random prefix drawn once per process (72 bits) and
 * a counter, in the shape of a version-4 UUID (`xxxxxxxx-xxxx-4xxx-8xxx-<counter as 12 hex digits>`),
 * so logs and clients that expect a UUID keep working. Unique across replicas as long as their
 * prefixes differ (a clash of two 72-bit draws is negligible); consecutive ids of one process differ in
 * the counter only, which tells nothing a caller could not count itself.
 */
export function requestIdSource(): () => string {
  const hex = randomBytes(9).toString('hex'); // 18 digits
  const prefix = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(12, 15)}-8${hex.slice(15, 18)}-`;
  let counter = 0;
  return () => prefix + (counter++ % 0x1000000000000).toString(16).padStart(12, '0');
}
