import { Type, type Static } from '@sinclair/typebox';
import { StringEnum, Timestamp, Uuid } from '../../shared/utils/http_schemas.js';

export const NOTIFICATION_STATUSES = ['queued', 'sent', 'failed'] as const;
export type NotificationStatus = (typeof NOTIFICATION_STATUSES)[number];

export interface NotificationRow {
  id: string;
  user_id: string | null;
  recipient: string;
  template: string;
  locale: string;
  data: Record<string, unknown>;
  idempotency_key: string | null;
  status: NotificationStatus;
  attempts: number;
  next_attempt_at: Date;
  locked_until: Date | null;
  last_error: string | null;
  created_at: Date;
  sent_at: Date | null;
  updated_at: Date;
}

/** What an admin sees of a mail: never its data (links hold one-time tokens). */
export const NotificationSchema = Type.Object(
  {
    id: Uuid,
    userId: Type.Union([Uuid, Type.Null()]),
    recipient: Type.String(),
    template: Type.String(),
    locale: Type.String(),
    status: StringEnum(NOTIFICATION_STATUSES),
    attempts: Type.Integer(),
    lastError: Type.Union([Type.String(), Type.Null()]),
    nextAttemptAt: Timestamp,
    createdAt: Timestamp,
    sentAt: Type.Union([Timestamp, Type.Null()]),
  },
  { $id: 'Notification' },
);
export type NotificationView = Static<typeof NotificationSchema>;

export function toNotificationView(row: NotificationRow): NotificationView {
  return {
    id: row.id,
    userId: row.user_id,
    recipient: row.recipient,
    template: row.template,
    locale: row.locale,
    status: row.status,
    attempts: row.attempts,
    lastError: row.last_error,
    nextAttemptAt: row.next_attempt_at.toISOString(),
    createdAt: row.created_at.toISOString(),
    sentAt: row.sent_at?.toISOString() ?? null,
  };
}
