/** A learner's progress in a course, and certificates (the public verification view). */
import { Type, type Static } from '@sinclair/typebox';
import { StringEnum, Timestamp, Uuid } from '../../shared/utils/http_schemas.js';
import { isoTime } from './common.js';

/** percent = floor(100 * min(c, t) / t), 0 when there are no lessons: never below 0, never above 100. */
export function percentOf(completed: number, lessonCount: number): number {
  if (!(lessonCount > 0)) return 0;
  const c = Math.max(0, Math.min(completed, lessonCount));
  return Math.floor((100 * c) / lessonCount);
}

export const ProgressSchema = Type.Object({
  courseId: Uuid,
  completedLessons: Type.Integer({ minimum: 0 }),
  lessonCount: Type.Integer({ minimum: 0 }),
  percent: Type.Integer({ minimum: 0, maximum: 100 }),
  lastLessonId: Type.Union([Uuid, Type.Null()], { description: 'The lesson last marked done or not done' }),
  nextLessonId: Type.Union([Uuid, Type.Null()], { description: 'The first lesson (curriculum order) not completed; null when all are' }),
  completedAt: Type.Union([Timestamp, Type.Null()]),
  certificateId: Type.Union([Type.String(), Type.Null()], { description: 'The certificate\'s verification id (GET /api/v1/certificates/{id})' }),
});
export type ProgressDto = Static<typeof ProgressSchema>;

export const VerificationIdParams = Type.Object({
  verificationId: Type.String({ minLength: 16, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: 'The random verification id printed on the certificate' }),
});
export type VerificationIdParams = Static<typeof VerificationIdParams>;

export const CERTIFICATE_STATUSES = ['valid', 'revoked'] as const;

export const CertificateSchema = Type.Object({
  verificationId: Type.String(),
  learnerName: Type.String(),
  courseTitle: Type.String(),
  instructorName: Type.String(),
  durationSeconds: Type.Integer({ minimum: 0 }),
  issuedAt: Timestamp,
  status: StringEnum(CERTIFICATE_STATUSES),
});
export type CertificateDto = Static<typeof CertificateSchema>;

export interface CertificateRow {
  id: string;
  verification_id: string;
  course_id: string;
  user_id: string;
  learner_name: string;
  course_title: string;
  instructor_name: string;
  duration_seconds: number;
  status: 'valid' | 'revoked';
  issued_at: Date | string;
}

export function toCertificateDto(row: CertificateRow): CertificateDto {
  return {
    verificationId: row.verification_id,
    learnerName: row.learner_name,
    courseTitle: row.course_title,
    instructorName: row.instructor_name,
    durationSeconds: Number(row.duration_seconds),
    issuedAt: isoTime(row.issued_at),
    status: row.status,
  };
}
