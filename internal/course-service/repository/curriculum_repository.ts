/**
 * SQL for a course's curriculum (sections and lessons) and the counters it keeps, in the repository
 * style of docs/ARCHITECTURE.md ("Data layer"): executor last and optional, `null` for not found.
 *
 * Counters move by delta in the caller's transaction: `courses.lesson_count` and
 * `total_duration_seconds`, `course_sections.lesson_count`, and, when a lesson goes, the
 * `enrolments.completed_lessons` of every learner who had completed it. The service takes the locks in
 * one order (course, section, lesson, enrolments; see CurriculumService) before calling these.
 */
import type { Queryable } from '../../shared/utils/database.js';
import type { LessonKind, LessonOutlineRow, LessonRow, OutlineRow, SectionRow } from '../models/curriculum.js';

const SECTION_COLUMNS = 'id, course_id, title, position, lesson_count, created_at, updated_at';
const LESSON_COLUMNS = 'id, course_id, section_id, title, kind, duration_seconds, preview, position, body, created_at, updated_at';
const LESSON_OUTLINE_COLUMNS = 'id, course_id, section_id, title, kind, duration_seconds, preview, position';

export interface NewSection {
  id: string;
  courseId: string;
  title: string;
}

export interface NewLesson {
  id: string;
  title: string;
  kind: LessonKind;
  durationSeconds: number;
  preview: boolean;
  body: string;
}

/** The fields a lesson PATCH may change. */
export interface LessonChanges {
  title?: string;
  kind?: LessonKind;
  durationSeconds?: number;
  preview?: boolean;
  body?: string;
}

const LESSON_CHANGE_COLUMNS: Record<keyof LessonChanges, string> = {
  title: 'title',
  kind: 'kind',
  durationSeconds: 'duration_seconds',
  preview: 'preview',
  body: 'body',
};

/** Where every lesson goes in a reorder. */
export interface LessonPlacement {
  lessonId: string;
  sectionId: string;
  position: number;
}

export class CurriculumRepository {
  constructor(private readonly db: Queryable) {}

  /** The outline: every section in order, each with its lessons in order (one statement, one snapshot). */
  async outline(courseId: string, q: Queryable = this.db): Promise<OutlineRow[]> {
    const { rows } = await q.query<OutlineRow>(
      `SELECT s.id AS section_id, s.title AS section_title, s.position AS section_position,
              l.id AS lesson_id, l.title AS lesson_title, l.kind, l.duration_seconds, l.preview, l.position AS lesson_position
         FROM course_sections s
         LEFT JOIN lessons l ON l.section_id = s.id
        WHERE s.course_id = $1
        ORDER BY s.position, l.position`,
      [courseId],
    );
    return rows;
  }

  async findSection(id: string, q: Queryable = this.db): Promise<SectionRow | null> {
    const { rows } = await q.query<SectionRow>(`SELECT ${SECTION_COLUMNS} FROM course_sections WHERE id = $1`, [id]);
    return rows[0] ?? null;
  }

  /** findSection that locks the row until `tx` ends. */
  async findSectionForUpdate(id: string, tx: Queryable): Promise<SectionRow | null> {
    const { rows } = await tx.query<SectionRow>(`SELECT ${SECTION_COLUMNS} FROM course_sections WHERE id = $1 FOR UPDATE`, [id]);
    return rows[0] ?? null;
  }

  /** The course's sections in order (the reorder reads them under the course's lock). */
  async listSections(courseId: string, q: Queryable = this.db): Promise<SectionRow[]> {
    const { rows } = await q.query<SectionRow>(`SELECT ${SECTION_COLUMNS} FROM course_sections WHERE course_id = $1 ORDER BY position`, [courseId]);
    return rows;
  }

  /** The course's lessons without bodies, by section and position. */
  async listLessons(courseId: string, q: Queryable = this.db): Promise<LessonOutlineRow[]> {
    const { rows } = await q.query<LessonOutlineRow>(
      `SELECT ${LESSON_OUTLINE_COLUMNS} FROM lessons WHERE course_id = $1 ORDER BY section_id, position`,
      [courseId],
    );
    return rows;
  }

  /** A new section, last in its course (positions are 0..n-1, so the next is the count). */
  async insertSection(section: NewSection, q: Queryable = this.db): Promise<SectionRow> {
    const { rows } = await q.query<SectionRow>(
      `INSERT INTO course_sections (id, course_id, title, position)
       VALUES ($1, $2, $3, (SELECT count(*)::int FROM course_sections WHERE course_id = $2))
       RETURNING ${SECTION_COLUMNS}`,
      [section.id, section.courseId, section.title],
    );
    return rows[0]!;
  }

  async updateSectionTitle(id: string, title: string, q: Queryable = this.db): Promise<SectionRow | null> {
    const { rows } = await q.query<SectionRow>(
      `UPDATE course_sections SET title = $2, updated_at = now() WHERE id = $1 RETURNING ${SECTION_COLUMNS}`,
      [id, title],
    );
    return rows[0] ?? null;
  }

  /** Deletes a section and moves the later ones up one place. */
  async deleteSection(section: Pick<SectionRow, 'id' | 'course_id' | 'position'>, q: Queryable = this.db): Promise<boolean> {
    const { rowCount } = await q.query('DELETE FROM course_sections WHERE id = $1', [section.id]);
    if (rowCount === 0) return false;
    await q.query('UPDATE course_sections SET position = position - 1 WHERE course_id = $1 AND position > $2', [section.course_id, section.position]);
    return true;
  }

  async findLesson(id: string, q: Queryable = this.db): Promise<LessonRow | null> {
    const { rows } = await q.query<LessonRow>(`SELECT ${LESSON_COLUMNS} FROM lessons WHERE id = $1`, [id]);
    return rows[0] ?? null;
  }

  /**
   * findLesson that locks the row until `tx` ends. FOR UPDATE conflicts with the FOR KEY SHARE lock a
   * completion's INSERT takes on the lesson (its foreign key): while a delete holds this, no completion
   * of the lesson can be added, and a completion in flight is waited for.
   */
  async findLessonForUpdate(id: string, tx: Queryable): Promise<LessonRow | null> {
    const { rows } = await tx.query<LessonRow>(`SELECT ${LESSON_COLUMNS} FROM lessons WHERE id = $1 FOR UPDATE`, [id]);
    return rows[0] ?? null;
  }

  /**
   * A new lesson, last in its section (the section's lesson_count is the next position; the caller
   * holds the section's lock), and the section's count moved by one.
   */
  async insertLesson(section: Pick<SectionRow, 'id' | 'course_id'>, lesson: NewLesson, q: Queryable = this.db): Promise<LessonRow> {
    const { rows } = await q.query<LessonRow>(
      `WITH section AS (
         UPDATE course_sections SET lesson_count = lesson_count + 1 WHERE id = $2 RETURNING lesson_count - 1 AS position
       )
       INSERT INTO lessons (id, course_id, section_id, title, kind, duration_seconds, preview, body, position)
       SELECT $1, $3, $2, $4, $5, $6, $7, $8, section.position FROM section
       RETURNING ${LESSON_COLUMNS}`,
      [lesson.id, section.id, section.course_id, lesson.title, lesson.kind, lesson.durationSeconds, lesson.preview, lesson.body],
    );
    return rows[0]!;
  }

  async updateLesson(id: string, changes: LessonChanges, q: Queryable = this.db): Promise<LessonRow | null> {
    const sets = ['updated_at = now()'];
    const values: unknown[] = [id];
    for (const [field, value] of Object.entries(changes) as [keyof LessonChanges, unknown][]) {
      if (value === undefined) continue;
      values.push(value);
      sets.push(`${LESSON_CHANGE_COLUMNS[field]} = $${values.length}`);
    }
    const { rows } = await q.query<LessonRow>(`UPDATE lessons SET ${sets.join(', ')} WHERE id = $1 RETURNING ${LESSON_COLUMNS}`, values);
    return rows[0] ?? null;
  }

  /**
   * Deletes a lesson the caller has locked (findLessonForUpdate): first its completions, taking one off
   * `completed_lessons` of each learner who had it (whatever their status: leaving keeps progress),
   * then the lesson; the later lessons of its section move up one place and the section's count drops.
   * Returns how many learners' progress moved.
   */
  async deleteLesson(lesson: Pick<LessonRow, 'id' | 'course_id' | 'section_id' | 'position'>, q: Queryable = this.db): Promise<number> {
    const { rows } = await q.query<{ n: number }>(
      `WITH gone AS (
         DELETE FROM lesson_completions WHERE lesson_id = $1 RETURNING user_id
       ), moved AS (
         UPDATE enrolments e SET completed_lessons = e.completed_lessons - 1
           FROM gone WHERE e.course_id = $2 AND e.user_id = gone.user_id
         RETURNING e.id
       )
       SELECT count(*)::int AS n FROM moved`,
      [lesson.id, lesson.course_id],
    );
    await q.query('DELETE FROM lessons WHERE id = $1', [lesson.id]);
    await q.query('UPDATE lessons SET position = position - 1 WHERE section_id = $1 AND position > $2', [lesson.section_id, lesson.position]);
    await q.query('UPDATE course_sections SET lesson_count = lesson_count - 1 WHERE id = $1', [lesson.section_id]);
    return rows[0]!.n;
  }

  /** Moves the course's lesson count and total duration by a delta (the caller holds the course's lock). */
  async moveCourseCounters(courseId: string, lessons: number, durationSeconds: number, q: Queryable = this.db): Promise<void> {
    await q.query(
      `UPDATE courses SET lesson_count = lesson_count + $2, total_duration_seconds = total_duration_seconds + $3 WHERE id = $1`,
      [courseId, lessons, durationSeconds],
    );
  }

  /**
   * A reorder's writes: every section's position, every lesson's section and position, and each
   * section's lesson count for what it now holds. The position constraints are checked at commit, so
   * rows may swap places within the statements.
   */
  async applyOrder(courseId: string, sectionIds: readonly string[], placements: readonly LessonPlacement[], q: Queryable = this.db): Promise<void> {
    const counts = sectionIds.map((id) => placements.filter((p) => p.sectionId === id).length);
    await q.query(
      `UPDATE course_sections s SET position = v.position, lesson_count = v.lesson_count
         FROM unnest($2::uuid[], $3::int[], $4::int[]) AS v(id, position, lesson_count)
        WHERE s.id = v.id AND s.course_id = $1
          AND (s.position <> v.position OR s.lesson_count <> v.lesson_count)`,
      [courseId, sectionIds, sectionIds.map((_, i) => i), counts],
    );
    await q.query(
      `UPDATE lessons l SET section_id = v.section_id, position = v.position
         FROM unnest($2::uuid[], $3::uuid[], $4::int[]) AS v(id, section_id, position)
        WHERE l.id = v.id AND l.course_id = $1
          AND (l.section_id <> v.section_id OR l.position <> v.position)`,
      [courseId, placements.map((p) => p.lessonId), placements.map((p) => p.sectionId), placements.map((p) => p.position)],
    );
  }

  /** What stands in the way of publishing: the course's lesson count and how many sections are empty. */
  async publishBlockers(courseId: string, q: Queryable = this.db): Promise<{ lessonCount: number; emptySections: number }> {
    const { rows } = await q.query<{ lesson_count: number; empty_sections: number }>(
      `SELECT c.lesson_count,
              (SELECT count(*)::int FROM course_sections s WHERE s.course_id = c.id AND s.lesson_count = 0) AS empty_sections
         FROM courses c WHERE c.id = $1`,
      [courseId],
    );
    const row = rows[0];
    return { lessonCount: row?.lesson_count ?? 0, emptySections: row?.empty_sections ?? 0 };
  }

  /** Does the user have an active enrolment in the course (the lesson access rule)? */
  async isActiveLearner(courseId: string, userId: string, q: Queryable = this.db): Promise<boolean> {
    const { rows } = await q.query<{ active: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM enrolments WHERE course_id = $1 AND user_id = $2 AND status = 'active') AS active`,
      [courseId, userId],
    );
    return rows[0]!.active;
  }
}
