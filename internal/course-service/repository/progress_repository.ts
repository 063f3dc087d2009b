/**
 * SQL for lesson completions, the resume point and certificates. A completion is one call of
 * learning_set_completion() (migration 0014): every counter moves by delta, and only when a completion
 * row was really inserted or deleted; lock order (see enrolment_repository.ts): the enrolment row first,
 * then the lesson, then the course.
 */
import type { Queryable } from '../../shared/utils/database.js';
import type { CertificateRow } from '../models/progress.js';

const CERT_COLUMNS = `id, verification_id, course_id, user_id, learner_name, course_title, instructor_name, duration_seconds, status, issued_at`;

/** The learner's progress as learning_set_completion() (migration 0014) answers it. */
export interface CompletionResultRow {
  outcome: 'ok' | 'lesson_not_found' | 'enrolment_required';
  course_id: string | null;
  completed_lessons: number;
  lesson_count: number;
  last_lesson_id: string | null;
  next_lesson_id: string | null;
  completed_at: Date | string | null;
  certificate_id: string | null;
}

export interface CompletionWrite {
  userId: string;
  lessonId: string;
  done: boolean;
  /** The caller is an admin (sees every course's lessons). */
  seesAll: boolean;
  /** Copied into the certificate when this completion completes the course. */
  learnerName: string;
  certificateId: string;
  verificationId: string;
  eventId: string;
}

/**
 * One round trip for a completion and its answer: the function locks the enrolment, then the lesson,
 * writes or deletes the completion, moves the counters, completes the course when this was the last
 * lesson (certificate, course and daily counters, `course_completed` event) and reads the progress back.
 */
const SET_COMPLETION = {
  name: 'learning_set_completion',
  text: `SELECT outcome, course_id, completed_lessons, lesson_count, last_lesson_id, next_lesson_id, completed_at, certificate_id
           FROM learning_set_completion($1::uuid, $2::uuid, $3::boolean, $4::boolean, $5::text, $6::uuid, $7::text, $8::uuid)`,
};

/** A learner who has just completed the course without a completion of their own (see completeFinished). */
export interface FinishedLearner {
  user_id: string;
  learner_name: string;
  course_title: string;
  course_slug: string;
  instructor_name: string;
  total_duration_seconds: number;
}

export interface NewCertificate {
  id: string;
  verificationId: string;
  userId: string;
  learnerName: string;
}

export class ProgressRepository {
  constructor(private readonly db: Queryable) {}

  /**
   * Stamps completed_at on every active learner of the course who has now done every lesson but had not
   * completed it: a lesson they had not done was deleted. Runs in the lesson delete's transaction, after
   * the course's counters moved (the course row is locked). A range of enrolments_course_roster_idx.
   */
  async completeFinished(courseId: string, tx: Queryable): Promise<FinishedLearner[]> {
    const { rows } = await tx.query<FinishedLearner>(
      `UPDATE enrolments e SET completed_at = now()
         FROM courses c
        WHERE c.id = $1 AND e.course_id = $1 AND e.status = 'active' AND e.completed_at IS NULL
          AND c.lesson_count > 0 AND e.completed_lessons >= c.lesson_count
       RETURNING e.user_id, e.learner_name, c.title AS course_title, c.slug AS course_slug, c.instructor_name, c.total_duration_seconds`,
      [courseId],
    );
    return rows;
  }

  /** Issues certificates of one course in one statement (names copied now); answers the ones issued. */
  async insertCertificates(
    courseId: string,
    course: { title: string; instructorName: string; durationSeconds: number },
    certificates: NewCertificate[],
    tx: Queryable,
  ): Promise<{ user_id: string; verification_id: string }[]> {
    if (certificates.length === 0) return [];
    const { rows } = await tx.query<{ user_id: string; verification_id: string }>(
      `INSERT INTO certificates (id, verification_id, course_id, user_id, learner_name, course_title, instructor_name, duration_seconds)
       SELECT n.id, n.verification_id, $1, n.user_id, n.learner_name, $2, $3, $4
         FROM unnest($5::uuid[], $6::text[], $7::uuid[], $8::text[]) AS n(id, verification_id, user_id, learner_name)
       ON CONFLICT (course_id, user_id) DO NOTHING
       RETURNING user_id, verification_id`,
      [
        courseId, course.title, course.instructorName, course.durationSeconds,
        certificates.map((c) => c.id), certificates.map((c) => c.verificationId), certificates.map((c) => c.userId), certificates.map((c) => c.learnerName),
      ],
    );
    return rows;
  }

  /** See SET_COMPLETION. `q` must not be a transaction the caller keeps using after a failure. */
  async setCompletionCounted(w: CompletionWrite, q: Queryable = this.db): Promise<CompletionResultRow> {
    const { rows } = await q.query<CompletionResultRow>(
      SET_COMPLETION.text,
      [w.userId, w.lessonId, w.done, w.seesAll, w.learnerName, w.certificateId, w.verificationId, w.eventId],
      { name: SET_COMPLETION.name },
    );
    return rows[0]!;
  }

  /**
   * The first lesson in curriculum order (section position, lesson position) the learner has not
   * completed; null when all are (or there are none).
   */
  async nextLesson(courseId: string, userId: string, q: Queryable = this.db): Promise<string | null> {
    const { rows } = await q.query<{ id: string }>(
      `SELECT l.id FROM lessons l JOIN course_sections s ON s.id = l.section_id
        WHERE l.course_id = $1
          AND NOT EXISTS (SELECT 1 FROM lesson_completions lc WHERE lc.user_id = $2 AND lc.course_id = $1 AND lc.lesson_id = l.id)
        ORDER BY s.position, l.position, l.id
        LIMIT 1`,
      [courseId, userId],
    );
    return rows[0]?.id ?? null;
  }

  async findCertificate(courseId: string, userId: string, q: Queryable = this.db): Promise<CertificateRow | null> {
    const { rows } = await q.query<CertificateRow>(`SELECT ${CERT_COLUMNS} FROM certificates WHERE course_id = $1 AND user_id = $2`, [courseId, userId]);
    return rows[0] ?? null;
  }

  async findCertificateByVerificationId(verificationId: string, q: Queryable = this.db): Promise<CertificateRow | null> {
    const { rows } = await q.query<CertificateRow>(`SELECT ${CERT_COLUMNS} FROM certificates WHERE verification_id = $1`, [verificationId]);
    return rows[0] ?? null;
  }
}
