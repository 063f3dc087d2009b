/**
 * Reviews, moderation and instructor responses over HTTP, with real auth-service tokens: who may write
 * what, one review per user per course (also under 50 concurrent requests), the rating aggregate as
 * the course answer shows it, and keyset pages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres } from '../helpers/services.js';
import { startPlatform, type Platform, type PlatformUser } from '../helpers/course_app.js';
import { etagOf } from '../../internal/shared/utils/etag.js';
import { newId } from '../../internal/shared/utils/ids.js';
import { newCourseInput, publishedCourseOverHttp } from './factories.js';

describe.skipIf(!hasPostgres)('course-service HTTP: reviews', () => {
  let p: Platform;
  let instructor: PlatformUser;
  let student: PlatformUser;
  let student2: PlatformUser;
  let admin: PlatformUser;

  beforeAll(async () => {
    p = await startPlatform();
    [instructor, student, student2, admin] = await Promise.all([
      p.user({ role: 'instructor' }),
      p.user({ role: 'student' }),
      p.user({ role: 'student' }),
      p.user({ role: 'admin' }),
    ]);
  });
  afterAll(async () => {
    await p?.close();
  });

  const call = (...args: Parameters<Platform['course']['call']>) => p.course.call(...args);

  const publishedCourse = (overrides: Record<string, unknown> = {}) => publishedCourseOverHttp(call, instructor.token, overrides);

  /** Reviews come from active learners (`reviews.requireEnrolment`): enrols `by` in the course (201 new, 200 already). */
  async function enrol(courseId: string, by: PlatformUser) {
    const res = await call('PUT', `/api/v1/courses/${courseId}/enrolment`, { token: by.token });
    expect([200, 201], res.text).toContain(res.status);
  }

  async function review(courseId: string, by: PlatformUser, body: Record<string, unknown> = { rating: 4, title: 'Good', body: 'Clear and useful' }) {
    await enrol(courseId, by);
    const res = await call('POST', `/api/v1/courses/${courseId}/reviews`, { token: by.token, body });
    expect(res.status, res.text).toBe(201);
    return res.body;
  }

  async function rating(courseId: string) {
    const res = await call('GET', `/api/v1/courses/${courseId}`);
    expect(res.status).toBe(200);
    return res.body.rating;
  }

  it('creates a review (201, Location) and shows it in every read; the course aggregate moves', async () => {
    const course = await publishedCourse();
    await enrol(course.id, student);
    const res = await call('POST', `/api/v1/courses/${course.id}/reviews`, { token: student.token, body: { rating: 5, title: 'Great', body: 'Loved it' } });
    expect(res.status).toBe(201);
    expect(res.headers.location).toBe(`/api/v1/reviews/${res.body.id}`);
    expect(res.headers.etag).toBe(etagOf(res.body));
    expect(res.body).toMatchObject({
      courseId: course.id,
      authorId: student.id,
      authorName: student.displayName,
      rating: 5,
      title: 'Great',
      body: 'Loved it',
      status: 'visible',
      response: null,
    });

    const one = await call('GET', `/api/v1/reviews/${res.body.id}`);
    expect(one.status).toBe(200);
    expect(one.body).toEqual(res.body);
    const list = await call('GET', `/api/v1/courses/${course.id}/reviews`);
    expect(list.body.items.map((r: { id: string }) => r.id)).toEqual([res.body.id]);
    const mine = await call('GET', `/api/v1/reviews?authorId=${student.id}`);
    expect(mine.body.items.map((r: { id: string }) => r.id)).toContain(res.body.id);
    expect(await rating(course.id)).toEqual({ average: 5, count: 1, distribution: { '1': 0, '2': 0, '3': 0, '4': 0, '5': 1 } });
  });

  it('refuses: anonymous 401, own course 403 own_course, unverified 403, draft course 404, not enrolled 403 enrolment_required, second review 409 review_exists naming it', async () => {
    const course = await publishedCourse();
    const anonymous = await call('POST', `/api/v1/courses/${course.id}/reviews`, { body: { rating: 3 } });
    expect(anonymous.status).toBe(401);

    const own = await call('POST', `/api/v1/courses/${course.id}/reviews`, { token: instructor.token, body: { rating: 5 } });
    expect(own.status).toBe(403);
    expect(own.body.code).toBe('own_course');

    const unverified = await p.user({ verified: false });
    await enrol(course.id, unverified);
    const byUnverified = await call('POST', `/api/v1/courses/${course.id}/reviews`, { token: unverified.token, body: { rating: 5 } });
    expect(byUnverified.status).toBe(403);
    expect(byUnverified.body.code).toBe('email_not_verified');

    const draft = await call('POST', '/api/v1/courses', { token: instructor.token, body: newCourseInput() });
    const onDraft = await call('POST', `/api/v1/courses/${draft.body.id}/reviews`, { token: student.token, body: { rating: 5 } });
    expect(onDraft.status).toBe(404);
    expect(onDraft.body.code).toBe('course_not_found');

    const first = await review(course.id, student);
    const second = await call('POST', `/api/v1/courses/${course.id}/reviews`, { token: student.token, body: { rating: 1 } });
    expect(second.status).toBe(409);
    expect(second.body.code).toBe('review_exists');
    // The existing review is named, so a client can offer to edit it.
    expect(second.body.reviewId).toBe(first.id);

    const notEnrolled = await call('POST', `/api/v1/courses/${course.id}/reviews`, { token: student2.token, body: { rating: 5 } });
    expect(notEnrolled.status).toBe(403);
    expect(notEnrolled.body.code).toBe('enrolment_required');
    await enrol(course.id, student2);
    const badRating = await call('POST', `/api/v1/courses/${course.id}/reviews`, { token: student2.token, body: { rating: 6 } });
    expect(badRating.status).toBe(400);
    const extra = await call('POST', `/api/v1/courses/${course.id}/reviews`, { token: student2.token, body: { rating: 5, authorId: student.id } });
    expect(extra.status).toBe(400);
    expect(extra.body.code).toBe('validation_failed');
  });

  it('accepts exactly one of 50 concurrent reviews by one user: one 201 and 49 409', async () => {
    const course = await publishedCourse();
    await enrol(course.id, student2);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        call('POST', `/api/v1/courses/${course.id}/reviews`, { token: student2.token, body: { rating: (i % 5) + 1 } }),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(49);
    expect(results.filter((r) => r.status === 409).every((r) => r.body.code === 'review_exists')).toBe(true);
    const winner = results.find((r) => r.status === 201)!.body;
    expect(new Set(results.filter((r) => r.status === 409).map((r) => r.body.reviewId))).toEqual(new Set([winner.id]));
    const summary = await rating(course.id);
    expect(summary.count).toBe(1);
    expect(summary.distribution[String(winner.rating)]).toBe(1);
  });

  it('lets the author edit (If-Match honoured) and refuses others', async () => {
    const course = await publishedCourse();
    const mine = await review(course.id, student, { rating: 2 });
    const path = `/api/v1/reviews/${mine.id}`;
    const read = await call('GET', path);
    const tag = read.headers.etag as string;
    expect(tag).toBe(etagOf(read.body));

    const edited = await call('PATCH', path, { token: student.token, headers: { 'if-match': tag }, body: { rating: 4, title: 'Better on a second look' } });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ rating: 4, title: 'Better on a second look' });
    expect(edited.headers.etag).toBe(etagOf(edited.body));
    expect((await rating(course.id)).distribution).toEqual({ '1': 0, '2': 0, '3': 0, '4': 1, '5': 0 });

    const stale = await call('PATCH', path, { token: student.token, headers: { 'if-match': tag }, body: { rating: 1 } });
    expect(stale.status).toBe(412);
    expect(stale.body.code).toBe('precondition_failed');

    const byOther = await call('PATCH', path, { token: student2.token, body: { rating: 1 } });
    expect(byOther.status).toBe(403);
    expect(byOther.body.code).toBe('not_review_author');
    const byInstructor = await call('PATCH', path, { token: instructor.token, body: { title: 'Edited' } });
    expect(byInstructor.status).toBe(403);
    const studentHides = await call('PATCH', path, { token: student.token, body: { status: 'hidden' } });
    expect(studentHides.status).toBe(403);
    expect(studentHides.body.code).toBe('forbidden');

    const cleared = await call('PATCH', path, { token: student.token, body: { title: null } });
    expect(cleared.status).toBe(200);
    expect(cleared.body.title).toBeNull();
  });

  it("lets the course's instructor respond (PUT, replace, DELETE) and refuses anyone else with 403", async () => {
    const course = await publishedCourse();
    const r = await review(course.id, student);
    const path = `/api/v1/reviews/${r.id}/response`;

    const byStudent = await call('PUT', path, { token: student.token, body: { body: 'I answer myself' } });
    expect(byStudent.status).toBe(403);
    expect(byStudent.body.code).toBe('not_course_instructor');
    const otherInstructor = await p.user({ role: 'instructor' });
    expect((await call('PUT', path, { token: otherInstructor.token, body: { body: 'Not my course' } })).status).toBe(403);
    expect((await call('PUT', path, { token: admin.token, body: { body: 'Admin voice' } })).status).toBe(403);

    const answered = await call('PUT', path, { token: instructor.token, body: { body: 'Thank you!' } });
    expect(answered.status).toBe(200);
    expect(answered.body.response).toEqual({ body: 'Thank you!', respondedAt: expect.any(String) });
    const replaced = await call('PUT', path, { token: instructor.token, body: { body: 'Thanks, fixed the typo' } });
    expect(replaced.body.response.body).toBe('Thanks, fixed the typo');
    expect((await call('GET', `/api/v1/reviews/${r.id}`)).body.response.body).toBe('Thanks, fixed the typo');

    expect((await call('PUT', path, { token: instructor.token, body: { body: '' } })).status).toBe(400);
    expect((await call('PUT', path, { token: instructor.token, body: { body: 'x', extra: 1 } })).status).toBe(400);

    expect((await call('DELETE', path, { token: student.token })).status).toBe(403);
    const removed = await call('DELETE', path, { token: instructor.token });
    expect(removed.status).toBe(204);
    expect((await call('GET', `/api/v1/reviews/${r.id}`)).body.response).toBeNull();
    expect((await call('DELETE', path, { token: instructor.token })).status).toBe(204);
  });

  it('admin hide: the review leaves the public list and the aggregate; unhide brings it back', async () => {
    const course = await publishedCourse();
    const kept = await review(course.id, student, { rating: 5 });
    const hidden = await review(course.id, student2, { rating: 1 });
    expect((await rating(course.id)).count).toBe(2);
    // Warm the cache, so hiding must make the cached answers stale.
    expect((await call('GET', `/api/v1/courses/${course.id}/reviews`)).body.items).toHaveLength(2);

    const hide = await call('PATCH', `/api/v1/reviews/${hidden.id}`, { token: admin.token, body: { status: 'hidden' } });
    expect(hide.status).toBe(200);
    expect(hide.body.status).toBe('hidden');

    const list = await call('GET', `/api/v1/courses/${course.id}/reviews`);
    expect(list.body.items.map((r: { id: string }) => r.id)).toEqual([kept.id]);
    expect(await rating(course.id)).toEqual({ average: 5, count: 1, distribution: { '1': 0, '2': 0, '3': 0, '4': 0, '5': 1 } });
    expect((await call('GET', `/api/v1/reviews/${hidden.id}`)).status).toBe(404);
    expect((await call('GET', `/api/v1/reviews/${hidden.id}`, { token: student.token })).status).toBe(404);
    // Its author and admins still see it.
    expect((await call('GET', `/api/v1/reviews/${hidden.id}`, { token: student2.token })).body.status).toBe('hidden');
    expect((await call('GET', `/api/v1/reviews/${hidden.id}`, { token: admin.token })).status).toBe(200);
    const authorList = await call('GET', `/api/v1/reviews?authorId=${student2.id}`, { token: student2.token });
    expect(authorList.body.items.map((r: { id: string }) => r.id)).toContain(hidden.id);
    const publicAuthorList = await call('GET', `/api/v1/reviews?authorId=${student2.id}`);
    expect(publicAuthorList.body.items.map((r: { id: string }) => r.id)).not.toContain(hidden.id);

    const unhide = await call('PATCH', `/api/v1/reviews/${hidden.id}`, { token: admin.token, body: { status: 'visible' } });
    expect(unhide.status).toBe(200);
    expect((await rating(course.id)).count).toBe(2);
    expect((await call('GET', `/api/v1/courses/${course.id}/reviews`)).body.items).toHaveLength(2);
  });

  it('deletes: the author or an admin (204), nobody else (403)', async () => {
    const course = await publishedCourse();
    const a = await review(course.id, student, { rating: 3 });
    const b = await review(course.id, student2, { rating: 4 });
    expect((await call('DELETE', `/api/v1/reviews/${a.id}`, { token: student2.token })).status).toBe(403);
    expect((await call('DELETE', `/api/v1/reviews/${a.id}`, { token: instructor.token })).status).toBe(403);
    expect((await call('DELETE', `/api/v1/reviews/${a.id}`, { token: student.token })).status).toBe(204);
    expect((await call('DELETE', `/api/v1/reviews/${b.id}`, { token: admin.token })).status).toBe(204);
    expect((await call('GET', `/api/v1/reviews/${a.id}`)).status).toBe(404);
    expect(await rating(course.id)).toMatchObject({ average: 0, count: 0 });
    expect((await call('DELETE', `/api/v1/reviews/${a.id}`, { token: student.token })).status).toBe(404);
  });

  it('pages, sorts and filters a course\'s reviews; bad cursor, limit 0 and 101 are 400', async () => {
    const course = await publishedCourse();
    const ratings = [5, 1, 4, 2, 3];
    for (const r of ratings) await review(course.id, await p.user(), { rating: r });

    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/api/v1/courses/${course.id}/reviews?sort=rating_desc&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = await call('GET', url);
      expect(page.status).toBe(200);
      ids.push(...page.body.items.map((r: { rating: number }) => r.rating));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(ids).toEqual([5, 4, 3, 2, 1]);

    const fours = await call('GET', `/api/v1/courses/${course.id}/reviews?rating=4`);
    expect(fours.body.items.map((r: { rating: number }) => r.rating)).toEqual([4]);

    const bad = await call('GET', `/api/v1/courses/${course.id}/reviews?cursor=garbage`);
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('invalid_cursor');
    // A cursor of another sort is refused too.
    const first = await call('GET', `/api/v1/courses/${course.id}/reviews?sort=newest&limit=1`);
    const mixed = await call('GET', `/api/v1/courses/${course.id}/reviews?sort=rating_asc&cursor=${encodeURIComponent(first.body.nextCursor)}`);
    expect(mixed.status).toBe(400);
    for (const limit of [0, 101]) {
      const res = await call('GET', `/api/v1/courses/${course.id}/reviews?limit=${limit}`);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('validation_failed');
      expect((await call('GET', `/api/v1/reviews?authorId=${student.id}&limit=${limit}`)).status).toBe(400);
    }
    expect((await call('GET', '/api/v1/reviews')).status).toBe(400);
    expect((await call('GET', `/api/v1/reviews?authorId=${student.id}&cursor=zzz`)).status).toBe(400);
    expect((await call('GET', `/api/v1/courses/${newId()}/reviews`)).status).toBe(404);
  });

  it("lists a course's reviews by slug as by id; the slug's cached list follows review writes and slug moves", async () => {
    const course = await publishedCourse();
    const first = await review(course.id, student, { rating: 5 });
    const bySlug = await call('GET', `/api/v1/courses/${course.slug}/reviews`);
    expect(bySlug.status, bySlug.text).toBe(200);
    expect(bySlug.body.items.map((r: { id: string }) => r.id)).toEqual([first.id]);
    expect(bySlug.body).toEqual((await call('GET', `/api/v1/courses/${course.id}/reviews`)).body);
    if (p.course.config.cache.enabled) expect((await call('GET', `/api/v1/courses/${course.slug}/reviews`)).headers['x-cache']).toBe('HIT');

    // A review write (with no rating change: only the review scopes move) shows on the slug's list at once.
    const second = await review(course.id, student2, { rating: 3 });
    const edited = await call('PATCH', `/api/v1/reviews/${first.id}`, { token: student.token, body: { title: 'Edited title' } });
    expect(edited.status).toBe(200);
    const after = await call('GET', `/api/v1/courses/${course.slug}/reviews`);
    expect(after.body.items.map((r: { id: string; title: string | null }) => [r.id, r.title])).toEqual([
      [second.id, second.title],
      [first.id, 'Edited title'],
    ]);

    // The slug moves to another course: the old slug now lists that course's reviews (none).
    const moved = `moved-${newId().slice(-8)}`;
    expect((await call('PATCH', `/api/v1/courses/${course.id}`, { token: instructor.token, body: { slug: moved } })).status).toBe(200);
    expect(await publishedCourse({ slug: course.slug })).toMatchObject({ slug: course.slug, status: 'published' });
    expect((await call('GET', `/api/v1/courses/${course.slug}/reviews`)).body.items).toEqual([]);
    expect((await call('GET', `/api/v1/courses/${moved}/reviews`)).body.items).toHaveLength(2);

    // A draft's reviews by slug are 404 to others, like the draft itself; a malformed slug is 404, not 500.
    const draft = await call('POST', '/api/v1/courses', { token: instructor.token, body: newCourseInput() });
    expect((await call('GET', `/api/v1/courses/${draft.body.slug}/reviews`)).status).toBe(404);
    expect((await call('GET', `/api/v1/courses/${draft.body.slug}/reviews`, { token: instructor.token })).status).toBe(200);
    for (const bad of ['No-Such-Slug', 'no-such-slug-here', 'a--b', encodeURIComponent("x' OR 1=1")]) {
      const res = await call('GET', `/api/v1/courses/${bad}/reviews`);
      expect(res.status, bad).toBe(404);
      expect(res.body.code).toBe('course_not_found');
    }
  });

  it('checked every answer against the served OpenAPI document', () => {
    expect(p.course.checker.checked).toBeGreaterThan(50);
  });
});
