import { Type, type Static } from '@sinclair/typebox';
import { PageQuery, StringEnum, Uuid } from '../../shared/utils/http_schemas.js';
import { NOTIFICATION_STATUSES } from './notification.js';

/**
 * Templates other services may ask for. Account mails (verification, reset, ...) carry one-time tokens
 * that only auth-service makes, so they are queued from inside auth-service and never through the API.
 */
export const API_TEMPLATES = ['review_created', 'review_hidden', 'enrolment_created', 'course_completed', 'course_announcement'] as const;

export const NotifyBody = Type.Object(
  {
    userId: Uuid,
    template: StringEnum(API_TEMPLATES),
    data: Type.Record(Type.String({ maxLength: 64 }), Type.Union([Type.String({ maxLength: 20000 }), Type.Number(), Type.Boolean(), Type.Null()]), {
      maxProperties: 30,
    }),
    idempotencyKey: Type.String({ minLength: 1, maxLength: 200 }),
  },
  { additionalProperties: false },
);
export type NotifyBody = Static<typeof NotifyBody>;

export const NotifyResultSchema = Type.Object({
  id: Type.Union([Uuid, Type.Null()]),
  status: StringEnum(['queued', 'duplicate', 'suppressed'] as const),
});

export const NotificationListQuery = Type.Object(
  {
    status: Type.Optional(StringEnum(NOTIFICATION_STATUSES)),
    ...PageQuery,
  },
  { additionalProperties: false },
);
export type NotificationListQuery = Static<typeof NotificationListQuery>;
