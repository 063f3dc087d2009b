/**
 * The curriculum under concurrency on a real PostgreSQL database, and a fast-check property test of
 * random curriculum edits: after every step (and after every race) each counter equals its recount.
 *  - concurrent lesson inserts: course and section lesson_count equal recounts, positions 0..n-1;
 *  - a reorder racing lesson inserts: a consistent order, no lesson lost (a reorder made from an
 *    outline that an insert changed meanwhile is refused whole, 400 or 412, never half applied);
 *  - lesson deletes racing completions (written with SQL as the progress code writes them):
 *    completed_lessons never above lesson_count, equal to a recount at the end.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { hasPostgres } from '../helpers/services.js';
import { HttpError } from '../../internal/shared/utils/errors.js';
import { etagOf } from '../../internal/shared/utils/etag.js';
import { newId } from '../../internal/shared/utils/ids.js';
import type { Principal } from '../../internal/shared/utils/jwt.js';
import { CourseService } from '../../internal/course-service/services/course_service.js';
import { CurriculumService } from '../../internal/course-service/services/curriculum_service.js';
import type { CurriculumDto } from '../../internal/course-service/models/curriculum.js';
import { instructor, newCourseInput } from './factories.js';
import { complete, enrol, expectConsistent, state } from './curriculum_helpers.js';

describe.skipIf(!hasPostgres)('curriculum under concurrency', () => {
  let t: TestDatabase;
  let courses: CourseService;
  let curriculum: CurriculumService;

  beforeAll(async () => {
    t = await createTestDatabase('course-service');
    courses = new CourseService({ db: t.db });
    curriculum = new CurriculumService({ db: t.db });
  });
  afterAll(async () => {
    await t?.drop();
  });

  const lesson = (durationSeconds: number) => ({ title: `Lesson ${newId().slice(-5)}`, kind: 'article' as const, durationSeconds });

  async function course(owner: Principal, shape: number[]) {
    const c = await courses.create(owner, newCourseInput());
    const sections: string[] = [];
    for (const n of shape) {
      const s = await curriculum.createSection(owner, c.id, { title: 'Section' });
      sections.push(s.id);
      for (let i = 0; i < n; i++) await curriculum.createLesson(owner, s.id, lesson(10));
    }
    return { id: c.id, sections };
  }

  /** Every lesson of the outline moved: sections reversed, each section's lessons reversed and shifted to the next section. */
  function shuffled(outline: CurriculumDto) {
    const sections = [...outline.sections].reverse();
    return {
      sections: sections.map((s, i) => ({ id: s.id, lessonIds: [...sections[(i + 1) % sections.length]!.lessons].reverse().map((l) => l.id) })),
    };
  }

  it('keeps lesson_count equal to a recount under 40 concurrent lesson inserts', async () => {
    const owner = instructor();
    const c = await course(owner, [0, 0]);
    const made = await Promise.all(Array.from({ length: 40 }, (_, i) => curriculum.createLesson(owner, c.sections[i % 2]!, lesson(i))));
    const s = await state(t.db, c.id);
    expectConsistent(s);
    expect(s.lessonCount).toBe(40);
    expect(s.totalDurationSeconds).toBe((39 * 40) / 2);
    expect(s.sections.map((x) => x.lesson_count)).toEqual([20, 20]);
    expect(new Set(made.map((l) => `${l.sectionId}:${l.position}`)).size).toBe(40);
  });

  it('leaves a consistent order when reorders race lesson inserts: no lesson lost, no half-applied order', async () => {
    const owner = instructor();
    const c = await course(owner, [3, 3, 2]);
    const inserted: string[] = [];
    const outcomes = { ok: 0, refused: 0 };
    const reorder = async (useIfMatch: boolean) => {
      const outline = await curriculum.outline(owner, c.id);
      try {
        await curriculum.reorder(owner, c.id, shuffled(outline), useIfMatch ? { ifMatch: etagOf(outline) } : {});
        outcomes.ok++;
      } catch (err) {
        // The outline changed between the read and the write: refused whole.
        if (!(err instanceof HttpError) || !['curriculum_mismatch', 'precondition_failed'].includes(err.code)) throw err;
        outcomes.refused++;
      }
    };
    const jobs: Promise<unknown>[] = [];
    for (let i = 0; i < 20; i++) {
      jobs.push(curriculum.createLesson(owner, c.sections[i % 3]!, lesson(5)).then((l) => inserted.push(l.id)));
      jobs.push(reorder(i % 2 === 0));
    }
    await Promise.all(jobs);
    expect(outcomes.ok + outcomes.refused).toBe(20);
    const s = await state(t.db, c.id);
    expectConsistent(s);
    expect(s.lessonCount).toBe(8 + 20);
    const outline = await curriculum.outline(owner, c.id);
    const present = new Set(outline.sections.flatMap((x) => x.lessons.map((l) => l.id)));
    for (const id of inserted) expect(present.has(id), `lesson ${id} lost`).toBe(true);
    // Quiet again: a reorder from the current outline always goes through.
    await curriculum.reorder(owner, c.id, shuffled(outline), { ifMatch: etagOf(outline) });
    expectConsistent(await state(t.db, c.id));
  });

  it('never lets completed_lessons pass lesson_count when lesson deletes race completions', async () => {
    const owner = instructor();
    const c = await course(owner, [12]);
    const learners = Array.from({ length: 6 }, () => newId());
    for (const u of learners) await enrol(t.db, c.id, u);
    const lessons = (await curriculum.outline(owner, c.id)).sections[0]!.lessons.map((l) => l.id);
    // Half the learners have done half the lessons already.
    for (const u of learners.slice(0, 3)) for (const l of lessons.slice(0, 6)) await complete(t.db, u, l, c.id);

    let racing = true;
    const violations: string[] = [];
    // One statement, one snapshot: the invariant as a reader sees it at any moment.
    const watcher = (async () => {
      while (racing) {
        const { rows } = await t.db.query<{ bad: number }>(
          `SELECT count(*)::int AS bad FROM enrolments e JOIN courses c ON c.id = e.course_id
            WHERE e.course_id = $1 AND (e.completed_lessons > c.lesson_count OR e.completed_lessons < 0)`,
          [c.id],
        );
        if (rows[0]!.bad > 0) violations.push(`${rows[0]!.bad} enrolments above lesson_count`);
      }
    })();
    const jobs: Promise<unknown>[] = [];
    const doomed = lessons.filter((_, i) => i % 3 !== 0); // 8 of 12 go
    for (const u of learners) for (const l of lessons) jobs.push(complete(t.db, u, l, c.id));
    for (const l of doomed) jobs.push(curriculum.deleteLesson(owner, l));
    for (let i = jobs.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [jobs[i], jobs[j]] = [jobs[j]!, jobs[i]!];
    }
    await Promise.all(jobs);
    racing = false;
    await watcher;
    expect(violations).toEqual([]);
    const s = await state(t.db, c.id);
    expectConsistent(s);
    expect(s.lessonCount).toBe(4);
    // Every learner completed every lesson that is left.
    expect(s.enrolments.map((e) => e.completed_lessons)).toEqual(learners.map(() => 4));
  });

  describe('property: random curriculum edits keep every counter equal to a recount', () => {
    type Command =
      | { t: 'addSection' }
      | { t: 'addLesson'; s: number; d: number }
      | { t: 'patch'; l: number; d: number }
      | { t: 'deleteLesson'; l: number }
      | { t: 'deleteSection'; s: number }
      | { t: 'move'; l: number; s: number; at: number }
      | { t: 'moveSection'; s: number; at: number }
      | { t: 'complete'; u: number; l: number }
      | { t: 'publish' }
      | { t: 'unpublish' };

    const nat = fc.nat({ max: 50 });
    const duration = fc.integer({ min: 0, max: 3600 });
    const command: fc.Arbitrary<Command> = fc.oneof(
      fc.constant({ t: 'addSection' as const }),
      fc.record({ t: fc.constant('addLesson' as const), s: nat, d: duration }),
      fc.record({ t: fc.constant('addLesson' as const), s: nat, d: duration }),
      fc.record({ t: fc.constant('patch' as const), l: nat, d: duration }),
      fc.record({ t: fc.constant('deleteLesson' as const), l: nat }),
      fc.record({ t: fc.constant('deleteSection' as const), s: nat }),
      fc.record({ t: fc.constant('move' as const), l: nat, s: nat, at: nat }),
      fc.record({ t: fc.constant('moveSection' as const), s: nat, at: nat }),
      fc.record({ t: fc.constant('complete' as const), u: fc.nat({ max: 2 }), l: nat }),
      fc.constant({ t: 'publish' as const }),
      fc.constant({ t: 'unpublish' as const }),
    );

    async function expectCode(promise: Promise<unknown>, code: string | undefined): Promise<void> {
      try {
        await promise;
      } catch (err) {
        if (err instanceof HttpError && err.code === code) return;
        throw err;
      }
      if (code !== undefined) throw new Error(`expected ${code}, but the call succeeded`);
    }

    async function run(owner: Principal, courseId: string, learners: string[], cmd: Command): Promise<void> {
      const outline = await curriculum.outline(owner, courseId);
      const sections = outline.sections;
      const lessons = sections.flatMap((s) => s.lessons);
      const status = (await courses.get(owner, courseId)).status;
      switch (cmd.t) {
        case 'addSection':
          await curriculum.createSection(owner, courseId, { title: 'Section' });
          return;
        case 'addLesson':
          if (sections.length === 0) return;
          await curriculum.createLesson(owner, sections[cmd.s % sections.length]!.id, lesson(cmd.d));
          return;
        case 'patch':
          if (lessons.length === 0) return;
          await curriculum.updateLesson(owner, lessons[cmd.l % lessons.length]!.id, { durationSeconds: cmd.d });
          return;
        case 'deleteLesson': {
          if (lessons.length === 0) return;
          const last = status === 'published' && lessons.length === 1;
          await expectCode(curriculum.deleteLesson(owner, lessons[cmd.l % lessons.length]!.id), last ? 'last_lesson' : undefined);
          return;
        }
        case 'deleteSection': {
          if (sections.length === 0) return;
          const section = sections[cmd.s % sections.length]!;
          await expectCode(curriculum.deleteSection(owner, section.id), section.lessons.length > 0 ? 'section_not_empty' : undefined);
          return;
        }
        case 'move': {
          if (lessons.length === 0) return;
          const moving = lessons[cmd.l % lessons.length]!.id;
          const order = sections.map((s) => ({ id: s.id, lessonIds: s.lessons.map((l) => l.id).filter((id) => id !== moving) }));
          const target = order[cmd.s % order.length]!;
          target.lessonIds.splice(cmd.at % (target.lessonIds.length + 1), 0, moving);
          await curriculum.reorder(owner, courseId, { sections: order }, { ifMatch: etagOf(outline) });
          return;
        }
        case 'moveSection': {
          if (sections.length === 0) return;
          const order = sections.map((s) => ({ id: s.id, lessonIds: s.lessons.map((l) => l.id) }));
          const [moved] = order.splice(cmd.s % order.length, 1);
          order.splice(cmd.at % (order.length + 1), 0, moved!);
          await curriculum.reorder(owner, courseId, { sections: order });
          return;
        }
        case 'complete':
          if (lessons.length === 0) return;
          await complete(t.db, learners[cmd.u]!, lessons[cmd.l % lessons.length]!.id, courseId);
          return;
        case 'publish': {
          if (status === 'published') return;
          const ready = lessons.length > 0 && sections.every((s) => s.lessons.length > 0);
          await expectCode(courses.update(owner, courseId, { status: 'published' }), ready ? undefined : 'curriculum_incomplete');
          return;
        }
        case 'unpublish':
          if (status === 'published') await courses.update(owner, courseId, { status: 'draft' });
          return;
      }
    }

    it('holds for 15 random sequences of up to 30 edits', async () => {
      const owner = instructor();
      await fc.assert(
        fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 30 }), async (commands) => {
          const c = await courses.create(owner, newCourseInput());
          const learners = [newId(), newId(), newId()];
          for (const u of learners) await enrol(t.db, c.id, u);
          for (const cmd of commands) {
            await run(owner, c.id, learners, cmd);
            const s = await state(t.db, c.id);
            expectConsistent(s);
            const outline = await curriculum.outline(owner, c.id);
            expect([outline.lessonCount, outline.totalDurationSeconds]).toEqual([s.lessonCount, s.totalDurationSeconds]);
            const dto = await courses.get(owner, c.id);
            expect([dto.lessonCount, dto.totalDurationSeconds]).toEqual([s.lessonCount, s.totalDurationSeconds]);
          }
        }),
        { numRuns: 15, seed: 20261206 },
      );
    }, 180_000);
  });
});
