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
