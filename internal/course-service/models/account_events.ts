/**
 * The internal API auth-service calls (never routed by the ingress; service token of auth-service only):
 * account events it delivers from its outbox, and a user's data for the GDPR export.
 */
import { Type, type Static } from '@sinclair/typebox';
import { StringEnum, Timestamp, Uuid } from '../../shared/utils/http_schemas.js';

/** What auth-service tells course-service when an account is purged (its outbox event). */
export const AccountEventBody = Type.Object(
  {
    eventId: Uuid,
    type: StringEnum(['account_deleted'] as const),
    userId: Uuid,
    eraseReviews: Type.Boolean({ description: 'Delete the reviews (aggregates follow) instead of keeping them anonymous' }),
    occurredAt: Type.Optional(Timestamp),
  },
  { additionalProperties: false },
);
export type AccountEventInput = Static<typeof AccountEventBody>;

export const AccountEventResultSchema = Type.Object({
  status: StringEnum(['applied', 'duplicate'] as const, { description: '`duplicate`: this event id was applied before; nothing changed' }),
});
export type AccountEventResult = Static<typeof AccountEventResultSchema>;

export const UserExportQuery = Type.Object({ userId: Uuid }, { additionalProperties: false });
export type UserExportInput = Static<typeof UserExportQuery>;

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

/** Everything course-service holds about one user, as theirs: no other person's data (no review responses, no learners). */
export const UserExportSchema = Type.Object({
  reviews: Type.Array(
    Type.Object({
      id: Uuid,
      courseId: Uuid,
      courseTitle: Nullable(Type.String()),
      authorName: Type.String(),
      rating: Type.Integer(),
      title: Nullable(Type.String()),
      body: Nullable(Type.String()),
      status: Type.String(),
      createdAt: Timestamp,
      updatedAt: Timestamp,
    }),
  ),
  enrolments: Type.Array(
    Type.Object({
      courseId: Uuid,
      courseTitle: Nullable(Type.String()),
      learnerName: Type.String(),
      status: Type.String(),
      mode: Type.String(),
      completedLessons: Type.Integer(),
      lastLessonId: Nullable(Uuid),
      enrolledAt: Timestamp,
      leftAt: Nullable(Timestamp),
      completedAt: Nullable(Timestamp),
      lastActivityAt: Timestamp,
    }),
  ),
  lessonCompletions: Type.Array(Type.Object({ lessonId: Uuid, courseId: Uuid, completedAt: Timestamp })),
  certificates: Type.Array(
    Type.Object({
      verificationId: Type.String(),
      courseId: Uuid,
      learnerName: Type.String(),
      courseTitle: Type.String(),
      instructorName: Type.String(),
      durationSeconds: Type.Integer(),
      status: Type.String(),
      issuedAt: Timestamp,
      revokedAt: Nullable(Timestamp),
    }),
  ),
  courses: Type.Array(
    Type.Object({
      id: Uuid,
      slug: Type.String(),
      title: Type.String(),
      summary: Type.String(),
      description: Type.String(),
      category: Type.String(),
      tags: Type.Array(Type.String()),
      level: Type.String(),
      language: Type.String(),
      durationMinutes: Type.Integer(),
      instructorName: Type.String(),
      status: Type.String(),
      publishedAt: Nullable(Timestamp),
      createdAt: Timestamp,
      updatedAt: Timestamp,
    }),
  ),
});
export type UserExport = Static<typeof UserExportSchema>;
