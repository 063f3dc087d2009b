/** Bodies and answers of account deletion and the data export (routers/gdpr_router.ts). */
import { Type, type Static } from '@sinclair/typebox';
import { Timestamp, Uuid } from '../../shared/utils/http_schemas.js';
import { ProfileSchema } from './user.js';

export const DeletionRequestBody = Type.Object(
  {
    eraseReviews: Type.Optional(
      Type.Boolean({ default: false, description: 'Delete my reviews (course ratings follow) instead of keeping them as "Deleted user"' }),
    ),
  },
  { additionalProperties: false },
);
export type DeletionRequestBody = Static<typeof DeletionRequestBody>;

export const DeletionScheduledSchema = Type.Object({
  purgeAt: Type.String({ format: 'date-time', description: 'When the account is deleted for good (now, with a grace period of 0 hours)' }),
});

export const CancelDeletionBody = Type.Object({ token: Type.String({ minLength: 10, maxLength: 200 }) }, { additionalProperties: false });
export type CancelDeletionBody = Static<typeof CancelDeletionBody>;

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

export const ExportSchema = Type.Object(
  {
    format: Type.Literal('course-platform-export/1'),
    exportedAt: Timestamp,
    profile: ProfileSchema,
    sessions: Type.Array(
      Type.Object({
        id: Uuid,
        userAgent: Nullable(Type.String()),
        ip: Nullable(Type.String()),
        createdAt: Timestamp,
        lastUsedAt: Timestamp,
        expiresAt: Timestamp,
        revokedAt: Nullable(Timestamp),
        revokedReason: Nullable(Type.String()),
        authenticatedAt: Timestamp,
        aal: Type.String(),
        amr: Type.Array(Type.String()),
      }),
      { description: 'Every session on record, ended ones too (never their secrets)' },
    ),
    securityEvents: Type.Array(
      Type.Object({
        id: Uuid,
        event: Type.String(),
        ip: Nullable(Type.String()),
        userAgent: Nullable(Type.String()),
        sessionId: Nullable(Uuid),
        details: Type.Record(Type.String(), Type.Unknown()),
        createdAt: Timestamp,
      }),
    ),
    mails: Type.Array(
      Type.Object({
        id: Uuid,
        recipient: Type.String(),
        template: Type.String(),
        locale: Type.String(),
        status: Type.String(),
        createdAt: Timestamp,
        sentAt: Nullable(Timestamp),
      }),
      { description: 'Mails sent or queued to me: which and when (their links are not repeated: they held one-time tokens)' },
    ),
    courseService: Type.Unknown({
      description:
        'What course-service holds about me, as its internal export answers it: `reviews`, `enrolments`, `lessonCompletions`, ' +
        '`certificates`, `courses` (my own, as instructor)',
    }),
  },
  { $id: 'AccountExport' },
);
export type AccountExport = Static<typeof ExportSchema>;
