/**
 * The revocation feed (issue 18; table `revocations`, migration 0010): what course-service replicas read
 * to refuse the access tokens of ended sessions and of disabled or deleted accounts before they expire.
 */
import { Type, type Static } from '@sinclair/typebox';
import { StringEnum, Uuid } from '../../shared/utils/http_schemas.js';

export const REVOCATION_KINDS = ['session', 'user'] as const;
export type RevocationKind = (typeof REVOCATION_KINDS)[number];

export interface RevocationRow {
  /** `<xid>.<seq>`: the cursor position just after this row. */
  position: string;
  /** True when every transaction that could still add an earlier row has ended (the cursor may pass it). */
  settled: boolean;
  kind: RevocationKind;
  subject: string;
  not_before: Date;
  expires_at: Date;
}

/** `<xid>.<seq>` of the last entry read; `0.0` (or none) reads from the start. Pages hold up to 1,000 entries. */
// At most 19 and 18 digits: within xid8 and bigint, so no cursor a client can send makes the query fail.
export const RevocationCursor = Type.String({ pattern: '^[0-9]{1,19}\\.[0-9]{1,18}$', maxLength: 38, example: '7421.118' });

export const RevocationQuery = Type.Object(
  {
    after: Type.Optional(RevocationCursor),
  },
  { additionalProperties: false },
);
export type RevocationQuery = Static<typeof RevocationQuery>;

export const RevocationSchema = Type.Object({
  kind: StringEnum(REVOCATION_KINDS, { description: '`session`: the token\'s `sid`; `user`: every token of the account' }),
  subject: Uuid,
  notBefore: Type.String({ format: 'date-time', description: '`user`: tokens issued (`iat`) at or before this are refused' }),
  expiresAt: Type.String({ format: 'date-time', description: 'After this no token it names can be valid: forget the entry' }),
});
export type Revocation = Static<typeof RevocationSchema>;

export const RevocationPageSchema = Type.Object({
  items: Type.Array(RevocationSchema),
  cursor: Type.String({ description: 'Pass as `after` next time. Entries past it may come again (apply them idempotently).' }),
  more: Type.Boolean({ description: 'True when the page was full: ask again at once' }),
});
export type RevocationPage = Static<typeof RevocationPageSchema>;
