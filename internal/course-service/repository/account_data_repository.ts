/**
 * SQL over one user's data across course-service's tables, for account deletion (auth-service's
 * `account_deleted` event) and the GDPR export. Counters are moved by delta in the caller's transaction,
 * as every other writer of them does, so each stays equal to a recount. Style: docs/ARCHITECTURE.md,
 * "Data layer" (executor last).
 */
import type { Queryable } from '../../shared/utils/database.js';
import type { ReviewStatus } from '../models/review.js';

/** What anonymised reviews show instead of their author's name. */
export const DELETED_USER_NAME = 'Deleted user';

export interface AuthoredReviewRow {
  id: string;
  course_id: string;
  rating: number;
  status: ReviewStatus;
}

export interface ExportReviewRow {
  id: string;
  course_id: string;
  course_title: string | null;
  author_name: string;
  rating: number;
  title: string | null;
  body: string | null;
  status: string;
  created_at: Date;
  updated_at: Date;
}

export interface ExportEnrolmentRow {
  course_id: string;
  course_title: string | null;
  learner_name: string;
  status: string;
  mode: string;
  completed_lessons: number;
  last_lesson_id: string | null;
  enrolled_at: Date;
  left_at: Date | null;
  completed_at: Date | null;
  last_activity_at: Date;
}

export interface ExportCompletionRow {
  lesson_id: string;
  course_id: string;
  completed_at: Date;
}

export interface ExportCertificateRow {
  verification_id: string;
  course_id: string;
  learner_name: string;
  course_title: string;
  instructor_name: string;
  duration_seconds: number;
  status: string;
  issued_at: Date;
  revoked_at: Date | null;
}

export interface ExportCourseRow {
  id: string;
  slug: string;
  title: string;
  summary: string;
  description: string;
  category: string;
  tags: string[];
  level: string;
  language: string;
  duration_minutes: number;
  instructor_name: string;
  status: string;
  published_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export class AccountDataRepository {
  constructor(private readonly db: Queryable) {}

  /** Records an event as applied; false when it already was (the caller then changes nothing). */
  async markProcessed(eventId: string, tx: Queryable): Promise<boolean> {
    const { rowCount } = await tx.query('INSERT INTO processed_account_events (event_id) VALUES ($1) ON CONFLICT (event_id) DO NOTHING', [eventId]);
    return rowCount > 0;
  }

  /** The user's reviews, locked until `tx` ends (in id order, so concurrent writers queue). */
  async lockReviewsByAuthor(userId: string, tx: Queryable): Promise<AuthoredReviewRow[]> {
    const { rows } = await tx.query<AuthoredReviewRow>(
      'SELECT id, course_id, rating, status FROM reviews WHERE author_id = $1 ORDER BY id FOR UPDATE',
      [userId],
    );
    return rows.map((r) => ({ ...r, rating: Number(r.rating) }));
  }

  /** Keeps the user's reviews without an author: no id, the name 'Deleted user'. The aggregates do not move. */
  async anonymiseReviews(userId: string, tx: Queryable): Promise<number> {
    const { rowCount } = await tx.query('UPDATE reviews SET author_id = NULL, author_name = $2, updated_at = now() WHERE author_id = $1', [
      userId,
      DELETED_USER_NAME,
    ]);
    return rowCount;
  }

  async deleteReview(id: string, tx: Queryable): Promise<boolean> {
    const { rowCount } = await tx.query('DELETE FROM reviews WHERE id = $1', [id]);
    return rowCount > 0;
  }

  /**
   * Deletes the user's enrolments and moves each course's figures as a recount would: active learners
   * (`enrolment_count`) by the active rows, everyone who enrolled (`learner_total`, one row per learner)
   * by every row, completions by the rows with `completed_at`. Returns the courses touched.
   */
  async deleteEnrolments(userId: string, tx: Queryable): Promise<string[]> {
    const { rows } = await tx.query<{ id: string }>(
      `WITH gone AS (
         DELETE FROM enrolments WHERE user_id = $1 RETURNING course_id, status, completed_at
       ), per_course AS (
         SELECT course_id,
                (count(*) FILTER (WHERE status = 'active'))::int AS active,
                count(*)::int AS total,
                (count(*) FILTER (WHERE completed_at IS NOT NULL))::int AS completed
           FROM gone GROUP BY course_id
       )
       UPDATE courses c
          SET enrolment_count = c.enrolment_count - p.active,
              learner_total = c.learner_total - p.total,
              completion_count = c.completion_count - p.completed
         FROM per_course p
        WHERE c.id = p.course_id
       RETURNING c.id`,
      [userId],
    );
    return rows.map((r) => r.id);
  }

  /** Deletes the user's lesson completions; each lesson's `completion_count` follows. */
  async deleteCompletions(userId: string, tx: Queryable): Promise<number> {
    const { rows } = await tx.query<{ n: number }>(
      `WITH gone AS (
         DELETE FROM lesson_completions WHERE user_id = $1 RETURNING lesson_id
       ), per_lesson AS (
         SELECT lesson_id, count(*)::int AS n FROM gone GROUP BY lesson_id
       ), moved AS (
         UPDATE lessons l SET completion_count = l.completion_count - p.n FROM per_lesson p WHERE l.id = p.lesson_id RETURNING p.n
       )
       SELECT coalesce(sum(n), 0)::int AS n FROM moved`,
      [userId],
    );
    return rows[0]?.n ?? 0;
  }

  async deleteCertificates(userId: string, tx: Queryable): Promise<number> {
    const { rowCount } = await tx.query('DELETE FROM certificates WHERE user_id = $1', [userId]);
    return rowCount;
  }

  /** Archives the user's own courses (every status) and drops their name from them; returns the course ids. */
  async archiveCourses(userId: string, tx: Queryable): Promise<string[]> {
    const { rows } = await tx.query<{ id: string }>(
      `UPDATE courses SET status = 'archived', instructor_name = $2, updated_at = now()
        WHERE instructor_id = $1 AND (status <> 'archived' OR instructor_name <> $2)
        RETURNING id`,
      [userId, DELETED_USER_NAME],
    );
    return rows.map((r) => r.id);
  }

  // ---- export ----

  async reviewsOf(userId: string, q: Queryable = this.db): Promise<ExportReviewRow[]> {
    const { rows } = await q.query<ExportReviewRow>(
      `SELECT r.id, r.course_id, c.title AS course_title, r.author_name, r.rating, r.title, r.body, r.status, r.created_at, r.updated_at
         FROM reviews r LEFT JOIN courses c ON c.id = r.course_id
        WHERE r.author_id = $1 ORDER BY r.created_at, r.id`,
      [userId],
    );
    return rows;
  }

  async enrolmentsOf(userId: string, q: Queryable = this.db): Promise<ExportEnrolmentRow[]> {
    const { rows } = await q.query<ExportEnrolmentRow>(
      `SELECT e.course_id, c.title AS course_title, e.learner_name, e.status, e.mode, e.completed_lessons, e.last_lesson_id,
              e.enrolled_at, e.left_at, e.completed_at, e.last_activity_at
         FROM enrolments e LEFT JOIN courses c ON c.id = e.course_id
        WHERE e.user_id = $1 ORDER BY e.enrolled_at, e.id`,
      [userId],
    );
    return rows;
  }

  async completionsOf(userId: string, q: Queryable = this.db): Promise<ExportCompletionRow[]> {
    const { rows } = await q.query<ExportCompletionRow>(
      'SELECT lesson_id, course_id, completed_at FROM lesson_completions WHERE user_id = $1 ORDER BY completed_at, lesson_id',
      [userId],
    );
    return rows;
  }

  async certificatesOf(userId: string, q: Queryable = this.db): Promise<ExportCertificateRow[]> {
    const { rows } = await q.query<ExportCertificateRow>(
      `SELECT verification_id, course_id, learner_name, course_title, instructor_name, duration_seconds, status, issued_at, revoked_at
         FROM certificates WHERE user_id = $1 ORDER BY issued_at, id`,
      [userId],
    );
    return rows;
  }

  async coursesOf(userId: string, q: Queryable = this.db): Promise<ExportCourseRow[]> {
    const { rows } = await q.query<ExportCourseRow>(
      `SELECT id, slug, title, summary, description, category, tags, level, language, duration_minutes, instructor_name,
              status, published_at, created_at, updated_at
         FROM courses WHERE instructor_id = $1 ORDER BY created_at, id`,
      [userId],
    );
    return rows;
  }
}
