/**
 * Curriculum rows for the learning tests, written with plain SQL (the curriculum endpoints are another
 * component's), keeping the counters the real code keeps: courses.lesson_count and
 * total_duration_seconds, course_sections.lesson_count.
 */
import type { Queryable } from '../../internal/shared/utils/database.js';
import { newId } from '../../internal/shared/utils/ids.js';

export interface LessonFixture {
  id: string;
  sectionId: string;
  title: string;
  durationSeconds: number;
}

export async function addSection(db: Queryable, courseId: string, title = 'Section'): Promise<string> {
  const id = newId();
  await db.query(
    `INSERT INTO course_sections (id, course_id, title, position)
     VALUES ($1, $2, $3, (SELECT COALESCE(max(position) + 1, 0) FROM course_sections WHERE course_id = $2))`,
    [id, courseId, title],
  );
  return id;
}

export async function addLesson(db: Queryable, courseId: string, sectionId: string, options: { title?: string; durationSeconds?: number } = {}): Promise<LessonFixture> {
  const id = newId();
  const title = options.title ?? `Lesson ${id.slice(-6)}`;
  const durationSeconds = options.durationSeconds ?? 300;
  await db.query(
    `WITH l AS (
       INSERT INTO lessons (id, course_id, section_id, title, kind, duration_seconds, position)
       VALUES ($1, $2, $3, $4, 'video', $5, (SELECT COALESCE(max(position) + 1, 0) FROM lessons WHERE section_id = $3))
       RETURNING id
     ), s AS (
       UPDATE course_sections SET lesson_count = lesson_count + 1 WHERE id = $3 AND EXISTS (SELECT FROM l)
     )
     UPDATE courses SET lesson_count = lesson_count + 1, total_duration_seconds = total_duration_seconds + $5
      WHERE id = $2 AND EXISTS (SELECT FROM l)`,
    [id, courseId, sectionId, title, durationSeconds],
  );
  return { id, sectionId, title, durationSeconds };
}

/** `perSection` lessons in each of `sections.length` sections, in curriculum order. */
export async function addCurriculum(db: Queryable, courseId: string, perSection: number[] = [2, 1]): Promise<LessonFixture[]> {
  const lessons: LessonFixture[] = [];
  for (let s = 0; s < perSection.length; s++) {
    const sectionId = await addSection(db, courseId, `Section ${s + 1}`);
    for (let i = 0; i < perSection[s]!; i++) lessons.push(await addLesson(db, courseId, sectionId, { title: `S${s + 1} L${i + 1}`, durationSeconds: 60 * (i + 1) }));
  }
  return lessons;
}

/** What the course's learner counters would be if recounted from enrolments (the exactness check). */
export async function recount(db: Queryable, courseId: string): Promise<{ stored: Record<string, number>; recount: Record<string, number> }> {
  const { rows } = await db.query<Record<string, number>>(
    `SELECT c.enrolment_count, c.learner_total, c.completion_count,
            (SELECT count(*)::int FROM enrolments e WHERE e.course_id = c.id AND e.status = 'active') AS active,
            (SELECT count(*)::int FROM enrolments e WHERE e.course_id = c.id) AS total,
            (SELECT count(*)::int FROM enrolments e WHERE e.course_id = c.id AND e.completed_at IS NOT NULL) AS completed
       FROM courses c WHERE c.id = $1`,
    [courseId],
  );
  const r = rows[0]!;
  return {
    stored: { active: r.enrolment_count!, total: r.learner_total!, completed: r.completion_count! },
    recount: { active: r.active!, total: r.total!, completed: r.completed! },
  };
}
