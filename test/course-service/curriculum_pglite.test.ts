/**
 * The curriculum in embedded mode: the same SQL on PGlite (data-modifying CTEs, unnest of several
 * arrays, deferred unique positions), so a PostgreSQL-server-only construct cannot slip in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../internal/shared/utils/database.js';
import { Migrator } from '../../internal/shared/utils/migrations.js';
import { CourseService } from '../../internal/course-service/services/course_service.js';
import { CurriculumService } from '../../internal/course-service/services/curriculum_service.js';
import { newId } from '../../internal/shared/utils/ids.js';
import { migrationsDir } from '../helpers/pg.js';
import { instructor, newCourseInput, refusal, student } from './factories.js';
import { complete, enrol, expectConsistent, state } from './curriculum_helpers.js';

describe('curriculum on PGlite', () => {
  let db: Database;
  beforeAll(async () => {
    db = await openDatabase({ url: '', dataDir: 'memory://' });
    await new Migrator(db, 'course-service', migrationsDir('course-service')).up();
  }, 300_000);
  afterAll(async () => {
    await db?.close();
  });

  it('adds, reorders, publishes, opens and deletes lessons with exact counters', async () => {
    const courses = new CourseService({ db });
    const curriculum = new CurriculumService({ db });
    const owner = instructor();
    const course = await courses.create(owner, newCourseInput());
    const s0 = await curriculum.createSection(owner, course.id, { title: 'One' });
    const s1 = await curriculum.createSection(owner, course.id, { title: 'Two' });
    const a = await curriculum.createLesson(owner, s0.id, { title: 'A', kind: 'video', durationSeconds: 10 });
    const b = await curriculum.createLesson(owner, s0.id, { title: 'B', kind: 'article', durationSeconds: 20, preview: true });
    const c = await curriculum.createLesson(owner, s1.id, { title: 'C', kind: 'quiz', durationSeconds: 30 });
    const moved = await curriculum.reorder(owner, course.id, { sections: [{ id: s1.id, lessonIds: [a.id, c.id] }, { id: s0.id, lessonIds: [b.id] }] });
    expect(moved.sections.map((s) => s.lessons.map((l) => l.id))).toEqual([[a.id, c.id], [b.id]]);
    await expect(courses.update(owner, course.id, { status: 'published' })).resolves.toMatchObject({ lessonCount: 3, totalDurationSeconds: 60 });
    const learner = newId();
    await enrol(db, course.id, learner);
    expect(await complete(db, learner, a.id, course.id)).toBe(true);
    expect(await refusal(curriculum.getLesson(student(), a.id))).toMatchObject({ code: 'enrolment_required' });
    await expect(curriculum.getLesson(undefined, b.id)).resolves.toMatchObject({ preview: true });
    await curriculum.deleteLesson(owner, a.id);
    const s = await state(db, course.id);
    expectConsistent(s);
    expect(s.enrolments[0]!.completed_lessons).toBe(0);
    expect(s.lessonCount).toBe(2);
  }, 120_000);
});
