import { Type, type Static } from '@sinclair/typebox';
import { Timestamp, Uuid } from '../../shared/utils/http_schemas.js';

export interface SessionRow {
  id: string;
  user_id: string;
  secret: Buffer | Uint8Array;
  generation: number;
  rotated_at: Date | null;
  user_agent: string | null;
  ip: string | null;
  created_at: Date;
  last_used_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  /** The last time the holder proved who they are (login, re-authentication, MFA): `auth_time`. */
  authenticated_at: Date;
  aal: 'aal1' | 'aal2';
  amr: string[];
}

export const SessionSchema = Type.Object(
  {
    id: Uuid,
    userAgent: Type.Union([Type.String(), Type.Null()]),
    ip: Type.Union([Type.String(), Type.Null()]),
    createdAt: Timestamp,
    lastUsedAt: Timestamp,
    expiresAt: Timestamp,
    current: Type.Boolean({ description: 'The session of the token that asked' }),
  },
  { $id: 'Session' },
);
export type SessionView = Static<typeof SessionSchema>;

export function toSessionView(row: SessionRow, currentId: string | undefined): SessionView {
  return {
    id: row.id,
    userAgent: row.user_agent,
    ip: row.ip,
    createdAt: row.created_at.toISOString(),
    lastUsedAt: row.last_used_at.toISOString(),
    expiresAt: row.expires_at.toISOString(),
    current: row.id === currentId,
  };
}
