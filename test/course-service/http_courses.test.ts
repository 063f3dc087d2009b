/**
 * Courses and categories over HTTP: course-service verifying real auth-service tokens through its JWKS,
 * real PostgreSQL and Redis, every answer checked against the served OpenAPI document.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres } from '../helpers/services.js';
import { startPlatform, type Platform, type PlatformUser } from '../helpers/course_app.js';
import { etagOf } from '../../internal/shared/utils/etag.js';
import { newId } from '../../internal/shared/utils/ids.js';
import { newCourseInput, publishedCourseOverHttp } from './factories.js';

/** The base server's tag of an answer's bytes. */
function bytesTag(text: string): string {
  return `"${createHash('sha256').update(text).digest('base64url').slice(0, 27)}"`;
}

describe.skipIf(!hasPostgres)('course-service HTTP: courses', () => {
  let p: Platform;
  let owner: PlatformUser;
  let otherInstructor: PlatformUser;
  let student: PlatformUser;
  let admin: PlatformUser;
  const category = `Cat-${newId().slice(-6)}`;

  beforeAll(async () => {
    p = await startPlatform();
    [owner, otherInstructor, student, admin] = await Promise.all([
      p.user({ role: 'instructor' }),
      p.user({ role: 'instructor' }),
      p.user({ role: 'student' }),
      p.user({ role: 'admin' }),
    ]);
  });
  afterAll(async () => {
    await p?.close();
  });

  const call = (...args: Parameters<Platform['course']['call']>) => p.course.call(...args);

  async function createCourse(by: PlatformUser, overrides: Record<string, unknown> = {}) {
    const res = await call('POST', '/api/v1/courses', { token: by.token, body: newCourseInput({ category, ...overrides }) });
    expect(res.status, res.text).toBe(201);
    return res;
  }

  const publishedCourse = (by: PlatformUser, overrides: Record<string, unknown> = {}) => publishedCourseOverHttp(call, by.token, { category, ...overrides });

  it('lets a verified instructor create a draft: 201, Location, ETag, names from the token', async () => {
    const res = await createCourse(owner, { title: 'Rust for Backend Engineers' });
    expect(res.headers.location).toBe(`/api/v1/courses/${res.body.id}`);
    expect(res.headers.etag).toBe(etagOf(res.body));
    expect(res.body).toMatchObject({
      slug: 'rust-for-backend-engineers',
      status: 'draft',
      publishedAt: null,
      instructorId: owner.id,
      instructorName: owner.displayName,
      rating: { average: 0, count: 0, distribution: { '1': 0, '2': 0, '3': 0, '4': 0, '5': 0 } },
    });
  });

  it('refuses to create a course: anonymous 401, student 403, unverified instructor 403 email_not_verified', async () => {
    const body = newCourseInput({ category });
    const anonymous = await call('POST', '/api/v1/courses', { body });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.code).toBe('unauthorized');

    const byStudent = await call('POST', '/api/v1/courses', { token: student.token, body });
    expect(byStudent.status).toBe(403);
    expect(byStudent.body.code).toBe('forbidden');

    const unverified = await p.user({ role: 'instructor', verified: false });
    const byUnverified = await call('POST', '/api/v1/courses', { token: unverified.token, body });
    expect(byUnverified.status).toBe(403);
    expect(byUnverified.body.code).toBe('email_not_verified');
  });

  it('rejects unknown fields in a write (no mass assignment) with 400 validation_failed', async () => {
    const res = await call('POST', '/api/v1/courses', {
      token: owner.token,
      body: { ...newCourseInput({ category }), instructorId: otherInstructor.id },
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors).toEqual([{ path: 'body.instructorId', message: 'is not an allowed field' }]);

    const { body: course } = await createCourse(owner);
    const patch = await call('PATCH', `/api/v1/courses/${course.id}`, { token: owner.token, body: { rating: { average: 5 } } });
    expect(patch.status).toBe(400);
    expect(patch.body.code).toBe('validation_failed');

    const wrongType = await call('POST', '/api/v1/courses', { token: owner.token, body: { ...newCourseInput({ category }), durationMinutes: '90' } });
    expect(wrongType.status).toBe(400);
  });

  it('shows a draft only to its owner and admins (404 to others and to anonymous callers)', async () => {
    const { body: draft } = await createCourse(owner);
    for (const path of [`/api/v1/courses/${draft.id}`, `/api/v1/courses/${draft.slug}`]) {
      expect((await call('GET', path)).status).toBe(404);
      expect((await call('GET', path, { token: student.token })).status).toBe(404);
      expect((await call('GET', path, { token: otherInstructor.token })).status).toBe(404);
      const mine = await call('GET', path, { token: owner.token });
      expect(mine.status).toBe(200);
      expect(mine.body.id).toBe(draft.id);
      expect(mine.headers['x-cache']).toBe('BYPASS');
      expect((await call('GET', path, { token: admin.token })).status).toBe(200);
    }
    const anonymous = await call('GET', `/api/v1/courses/${draft.id}`);
    expect(anonymous.body.code).toBe('course_not_found');
  });

  it('lets only the owner or an admin edit and delete (403 not_course_owner otherwise)', async () => {
    const course = await publishedCourse(owner);
    const path = `/api/v1/courses/${course.id}`;
    const byOther = await call('PATCH', path, { token: otherInstructor.token, body: { title: 'Taken over' } });
    expect(byOther.status).toBe(403);
    expect(byOther.body.code).toBe('not_course_owner');
    const byStudent = await call('DELETE', path, { token: student.token });
    expect(byStudent.status).toBe(403);
    expect((await call('DELETE', path, { token: otherInstructor.token })).status).toBe(403);

    const byAdmin = await call('PATCH', path, { token: admin.token, body: { summary: 'Edited by an admin' } });
    expect(byAdmin.status).toBe(200);
    expect(byAdmin.body.summary).toBe('Edited by an admin');
    expect(byAdmin.body.instructorId).toBe(owner.id);

    const deleted = await call('DELETE', path, { token: owner.token });
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expect((await call('GET', path)).status).toBe(404);
    expect((await call('DELETE', path, { token: owner.token })).status).toBe(404);
  });

  it('refuses POST with status published (409 curriculum_incomplete problem+json, nothing written), for an instructor and an admin', async () => {
    // Their own users: the admin's draft made below must not show in another test's list of the shared admin's courses.
    for (const who of await Promise.all([p.user({ role: 'instructor' }), p.user({ role: 'admin' })])) {
      const title = `Born published ${newId().slice(-8)}`;
      const countRows = async () => (await p.course.db.query('SELECT 1 FROM courses WHERE instructor_id = $1', [who.id])).rowCount;
      const own = async () => (await call('GET', '/api/v1/instructor/courses?limit=100', { token: who.token })).body.items.length as number;
      const [rowsBefore, ownBefore] = [await countRows(), await own()];
      const res = await call('POST', '/api/v1/courses', { token: who.token, body: newCourseInput({ category, title, status: 'published' }) });
      expect([res.status, res.body.code]).toEqual([409, 'curriculum_incomplete']);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.headers.location).toBeUndefined();
      expect(await countRows()).toBe(rowsBefore);
      expect(await own()).toBe(ownBefore);
      expect((await p.course.db.query('SELECT 1 FROM courses WHERE title = $1', [title])).rowCount).toBe(0);
      expect((await call('GET', `/api/v1/courses?q=${encodeURIComponent(title)}`)).body.items).toEqual([]);
      // The same body as a draft is created; publishing then goes through the curriculum and PATCH.
      const draft = await createCourse(who, { title });
      expect(draft.body).toMatchObject({ title, status: 'draft', instructorId: who.id });
    }
  });

  it('publishes with PATCH {status: published}: then visible to everyone', async () => {
    const { body: draft } = await createCourse(owner);
    // Publishing needs a lesson (and no empty section): 409 curriculum_incomplete until then.
    const early = await call('PATCH', `/api/v1/courses/${draft.id}`, { token: owner.token, body: { status: 'published' } });
    expect([early.status, early.body.code]).toEqual([409, 'curriculum_incomplete']);
    const section = await call('POST', `/api/v1/courses/${draft.id}/sections`, { token: owner.token, body: { title: 'Basics' } });
    await call('POST', `/api/v1/sections/${section.body.id}/lessons`, { token: owner.token, body: { title: 'Hello', kind: 'article', durationSeconds: 30 } });
    const published = await call('PATCH', `/api/v1/courses/${draft.id}`, { token: owner.token, body: { status: 'published' } });
    expect(published.status).toBe(200);
    expect(published.body.status).toBe('published');
    expect(published.body.publishedAt).toEqual(expect.any(String));
    const anonymous = await call('GET', `/api/v1/courses/${draft.slug}`);
    expect(anonymous.status).toBe(200);
    expect(anonymous.body.id).toBe(draft.id);
  });

  it("serves the ETag that etagOf(dto) computes, and honours If-Match on PATCH (412 when stale) and DELETE", async () => {
    const course = await publishedCourse(owner);
    const path = `/api/v1/courses/${course.id}`;
    const read = await call('GET', path);
    expect(read.status).toBe(200);
    const tag = read.headers.etag as string;
    expect(tag).toBe(etagOf(read.body));
    expect(tag).toBe(bytesTag(read.text));
    expect(read.text).toBe(JSON.stringify(read.body));

    const first = await call('PATCH', path, { token: owner.token, headers: { 'if-match': tag }, body: { title: 'Renamed once' } });
    expect(first.status).toBe(200);
    expect(first.body.title).toBe('Renamed once');
    expect(first.headers.etag).toBe(etagOf(first.body));
    expect(first.headers.etag).not.toBe(tag);

    const stale = await call('PATCH', path, { token: owner.token, headers: { 'if-match': tag }, body: { title: 'Renamed twice' } });
    expect(stale.status).toBe(412);
    expect(stale.body.code).toBe('precondition_failed');

    // The PATCH answer's ETag is the current one, and so is a fresh GET's.
    const again = await call('GET', path);
    expect(again.headers.etag).toBe(first.headers.etag);
    const second = await call('PATCH', path, { token: owner.token, headers: { 'if-match': again.headers.etag as string }, body: { title: 'Renamed twice' } });
    expect(second.status).toBe(200);

    expect((await call('DELETE', path, { token: owner.token, headers: { 'if-match': tag } })).status).toBe(412);
    expect((await call('DELETE', path, { token: owner.token, headers: { 'if-match': second.headers.etag as string } })).status).toBe(204);
  });

  it('searches and filters published courses in keyset pages; bad cursor and limits are 400', async () => {
    const tag = `t${newId().slice(-8)}`;
    for (let i = 0; i < 3; i++) await publishedCourse(owner, { tags: [tag], title: `Paged Course ${i} ${tag}` });
    await createCourse(owner, { tags: [tag] }); // a draft: never listed

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/api/v1/courses?tag=${tag}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = await call('GET', url);
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((c: { id: string }) => c.id));
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor);
    expect(seen).toHaveLength(3);
    expect(new Set(seen).size).toBe(3);
    expect(pages).toBe(2);

    const search = await call('GET', `/api/v1/courses?q=${encodeURIComponent(`"Paged Course 1 ${tag}"`)}`);
    expect(search.status).toBe(200);
    expect(search.body.items.map((c: { title: string }) => c.title)).toContain(`Paged Course 1 ${tag}`);

    const sorted = await call('GET', `/api/v1/courses?tag=${tag}&sort=title`);
    expect(sorted.body.items.map((c: { title: string }) => c.title)).toEqual([0, 1, 2].map((i) => `Paged Course ${i} ${tag}`));

    const badCursor = await call('GET', '/api/v1/courses?cursor=not-a-cursor');
    expect(badCursor.status).toBe(400);
    expect(badCursor.body.code).toBe('invalid_cursor');
    for (const limit of [0, 101]) {
      const res = await call('GET', `/api/v1/courses?limit=${limit}`);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('validation_failed');
    }
    const unknownParam = await call('GET', '/api/v1/courses?role=admin');
    expect(unknownParam.status).toBe(400);
    const badLevel = await call('GET', '/api/v1/courses?level=expert');
    expect(badLevel.status).toBe(400);
  });

  it("searches while people type (last word as a prefix), stems Russian courses in Russian, ignores the category's case; odd text is never a 500", async () => {
    const word = `zymurgy${newId().slice(-6).replace(/[^a-z]/g, 'q')}`;
    const cat = `Brewing-${newId().slice(-6)}`;
    const en = await publishedCourse(owner, { title: `${word} for brewers`, category: cat });
    const ru = await publishedCourse(owner, { title: `Пивоварение и ${word}`, language: 'ru', category: cat });
    const ids = async (query: Record<string, string>) => {
      const res = await call('GET', `/api/v1/courses?${new URLSearchParams(query)}`);
      expect(res.status, res.text).toBe(200);
      return res.body.items.map((c: { id: string }) => c.id).sort();
    };
    expect(await ids({ q: word.slice(0, 8) })).toEqual([en.id, ru.id].sort());
    expect(await ids({ q: 'пивоварения' })).toEqual([ru.id]);
    expect(await ids({ q: `${word} пивоварен` })).toEqual([ru.id]);
    expect(await ids({ q: word, category: cat.toUpperCase() })).toEqual([en.id, ru.id].sort());
    expect(await ids({ category: cat.toLowerCase(), sort: 'title' })).toEqual([en.id, ru.id].sort());
    for (const q of ["'", '"', '-', '|', ':*', `${word}:*`, "' OR 1=1 --", '!(', '\\', '<->', '""""']) {
      const res = await call('GET', `/api/v1/courses?${new URLSearchParams({ q })}`);
      expect(res.status, q).toBe(200);
    }
  });

  it('lists categories with counts of published courses', async () => {
    const own = `Solo-${newId().slice(-6)}`;
    await publishedCourse(owner, { category: own });
    await publishedCourse(owner, { category: own });
    await createCourse(owner, { category: own }); // draft: not counted
    const res = await call('GET', '/api/v1/categories');
    expect(res.status).toBe(200);
    expect(res.body.nextCursor).toBeNull();
    expect(res.body.items).toContainEqual({ name: own, courseCount: 2 });
  });

  it("lists an instructor's own courses of every status, newest first in keyset pages; students 403; never another's", async () => {
    const [a, b] = await Promise.all([p.user({ role: 'instructor' }), p.user({ role: 'instructor' })]);
    const draft = (await createCourse(a)).body;
    const published = await publishedCourse(a);
    const archived = await publishedCourse(a);
    expect((await call('PATCH', `/api/v1/courses/${archived.id}`, { token: a.token, body: { status: 'archived' } })).status).toBe(200);
    const theirs = (await createCourse(b)).body;
    const ids = (res: { body: { items: { id: string }[] } }) => res.body.items.map((c) => c.id);

    const all = await call('GET', '/api/v1/instructor/courses', { token: a.token });
    expect(all.status, all.text).toBe(200);
    expect(ids(all)).toEqual([archived.id, published.id, draft.id]);
    expect(all.body.items.map((c: { status: string }) => c.status)).toEqual(['archived', 'published', 'draft']);
    expect(all.body.nextCursor).toBeNull();
    // Private: not from or into the response cache, and no shared cache may keep it.
    expect(all.headers['cache-control']).toBe('no-store');
    expect(all.headers['x-cache']).toBeUndefined();

    for (const status of ['draft', 'published', 'archived'] as const) {
      const one = await call('GET', `/api/v1/instructor/courses?status=${status}`, { token: a.token });
      expect(ids(one), status).toEqual([{ draft, published, archived }[status].id]);
    }

    // Keyset pages of one, with and without a filter.
    const walked: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/api/v1/instructor/courses?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = await call('GET', url, { token: a.token });
      expect(page.status).toBe(200);
      walked.push(...ids(page));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(walked).toEqual([archived.id, published.id, draft.id]);

    // The wrong user: B sees only B's course; an admin sees only their own; students and anonymous callers none.
    expect(ids(await call('GET', '/api/v1/instructor/courses', { token: b.token }))).toEqual([theirs.id]);
    const adminOwn = (await createCourse(admin)).body;
    expect(ids(await call('GET', '/api/v1/instructor/courses', { token: admin.token }))).toEqual([adminOwn.id]);
    const byStudent = await call('GET', '/api/v1/instructor/courses', { token: student.token });
    expect(byStudent.status).toBe(403);
    expect(byStudent.body.code).toBe('forbidden');
    expect((await call('GET', '/api/v1/instructor/courses')).status).toBe(401);

    // Bad input is 400: an unknown status, a garbage cursor, the public list's cursor, an unknown parameter.
    const badStatus = await call('GET', '/api/v1/instructor/courses?status=deleted', { token: a.token });
    expect([badStatus.status, badStatus.body.code]).toEqual([400, 'validation_failed']);
    const garbage = await call('GET', '/api/v1/instructor/courses?cursor=garbage', { token: a.token });
    expect([garbage.status, garbage.body.code]).toEqual([400, 'invalid_cursor']);
    const publicCursor = (await call('GET', '/api/v1/courses?limit=1')).body.nextCursor as string;
    const foreign = await call('GET', `/api/v1/instructor/courses?cursor=${encodeURIComponent(publicCursor)}`, { token: a.token });
    expect([foreign.status, foreign.body.code]).toEqual([400, 'invalid_cursor']);
    expect((await call('GET', `/api/v1/instructor/courses?instructorId=${b.id}`, { token: a.token })).status).toBe(400);
  });

  it('answers unknown ids and malformed ids with 404 and 400', async () => {
    expect((await call('GET', `/api/v1/courses/${newId()}`)).status).toBe(404);
    expect((await call('PATCH', '/api/v1/courses/not-a-uuid', { token: owner.token, body: { title: 'x' } })).status).toBe(400);
    expect((await call('GET', '/api/v1/courses/Not_A_Slug!')).status).toBe(404);
  });

  it('checked every answer against the served OpenAPI document', () => {
    expect(p.course.checker.checked).toBeGreaterThan(40);
  });
});
