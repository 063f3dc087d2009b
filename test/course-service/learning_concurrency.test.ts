/**
 * Learning counters under concurrency on real PostgreSQL: enrolments with repeats and interleaved
 * leaves keep enrolment_count and learner_total equal to a recount (and the day's stats and events in
 * step); concurrent completions of every lesson by one learner complete the course once, with one
 * certificate, and never answer more than 100 percent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { hasPostgres } from '../helpers/services.js';
import type { CourseService } from '../../internal/course-service/services/course_service.js';
import { EnrolmentService } from '../../internal/course-service/services/enrolment_service.js';
import { ProgressService } from '../../internal/course-service/services/progress_service.js';
import type { Principal } from '../../internal/shared/utils/jwt.js';
import { instructor, publishedCourse, services, student } from './factories.js';
import { addCurriculum, recount } from './learning_fixtures.js';

describe.skipIf(!hasPostgres)('learning under concurrency', () => {
  let t: TestDatabase;
  let courses: CourseService;
  let enrolments: EnrolmentService;
  let progress: ProgressService;

  beforeAll(async () => {
    t = await createTestDatabase('course-service');
    ({ courses } = services(t.db));
    enrolments = new EnrolmentService({ db: t.db });
    progress = new ProgressService({ db: t.db });
  });
  afterAll(async () => {
    await t?.drop();
  });

  async function facts(courseId: string) {
    const { rows } = await t.db.query<{ enrolled: number; left_count: number; events: number }>(
      `SELECT (SELECT COALESCE(sum(enrolled), 0)::int FROM course_daily_stats WHERE course_id = $1) AS enrolled,
              (SELECT COALESCE(sum(left_count), 0)::int FROM course_daily_stats WHERE course_id = $1) AS left_count,
              (SELECT count(*)::int FROM course_outbox WHERE type = 'enrolment_created' AND payload->>'courseId' = $1::text) AS events`,
      [courseId],
    );
    return rows[0]!;
  }

  it('30 concurrent enrolments with repeats (same users twice, leave/enrol interleaved) give exact counters', async () => {
    const course = await publishedCourse(t.db, courses, instructor());
    const users: Principal[] = Array.from({ length: 10 }, () => student());
    // Every user enrols twice at once; users 0..4 also leave once in the middle of it, and enrol once more.
    const ops: (() => Promise<unknown>)[] = [];
    for (const [i, u] of users.entries()) {
      ops.push(() => enrolments.enrol(u, course.id), () => enrolments.enrol(u, course.id));
      if (i < 5) ops.push(() => enrolments.leave(u, course.id).catch(() => undefined), () => enrolments.enrol(u, course.id));
    }
    expect(ops.length).toBe(30);
    const results = await Promise.allSettled(ops.map((op) => op()));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);

    const counts = await recount(t.db, course.id);
    expect(counts.stored).toEqual(counts.recount);
    expect(counts.stored.total).toBe(10);
    const f = await facts(course.id);
    // Every status change was counted once: today's enrolled minus left is the active count, one event per enrol.
    expect(f.enrolled - f.left_count).toBe(counts.stored.active);
    expect(f.events).toBe(f.enrolled);
    // Each user's enrolment is one row.
    const { rows } = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM enrolments WHERE course_id = $1`, [course.id]);
    expect(rows[0]!.n).toBe(10);

    // Everyone leaves at once, twice: the count goes to zero, never below.
    await Promise.all(users.flatMap((u) => [enrolments.leave(u, course.id), enrolments.leave(u, course.id)]));
    const after = await recount(t.db, course.id);
    expect(after.stored).toEqual({ active: 0, total: 10, completed: 0 });
    expect(after.recount).toEqual(after.stored);
  });

  it('concurrent completions of every lesson by one learner issue exactly one certificate; percent never above 100', async () => {
    const course = await publishedCourse(t.db, courses, instructor());
    // Six lessons: the one publishing needed (publishedCourse) and five more in two sections.
    await addCurriculum(t.db, course.id, [3, 2]);
    const { rows: lessons } = await t.db.query<{ id: string }>('SELECT id FROM lessons WHERE course_id = $1', [course.id]);
    expect(lessons).toHaveLength(6);
    const learner = student();
    await enrolments.enrol(learner, course.id);

    const answers = await Promise.all(lessons.flatMap((l) => [progress.setCompletion(learner, l.id, true), progress.setCompletion(learner, l.id, true)]));
    for (const a of answers) {
      expect(a.percent).toBeGreaterThanOrEqual(0);
      expect(a.percent).toBeLessThanOrEqual(100);
      expect(a.completedLessons).toBeLessThanOrEqual(a.lessonCount);
    }
    const final = await progress.get(learner, course.id);
    expect(final).toMatchObject({ completedLessons: 6, lessonCount: 6, percent: 100, nextLessonId: null });
    expect(final.certificateId).not.toBeNull();

    const { rows } = await t.db.query<{ certs: number; events: number; completed: number; lessons: number[] }>(
      `SELECT (SELECT count(*)::int FROM certificates WHERE course_id = $1) AS certs,
              (SELECT count(*)::int FROM course_outbox WHERE type = 'course_completed' AND payload->>'courseId' = $1::text) AS events,
              (SELECT COALESCE(sum(completed), 0)::int FROM course_daily_stats WHERE course_id = $1) AS completed,
              (SELECT array_agg(completion_count ORDER BY id) FROM lessons WHERE course_id = $1) AS lessons`,
      [course.id],
    );
    expect(rows[0]).toEqual({ certs: 1, events: 1, completed: 1, lessons: [1, 1, 1, 1, 1, 1] });
    const counts = await recount(t.db, course.id);
    expect(counts.stored).toEqual({ active: 1, total: 1, completed: 1 });
    const { rows: e } = await t.db.query<{ completed_lessons: number }>(`SELECT completed_lessons FROM enrolments WHERE course_id = $1`, [course.id]);
    expect(e[0]!.completed_lessons).toBe(6);

    // Concurrent un-completions and completions: the learner's count equals their completion rows.
    await Promise.all(lessons.flatMap((l, i) => [progress.setCompletion(learner, l.id, i % 2 === 0 ? false : true), progress.setCompletion(learner, l.id, false)]));
    const { rows: check } = await t.db.query<{ stored: number; actual: number; lesson_sum: number }>(
      `SELECT e.completed_lessons AS stored,
              (SELECT count(*)::int FROM lesson_completions lc WHERE lc.user_id = e.user_id AND lc.course_id = e.course_id) AS actual,
              (SELECT sum(completion_count)::int FROM lessons WHERE course_id = e.course_id) AS lesson_sum
         FROM enrolments e WHERE e.course_id = $1`,
      [course.id],
    );
    expect(check[0]!.stored).toBe(check[0]!.actual);
    expect(check[0]!.lesson_sum).toBe(check[0]!.actual);
    // Still completed once, with the same certificate.
    const again = await progress.get(learner, course.id);
    expect(again.completedAt).toBe(final.completedAt);
    expect(again.certificateId).toBe(final.certificateId);
  });
});
