/**
 * CurriculumService against a real PostgreSQL database: sections and lessons, counters against
 * recounts, the reorder and its refusals, the publish rules, lesson access, and lesson deletes that
 * take learners' completions with them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { hasPostgres } from '../helpers/services.js';
import { etagOf } from '../../internal/shared/utils/etag.js';
import { newId } from '../../internal/shared/utils/ids.js';
import type { Principal } from '../../internal/shared/utils/jwt.js';
import { CourseService } from '../../internal/course-service/services/course_service.js';
import { CurriculumService } from '../../internal/course-service/services/curriculum_service.js';
import type { CourseDto } from '../../internal/course-service/models/course.js';
import { admin, instructor, newCourseInput, refusal, student } from './factories.js';
import { complete, enrol, expectConsistent, state } from './curriculum_helpers.js';
import { recordingDatabase, type RecordedStatement } from '../../bench/recording_db.js';
import { planNodes, type PlanNode } from '../../bench/plan_nodes.js';

describe.skipIf(!hasPostgres)('CurriculumService', () => {
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

  const draft = (owner: Principal) => courses.create(owner, newCourseInput());
  const lessonInput = (durationSeconds = 60, extra: Record<string, unknown> = {}) => ({ title: `Lesson ${newId().slice(-4)}`, kind: 'video' as const, durationSeconds, ...extra });

  /** A course with `shape[i]` lessons in section i (durations 10, 20, ...). */
  async function courseWith(owner: Principal, shape: number[], publish = false): Promise<{ course: CourseDto; sections: string[]; lessons: string[][] }> {
    const course = await draft(owner);
    const sections: string[] = [];
    const lessons: string[][] = [];
    for (const n of shape) {
      const s = await curriculum.createSection(owner, course.id, { title: `Section ${sections.length}` });
      sections.push(s.id);
      const ids: string[] = [];
      for (let i = 0; i < n; i++) ids.push((await curriculum.createLesson(owner, s.id, lessonInput(10 * (i + 1)))).id);
      lessons.push(ids);
    }
    const final = publish ? await courses.update(owner, course.id, { status: 'published' }) : await courses.get(owner, course.id);
    return { course: final, sections, lessons };
  }

  describe('sections and lessons', () => {
    it('adds sections and lessons last, with exact counters, and shows them in the outline and the course', async () => {
      const owner = instructor();
      const { course, sections, lessons } = await courseWith(owner, [2, 3]);
      expect(course).toMatchObject({ lessonCount: 5, totalDurationSeconds: 10 + 20 + 10 + 20 + 30 });
      const outline = await curriculum.outline(owner, course.id);
      expect(outline.sections.map((s) => [s.id, s.position])).toEqual([[sections[0], 0], [sections[1], 1]]);
      expect(outline.sections[1]!.lessons.map((l) => [l.id, l.position, l.durationSeconds])).toEqual([
        [lessons[1]![0], 0, 10], [lessons[1]![1], 1, 20], [lessons[1]![2], 2, 30],
      ]);
      expect(outline).toMatchObject({ courseId: course.id, lessonCount: 5, totalDurationSeconds: 90 });
      // By slug too, and the lesson DTO carries its body.
      expect(await curriculum.outline(owner, course.slug)).toEqual(outline);
      const lesson = await curriculum.createLesson(owner, sections[0]!, lessonInput(5, { body: '# Hello', preview: true }));
      expect(lesson).toMatchObject({ courseId: course.id, sectionId: sections[0], position: 2, body: '# Hello', preview: true, kind: 'video' });
      expectConsistent(await state(t.db, course.id));
    });

    it('moves the total duration on a PATCH of durationSeconds; a no-op keeps the ETag; a stale If-Match is 412', async () => {
      const owner = instructor();
      const { course, lessons } = await courseWith(owner, [2]);
      const lesson = await curriculum.getLesson(owner, lessons[0]![0]!);
      const longer = await curriculum.updateLesson(owner, lesson.id, { durationSeconds: 1000 }, { ifMatch: etagOf(lesson) });
      expect(longer.durationSeconds).toBe(1000);
      expect((await courses.get(owner, course.id)).totalDurationSeconds).toBe(1000 + 20);
      const same = await curriculum.updateLesson(owner, lesson.id, { durationSeconds: 1000 });
      expect(etagOf(same)).toBe(etagOf(longer));
      expect(await refusal(curriculum.updateLesson(owner, lesson.id, { title: 'Late' }, { ifMatch: etagOf(lesson) }))).toMatchObject({ status: 412, code: 'precondition_failed' });
      const renamed = await curriculum.updateLesson(owner, lesson.id, { title: '  Renamed  ', preview: true, kind: 'quiz', body: 'Q?' });
      expect(renamed).toMatchObject({ title: 'Renamed', preview: true, kind: 'quiz', body: 'Q?', durationSeconds: 1000 });
      expectConsistent(await state(t.db, course.id));
    });

    it('renames a section with If-Match; refuses blank titles', async () => {
      const owner = instructor();
      const course = await draft(owner);
      const section = await curriculum.createSection(owner, course.id, { title: 'One' });
      const renamed = await curriculum.updateSection(owner, section.id, { title: 'Uno' }, { ifMatch: etagOf(section) });
      expect(renamed).toMatchObject({ title: 'Uno', position: 0, lessonCount: 0 });
      expect(await refusal(curriculum.updateSection(owner, section.id, { title: 'Eins' }, { ifMatch: etagOf(section) }))).toMatchObject({ status: 412 });
      expect(await refusal(curriculum.updateSection(owner, section.id, { title: '   ' }))).toMatchObject({ status: 400, code: 'validation_failed' });
      expect(await refusal(curriculum.createSection(owner, course.id, { title: '' }))).toMatchObject({ status: 400, code: 'validation_failed' });
    });

    it('refuses deleting a section that has lessons (409 section_not_empty); an empty one goes and the later ones move up', async () => {
      const owner = instructor();
      const { course, sections } = await courseWith(owner, [1, 0, 1]);
      expect(await refusal(curriculum.deleteSection(owner, sections[0]!))).toMatchObject({ status: 409, code: 'section_not_empty' });
      await curriculum.deleteSection(owner, sections[1]!);
      const outline = await curriculum.outline(owner, course.id);
      expect(outline.sections.map((s) => [s.id, s.position])).toEqual([[sections[0], 0], [sections[2], 1]]);
      expect(await refusal(curriculum.deleteSection(owner, sections[1]!))).toMatchObject({ status: 404, code: 'section_not_found' });
      expectConsistent(await state(t.db, course.id));
    });

    it('refuses bad input with 400 and writes nothing: negative or fractional durations, long titles and bodies, unknown fields, bad kinds', async () => {
      const owner = instructor();
      const { course, sections } = await courseWith(owner, [1]);
      const before = await state(t.db, course.id);
      const bad: Record<string, unknown>[] = [
        lessonInput(-1),
        lessonInput(1.5),
        lessonInput(86_401),
        { ...lessonInput(), title: 'x'.repeat(201) },
        { ...lessonInput(), title: '   ' },
        { ...lessonInput(), body: 'x'.repeat(100_001) },
        { ...lessonInput(), kind: 'podcast' },
        { ...lessonInput(), courseId: newId() },
        { title: 'No kind', durationSeconds: 1 },
      ];
      for (const input of bad) {
        expect(await refusal(curriculum.createLesson(owner, sections[0]!, input as never)), JSON.stringify(input).slice(0, 80)).toMatchObject({ status: 400, code: 'validation_failed' });
      }
      expect(await refusal(curriculum.createSection(owner, course.id, { title: 'x'.repeat(201) }))).toMatchObject({ status: 400 });
      expect(await refusal(curriculum.createLesson(owner, newId(), lessonInput()))).toMatchObject({ status: 404, code: 'section_not_found' });
      expect(await refusal(curriculum.createLesson(owner, 'not-an-id', lessonInput()))).toMatchObject({ status: 404, code: 'section_not_found' });
      expect(await refusal(curriculum.createSection(owner, newId(), { title: 'x' }))).toMatchObject({ status: 404, code: 'course_not_found' });
      expect(await state(t.db, course.id)).toEqual(before);
      // A body of exactly the limit is fine.
      await curriculum.createLesson(owner, sections[0]!, { ...lessonInput(), body: 'é'.repeat(100_000) });
    });
  });

  describe('who may write', () => {
    it('lets the owner and admins write; others get 403 not_course_owner, or 404 for a draft they cannot see', async () => {
      const owner = instructor();
      const published = await courseWith(owner, [1], true);
      const hidden = await courseWith(owner, [1]);
      for (const who of [instructor(), student()]) {
        expect(await refusal(curriculum.createSection(who, published.course.id, { title: 'x' }))).toMatchObject({ status: 403, code: 'not_course_owner' });
        expect(await refusal(curriculum.createLesson(who, published.sections[0]!, lessonInput()))).toMatchObject({ status: 403, code: 'not_course_owner' });
        expect(await refusal(curriculum.deleteLesson(who, published.lessons[0]![0]!))).toMatchObject({ status: 403, code: 'not_course_owner' });
        expect(await refusal(curriculum.createSection(who, hidden.course.id, { title: 'x' }))).toMatchObject({ status: 404, code: 'course_not_found' });
        expect(await refusal(curriculum.updateSection(who, hidden.sections[0]!, { title: 'x' }))).toMatchObject({ status: 404, code: 'section_not_found' });
        expect(await refusal(curriculum.updateLesson(who, hidden.lessons[0]![0]!, { title: 'x' }))).toMatchObject({ status: 404, code: 'lesson_not_found' });
        expect(await refusal(curriculum.outline(who, hidden.course.id))).toMatchObject({ status: 404, code: 'course_not_found' });
      }
      expect(await refusal(curriculum.createSection(undefined, published.course.id, { title: 'x' }))).toMatchObject({ status: 401 });
      await expect(curriculum.createSection(admin(), hidden.course.id, { title: 'By admin' })).resolves.toMatchObject({ position: 1 });
    });
  });

  describe('publishing and the last lesson', () => {
    it('refuses to publish without a lesson or with an empty section (409 curriculum_incomplete)', async () => {
      const owner = instructor();
      const course = await draft(owner);
      expect(await refusal(courses.update(owner, course.id, { status: 'published' }))).toMatchObject({ status: 409, code: 'curriculum_incomplete' });
      const s1 = await curriculum.createSection(owner, course.id, { title: 'One' });
      expect(await refusal(courses.update(owner, course.id, { status: 'published' }))).toMatchObject({ status: 409, code: 'curriculum_incomplete' });
      await curriculum.createLesson(owner, s1.id, lessonInput());
      const s2 = await curriculum.createSection(owner, course.id, { title: 'Two' });
      const refused = await refusal(courses.update(owner, course.id, { status: 'published' }));
      expect(refused).toMatchObject({ status: 409, code: 'curriculum_incomplete' });
      expect(refused.detail).toMatch(/1 section/);
      expect((await courses.get(owner, course.id)).status).toBe('draft');
      await curriculum.deleteSection(owner, s2.id);
      await expect(courses.update(owner, course.id, { status: 'published' })).resolves.toMatchObject({ status: 'published', lessonCount: 1 });
    });

    it('refuses deleting the last lesson of a published course (409 last_lesson); a draft may lose it', async () => {
      const owner = instructor();
      const pub = await courseWith(owner, [2], true);
      await curriculum.deleteLesson(owner, pub.lessons[0]![0]!);
      expect(await refusal(curriculum.deleteLesson(owner, pub.lessons[0]![1]!))).toMatchObject({ status: 409, code: 'last_lesson' });
      expect((await courses.get(owner, pub.course.id)).lessonCount).toBe(1);
      const dr = await courseWith(owner, [1]);
      await curriculum.deleteLesson(owner, dr.lessons[0]![0]!);
      expect(await courses.get(owner, dr.course.id)).toMatchObject({ lessonCount: 0, totalDurationSeconds: 0 });
      expectConsistent(await state(t.db, pub.course.id));
    });
  });

  describe('lesson bodies', () => {
    it('gives preview lessons to anyone, the rest to active learners, the owner and admins; others 403 enrolment_required', async () => {
      const owner = instructor();
      const { course, sections, lessons } = await courseWith(owner, [1], true);
      const preview = await curriculum.createLesson(owner, sections[0]!, lessonInput(5, { preview: true, body: 'Free' }));
      const locked = lessons[0]![0]!;
      const learner = student();
      const leaver = student();
      await enrol(t.db, course.id, learner.sub);
      await enrol(t.db, course.id, leaver.sub, 'left');
      for (const who of [undefined, student(), instructor(), leaver]) {
        await expect(curriculum.getLesson(who, preview.id)).resolves.toMatchObject({ body: 'Free' });
        expect(await refusal(curriculum.getLesson(who, locked))).toMatchObject({ status: 403, code: 'enrolment_required' });
      }
      for (const who of [learner, owner, admin()]) await expect(curriculum.getLesson(who, locked)).resolves.toMatchObject({ id: locked });
      // A learner of another course is not a learner of this one.
      const other = await courseWith(owner, [1], true);
      await enrol(t.db, other.course.id, student().sub);
      expect(await refusal(curriculum.getLesson(learner, other.lessons[0]![0]!))).toMatchObject({ code: 'enrolment_required' });
      expect(await refusal(curriculum.getLesson(learner, newId()))).toMatchObject({ status: 404, code: 'lesson_not_found' });
    });

    it('hides the lessons of a draft (404) from everyone but its owner and admins, preview or not, learner or not', async () => {
      const owner = instructor();
      const { course, sections } = await courseWith(owner, [0]);
      const preview = await curriculum.createLesson(owner, sections[0]!, lessonInput(5, { preview: true }));
      const learner = student();
      await enrol(t.db, course.id, learner.sub);
      for (const who of [undefined, learner, instructor()]) {
        expect(await refusal(curriculum.getLesson(who, preview.id))).toMatchObject({ status: 404, code: 'lesson_not_found' });
      }
      await expect(curriculum.getLesson(owner, preview.id)).resolves.toMatchObject({ id: preview.id });
      await expect(curriculum.getLesson(admin(), preview.id)).resolves.toMatchObject({ id: preview.id });
    });
  });

  describe('deleting a lesson with completions', () => {
    it('removes its completions and takes one off completed_lessons of exactly those learners', async () => {
      const owner = instructor();
      const { course, lessons } = await courseWith(owner, [3]);
      const [a, b, c] = [newId(), newId(), newId()];
      for (const u of [a, b, c]) await enrol(t.db, course.id, u);
      const [l0, l1, l2] = lessons[0]!;
      for (const [u, l] of [[a, l0], [a, l1], [b, l1], [b, l2], [c, l2]] as [string, string][]) expect(await complete(t.db, u, l, course.id)).toBe(true);
      await curriculum.deleteLesson(owner, l1!);
      const s = await state(t.db, course.id);
      expectConsistent(s);
      expect(Object.fromEntries(s.enrolments.map((e) => [e.user_id, e.completed_lessons]))).toEqual({ [a]: 1, [b]: 1, [c]: 1 });
      expect(s.lessonCount).toBe(2);
      expect((await t.db.query('SELECT 1 FROM lesson_completions WHERE lesson_id = $1', [l1])).rowCount).toBe(0);
    });
  });

  describe('query plans', () => {
    it('has an index for every statement the curriculum runs: none needs a sequential scan', async () => {
      const recorded: RecordedStatement[] = [];
      const db = recordingDatabase(t.db, (st) => recorded.push(st));
      const rec = { courses: new CourseService({ db }), curriculum: new CurriculumService({ db }) };
      const owner = instructor();
      const course = await courses.create(owner, newCourseInput());
      const section = await rec.curriculum.createSection(owner, course.id, { title: 'S' });
      const a = await rec.curriculum.createLesson(owner, section.id, lessonInput(5));
      const b = await rec.curriculum.createLesson(owner, section.id, lessonInput(5));
      const learner = student();
      await enrol(t.db, course.id, learner.sub);
      await complete(t.db, learner.sub, a.id, course.id);
      await rec.courses.update(owner, course.id, { status: 'published' });
      await rec.curriculum.outline(undefined, course.id);
      await rec.curriculum.getLesson(learner, b.id);
      await rec.curriculum.updateLesson(owner, a.id, { durationSeconds: 9 });
      await rec.curriculum.reorder(owner, course.id, { sections: [{ id: section.id, lessonIds: [b.id, a.id] }] });
      const empty = await rec.curriculum.createSection(owner, course.id, { title: 'E' });
      await rec.curriculum.updateSection(owner, empty.id, { title: 'E2' });
      await rec.curriculum.deleteSection(owner, empty.id);
      await rec.curriculum.deleteLesson(owner, a.id);

      const tables = new Set(['courses', 'course_sections', 'lessons', 'lesson_completions', 'enrolments']);
      const statements = [...new Map(recorded.map((r) => [r.sql, r])).values()].filter((r) => /^\s*(SELECT|WITH|UPDATE|DELETE|INSERT)/i.test(r.sql));
      expect(statements.length).toBeGreaterThan(15);
      const scans: string[] = [];
      await t.db.withSession(async (session) => {
        // Off, the planner takes a sequential scan only where no index can serve the statement.
        await session.query('SET enable_seqscan = off');
        try {
          for (const st of statements) {
            const { rows } = await session.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) ${st.sql}`, st.params);
            for (const n of planNodes(rows[0]!['QUERY PLAN'][0].Plan)) {
              if (n['Node Type'] === 'Seq Scan' && tables.has(n['Relation Name'] ?? '')) scans.push(`${n['Relation Name']}: ${st.sql.replace(/\s+/g, ' ').slice(0, 120)}`);
            }
          }
        } finally {
          await session.query('RESET enable_seqscan');
        }
      });
      expect(scans).toEqual([]);
    });
  });

  describe('reorder', () => {
    it('reorders sections and moves lessons between sections in one step; section counts follow; answers the new outline', async () => {
      const owner = instructor();
      const { course, sections, lessons } = await courseWith(owner, [2, 2]);
      const before = await curriculum.outline(owner, course.id);
      const [s0, s1] = sections;
      const [[a, b], [c, d]] = lessons as [[string, string], [string, string]];
      const after = await curriculum.reorder(owner, course.id, { sections: [{ id: s1!, lessonIds: [d, a, c, b] }, { id: s0!, lessonIds: [] }] }, { ifMatch: etagOf(before) });
      expect(after.sections.map((s) => [s.id, s.position, s.lessons.map((l) => [l.id, l.position])])).toEqual([
        [s1, 0, [[d, 0], [a, 1], [c, 2], [b, 3]]],
        [s0, 1, []],
      ]);
      expect(after).toEqual(await curriculum.outline(owner, course.id));
      expect(after.lessonCount).toBe(4);
      expectConsistent(await state(t.db, course.id));
      // The outline's ETag changed: the old one is 412 now; the same order again is a no-op.
      expect(await refusal(curriculum.reorder(owner, course.id, { sections: [{ id: s0!, lessonIds: [a, b, c, d] }, { id: s1!, lessonIds: [] }] }, { ifMatch: etagOf(before) })))
        .toMatchObject({ status: 412, code: 'precondition_failed' });
      await expect(curriculum.reorder(owner, course.id, { sections: [{ id: s1!, lessonIds: [d, a, c, b] }, { id: s0!, lessonIds: [] }] }, { ifMatch: etagOf(after) })).resolves.toEqual(after);
    });

    it('refuses any order that is not exactly the current ids (400 curriculum_mismatch) and writes nothing', async () => {
      const owner = instructor();
      const { course, sections, lessons } = await courseWith(owner, [2, 1]);
      const foreign = await courseWith(owner, [1]);
      const [s0, s1] = sections as [string, string];
      const [[a, b], [c]] = lessons as [[string, string], [string]];
      const before = await state(t.db, course.id);
      const outline = await curriculum.outline(owner, course.id);
      const cases: [string, { id: string; lessonIds: string[] }[]][] = [
        ['a section missing', [{ id: s0, lessonIds: [a, b, c] }]],
        ['a section twice', [{ id: s0, lessonIds: [a, b] }, { id: s0, lessonIds: [c] }, { id: s1, lessonIds: [] }]],
        ['a foreign section', [{ id: s0, lessonIds: [a, b] }, { id: s1, lessonIds: [c] }, { id: foreign.sections[0]!, lessonIds: [] }]],
        ['an unknown section', [{ id: s0, lessonIds: [a, b] }, { id: newId(), lessonIds: [c] }]],
        ['a lesson missing', [{ id: s0, lessonIds: [a] }, { id: s1, lessonIds: [c] }]],
        ['a lesson twice', [{ id: s0, lessonIds: [a, b, a] }, { id: s1, lessonIds: [c] }]],
        ['a lesson in two sections', [{ id: s0, lessonIds: [a, b] }, { id: s1, lessonIds: [c, b] }]],
        ['a lesson of another course', [{ id: s0, lessonIds: [a, b] }, { id: s1, lessonIds: [c, foreign.lessons[0]![0]!] }]],
        ['an unknown lesson', [{ id: s0, lessonIds: [a, b, newId()] }, { id: s1, lessonIds: [c] }]],
        ['nothing', []],
      ];
      for (const [label, order] of cases) {
        const err = await refusal(curriculum.reorder(owner, course.id, { sections: order }));
        expect([err.status, err.code], label).toEqual([400, 'curriculum_mismatch']);
        expect(err.errors?.length, label).toBeGreaterThan(0);
      }
      expect(await refusal(curriculum.reorder(owner, course.id, { sections: [{ id: 'nope', lessonIds: [] }] } as never))).toMatchObject({ status: 400, code: 'validation_failed' });
      expect(await refusal(curriculum.reorder(owner, newId(), { sections: [] }))).toMatchObject({ status: 404, code: 'course_not_found' });
      expect(await refusal(curriculum.reorder(student(), course.id, { sections: [] }))).toMatchObject({ status: 404, code: 'course_not_found' });
      expect(await state(t.db, course.id)).toEqual(before);
      expect(await curriculum.outline(owner, course.id)).toEqual(outline);
    });
  });
});
