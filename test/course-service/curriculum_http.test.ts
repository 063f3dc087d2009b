/**
 * The curriculum over HTTP: real auth-service tokens, real PostgreSQL and Redis, every answer checked
 * against the served OpenAPI document (so an undocumented status or code fails). The authorisation
 * matrix of every endpoint (anonymous, an active learner, a non-learner, the owner, another instructor,
 * an admin), bad input (problem+json, nothing written), the outline cache and its invalidation across
 * replicas, and `If-Match` on the reorder.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres } from '../helpers/services.js';
import { startPlatform, type CourseHarness, type Platform, type PlatformUser } from '../helpers/course_app.js';
import { newId } from '../../internal/shared/utils/ids.js';
import { newCourseInput } from './factories.js';
import { enrol } from './curriculum_helpers.js';

type Who = 'anonymous' | 'learner' | 'nonLearner' | 'owner' | 'otherInstructor' | 'admin';
const EVERYONE: Who[] = ['anonymous', 'learner', 'nonLearner', 'owner', 'otherInstructor', 'admin'];

describe.skipIf(!hasPostgres)('course-service HTTP: curriculum', () => {
  let p: Platform;
  let replica: CourseHarness;
  const users = {} as Record<Exclude<Who, 'anonymous'>, PlatformUser>;
  const token = (who: Who) => (who === 'anonymous' ? undefined : users[who].token);
  const call = (...args: Parameters<Platform['course']['call']>) => p.course.call(...args);

  /** A course of the owner with one section holding a preview lesson and a locked one; published unless `draft`. */
  async function makeCourse(draft = false) {
    const owner = users.owner.token;
    const course = await call('POST', '/api/v1/courses', { token: owner, body: newCourseInput() });
    expect(course.status, course.text).toBe(201);
    const section = await call('POST', `/api/v1/courses/${course.body.id}/sections`, { token: owner, body: { title: 'Basics' } });
    expect(section.status, section.text).toBe(201);
    const preview = await call('POST', `/api/v1/sections/${section.body.id}/lessons`, { token: owner, body: { title: 'Intro', kind: 'video', durationSeconds: 120, preview: true, body: 'Free' } });
    const locked = await call('POST', `/api/v1/sections/${section.body.id}/lessons`, { token: owner, body: { title: 'Deep', kind: 'article', durationSeconds: 600, body: 'Paid' } });
    expect([preview.status, locked.status]).toEqual([201, 201]);
    if (!draft) {
      const pub = await call('PATCH', `/api/v1/courses/${course.body.id}`, { token: owner, body: { status: 'published' } });
      expect(pub.status, pub.text).toBe(200);
    }
    await enrol(p.course.db, course.body.id, users.learner.id);
    return { id: course.body.id as string, slug: course.body.slug as string, section: section.body.id as string, preview: preview.body.id as string, locked: locked.body.id as string };
  }

  /** Rows and counters of the curriculum tables: what a refused request must leave as it was. */
  async function fingerprint() {
    const { rows } = await p.course.db.query(
      `SELECT (SELECT count(*)::int FROM course_sections) AS sections, (SELECT count(*)::int FROM lessons) AS lessons,
              (SELECT coalesce(sum(lesson_count), 0)::int FROM courses) AS lesson_count,
              (SELECT coalesce(sum(total_duration_seconds), 0)::int FROM courses) AS duration,
              (SELECT md5(coalesce(string_agg(id::text || title || position || lesson_count, ',' ORDER BY id), '')) FROM course_sections) AS s,
              (SELECT md5(coalesce(string_agg(id::text || section_id::text || title || position || duration_seconds || kind || preview || md5(body), ',' ORDER BY id), '')) FROM lessons) AS l`,
    );
    return rows[0];
  }

  beforeAll(async () => {
    p = await startPlatform();
    [users.learner, users.nonLearner, users.owner, users.otherInstructor, users.admin] = await Promise.all([
      p.user({ role: 'student' }),
      p.user({ role: 'student' }),
      p.user({ role: 'instructor' }),
      p.user({ role: 'instructor' }),
      p.user({ role: 'admin' }),
    ]);
    replica = await p.replica();
  }, 60_000);
  afterAll(async () => {
    await p?.close();
  });

  describe('authorisation matrix', () => {
    const expectMatrix = async (label: string, expected: Record<Who, number | [number, string]>, send: (who: Who) => Promise<{ status: number; body: any }>) => {
      const got: Record<string, unknown> = {};
      const want: Record<string, unknown> = {};
      for (const who of EVERYONE) {
        const res = await send(who);
        const e = expected[who];
        want[who] = Array.isArray(e) ? e : [e];
        got[who] = Array.isArray(e) ? [res.status, res.body?.code] : [res.status];
      }
      expect(got, label).toEqual(want);
    };
    const ownerOnly = (denied: [number, string]): Record<Who, number | [number, string]> => ({
      anonymous: [401, 'unauthorized'], learner: denied, nonLearner: denied, otherInstructor: denied, owner: 0, admin: 0,
    });
    const withOk = (m: Record<Who, number | [number, string]>, ok: number) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v === 0 ? ok : v])) as Record<Who, number | [number, string]>;

    it('GET curriculum: public for a published course; a draft only to its owner and admins', async () => {
      const pub = await makeCourse();
      const draft = await makeCourse(true);
      await expectMatrix('published', { anonymous: 200, learner: 200, nonLearner: 200, owner: 200, otherInstructor: 200, admin: 200 }, (who) => call('GET', `/api/v1/courses/${pub.id}/curriculum`, { token: token(who) }));
      const hidden: [number, string] = [404, 'course_not_found'];
      await expectMatrix('draft', { anonymous: hidden, learner: hidden, nonLearner: hidden, owner: 200, otherInstructor: hidden, admin: 200 }, (who) => call('GET', `/api/v1/courses/${draft.id}/curriculum`, { token: token(who) }));
      await expectMatrix('draft by slug', { anonymous: hidden, learner: hidden, nonLearner: hidden, owner: 200, otherInstructor: hidden, admin: 200 }, (who) => call('GET', `/api/v1/courses/${draft.slug}/curriculum`, { token: token(who) }));
    });

    it('GET lesson: preview to anyone; the rest to the learner, the owner and admins (403 enrolment_required); a draft\'s 404', async () => {
      const pub = await makeCourse();
      const draft = await makeCourse(true);
      await expectMatrix('preview', { anonymous: 200, learner: 200, nonLearner: 200, owner: 200, otherInstructor: 200, admin: 200 }, (who) => call('GET', `/api/v1/lessons/${pub.preview}`, { token: token(who) }));
      const enrol: [number, string] = [403, 'enrolment_required'];
      await expectMatrix('locked', { anonymous: enrol, learner: 200, nonLearner: enrol, owner: 200, otherInstructor: enrol, admin: 200 }, (who) => call('GET', `/api/v1/lessons/${pub.locked}`, { token: token(who) }));
      const gone: [number, string] = [404, 'lesson_not_found'];
      await expectMatrix('draft preview', { anonymous: gone, learner: gone, nonLearner: gone, owner: 200, otherInstructor: gone, admin: 200 }, (who) => call('GET', `/api/v1/lessons/${draft.preview}`, { token: token(who) }));
      const body = await call('GET', `/api/v1/lessons/${pub.locked}`, { token: users.learner.token });
      expect(body.body).toMatchObject({ id: pub.locked, body: 'Paid', kind: 'article', durationSeconds: 600 });
      expect(body.headers['cache-control']).toBe('no-store');
    });

    it('writes: the owner and admins; others 403 not_course_owner on a published course, 404 on a draft; anonymous 401', async () => {
      const pub = await makeCourse();
      const draft = await makeCourse(true);
      const denied: [number, string] = [403, 'not_course_owner'];
      for (const [course, deny, sectionDeny, lessonDeny] of [
        [pub, denied, denied, denied],
        [draft, [404, 'course_not_found'], [404, 'section_not_found'], [404, 'lesson_not_found']],
      ] as const) {
        const label = course === pub ? 'published' : 'draft';
        await expectMatrix(`POST sections (${label})`, withOk(ownerOnly(deny as [number, string]), 201), (who) =>
          call('POST', `/api/v1/courses/${course.id}/sections`, { token: token(who), body: { title: `By ${who}` } }));
        await expectMatrix(`PATCH section (${label})`, withOk(ownerOnly(sectionDeny as [number, string]), 200), (who) =>
          call('PATCH', `/api/v1/sections/${course.section}`, { token: token(who), body: { title: `Renamed by ${who}` } }));
        await expectMatrix(`POST lessons (${label})`, withOk(ownerOnly(sectionDeny as [number, string]), 201), (who) =>
          call('POST', `/api/v1/sections/${course.section}/lessons`, { token: token(who), body: { title: `By ${who}`, kind: 'quiz', durationSeconds: 1 } }));
        await expectMatrix(`PATCH lesson (${label})`, withOk(ownerOnly(lessonDeny as [number, string]), 200), (who) =>
          call('PATCH', `/api/v1/lessons/${course.locked}`, { token: token(who), body: { title: `Edited by ${who}` } }));
        // Deletes: a fresh empty section and a fresh lesson for each caller.
        await expectMatrix(`DELETE section (${label})`, withOk(ownerOnly(sectionDeny as [number, string]), 204), async (who) => {
          const s = await call('POST', `/api/v1/courses/${course.id}/sections`, { token: users.owner.token, body: { title: 'Doomed' } });
          return call('DELETE', `/api/v1/sections/${s.body.id}`, { token: token(who) });
        });
        await expectMatrix(`DELETE lesson (${label})`, withOk(ownerOnly(lessonDeny as [number, string]), 204), async (who) => {
          const l = await call('POST', `/api/v1/sections/${course.section}/lessons`, { token: users.owner.token, body: { title: 'Doomed', kind: 'video', durationSeconds: 3 } });
          return call('DELETE', `/api/v1/lessons/${l.body.id}`, { token: token(who) });
        });
        await expectMatrix(`PUT order (${label})`, withOk(ownerOnly(deny as [number, string]), 200), async (who) => {
          const outline = await call('GET', `/api/v1/courses/${course.id}/curriculum`, { token: users.owner.token });
          const order = { sections: outline.body.sections.map((s: any) => ({ id: s.id, lessonIds: s.lessons.map((l: any) => l.id).reverse() })).reverse() };
          return call('PUT', `/api/v1/courses/${course.id}/curriculum/order`, { token: token(who), body: order });
        });
      }
    });
  });

  describe('bad input: 4xx problem+json, nothing written', () => {
    it('refuses unknown, malformed and foreign ids, oversized and wrong bodies', async () => {
      const c = await makeCourse();
      const other = await makeCourse();
      const owner = users.owner.token;
      const outline = (await call('GET', `/api/v1/courses/${c.id}/curriculum`)).body;
      const order = (lessons: string[]) => ({ sections: [{ id: c.section, lessonIds: lessons }] });
      const before = await fingerprint();
      const cases: [string, string, string, unknown, number, string][] = [
        ['unknown course', 'POST', `/api/v1/courses/${newId()}/sections`, { title: 'x' }, 404, 'course_not_found'],
        ['malformed course id', 'POST', '/api/v1/courses/not-a-uuid/sections', { title: 'x' }, 400, 'validation_failed'],
        ['unknown section', 'POST', `/api/v1/sections/${newId()}/lessons`, { title: 'x', kind: 'video', durationSeconds: 1 }, 404, 'section_not_found'],
        ['unknown section patch', 'PATCH', `/api/v1/sections/${newId()}`, { title: 'x' }, 404, 'section_not_found'],
        ['unknown lesson patch', 'PATCH', `/api/v1/lessons/${newId()}`, { title: 'x' }, 404, 'lesson_not_found'],
        ['unknown lesson delete', 'DELETE', `/api/v1/lessons/${newId()}`, undefined, 404, 'lesson_not_found'],
        ['negative duration', 'POST', `/api/v1/sections/${c.section}/lessons`, { title: 'x', kind: 'video', durationSeconds: -5 }, 400, 'validation_failed'],
        ['negative duration patch', 'PATCH', `/api/v1/lessons/${c.locked}`, { durationSeconds: -1 }, 400, 'validation_failed'],
        ['duration as text', 'POST', `/api/v1/sections/${c.section}/lessons`, { title: 'x', kind: 'video', durationSeconds: '60' }, 400, 'validation_failed'],
        ['title of 201 characters', 'POST', `/api/v1/courses/${c.id}/sections`, { title: 'x'.repeat(201) }, 400, 'validation_failed'],
        ['lesson title of 201 characters', 'PATCH', `/api/v1/lessons/${c.locked}`, { title: 'y'.repeat(201) }, 400, 'validation_failed'],
        ['unknown field (mass assignment)', 'POST', `/api/v1/sections/${c.section}/lessons`, { title: 'x', kind: 'video', durationSeconds: 1, courseId: other.id }, 400, 'validation_failed'],
        ['position in a patch', 'PATCH', `/api/v1/lessons/${c.locked}`, { position: 0 }, 400, 'validation_failed'],
        ['a body over the request limit', 'POST', `/api/v1/sections/${c.section}/lessons`, { title: 'x', kind: 'article', durationSeconds: 1, body: 'z'.repeat(100_001) }, 413, 'payload_too_large'],
        ['a lesson of another course in a reorder', 'PUT', `/api/v1/courses/${c.id}/curriculum/order`, order([c.preview, c.locked, other.locked]), 400, 'curriculum_mismatch'],
        ['a lesson twice in a reorder', 'PUT', `/api/v1/courses/${c.id}/curriculum/order`, order([c.preview, c.locked, c.preview]), 400, 'curriculum_mismatch'],
        ['a lesson missing in a reorder', 'PUT', `/api/v1/courses/${c.id}/curriculum/order`, order([c.locked]), 400, 'curriculum_mismatch'],
        ['a foreign section in a reorder', 'PUT', `/api/v1/courses/${c.id}/curriculum/order`, { sections: [...order([c.preview, c.locked]).sections, { id: other.section, lessonIds: [] }] }, 400, 'curriculum_mismatch'],
        ['an unknown field in a reorder', 'PUT', `/api/v1/courses/${c.id}/curriculum/order`, { sections: [{ id: c.section, lessonIds: [c.locked, c.preview], position: 1 }] }, 400, 'validation_failed'],
        ['a section that has lessons', 'DELETE', `/api/v1/sections/${c.section}`, undefined, 409, 'section_not_empty'],
      ];
      for (const [label, method, url, body, status, code] of cases) {
        const res = await call(method, url, { token: owner, ...(body !== undefined ? { body } : {}) });
        expect([res.status, res.body?.code], label).toEqual([status, code]);
        expect(String(res.headers['content-type']), label).toContain('application/problem+json');
      }
      const stale = await call('PUT', `/api/v1/courses/${c.id}/curriculum/order`, { token: owner, headers: { 'if-match': '"stale"' }, body: order([c.locked, c.preview]) });
      expect([stale.status, stale.body.code]).toEqual([412, 'precondition_failed']);
      expect(await fingerprint()).toEqual(before);
      expect((await call('GET', `/api/v1/courses/${c.id}/curriculum`)).body).toEqual(outline);
    });
  });

  describe('cache, ETags and counters in course answers', () => {
    it('serves the outline from the cache and makes it and the course stale on every replica after each curriculum write', async () => {
      const c = await makeCourse();
      const path = `/api/v1/courses/${c.id}/curriculum`;
      const first = await call('GET', path);
      expect(first.headers['x-cache']).toBe('MISS');
      expect(first.body).toMatchObject({ courseId: c.id, lessonCount: 2, totalDurationSeconds: 720 });
      expect((await call('GET', path)).headers['x-cache']).toBe('HIT');
      expect((await replica.call('GET', path)).body).toEqual(first.body);
      expect((await replica.call('GET', `/api/v1/courses/${c.slug}/curriculum`)).body).toEqual(first.body);
      const course = await replica.call('GET', `/api/v1/courses/${c.id}`);
      expect(course.body).toMatchObject({ lessonCount: 2, totalDurationSeconds: 720 });

      // A write through one replica is read at once through the other, by id and by slug, with the course's counters.
      const added = await call('POST', `/api/v1/sections/${c.section}/lessons`, { token: users.owner.token, body: { title: 'Extra', kind: 'quiz', durationSeconds: 80 } });
      expect(added.status).toBe(201);
      const after = await replica.call('GET', path);
      expect(after.headers['x-cache']).toBe('MISS');
      expect(after.body).toMatchObject({ lessonCount: 3, totalDurationSeconds: 800 });
      expect((await replica.call('GET', `/api/v1/courses/${c.slug}/curriculum`)).body.lessonCount).toBe(3);
      expect((await replica.call('GET', `/api/v1/courses/${c.id}`)).body).toMatchObject({ lessonCount: 3, totalDurationSeconds: 800 });
      const listed = await replica.call('GET', `/api/v1/courses?instructorId=${users.owner.id}&limit=100`);
      expect(listed.body.items.find((x: any) => x.id === c.id)).toMatchObject({ lessonCount: 3 });

      // A rename and a reorder (no counter moves) are seen at once too.
      await call('PATCH', `/api/v1/lessons/${added.body.id}`, { token: users.owner.token, body: { title: 'Renamed' } });
      expect((await replica.call('GET', path)).body.sections[0].lessons[2].title).toBe('Renamed');
      const current = await replica.call('GET', path);
      const reordered = await call('PUT', `/api/v1/courses/${c.id}/curriculum/order`, {
        token: users.owner.token,
        headers: { 'if-match': current.headers.etag as string },
        body: { sections: [{ id: c.section, lessonIds: [added.body.id, c.locked, c.preview] }] },
      });
      expect(reordered.status, reordered.text).toBe(200);
      expect(reordered.headers.etag).not.toBe(current.headers.etag);
      const seen = await replica.call('GET', path);
      expect(seen.body).toEqual(reordered.body);
      expect(seen.headers.etag).toBe(reordered.headers.etag);
      // The old tag is stale now.
      const again = await call('PUT', `/api/v1/courses/${c.id}/curriculum/order`, {
        token: users.owner.token,
        headers: { 'if-match': current.headers.etag as string },
        body: { sections: [{ id: c.section, lessonIds: [c.preview, c.locked, added.body.id] }] },
      });
      expect([again.status, again.body.code]).toEqual([412, 'precondition_failed']);
      // Deleting a lesson: outline and course both move.
      expect((await call('DELETE', `/api/v1/lessons/${added.body.id}`, { token: users.owner.token })).status).toBe(204);
      expect((await replica.call('GET', path)).body.lessonCount).toBe(2);
      expect((await replica.call('GET', `/api/v1/courses/${c.id}`)).body.lessonCount).toBe(2);
    });

    it('takes the ETag of GET /lessons/{id} and of a section write as If-Match (412 once stale)', async () => {
      const c = await makeCourse();
      const owner = users.owner.token;
      const read = await call('GET', `/api/v1/lessons/${c.locked}`, { token: owner });
      const edited = await call('PATCH', `/api/v1/lessons/${c.locked}`, { token: owner, headers: { 'if-match': read.headers.etag as string }, body: { durationSeconds: 700 } });
      expect(edited.status, edited.text).toBe(200);
      expect((await call('GET', `/api/v1/lessons/${c.locked}`, { token: owner })).headers.etag).toBe(edited.headers.etag);
      const stale = await call('DELETE', `/api/v1/lessons/${c.locked}`, { token: owner, headers: { 'if-match': read.headers.etag as string } });
      expect([stale.status, stale.body.code]).toEqual([412, 'precondition_failed']);
      expect((await call('GET', `/api/v1/courses/${c.id}`)).body.totalDurationSeconds).toBe(120 + 700);
      const section = await call('POST', `/api/v1/courses/${c.id}/sections`, { token: owner, body: { title: 'Later' } });
      const renamed = await call('PATCH', `/api/v1/sections/${section.body.id}`, { token: owner, headers: { 'if-match': section.headers.etag as string }, body: { title: 'Later on' } });
      expect(renamed.status, renamed.text).toBe(200);
      const late = await call('DELETE', `/api/v1/sections/${section.body.id}`, { token: owner, headers: { 'if-match': section.headers.etag as string } });
      expect([late.status, late.body.code]).toEqual([412, 'precondition_failed']);
      expect((await call('DELETE', `/api/v1/sections/${section.body.id}`, { token: owner, headers: { 'if-match': renamed.headers.etag as string } })).status).toBe(204);
    });

    it('hides a cached outline once its course is archived', async () => {
      const c = await makeCourse();
      const path = `/api/v1/courses/${c.id}/curriculum`;
      await call('GET', path);
      expect((await call('GET', path)).headers['x-cache']).toBe('HIT');
      await call('PATCH', `/api/v1/courses/${c.id}`, { token: users.owner.token, body: { status: 'archived' } });
      expect((await replica.call('GET', path)).status).toBe(404);
      expect((await call('GET', path)).status).toBe(404);
    });

    it('refuses publishing a course with an empty section over HTTP (409 curriculum_incomplete)', async () => {
      const c = await makeCourse(true);
      await call('POST', `/api/v1/courses/${c.id}/sections`, { token: users.owner.token, body: { title: 'Empty' } });
      const res = await call('PATCH', `/api/v1/courses/${c.id}`, { token: users.owner.token, body: { status: 'published' } });
      expect([res.status, res.body.code]).toEqual([409, 'curriculum_incomplete']);
    });
  });
});
