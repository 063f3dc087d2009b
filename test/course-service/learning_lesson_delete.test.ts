/**
 * A lesson delete can finish a course for a learner: when the deleted lesson was the only one an active
 * learner had not done, they complete the course in the delete's transaction, exactly as their own last
 * completion would have (completed_at, one certificate, the course's completion_count and today's
 * `completed`, one `course_completed` event). Learners who left, who completed before, or who still have
 * lessons to do are left as they were.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CourseService } from '../../internal/course-service/services/course_service.js';
import { CurriculumService } from '../../internal/course-service/services/curriculum_service.js';
import { EnrolmentService } from '../../internal/course-service/services/enrolment_service.js';
import { ProgressService } from '../../internal/course-service/services/progress_service.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { hasPostgres } from '../helpers/services.js';
import { instructor, publishedCourse, services, student } from './factories.js';
import { addCurriculum, recount } from './learning_fixtures.js';

describe.skipIf(!hasPostgres)('a lesson delete that completes learners', () => {
  let t: TestDatabase;
  let courses: CourseService;
  let enrolments: EnrolmentService;
  let progress: ProgressService;
  let curriculum: CurriculumService;

  beforeAll(async () => {
    t = await createTestDatabase('course-service');
    ({ courses } = services(t.db));
    enrolments = new EnrolmentService({ db: t.db });
    progress = new ProgressService({ db: t.db });
    curriculum = new CurriculumService({ db: t.db, progress });
  });
  afterAll(async () => {
    await t?.drop();
  });

  it('completes the active learners it leaves with every lesson done, once, and nobody else', async () => {
    const owner = instructor();
    const course = await publishedCourse(t.db, courses, owner);
    await addCurriculum(t.db, course.id, [2, 2]);
    const { rows: lessonRows } = await t.db.query<{ id: string }>(
      `SELECT l.id FROM lessons l JOIN course_sections s ON s.id = l.section_id WHERE l.course_id = $1 ORDER BY s.position, l.position`,
      [course.id],
    );
    const all = lessonRows.map((r) => r.id);
    const last = all[all.length - 1]!;
    const allButLast = all.slice(0, -1);

    const finisher = student({ name: 'Finisher' });
    const leaver = student();
    const done = student();
    const behind = student();
    for (const u of [finisher, leaver, done, behind]) await enrolments.enrol(u, course.id);
    for (const id of allButLast) {
      await progress.setCompletion(finisher, id, true);
      await progress.setCompletion(leaver, id, true);
    }
    for (const id of all) await progress.setCompletion(done, id, true);
    await progress.setCompletion(behind, all[0]!, true);
    await enrolments.leave(leaver, course.id);
    const doneBefore = await progress.get(done, course.id);
    expect(doneBefore.certificateId).not.toBeNull();
    expect((await progress.get(finisher, course.id)).completedAt).toBeNull();

    await curriculum.deleteLesson(owner, last);

    const finished = await progress.get(finisher, course.id);
    expect(finished).toMatchObject({ percent: 100, completedLessons: all.length - 1, lessonCount: all.length - 1, nextLessonId: null });
    expect(finished.completedAt).not.toBeNull();
    expect(finished.certificateId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const certificate = await progress.certificate(finished.certificateId!);
    expect(certificate).toMatchObject({ learnerName: 'Finisher', courseTitle: course.title });

    expect((await progress.get(leaver, course.id)).completedAt).toBeNull();
    expect((await progress.get(behind, course.id)).completedAt).toBeNull();
    expect(await progress.get(done, course.id)).toMatchObject({ certificateId: doneBefore.certificateId, completedAt: doneBefore.completedAt });

    const { rows } = await t.db.query<{ certs: number; events: string[]; completed: number }>(
      `SELECT (SELECT count(*)::int FROM certificates WHERE course_id = $1) AS certs,
              (SELECT array_agg(payload->>'certificateVerificationId' ORDER BY created_at) FROM course_outbox
                WHERE type = 'course_completed' AND payload->>'courseId' = $1::text) AS events,
              (SELECT COALESCE(sum(completed), 0)::int FROM course_daily_stats WHERE course_id = $1) AS completed`,
      [course.id],
    );
    expect(rows[0]!.certs).toBe(2);
    expect(rows[0]!.completed).toBe(2);
    expect([...rows[0]!.events].sort()).toEqual([doneBefore.certificateId, finished.certificateId].sort());
    const counts = await recount(t.db, course.id);
    expect(counts.stored).toEqual(counts.recount);
    expect(counts.stored.completed).toBe(2);

    // Un-completing and completing again afterwards issues nothing more.
    await progress.setCompletion(finisher, all[0]!, false);
    await progress.setCompletion(finisher, all[0]!, true);
    const again = await recount(t.db, course.id);
    expect(again.stored.completed).toBe(2);
    const { rows: certs } = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM certificates WHERE course_id = $1`, [course.id]);
    expect(certs[0]!.n).toBe(2);
  });
});
