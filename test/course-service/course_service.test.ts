import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { hasPostgres } from '../helpers/services.js';
import { encodeCursor } from '../../internal/shared/utils/cursor.js';
import type { CourseService } from '../../internal/course-service/services/course_service.js';
import type { CourseListInput } from '../../internal/course-service/models/course.js';
import { etagOf } from '../../internal/shared/utils/etag.js';
import { addLesson, admin, instructor, newCourseInput, principal, publishedCourse, refusal, services, student, walk } from './factories.js';

describe.skipIf(!hasPostgres)('CourseService', () => {
  let t: TestDatabase;
  let courses: CourseService;

  beforeAll(async () => {
    t = await createTestDatabase('course-service');
    ({ courses } = services(t.db));
  });
  afterAll(async () => {
    await t?.drop();
  });

  describe('create', () => {
    it('creates a draft with a slug from the title, normalised tags and an empty rating', async () => {
      const owner = instructor({ name: 'Ada' });
      const c = await courses.create(owner, newCourseInput({ title: '  Intro to Ünicode & Friends! ', tags: ['Rust', ' rust', 'CLI'] }));
      expect(c).toMatchObject({
        slug: 'intro-to-unicode-friends',
        title: 'Intro to Ünicode & Friends!',
        tags: ['rust', 'cli'],
        status: 'draft',
        publishedAt: null,
        instructorId: owner.sub,
        instructorName: 'Ada',
        rating: { average: 0, count: 0, distribution: { '1': 0, '2': 0, '3': 0, '4': 0, '5': 0 } },
        enrolmentCount: 0,
      });
      expect(c.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(Object.keys(c)).toEqual([
        'id', 'slug', 'title', 'summary', 'description', 'category', 'tags', 'level', 'language', 'durationMinutes',
        'instructorId', 'instructorName', 'status', 'publishedAt', 'createdAt', 'updatedAt', 'rating',
        'lessonCount', 'totalDurationSeconds', 'enrolmentCount',
      ]);
    });

    it('makes generated slugs unique with a numeric suffix, transliterating Cyrillic', async () => {
      const owner = instructor();
      const a = await courses.create(owner, newCourseInput({ title: 'Same Title' }));
      const b = await courses.create(owner, newCourseInput({ title: 'Same title' }));
      const c = await courses.create(owner, newCourseInput({ title: 'same  TITLE' }));
      expect([a.slug, b.slug, c.slug]).toEqual(['same-title', 'same-title-2', 'same-title-3']);
      const ru = await courses.create(owner, newCourseInput({ title: 'Основы Python', language: 'ru' }));
      expect(ru.slug).toBe('osnovy-python');
    });

    it('refuses an explicit slug that is taken (409 slug_taken) or looks like an id', async () => {
      const owner = instructor();
      await courses.create(owner, newCourseInput({ slug: 'my-course' }));
      expect((await refusal(courses.create(owner, newCourseInput({ slug: 'my-course' })))).code).toBe('slug_taken');
      const uuidSlug = await refusal(courses.create(owner, newCourseInput({ slug: '0190a0b0-0000-7000-8000-000000000000' })));
      expect(uuidSlug.code).toBe('validation_failed');
    });

    it('refuses students, unverified instructors and anonymous callers', async () => {
      expect(await refusal(courses.create(student(), newCourseInput()))).toMatchObject({ status: 403, code: 'forbidden' });
      expect(await refusal(courses.create(instructor({ emailVerified: false }), newCourseInput()))).toMatchObject({
        status: 403,
        code: 'email_not_verified',
      });
      expect(await refusal(courses.create(undefined, newCourseInput()))).toMatchObject({ status: 401 });
      expect(await refusal(courses.create(principal({ role: 'service' }), newCourseInput()))).toMatchObject({ status: 403 });
      // Admins may create.
      await expect(courses.create(admin(), newCourseInput())).resolves.toMatchObject({ status: 'draft' });
    });

    it('refuses to create a published course (409 curriculum_incomplete, nothing written), for instructors and admins alike', async () => {
      const ownRows = async (sub: string) => (await t.db.query('SELECT 1 FROM courses WHERE instructor_id = $1', [sub])).rowCount;
      for (const who of [instructor(), admin()]) {
        const title = `Published at birth ${who.sub.slice(-6)}`;
        const refused = await refusal(courses.create(who, newCourseInput({ title, status: 'published' })));
        expect(refused).toMatchObject({ status: 409, code: 'curriculum_incomplete' });
        expect(refused.detail).toMatch(/draft/);
        expect(await ownRows(who.sub)).toBe(0);
        expect((await t.db.query('SELECT 1 FROM courses WHERE title = $1', [title])).rowCount).toBe(0);
        // The input's 400 comes first; a draft and an archived course are still created as asked.
        expect(await refusal(courses.create(who, newCourseInput({ title: ' ', status: 'published' })))).toMatchObject({ status: 400, code: 'validation_failed' });
        await expect(courses.create(who, newCourseInput({ title }))).resolves.toMatchObject({ status: 'draft', publishedAt: null });
        await expect(courses.create(who, newCourseInput({ status: 'archived' }))).resolves.toMatchObject({ status: 'archived' });
        expect(await ownRows(who.sub)).toBe(2);
      }
    });

    it('publishes what publishedCourse makes: one section, one lesson, then PATCH', async () => {
      const c = await publishedCourse(t.db, courses, instructor(), { title: 'Helper made' });
      expect(c).toMatchObject({ status: 'published', title: 'Helper made', lessonCount: 1, totalDurationSeconds: 60 });
      expect(c.publishedAt).not.toBeNull();
    });

    it('rejects invalid and unknown fields (no mass assignment)', async () => {
      const owner = instructor();
      const bad = await refusal(courses.create(owner, { ...newCourseInput(), instructorId: owner.sub } as never));
      expect(bad).toMatchObject({ status: 400, code: 'validation_failed' });
      expect(bad.errors).toEqual([{ path: '/instructorId', message: 'is not allowed' }]);
      const many = await refusal(courses.create(owner, newCourseInput({ language: 'english', durationMinutes: 0, title: '' })));
      expect(many.errors?.map((e) => e.path).sort()).toEqual(['/durationMinutes', '/language', '/title']);
      expect((await refusal(courses.create(owner, newCourseInput({ title: '   ' })))).errors).toEqual([{ path: '/title', message: 'must not be blank' }]);
    });
  });

  describe('visibility', () => {
    it('hides drafts and archived courses from others, by id and by slug', async () => {
      const owner = instructor();
      const draft = await courses.create(owner, newCourseInput());
      for (const who of [undefined, student(), instructor()]) {
        expect(await refusal(courses.get(who, draft.id))).toMatchObject({ status: 404, code: 'course_not_found' });
        expect(await refusal(courses.get(who, draft.slug))).toMatchObject({ status: 404, code: 'course_not_found' });
      }
      await expect(courses.get(owner, draft.slug)).resolves.toEqual(draft);
      await expect(courses.get(admin(), draft.id)).resolves.toEqual(draft);

      await addLesson(t.db, owner, draft.id);
      const archived = await courses.update(owner, draft.id, { status: 'archived' });
      expect(await refusal(courses.get(undefined, archived.id))).toMatchObject({ code: 'course_not_found' });
      const published = await courses.update(owner, draft.id, { status: 'published' });
      await expect(courses.get(undefined, published.slug)).resolves.toEqual(published);
    });

    it('answers 404 for ids and slugs that cannot exist', async () => {
      for (const key of ['nope', 'Bad Slug', '0190a0b0-0000-7000-8000-000000000000', 'x'.repeat(300)]) {
        expect((await refusal(courses.get(undefined, key))).code).toBe('course_not_found');
      }
    });
  });

  describe('update and delete', () => {
    it('lets only the owner or an admin edit; others get 403 not_course_owner (404 when they cannot see it)', async () => {
      const owner = instructor();
      const c = await publishedCourse(t.db, courses, owner);
      const other = instructor();
      expect(await refusal(courses.update(other, c.id, { title: 'Mine now' }))).toMatchObject({ status: 403, code: 'not_course_owner' });
      expect(await refusal(courses.update(student(), c.id, { title: 'Mine now' }))).toMatchObject({ status: 403, code: 'not_course_owner' });
      expect(await refusal(courses.delete(other, c.id))).toMatchObject({ status: 403, code: 'not_course_owner' });

      const draft = await courses.create(owner, newCourseInput());
      expect(await refusal(courses.update(other, draft.id, { title: 'x' }))).toMatchObject({ status: 404, code: 'course_not_found' });
      expect(await refusal(courses.delete(other, draft.id))).toMatchObject({ status: 404, code: 'course_not_found' });

      await expect(courses.update(admin(), c.id, { title: 'Fixed by admin' })).resolves.toMatchObject({ title: 'Fixed by admin', instructorId: owner.sub });
      await courses.delete(admin(), draft.id);
      expect((await refusal(courses.get(owner, draft.id))).code).toBe('course_not_found');
    });

    it('stamps publishedAt on first publish only and bumps updatedAt on edits', async () => {
      const owner = instructor();
      const c = await courses.create(owner, newCourseInput());
      await addLesson(t.db, owner, c.id);
      const published = await courses.update(owner, c.id, { status: 'published' });
      expect(published.publishedAt).not.toBeNull();
      await courses.update(owner, c.id, { status: 'archived' });
      await new Promise((r) => setTimeout(r, 5));
      const again = await courses.update(owner, c.id, { status: 'published', title: 'Second edition' });
      expect(again.publishedAt).toBe(published.publishedAt);
      expect(again.title).toBe('Second edition');
      expect(Date.parse(again.updatedAt)).toBeGreaterThan(Date.parse(published.updatedAt));
    });

    it('honours If-Match: a stale ETag is 412, the current one passes; a no-op keeps the ETag', async () => {
      const owner = instructor();
      const c = await publishedCourse(t.db, courses, owner);
      const tag = etagOf(await courses.get(undefined, c.id));
      expect(tag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
      expect(etagOf(c)).toBe(tag);

      const same = await courses.update(owner, c.id, { title: c.title, tags: c.tags }, { ifMatch: tag });
      expect(etagOf(same)).toBe(tag);

      const changed = await courses.update(owner, c.id, { durationMinutes: 120 }, { ifMatch: tag });
      expect(etagOf(changed)).not.toBe(tag);
      expect(await refusal(courses.update(owner, c.id, { durationMinutes: 130 }, { ifMatch: tag }))).toMatchObject({
        status: 412,
        code: 'precondition_failed',
      });
      expect(await refusal(courses.update(owner, c.id, { durationMinutes: 130 }, { ifMatch: `W/${etagOf(changed)}` }))).toMatchObject({ status: 412 });
      await expect(courses.update(owner, c.id, { durationMinutes: 130 }, { ifMatch: `"x", ${etagOf(changed)}` })).resolves.toMatchObject({ durationMinutes: 130 });
      await expect(courses.update(owner, c.id, { durationMinutes: 140 }, { ifMatch: '*' })).resolves.toMatchObject({ durationMinutes: 140 });
      expect(await refusal(courses.delete(owner, c.id, { ifMatch: tag }))).toMatchObject({ status: 412 });
    });

    it('refuses a slug change to a taken slug with 409 slug_taken', async () => {
      const owner = instructor();
      const a = await courses.create(owner, newCourseInput({ slug: 'taken-slug' }));
      const b = await courses.create(owner, newCourseInput());
      expect(await refusal(courses.update(owner, b.id, { slug: a.slug }))).toMatchObject({ status: 409, code: 'slug_taken' });
      await expect(courses.update(owner, b.id, { slug: 'free-slug' })).resolves.toMatchObject({ slug: 'free-slug' });
    });
  });

  describe('list', () => {
    it('filters published courses by category, level, language, tag, instructor and rating', async () => {
      const owner = instructor();
      const cat = `Cat-${Date.now()}`;
      const a = await publishedCourse(t.db, courses, owner, { category: cat, level: 'advanced', language: 'ru', tags: ['Kotlin'] });
      const b = await publishedCourse(t.db, courses, owner, { category: cat, level: 'beginner', language: 'en', tags: ['go'] });
      await courses.create(owner, newCourseInput({ category: cat })); // a draft never shows
      await t.db.query(`UPDATE courses SET rating_count = 2, rating_sum = 9, rating_4 = 1, rating_5 = 1 WHERE id = $1`, [a.id]);

      const ids = async (query: Parameters<CourseService['list']>[0]) => (await courses.list(query)).items.map((c) => c.id);
      expect(await ids({ category: cat })).toEqual([b.id, a.id]);
      expect(await ids({ category: cat, level: 'advanced' })).toEqual([a.id]);
      expect(await ids({ category: cat, language: 'en' })).toEqual([b.id]);
      expect(await ids({ category: cat, tag: 'KOTLIN' })).toEqual([a.id]);
      expect(await ids({ instructorId: owner.sub })).toEqual([b.id, a.id]);
      expect(await ids({ category: cat, minRating: 4.5 })).toEqual([a.id]);
      expect((await courses.list({ category: cat, minRating: 4.5 })).items[0]?.rating).toEqual({
        average: 4.5,
        count: 2,
        distribution: { '1': 0, '2': 0, '3': 0, '4': 1, '5': 1 },
      });
    });

    it('finds by title, tag and description words (stemmed), ranking a title match above a description match', async () => {
      const owner = instructor();
      const inDescription = await publishedCourse(t.db, courses, owner, { title: 'Cloud basics', description: 'We deploy with Zanzibarkube every day.' });
      const inTag = await publishedCourse(t.db, courses, owner, { title: 'Operations', tags: ['zanzibarkube'] });
      const inTitle = await publishedCourse(t.db, courses, owner, { title: 'Zanzibarkube in depth' });
      const page = await courses.list({ q: 'zanzibarkube' });
      expect(page.items.map((c) => c.id)).toEqual([inTitle.id, inTag.id, inDescription.id]);

      const stemmed = await publishedCourse(t.db, courses, owner, { title: 'Quuxifying things', description: 'Learn about quuxification pipelines.' });
      expect((await courses.list({ q: 'quuxify' })).items.map((c) => c.id)).toContain(stemmed.id);
      expect((await courses.list({ q: 'pipeline' })).items.map((c) => c.id)).toContain(stemmed.id);
      expect((await courses.list({ q: '"deploy with zanzibarkube"' })).items.map((c) => c.id)).toEqual([inDescription.id]);
      expect((await courses.list({ q: 'zanzibarkube -operations' })).items.map((c) => c.id)).toEqual([inTitle.id, inDescription.id]);
      expect((await courses.list({ q: 'the' })).items).toEqual([]);
    });

    it('matches the last word as a prefix while people type, the other words as written', async () => {
      const owner = instructor();
      const c = await publishedCourse(t.db, courses, owner, { title: 'Zymurgy for home brewers', description: 'Fermentation, yeast and patience.' });
      const ids = async (q: string) => (await courses.list({ q })).items.map((x) => x.id);
      for (const q of ['zymur', 'Zymurg', 'zymurgy', 'zymurgy brew', 'home brewer zymurg', 'ferment yea', '  zymur  ']) {
        expect(await ids(q), q).toEqual([c.id]);
      }
      // Only the last word: an earlier partial word must be whole.
      expect(await ids('zymur brewers')).toEqual([]);
      // Sorts other than relevance and the ranking path on courses (minRating) prefix-match too.
      expect((await courses.list({ q: 'zymur', sort: 'newest' })).items.map((x) => x.id)).toEqual([c.id]);
      expect((await courses.list({ q: 'zymur', minRating: 0 })).items.map((x) => x.id)).toEqual([c.id]);
      // No prefix inside an open phrase, after "-" or after "or": those keep websearch's meaning.
      expect(await ids('"home zymur')).toEqual([]);
      expect(await ids('zymurgy -brewers')).toEqual([]);
      expect(await ids('zymurgy -brew')).toEqual([c.id]);
      expect(await ids('qwertyuiop or zymurgy')).toEqual([c.id]);
      expect(await ids('qwertyuiop or zymur')).toEqual([]);
    });

    it('answers odd search text (tsquery syntax, quotes, operators, nothing left after stripping) without an error', async () => {
      const owner = instructor();
      const c = await publishedCourse(t.db, courses, owner, { title: 'Quasiquoting pipelines' });
      const odd = ["'", "''", '"', '""', '-', '--', '|', '&', '!', ':*', '*', '\\', '(', ')', '<->', "quasi'", 'quasi:*', 'quasi:*A',
        "quasi' | '1", "quasi & !x", "x' OR '1'='1", 'quasi\\', '"quasi', 'quasi"', '-quasi', 'quasi -', 'quasi |', 'or', 'the',
        'ƒøø', 'курс', '😀', 'quasi\u0301', 'a'.repeat(200),
        // Runs of dashes: each one stacked a tsquery operator, and 33 overflowed PostgreSQL's stack (a 500).
        '-'.repeat(40), `${'-'.repeat(60)}quasi`, `${'- '.repeat(90)}quasi`, `quasi ${'-'.repeat(150)}`];
      for (const q of odd) {
        const page = await courses.list({ q });
        expect(Array.isArray(page.items), q).toBe(true);
        expect(page.items.every((x) => x.status === 'published'), q).toBe(true);
      }
      // Text that looks like tsquery syntax is not syntax: "quasi' | '1" would find the course as a query.
      expect((await courses.list({ q: "quasi' | '1" })).items.map((x) => x.id)).not.toContain(c.id);
      expect((await courses.list({ q: 'quasiquot' })).items.map((x) => x.id)).toEqual([c.id]);
    });

    it("stems Russian courses' words in Russian (another form of a word finds the course), English ones in English", async () => {
      const owner = instructor();
      const ru = await publishedCourse(t.db, courses, owner, { title: 'Основы программирования', description: 'Практический курс для начинающих разработчиков.', language: 'ru', tags: ['python'] });
      const en = await publishedCourse(t.db, courses, owner, { title: 'Гиперпрограммирования intro', description: 'Mentions курсы verbatim.', language: 'en' });
      const ids = async (q: string, extra: Partial<CourseListInput> = {}) => (await courses.list({ q, ...extra })).items.map((x) => x.id);
      for (const q of ['программирование', 'программированию', 'Программировании', 'курсов', 'разработчик', 'начинающий', 'начина']) {
        expect(await ids(q), q).toEqual([ru.id]);
      }
      // The English course's Russian word is not stemmed (its language is en): only the exact form finds it.
      expect(await ids('гиперпрограммирование')).toEqual([]);
      expect(await ids('гиперпрограммирования')).toEqual([en.id]);
      expect(new Set(await ids('курсы'))).toEqual(new Set([ru.id, en.id]));
      // English words of a Russian course stem as in English; mixed queries; exclusions by another form.
      expect(await ids('программирование pythons')).toEqual([ru.id]);
      expect(await ids('python -программирование')).toEqual([]);
      expect(await ids('программирование', { sort: 'newest' })).toEqual([ru.id]);
      expect(await ids('программирование', { minRating: 0 })).toEqual([ru.id]);
      expect(await ids('программирование', { language: 'ru' })).toEqual([ru.id]);
      // Keyset pages of a bilingual query (each row ranked with its own language's parse) lose and repeat nothing.
      const more = [];
      for (const title of ['Программирование игр', 'Программист и программирование', 'Программы', 'Programmirovanie']) {
        more.push(await publishedCourse(t.db, courses, owner, { title, language: title.startsWith('Programm') ? 'en' : 'ru' }));
      }
      const walked = await walk((cursor) => courses.list({ q: 'программирование программ', limit: 1, cursor }));
      const all = (await courses.list({ q: 'программирование программ', limit: 100 })).items.map((x) => x.id);
      expect(walked.items.map((x) => x.id)).toEqual(all);
      expect(all).toContain(more[0]!.id);
      expect(all).toContain(more[1]!.id);
      // A change of language rebuilds the vector in the new configuration.
      await courses.update(owner, ru.id, { language: 'en' });
      expect(await ids('программированию')).not.toContain(ru.id);
      expect(await ids('программирования')).toContain(ru.id);
    });

    it('filters by category ignoring letter case, on every list path', async () => {
      const owner = instructor();
      const cat = `Mixed-Case-${Date.now()}`;
      const a = await publishedCourse(t.db, courses, owner, { category: cat, title: 'Ocarinology one' });
      const b = await publishedCourse(t.db, courses, owner, { category: cat.toLowerCase(), title: 'Ocarinology two' });
      for (const category of [cat, cat.toLowerCase(), cat.toUpperCase()]) {
        for (const query of [{ sort: 'newest' as const }, { sort: 'title' as const }, { q: 'ocarinology' }, { q: 'ocarinology', minRating: 0 }]) {
          const found = (await courses.list({ category, ...query })).items.map((x) => x.id);
          expect(new Set(found), `${category} ${JSON.stringify(query)}`).toEqual(new Set([a.id, b.id]));
        }
      }
      expect((await courses.list({ category: `${cat}x` })).items).toEqual([]);
    });

    it('keeps the search table in step with publishing, edits, archiving and deletes', async () => {
      const owner = instructor();
      const ids = async (q: string) => (await courses.list({ q })).items.map((c) => c.id);
      const searchRow = async (id: string) =>
        (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM course_search WHERE course_id = $1', [id])).rows[0]!.n;
      const draft = await courses.create(owner, newCourseInput({ title: 'Xylophonix draft' }));
      expect(await searchRow(draft.id)).toBe(0);
      expect(await ids('xylophonix')).toEqual([]);

      const c = await publishedCourse(t.db, courses, owner, { title: 'Xylophonix basics' });
      expect(await ids('xylophonix')).toEqual([c.id]);
      await courses.update(owner, c.id, { title: 'Marimbaquest basics' });
      expect(await ids('xylophonix')).toEqual([]);
      expect(await ids('marimbaquest')).toEqual([c.id]);
      await t.db.query('UPDATE courses SET rating_count = 1, rating_sum = 5, rating_5 = 1 WHERE id = $1', [c.id]);
      expect(await ids('marimbaquest')).toEqual([c.id]);
      await courses.update(owner, c.id, { status: 'archived' });
      expect(await searchRow(c.id)).toBe(0);
      expect(await ids('marimbaquest')).toEqual([]);

      const gone = await publishedCourse(t.db, courses, owner, { title: 'Marimbaquest advanced' });
      expect(await ids('marimbaquest')).toEqual([gone.id]);
      await courses.delete(admin(), gone.id);
      expect(await searchRow(gone.id)).toBe(0);
      expect(await ids('marimbaquest')).toEqual([]);
    });

    it('keeps the search facets in step with edits to category, level, language and tags', async () => {
      const owner = instructor();
      const found = async (filter: Partial<CourseListInput>) => (await courses.list({ q: 'glockenspieler', ...filter })).items.map((c) => c.id);
      const c = await publishedCourse(t.db, courses, owner, { title: 'Glockenspieler', category: 'Music', level: 'beginner', language: 'en', tags: ['percussion'] });
      expect(await found({ category: 'Music', level: 'beginner', language: 'en', tag: 'percussion' })).toEqual([c.id]);
      await courses.update(owner, c.id, { category: 'Art', level: 'advanced', language: 'de', tags: ['mallets'] });
      for (const stale of [{ category: 'Music' }, { level: 'beginner' as const }, { language: 'en' }, { tag: 'percussion' }]) {
        expect(await found(stale)).toEqual([]);
      }
      expect(await found({ category: 'Art', level: 'advanced', language: 'de', tag: 'mallets' })).toEqual([c.id]);
      // A category is matched whole: no prefix or other facet kind can stand in for it.
      expect(await found({ category: 'Ar' })).toEqual([]);
      expect(await found({ category: 'advanced' })).toEqual([]);
    });

    it('refuses garbage cursors and cursors from another sort with 400 invalid_cursor', async () => {
      const owner = instructor();
      for (let i = 0; i < 3; i++) await publishedCourse(t.db, courses, owner);
      const first = await courses.list({ sort: 'newest', limit: 1 });
      expect(first.nextCursor).toBeTypeOf('string');
      const cursor = first.nextCursor!;
      // The cursor is good: the next page is the second course of the newest two.
      const newestTwo = (await courses.list({ sort: 'newest', limit: 2 })).items.map((c) => c.id);
      expect(first.items.map((c) => c.id)).toEqual(newestTwo.slice(0, 1));
      const second = await courses.list({ sort: 'newest', limit: 1, cursor });
      expect(second.items.map((c) => c.id)).toEqual(newestTwo.slice(1));
      for (const bad of ['garbage', '!!!', encodeCursor('courses:newest', ['yesterday', 'x']), Buffer.from('[1,2]').toString('base64url'),
        encodeCursor('courses:newest', ["2024-01-01T00:00:00.000Z'; DROP TABLE courses; --", '0190a0b0-0000-7000-8000-000000000000'])]) {
        expect(await refusal(courses.list({ sort: 'newest', cursor: bad }))).toMatchObject({ status: 400, code: 'invalid_cursor' });
      }
      for (const sort of ['title', 'rating', 'popular'] as const) {
        expect(await refusal(courses.list({ sort, cursor }))).toMatchObject({ status: 400, code: 'invalid_cursor' });
      }
      expect(await refusal(courses.list({ q: 'testing', cursor }))).toMatchObject({ code: 'invalid_cursor' });
      // relevance without q is newest, so the newest cursor still fits: the same pages follow.
      const asRelevance = await courses.list({ sort: 'relevance', cursor });
      expect(asRelevance.items.map((c) => c.id)).toEqual((await courses.list({ sort: 'newest', cursor })).items.map((c) => c.id));
      expect(asRelevance.items[0]!.id).toBe(second.items[0]!.id);
    });

    it('bounds limit to 1..100 and validates filters', async () => {
      expect(await refusal(courses.list({ limit: 0 }))).toMatchObject({ code: 'validation_failed' });
      expect(await refusal(courses.list({ limit: 101 }))).toMatchObject({ code: 'validation_failed' });
      expect(await refusal(courses.list({ sort: 'random' as never }))).toMatchObject({ code: 'validation_failed' });
      expect(await refusal(courses.list({ instructorId: 'not-a-uuid' }))).toMatchObject({ code: 'validation_failed' });
      expect((await courses.list({ limit: 2 })).items.length).toBeLessThanOrEqual(2);
    });
  });

  describe('listOwn', () => {
    it("walks an instructor's courses of every status newest first, with ties on created_at broken by id", async () => {
      const owner = instructor();
      const made = [];
      for (let i = 0; i < 5; i++) made.push(i % 2 ? await publishedCourse(t.db, courses, owner) : await courses.create(owner, newCourseInput()));
      // Two courses created in the same millisecond: the id decides, and no page loses or repeats one.
      await t.db.query('UPDATE courses SET created_at = $1 WHERE id = ANY($2::uuid[])', [made[1]!.createdAt, [made[2]!.id, made[3]!.id]]);
      await courses.create(instructor(), newCourseInput()); // someone else's
      const all = await walk((cursor) => courses.listOwn(owner, { limit: 2, cursor }));
      expect(all.pages).toBe(3);
      const { rows } = await t.db.query<{ id: string }>(
        'SELECT id FROM courses WHERE instructor_id = $1 ORDER BY created_at DESC, id DESC',
        [owner.sub],
      );
      expect(all.items.map((c) => c.id)).toEqual(rows.map((r) => r.id));
      expect(new Set(all.items.map((c) => c.id))).toEqual(new Set(made.map((c) => c.id)));
      const drafts = await walk((cursor) => courses.listOwn(owner, { status: 'draft', limit: 1, cursor }));
      expect(drafts.items.map((c) => c.status)).toEqual(['draft', 'draft', 'draft']);
    });

    it('refuses students and anonymous callers, and bad cursors', async () => {
      expect(await refusal(courses.listOwn(student()))).toMatchObject({ status: 403, code: 'forbidden' });
      expect(await refusal(courses.listOwn(undefined))).toMatchObject({ status: 401 });
      expect(await refusal(courses.listOwn(instructor(), { cursor: encodeCursor('courses:newest', ['2024-01-01T00:00:00.000Z', principal().sub]) })))
        .toMatchObject({ status: 400, code: 'invalid_cursor' });
      expect(await refusal(courses.listOwn(instructor(), { status: 'gone' as never }))).toMatchObject({ code: 'validation_failed' });
      await expect(courses.listOwn(admin())).resolves.toEqual({ items: [], nextCursor: null });
    });
  });

  it('lists categories with counts of published courses only', async () => {
    const owner = instructor();
    const cat = `Zeta-${Date.now()}`;
    await publishedCourse(t.db, courses, owner, { category: cat });
    await publishedCourse(t.db, courses, owner, { category: cat });
    await courses.create(owner, newCourseInput({ category: `${cat}-drafts-only` }));
    const { items, nextCursor } = await courses.listCategories();
    expect(nextCursor).toBeNull();
    expect(items.find((c) => c.name === cat)).toEqual({ name: cat, courseCount: 2 });
    expect(items.find((c) => c.name === `${cat}-drafts-only`)).toBeUndefined();
  });
});
