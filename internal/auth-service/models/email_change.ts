/** E-mail change requests (table `email_change_requests`) and the schemas of the account routes. */
import { Type, type Static } from '@sinclair/typebox';
import { Page, PageQuery, StringEnum, Timestamp, Uuid } from '../../shared/utils/http_schemas.js';
import { SECURITY_EVENTS, type SecurityEventRow } from './security_event.js';

export type EmailChangeStatus = 'pending' | 'completed' | 'cancelled' | 'superseded' | 'failed';

export interface EmailChangeRow {
  id: string;
  user_id: string;
  new_email: string;
  session_id: string | null;
  status: EmailChangeStatus;
  old_confirmed_at: Date | null;
  new_confirmed_at: Date | null;
  created_at: Date;
  expires_at: Date;
  finished_at: Date | null;
}

/** What an e-mail-change token is about (`one_time_tokens.details`); never the token itself. */
export interface EmailChangeTokenDetails {
  requestId: string;
  newEmail: string;
}

const OneTimeToken = Type.String({ minLength: 10, maxLength: 200 });

export const EmailChangeBody = Type.Object(
  { newEmail: Type.String({ format: 'email', minLength: 3, maxLength: 254, examples: ['ada.new@example.com'] }) },
  { additionalProperties: false },
);
export type EmailChangeBody = Static<typeof EmailChangeBody>;

export const EmailChangeTokenBody = Type.Object({ token: OneTimeToken }, { additionalProperties: false });
export type EmailChangeTokenBody = Static<typeof EmailChangeTokenBody>;

export const EmailChangeStateSchema = Type.Object({
  state: StringEnum(['awaiting_other', 'completed'] as const, {
    description: '`awaiting_other`: this address is confirmed, the other one has not answered yet; `completed`: the address is changed',
  }),
});

export const EmailChangeCancelledSchema = Type.Object({ state: StringEnum(['cancelled'] as const) });

// ---------------------------------------------------------------------------------------------
// Security activity

export const SecurityEventSchema = Type.Object({
  id: Uuid,
  event: StringEnum(SECURITY_EVENTS),
  createdAt: Timestamp,
  ip: Type.Union([Type.String(), Type.Null()]),
  userAgent: Type.Union([Type.String(), Type.Null()]),
  sessionId: Type.Union([Uuid, Type.Null()]),
  details: Type.Record(Type.String(), Type.Unknown()),
});
export type SecurityEventView = Static<typeof SecurityEventSchema>;

export const AdminSecurityEventSchema = Type.Object({ ...SecurityEventSchema.properties, userId: Type.Union([Uuid, Type.Null()]) });
export type AdminSecurityEventView = Static<typeof AdminSecurityEventSchema>;

export const SecurityEventPage = Page(SecurityEventSchema);
export const AdminSecurityEventPage = Page(AdminSecurityEventSchema);

export const SecurityEventQuery = Type.Object(
  { event: Type.Optional(StringEnum(SECURITY_EVENTS)), ...PageQuery },
  { additionalProperties: false },
);
export type SecurityEventQuery = Static<typeof SecurityEventQuery>;

export const AdminSecurityEventQuery = Type.Object(
  { userId: Type.Optional(Uuid), event: Type.Optional(StringEnum(SECURITY_EVENTS)), ...PageQuery },
  { additionalProperties: false },
);
export type AdminSecurityEventQuery = Static<typeof AdminSecurityEventQuery>;

export function toSecurityEventView(row: SecurityEventRow): SecurityEventView {
  return {
    id: row.id,
    event: row.event,
    createdAt: row.created_at.toISOString(),
    ip: row.ip,
    userAgent: row.user_agent,
    sessionId: row.session_id,
    details: row.details ?? {},
  };
}

export function toAdminSecurityEventView(row: SecurityEventRow): AdminSecurityEventView {
  return { ...toSecurityEventView(row), userId: row.user_id };
}
