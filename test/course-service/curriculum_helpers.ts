/**
 * Helpers of the curriculum tests: recounts of every counter the curriculum keeps, learners and
 * completions written with SQL (the way the enrolment code writes them: completion row, the lesson's
 * completion_count and the enrolment's completed_lessons, in one transaction).
 */
import { expect } from 'vitest';
import { PgCode, pgErrorCode, type Database, type Queryable } from '../../internal/shared/utils/database.js';
import { newId } from '../../internal/shared/utils/ids.js';

/** An enrolment row (active unless said otherwise). */
export async function enrol(db: Queryable, courseId: string, userId: string, status: 'active' | 'left' = 'active'): Promise<void> {
  // The course's learner counters move as the enrolment code moves them (a lesson delete may complete
  // learners, and completion_count may never pass learner_total).
  await db.query(
    `WITH e AS (
       INSERT INTO enrolments (id, course_id, user_id, learner_name, status, left_at)
       VALUES ($1, $2, $3, 'Learner', $4, CASE WHEN $4 = 'left' THEN now() END)
       RETURNING status
     )
     UPDATE courses SET enrolment_count = enrolment_count + (SELECT (status = 'active')::int FROM e), learner_total = learner_total + 1
      WHERE id = $2`,
    [newId(), courseId, userId, status],
  );
}

/**
 * A completion as the progress code makes one, in its own transaction: false when the lesson is gone
 * (the foreign key refuses it) or already completed. Deadlock victims are retried.
 */
export async function complete(db: Database, userId: string, lessonId: string, courseId: string): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await db.transaction(async (tx) => {
        const inserted = await tx.query(
          `INSERT INTO lesson_completions (user_id, lesson_id, course_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1`,
          [userId, lessonId, courseId],
        );
        if (inserted.rowCount === 0) return false;
        await tx.query('UPDATE lessons SET completion_count = completion_count + 1 WHERE id = $1', [lessonId]);
        await tx.query('UPDATE enrolments SET completed_lessons = completed_lessons + 1 WHERE course_id = $1 AND user_id = $2', [courseId, userId]);
        return true;
      });
    } catch (err) {
      if (pgErrorCode(err) === PgCode.foreignKeyViolation) return false;
      if (pgErrorCode(err) === PgCode.deadlock && attempt < 5) continue;
      throw err;
    }
  }
}

export interface CurriculumState {
  lessonCount: number;
  totalDurationSeconds: number;
  lessons: number;
  duration: number;
  sections: { id: string; position: number; lesson_count: number; lessons: number; positions: number[] }[];
  enrolments: { user_id: string; completed_lessons: number; completions: number }[];
  lessonCompletions: { id: string; completion_count: number; completions: number }[];
}

/** The course's counters next to a recount of what they count. */
export async function state(db: Queryable, courseId: string): Promise<CurriculumState> {
  const course = await db.query<{ lessonCount: number; totalDurationSeconds: number; lessons: number; duration: number }>(
    `SELECT c.lesson_count AS "lessonCount", c.total_duration_seconds AS "totalDurationSeconds",
            (SELECT count(*)::int FROM lessons l WHERE l.course_id = c.id) AS lessons,
            (SELECT coalesce(sum(l.duration_seconds), 0)::int FROM lessons l WHERE l.course_id = c.id) AS duration
       FROM courses c WHERE c.id = $1`,
    [courseId],
  );
  const sections = await db.query<CurriculumState['sections'][number]>(
    `SELECT s.id, s.position, s.lesson_count,
            (SELECT count(*)::int FROM lessons l WHERE l.section_id = s.id) AS lessons,
            coalesce((SELECT array_agg(l.position ORDER BY l.position) FROM lessons l WHERE l.section_id = s.id), '{}') AS positions
       FROM course_sections s WHERE s.course_id = $1 ORDER BY s.position`,
    [courseId],
  );
  const enrolments = await db.query<CurriculumState['enrolments'][number]>(
    `SELECT e.user_id, e.completed_lessons,
            (SELECT count(*)::int FROM lesson_completions lc WHERE lc.user_id = e.user_id AND lc.course_id = e.course_id) AS completions
       FROM enrolments e WHERE e.course_id = $1 ORDER BY e.user_id`,
    [courseId],
  );
  const lessonCompletions = await db.query<CurriculumState['lessonCompletions'][number]>(
    `SELECT l.id, l.completion_count, (SELECT count(*)::int FROM lesson_completions lc WHERE lc.lesson_id = l.id) AS completions
       FROM lessons l WHERE l.course_id = $1 ORDER BY l.id`,
    [courseId],
  );
  const row = course.rows[0]!;
  return { ...row, sections: sections.rows, enrolments: enrolments.rows, lessonCompletions: lessonCompletions.rows };
}

/** Every counter equals its recount; positions are 0..n-1 for sections and within each section. */
export function expectConsistent(s: CurriculumState): void {
  expect(s.lessonCount, 'courses.lesson_count').toBe(s.lessons);
  expect(s.totalDurationSeconds, 'courses.total_duration_seconds').toBe(s.duration);
  expect(s.sections.map((x) => x.position), 'section positions').toEqual(s.sections.map((_, i) => i));
  for (const section of s.sections) {
    expect(section.lesson_count, `course_sections.lesson_count of ${section.id}`).toBe(section.lessons);
    expect(section.positions, `lesson positions in ${section.id}`).toEqual(section.positions.map((_, i) => i));
  }
  for (const e of s.enrolments) {
    expect(e.completed_lessons, `enrolments.completed_lessons of ${e.user_id}`).toBe(e.completions);
    expect(e.completed_lessons).toBeLessThanOrEqual(s.lessonCount);
  }
  for (const l of s.lessonCompletions) expect(l.completion_count, `lessons.completion_count of ${l.id}`).toBe(l.completions);
}
