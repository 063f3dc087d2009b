/**
 * SQL for lesson completions, the resume point and certificates. Every counter moves by delta, and only
 * when a completion row was really inserted or deleted. Lock order (see enrolment_repository.ts): the
 * enrolment row first (EnrolmentRepository.findForUpdate), then the lesson (`lockLesson`), then the course.
 */
import type { Queryable } from '../../shared/utils/database.js';
import type { CourseStatus } from '../models/course.js';
import type { CertificateRow } from '../models/progress.js';

const CERT_COLUMNS = `id, verification_id, course_id, user_id, learner_name, course_title, instructor_name, duration_seconds, status, issued_at`;

export interface LessonRef {
  id: string;
  course_id: string;
  course_status: CourseStatus;
  course_instructor_id: string;
}

export interface NewCertificate {
  id: string;
  verificationId: string;
  courseId: string;
  userId: string;
  learnerName: string;
  courseTitle: string;
  instructorName: string;
  durationSeconds: number;
}

export class ProgressRepository {
  constructor(private readonly db: Queryable) {}

  /** The lesson's course and what access checks need of it; null for an unknown lesson. */
  async findLesson(lessonId: string, q: Queryable = this.db): Promise<LessonRef | null> {
    const { rows } = await q.query<LessonRef>(
      `SELECT l.id, l.course_id, c.status AS course_status, c.instructor_id AS course_instructor_id
         FROM lessons l JOIN courses c ON c.id = l.course_id WHERE l.id = $1`,
      [lessonId],
    );
    return rows[0] ?? null;
  }

  /**
   * Locks the lesson (FOR NO KEY UPDATE: its completion_count changes below) after the enrolment row;
   * false when it was deleted meanwhile. Holding it keeps a concurrent lesson delete waiting until this
   * completion commits, so the delete sees it and takes it off the learner's count.
   */
  async lockLesson(lessonId: string, tx: Queryable): Promise<boolean> {
    const { rows } = await tx.query(`SELECT 1 FROM lessons WHERE id = $1 FOR NO KEY UPDATE`, [lessonId]);
    return rows.length > 0;
  }

  /**
   * Marks (`done`) or unmarks the lesson for the learner; when a completion row was really inserted or
   * deleted, moves the lesson's completion_count by one. True when something changed.
   */
  async setCompletion(userId: string, lessonId: string, courseId: string, done: boolean, tx: Queryable): Promise<boolean> {
    const { rowCount } = done
      ? await tx.query(
          `INSERT INTO lesson_completions (user_id, lesson_id, course_id) VALUES ($1, $2, $3) ON CONFLICT (user_id, lesson_id) DO NOTHING`,
          [userId, lessonId, courseId],
        )
      : await tx.query(`DELETE FROM lesson_completions WHERE user_id = $1 AND lesson_id = $2`, [userId, lessonId]);
    if (rowCount === 0) return false;
    await tx.query(`UPDATE lessons SET completion_count = completion_count + $2::int WHERE id = $1`, [lessonId, done ? 1 : -1]);
    return true;
  }

  /**
   * Moves the enrolment's completed count by `delta` and records the activity; `completeNow` stamps
   * completed_at (the caller decides it once, under the enrolment lock).
   */
  async recordActivity(enrolmentId: string, lessonId: string, delta: number, completeNow: boolean, tx: Queryable): Promise<void> {
    await tx.query(
      `UPDATE enrolments
          SET completed_lessons = completed_lessons + $3::int, last_lesson_id = $2, last_activity_at = now()${completeNow ? ', completed_at = now()' : ''}
        WHERE id = $1`,
      [enrolmentId, lessonId, delta],
    );
  }

  /** The course's lesson count and what a certificate copies, as committed now. */
  async courseFacts(courseId: string, q: Queryable = this.db): Promise<{ lesson_count: number; title: string; slug: string; instructor_name: string; total_duration_seconds: number } | null> {
    const { rows } = await q.query<{ lesson_count: number; title: string; slug: string; instructor_name: string; total_duration_seconds: number }>(
      `SELECT lesson_count, title, slug, instructor_name, total_duration_seconds FROM courses WHERE id = $1`,
      [courseId],
    );
    return rows[0] ?? null;
  }

  /**
   * The first lesson in curriculum order (section position, lesson position) the learner has not
   * completed; null when all are (or there are none).
   */
  async nextLesson(courseId: string, userId: string, q: Queryable = this.db): Promise<string | null> {
    const { rows } = await q.query<{ id: string }>(
      `SELECT l.id FROM lessons l JOIN course_sections s ON s.id = l.section_id
        WHERE l.course_id = $1
          AND NOT EXISTS (SELECT 1 FROM lesson_completions lc WHERE lc.user_id = $2 AND lc.lesson_id = l.id)
        ORDER BY s.position, l.position, l.id
        LIMIT 1`,
      [courseId, userId],
    );
    return rows[0]?.id ?? null;
  }

  /** Issues the certificate once per (course, learner); null when one exists already. */
  async insertCertificate(c: NewCertificate, tx: Queryable): Promise<CertificateRow | null> {
    const { rows } = await tx.query<CertificateRow>(
      `INSERT INTO certificates (id, verification_id, course_id, user_id, learner_name, course_title, instructor_name, duration_seconds)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (course_id, user_id) DO NOTHING
       RETURNING ${CERT_COLUMNS}`,
      [c.id, c.verificationId, c.courseId, c.userId, c.learnerName, c.courseTitle, c.instructorName, c.durationSeconds],
    );
    return rows[0] ?? null;
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
