/**
 * The instructor's course analytics, read from counters written with each change (course row,
 * course_daily_stats, lessons.completion_count): never a scan of enrolments or completions.
 */
import type { Queryable } from '../../shared/utils/database.js';

export interface StatsCourseRow {
  id: string;
  status: string;
  instructor_id: string;
  enrolment_count: number;
  learner_total: number;
  completion_count: number;
  rating_count: number;
  rating_avg: string | number;
  rating_1: number;
  rating_2: number;
  rating_3: number;
  rating_4: number;
  rating_5: number;
}

export interface StatsDayRow {
  day: string;
  enrolled: number;
  left_count: number;
  completed: number;
}

export class StatsRepository {
  constructor(private readonly db: Queryable) {}

  async course(courseId: string, q: Queryable = this.db): Promise<StatsCourseRow | null> {
    const { rows } = await q.query<StatsCourseRow>(
      `SELECT id, status, instructor_id, enrolment_count, learner_total, completion_count, rating_count, rating_avg,
              rating_1, rating_2, rating_3, rating_4, rating_5
         FROM courses WHERE id = $1`,
      [courseId],
    );
    return rows[0] ?? null;
  }

  /**
   * Every day of [from, to] (YYYY-MM-DD), zeros where no row exists: a primary-key range of
   * course_daily_stats. The range is repeated on `s.day` (the join to the series does not bound it):
   * without it PostgreSQL read every day the course ever had (1,074 rows, 954 pages for the bench's most
   * popular course, 28 ms cold) to keep 30 (bench/learning-plans.ts, issue 17).
   */
  async days(courseId: string, from: string, to: string, q: Queryable = this.db): Promise<StatsDayRow[]> {
    const { rows } = await q.query<StatsDayRow>(
      `SELECT to_char(d.day, 'YYYY-MM-DD') AS day, COALESCE(s.enrolled, 0) AS enrolled,
              COALESCE(s.left_count, 0) AS left_count, COALESCE(s.completed, 0) AS completed
         FROM generate_series($2::date, $3::date, interval '1 day') AS d(day)
         LEFT JOIN course_daily_stats s ON s.course_id = $1 AND s.day = d.day::date AND s.day BETWEEN $2::date AND $3::date
        ORDER BY d.day`,
      [courseId, from, to],
    );
    return rows;
  }

  /** The course's lessons in curriculum order with their completion counters. */
  async lessons(courseId: string, q: Queryable = this.db): Promise<{ id: string; title: string; completion_count: number }[]> {
    const { rows } = await q.query<{ id: string; title: string; completion_count: number }>(
      `SELECT l.id, l.title, l.completion_count
         FROM lessons l JOIN course_sections s ON s.id = l.section_id
        WHERE l.course_id = $1
        ORDER BY s.position, l.position, l.id`,
      [courseId],
    );
    return rows;
  }
}
