/**
 * The hit path of cached reads (middleware/response_cache.ts `attach`) in embedded mode (no Redis: the
 * near cache over the memory store): a URL seen before is answered in its route's onRequest hook, and
 * everything a cached answer carries is still there: the same bytes and ETag, 304, X-Cache, CORS, Vary,
 * request ids, security headers, metrics; writes make it stale at once; refusals never become hits.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { hasPostgres } from '../helpers/services.js';
import { startPlatform, type Platform, type PlatformUser } from '../helpers/course_app.js';
import { publishedCourseOverHttp } from './factories.js';

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
    try {
      const hit = await p.course.call('GET', path, { headers: { origin: 'https://app.example', 'x-request-id': 'hit-1' } });
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
      expect(hit.headers['x-request-id']).toBe('hit-1');

      const notModified = await p.course.call('GET', path, { headers: { 'if-none-match': first.headers.etag as string } });
      expect(notModified.status).toBe(304);
      expect(notModified.text).toBe('');
      expect(notModified.headers['content-type']).toBeUndefined();
      expect(notModified.headers['x-cache']).toBe('HIT');
      expect(get).not.toHaveBeenCalled();
    } finally {
      get.mockRestore();
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

  it('counts hits in /metrics: the route duration histogram and the cache outcomes', async () => {
    const res = await p.course.call('GET', '/metrics');
    expect(res.text).toMatch(/http_request_duration_seconds_count\{[^}]*route="\/api\/v1\/courses\/:id"[^}]*status_code="200"[^}]*\} [1-9]/);
    expect(res.text).toMatch(/http_request_duration_seconds_bucket\{[^}]*le="\+Inf"[^}]*route="\/api\/v1\/courses\/:id"[^}]*status_code="304"[^}]*\} [1-9]/);
    expect(res.text).toMatch(/course_cache_answers_total\{[^}]*route="\/api\/v1\/courses\/:id"[^}]*result="HIT"[^}]*\} [1-9]/);
    expect(res.text).toMatch(/course_cache_answers_total\{[^}]*route="\/api\/v1\/courses\/:id"[^}]*result="BYPASS"[^}]*\} [1-9]/);
  });

  it('checked every answer against the served OpenAPI document', () => {
    expect(p.course.checker.checked).toBeGreaterThan(10);
  });
});
