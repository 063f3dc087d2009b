/**
 * The hit path of cached reads (middleware/response_cache.ts `attach`) in embedded mode (no Redis: the
 * near cache over the memory store): a URL seen before is answered in its route's onRequest hook, and
 * everything a cached answer carries is still there: the same bytes and ETag, 304, X-Cache, CORS, Vary,
 * request ids, security headers, metrics; writes make it stale at once; refusals never become hits.
 * The marker of the early path: `ResponseCache.input` (the handler's key building, after validation)
 * is not called, nor the service. The curriculum outline takes the very same path as the detail.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { hasPostgres } from '../helpers/services.js';
import { startPlatform, type Platform, type PlatformUser } from '../helpers/course_app.js';
import { ResponseCache } from '../../internal/course-service/middleware/response_cache.js';
import { CurriculumService } from '../../internal/course-service/services/curriculum_service.js';
import { newCourseInput, publishedCourseOverHttp } from './factories.js';
import type { CallResult } from '../helpers/openapi.js';

/** `hit` (asked with Origin https://app.example and X-Request-Id `requestId`) is `first` again, as a cache hit with every header. */
function expectSameAnswerAsHit(hit: CallResult, first: CallResult, requestId: string): void {
  expect(hit.status).toBe(200);
  expect(hit.headers['x-cache']).toBe('HIT');
  expect(hit.text).toBe(first.text);
  expect(hit.headers.etag).toBe(first.headers.etag);
  expect(hit.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(hit.headers['content-length']).toBe(String(Buffer.byteLength(first.text)));
  expect(hit.headers['cache-control']).toBe('no-cache');
  expect(hit.headers.vary).toBe('Origin, Authorization');
  expect(hit.headers['access-control-allow-origin']).toBe('https://app.example');
  expect(hit.headers['x-content-type-options']).toBe('nosniff');
  expect(hit.headers['x-request-id']).toBe(requestId);
}

describe.skipIf(!hasPostgres)('course-service: the hit path of cached reads, without Redis', () => {
  let p: Platform;
  let instructor: PlatformUser;
  let student: PlatformUser;

  beforeAll(async () => {
    p = await startPlatform({ course: { overrides: { redis: { url: '' }, http: { corsOrigins: ['https://app.example'] } } } });
    [instructor, student] = await Promise.all([p.user({ role: 'instructor' }), p.user({ role: 'student' })]);
  });
  afterAll(async () => {
    await p?.close();
  });

  const publishedCourse = (overrides: Record<string, unknown> = {}) => publishedCourseOverHttp(p.course.call, instructor.token, overrides);

  it('runs over the memory store with a live near cache', () => {
    expect(p.course.store.kind).toBe('memory');
    expect(p.course.cache.nearState?.live).toBe(true);
  });

  it('answers a repeated GET without the service, with the same bytes, tag and headers, and 304 on If-None-Match', async () => {
    const course = await publishedCourse();
    const path = `/api/v1/courses/${course.id}`;
    const first = await p.course.call('GET', path);
    expect(first.headers['x-cache']).toBe('MISS');
    const get = vi.spyOn(p.course.courses, 'get');
    const input = vi.spyOn(ResponseCache, 'input');
    try {
      const hit = await p.course.call('GET', path, { headers: { origin: 'https://app.example', 'x-request-id': 'hit-1' } });
      expectSameAnswerAsHit(hit, first, 'hit-1');

      const notModified = await p.course.call('GET', path, { headers: { 'if-none-match': first.headers.etag as string } });
      expect(notModified.status).toBe(304);
      expect(notModified.text).toBe('');
      expect(notModified.headers['content-type']).toBeUndefined();
      expect(notModified.headers['x-cache']).toBe('HIT');
      expect(get).not.toHaveBeenCalled();
      // Answered in onRequest: the handler (which builds the key from the validated input) never ran.
      expect(input).not.toHaveBeenCalled();
    } finally {
      get.mockRestore();
      input.mockRestore();
    }

    // Generated request ids: UUID-shaped and different on every answer.
    const ids = new Set<string>();
    for (let i = 0; i < 3; i++) ids.add(String((await p.course.call('GET', path)).headers['x-request-id']));
    expect(ids.size).toBe(3);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);

  });

  it('serves a write at once: the next read is a MISS with the new data, through every URL of the course', async () => {
    const course = await publishedCourse();
    const lower = `/api/v1/courses/${course.id}`;
    const upper = `/api/v1/courses/${course.id.toUpperCase()}`;
    const list = `/api/v1/courses?category=${encodeURIComponent(course.category)}&limit=100`;
    for (const url of [lower, upper, list]) {
      await p.course.call('GET', url);
      expect((await p.course.call('GET', url)).headers['x-cache']).toBe('HIT');
    }
    const patched = await p.course.call('PATCH', lower, { token: instructor.token, body: { title: 'Changed behind the hit path' } });
    expect(patched.status).toBe(200);
    const fresh = await p.course.call('GET', upper);
    expect(fresh.headers['x-cache']).toBe('MISS');
    expect(fresh.body.title).toBe('Changed behind the hit path');
    expect(fresh.headers.etag).toBe(patched.headers.etag);
    // The other spelling of the id shares the new entry.
    const other = await p.course.call('GET', lower);
    expect(other.headers['x-cache']).toBe('HIT');
    expect(other.text).toBe(fresh.text);
    const freshList = await p.course.call('GET', list);
    expect(freshList.body.items.find((c: { id: string }) => c.id === course.id).title).toBe('Changed behind the hit path');

    // Reviews too: a new review is in the next page of the course's reviews.
    const reviews = `/api/v1/courses/${course.id}/reviews`;
    await p.course.call('GET', reviews);
    expect((await p.course.call('GET', reviews)).headers['x-cache']).toBe('HIT');
    // Only learners review: the student enrols first.
    expect((await p.course.call('PUT', `/api/v1/courses/${course.id}/enrolment`, { token: student.token })).status).toBe(201);
    expect((await p.course.call('GET', reviews)).headers['x-cache']).toBe('HIT');
    const created = await p.course.call('POST', reviews, { token: student.token, body: { rating: 4 } });
    expect(created.status).toBe(201);
    const after = await p.course.call('GET', reviews);
    expect(after.headers['x-cache']).toBe('MISS');
    expect(after.body.items.map((r: { id: string }) => r.id)).toEqual([created.body.id]);
  });

  it('never turns a refusal into a hit, and a token on a viewer-dependent route still bypasses it', async () => {
    for (let i = 0; i < 3; i++) {
      const refused = await p.course.call('GET', '/api/v1/courses?limit=0');
      expect(refused.status).toBe(400);
      expect(refused.body.code).toBe('validation_failed');
      expect((await p.course.call('GET', '/api/v1/courses/no-such-course')).status).toBe(404);
    }
    const course = await publishedCourse();
    const path = `/api/v1/courses/${course.id}`;
    await p.course.call('GET', path);
    expect((await p.course.call('GET', path)).headers['x-cache']).toBe('HIT');
    const withToken = await p.course.call('GET', path, { token: student.token });
    expect(withToken.headers['x-cache']).toBe('BYPASS');
    expect(withToken.headers.vary).toBe('Origin, Authorization');
    // A bad token on the cached URL is refused (the hit path does not answer requests with a token).
    expect((await p.course.call('GET', path, { token: 'not-a-token' })).status).toBe(401);
  });

  /** A published course with one section of two lessons (one a preview), made through the API. */
  async function courseWithOutline(status: 'published' | 'draft' = 'published') {
    const token = instructor.token;
    const course = await p.course.call('POST', '/api/v1/courses', { token, body: newCourseInput() });
    expect(course.status, course.text).toBe(201);
    const section = await p.course.call('POST', `/api/v1/courses/${course.body.id}/sections`, { token, body: { title: 'Basics' } });
    expect(section.status, section.text).toBe(201);
    for (const [title, preview] of [['Intro', true], ['Deep', false]] as const) {
      const lesson = await p.course.call('POST', `/api/v1/sections/${section.body.id}/lessons`, {
        token,
        body: { title, kind: 'video', durationSeconds: 60, preview, body: `The text of ${title}, for learners only` },
      });
      expect(lesson.status, lesson.text).toBe(201);
    }
    if (status === 'published') {
      const pub = await p.course.call('PATCH', `/api/v1/courses/${course.body.id}`, { token, body: { status: 'published' } });
      expect(pub.status, pub.text).toBe(200);
    }
    return { id: course.body.id as string, slug: course.body.slug as string, section: section.body.id as string };
  }

  it('answers a repeated outline GET on the same early path as the detail, with the same bytes, tag and headers', async () => {
    const course = await courseWithOutline();
    for (const path of [`/api/v1/courses/${course.id}/curriculum`, `/api/v1/courses/${course.slug}/curriculum`]) {
      const first = await p.course.call('GET', path);
      expect(first.status, first.text).toBe(200);
      expect(first.headers['x-cache']).toBe('MISS');
      // The outline never carries lesson bodies.
      expect(first.text).not.toContain('for learners only');
      const outline = vi.spyOn(CurriculumService.prototype, 'outline');
      const input = vi.spyOn(ResponseCache, 'input');
      try {
        const hit = await p.course.call('GET', path, { headers: { origin: 'https://app.example', 'x-request-id': 'outline-hit-1' } });
        expectSameAnswerAsHit(hit, first, 'outline-hit-1');
        const notModified = await p.course.call('GET', path, { headers: { 'if-none-match': first.headers.etag as string } });
        expect(notModified.status).toBe(304);
        expect(notModified.text).toBe('');
        expect(notModified.headers['x-cache']).toBe('HIT');
        expect(outline).not.toHaveBeenCalled();
        expect(input).not.toHaveBeenCalled();
      } finally {
        outline.mockRestore();
        input.mockRestore();
      }
    }
  });

  it('makes a hit outline stale at once after a lesson write, by id and by slug, and goes back to the early path', async () => {
    const course = await courseWithOutline();
    const byId = `/api/v1/courses/${course.id}/curriculum`;
    const bySlug = `/api/v1/courses/${course.slug}/curriculum`;
    for (const url of [byId, bySlug]) {
      await p.course.call('GET', url);
      expect((await p.course.call('GET', url)).headers['x-cache']).toBe('HIT');
    }
    const added = await p.course.call('POST', `/api/v1/sections/${course.section}/lessons`, {
      token: instructor.token,
      body: { title: 'Added behind the hit path', kind: 'quiz', durationSeconds: 30 },
    });
    expect(added.status, added.text).toBe(201);
    for (const url of [byId, bySlug]) {
      const fresh = await p.course.call('GET', url);
      expect(fresh.headers['x-cache']).toBe('MISS');
      expect(fresh.body.lessonCount).toBe(3);
      expect(fresh.body.sections[0].lessons.map((l: { title: string }) => l.title)).toEqual(['Intro', 'Deep', 'Added behind the hit path']);
    }
    // The new entry is served early again, until the next write (an edit this time).
    const input = vi.spyOn(ResponseCache, 'input');
    try {
      expect((await p.course.call('GET', byId)).headers['x-cache']).toBe('HIT');
      expect(input).not.toHaveBeenCalled();
    } finally {
      input.mockRestore();
    }
    const renamed = await p.course.call('PATCH', `/api/v1/lessons/${added.body.id}`, { token: instructor.token, body: { title: 'Renamed behind the hit path' } });
    expect(renamed.status, renamed.text).toBe(200);
    for (const url of [byId, bySlug]) {
      const fresh = await p.course.call('GET', url);
      expect(fresh.headers['x-cache']).toBe('MISS');
      expect(fresh.body.sections[0].lessons[2].title).toBe('Renamed behind the hit path');
    }
  });

  it('never serves a draft outline from the cache: anonymous callers get 404 every time, its owner BYPASS', async () => {
    const draft = await courseWithOutline('draft');
    const path = `/api/v1/courses/${draft.id}/curriculum`;
    for (let i = 0; i < 2; i++) {
      const own = await p.course.call('GET', path, { token: instructor.token });
      expect(own.status).toBe(200);
      expect(own.headers['x-cache']).toBe('BYPASS');
      const anonymous = await p.course.call('GET', path);
      expect([anonymous.status, anonymous.body.code]).toEqual([404, 'course_not_found']);
      expect(anonymous.headers['x-cache']).toBeUndefined();
    }
    const other = await p.course.call('GET', path, { token: student.token });
    expect([other.status, other.body.code]).toEqual([404, 'course_not_found']);
  });

  it('counts hits in /metrics: the route duration histogram and the cache outcomes', async () => {
    const res = await p.course.call('GET', '/metrics');
    expect(res.text).toMatch(/http_request_duration_seconds_count\{[^}]*route="\/api\/v1\/courses\/:id"[^}]*status_code="200"[^}]*\} [1-9]/);
    expect(res.text).toMatch(/http_request_duration_seconds_bucket\{[^}]*le="\+Inf"[^}]*route="\/api\/v1\/courses\/:id"[^}]*status_code="304"[^}]*\} [1-9]/);
    expect(res.text).toMatch(/course_cache_answers_total\{[^}]*route="\/api\/v1\/courses\/:id"[^}]*result="HIT"[^}]*\} [1-9]/);
    expect(res.text).toMatch(/course_cache_answers_total\{[^}]*route="\/api\/v1\/courses\/:id"[^}]*result="BYPASS"[^}]*\} [1-9]/);
    expect(res.text).toMatch(/http_request_duration_seconds_count\{[^}]*route="\/api\/v1\/courses\/:id\/curriculum"[^}]*status_code="200"[^}]*\} [1-9]/);
    expect(res.text).toMatch(/course_cache_answers_total\{[^}]*route="\/api\/v1\/courses\/:id\/curriculum"[^}]*result="HIT"[^}]*\} [1-9]/);
  });

  it('checked every answer against the served OpenAPI document', () => {
    expect(p.course.checker.checked).toBeGreaterThan(10);
  });
});
