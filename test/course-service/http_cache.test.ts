/**
 * The response cache over HTTP: X-Cache HIT/MISS/BYPASS, keys by normalised query, ETags equal for
 * cached and fresh answers, 304, read-your-own-write across two replicas sharing Redis and the
 * database, and Redis outages (answers keep coming from the database; /readyz says degraded; one
 * warning per outage; recovery by itself).
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres, hasRedis, REDIS_URL } from '../helpers/services.js';
import { startCourse, startPlatform, type CourseHarness, type Platform, type PlatformUser } from '../helpers/course_app.js';
import { createLogger } from '../../internal/shared/utils/logging.js';
import { newCourseInput, publishOverHttp, publishedCourseOverHttp } from './factories.js';

interface LogLine {
  level: string;
  msg: string;
}

function captureLogs() {
  const lines: LogLine[] = [];
  const logger = createLogger('info', 'course-service', {
    write(text: string) {
      lines.push(JSON.parse(text) as LogLine);
    },
  });
  return { lines, logger };
}

async function until(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('condition not met in time');
}

/** A TCP proxy in front of Redis that the test can cut and restore (a Redis outage without stopping Redis). */
class RedisProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  async start(): Promise<this> {
    const target = new URL(REDIS_URL);
    this.server = net.createServer((client) => {
      const upstream = net.connect({ host: target.hostname, port: Number(target.port || 6379) });
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server?.close(() => resolve()) ?? resolve());
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }
}

describe.skipIf(!hasPostgres || !hasRedis)('course-service HTTP: response cache', () => {
  let p: Platform;
  let b: CourseHarness;
  let instructor: PlatformUser;
  let student: PlatformUser;

  beforeAll(async () => {
    p = await startPlatform();
    b = await p.replica();
    [instructor, student] = await Promise.all([p.user({ role: 'instructor' }), p.user({ role: 'student' })]);
  });
  afterAll(async () => {
    await p?.close();
  });

  const publishedCourse = (overrides: Record<string, unknown> = {}) => publishedCourseOverHttp(p.course.call, instructor.token, overrides);

  it('answers a second anonymous GET from the cache, with the same bytes and ETag, and 304 on If-None-Match', async () => {
    const course = await publishedCourse();
    const path = `/api/v1/courses/${course.id}`;
    const first = await p.course.call('GET', path);
    expect(first.headers['x-cache']).toBe('MISS');
    const second = await p.course.call('GET', path);
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.text).toBe(first.text);
    expect(second.headers.etag).toBe(first.headers.etag);
    expect(second.headers['cache-control']).toBe('no-cache');
    expect(String(second.headers.vary)).toMatch(/authorization/i);

    const notModified = await p.course.call('GET', path, { headers: { 'if-none-match': first.headers.etag as string } });
    expect(notModified.status).toBe(304);
    expect(notModified.text).toBe('');
    expect(notModified.headers.etag).toBe(first.headers.etag);
    const changedTag = await p.course.call('GET', path, { headers: { 'if-none-match': '"something-else"' } });
    expect(changedTag.status).toBe(200);

    // By slug too (another key, another scope).
    expect((await p.course.call('GET', `/api/v1/courses/${course.slug}`)).headers['x-cache']).toBe('MISS');
    const bySlug = await p.course.call('GET', `/api/v1/courses/${course.slug}`);
    expect(bySlug.headers['x-cache']).toBe('HIT');
    expect(bySlug.text).toBe(first.text);
  });

  it('bypasses the cache for callers with a token on viewer-dependent routes, but not on the catalogue', async () => {
    const course = await publishedCourse();
    const path = `/api/v1/courses/${course.id}`;
    await p.course.call('GET', path);
    const withToken = await p.course.call('GET', path, { token: student.token });
    expect(withToken.headers['x-cache']).toBe('BYPASS');
    expect(withToken.headers.etag).toBe((await p.course.call('GET', path)).headers.etag);
    expect((await p.course.call('GET', `/api/v1/courses/${course.id}/reviews`, { token: student.token })).headers['x-cache']).toBe('BYPASS');
    expect((await p.course.call('GET', `/api/v1/reviews?authorId=${student.id}`, { token: student.token })).headers['x-cache']).toBe('BYPASS');

    // Published courses and categories look the same to everyone: cached whoever asks.
    const category = `Shared-${course.id.slice(-6)}`;
    await publishedCourse({ category });
    const url = `/api/v1/courses?category=${category}`;
    expect((await p.course.call('GET', url, { token: student.token })).headers['x-cache']).toBe('MISS');
    expect((await p.course.call('GET', url)).headers['x-cache']).toBe('HIT');
    await p.course.call('GET', '/api/v1/categories');
    expect((await p.course.call('GET', '/api/v1/categories', { token: student.token })).headers['x-cache']).toBe('HIT');
  });

  it('keys entries by the normalised query: defaults, order and number spelling do not split them, other values do', async () => {
    const course = await publishedCourse();
    const category = `Norm-${course.id.slice(-6)}`;
    await publishedCourse({ category, level: 'advanced' });
    const base = `/api/v1/courses?category=${category}&level=advanced`;
    expect((await p.course.call('GET', base)).headers['x-cache']).toBe('MISS');
    expect((await p.course.call('GET', `/api/v1/courses?level=advanced&category=${category}&limit=20`)).headers['x-cache']).toBe('HIT');
    expect((await p.course.call('GET', `${base}&minRating=0.0`)).headers['x-cache']).toBe('MISS');
    expect((await p.course.call('GET', `${base}&minRating=0`)).headers['x-cache']).toBe('HIT');
    const other = await p.course.call('GET', `${base}&limit=1`);
    expect(other.headers['x-cache']).toBe('MISS');
    expect(other.body.items).toHaveLength(1);

    // An upper-case id reads the same entry, and a write makes it stale.
    const lower = `/api/v1/courses/${course.id}`;
    const upper = `/api/v1/courses/${course.id.toUpperCase()}`;
    await p.course.call('GET', lower);
    expect((await p.course.call('GET', upper)).headers['x-cache']).toBe('HIT');
    await p.course.call('PATCH', lower, { token: instructor.token, body: { title: 'Upper and lower' } });
    const fresh = await p.course.call('GET', upper);
    expect(fresh.headers['x-cache']).toBe('MISS');
    expect(fresh.body.title).toBe('Upper and lower');
  });

  it('never caches a refusal: a 404 is followed by the real answer once the course is published', async () => {
    const draft = await p.course.call('POST', '/api/v1/courses', { token: instructor.token, body: newCourseInput() });
    const path = `/api/v1/courses/${draft.body.slug}`;
    expect((await p.course.call('GET', path)).status).toBe(404);
    expect((await p.course.call('GET', path)).status).toBe(404);
    expect(await publishOverHttp(p.course.call, instructor.token, draft.body.id)).toMatchObject({ status: 'published' });
    const visible = await p.course.call('GET', path);
    expect(visible.status).toBe(200);
    expect(visible.headers['x-cache']).toBe('MISS');
  });

  it('reads its own write across replicas: a write through A is seen at once through B', async () => {
    const course = await publishedCourse();
    const path = `/api/v1/courses/${course.id}`;
    const listPath = `/api/v1/courses?category=${encodeURIComponent(course.category)}&limit=100`;
    const reviewsPath = `/api/v1/courses/${course.id}/reviews`;
    for (const url of [path, listPath, reviewsPath, '/api/v1/categories']) {
      await b.call('GET', url);
      expect((await b.call('GET', url)).headers['x-cache']).toBe('HIT');
    }
    // A replica shares the entries, not only the invalidations.
    expect((await p.course.call('GET', path)).headers['x-cache']).toBe('HIT');

    const patched = await p.course.call('PATCH', path, { token: instructor.token, body: { title: 'Written through A' } });
    expect(patched.status).toBe(200);
    const onB = await b.call('GET', path);
    expect(onB.body.title).toBe('Written through A');
    expect(onB.headers['x-cache']).toBe('MISS');
    expect(onB.headers.etag).toBe(patched.headers.etag);
    const listOnB = await b.call('GET', listPath);
    expect(listOnB.body.items.find((c: { id: string }) => c.id === course.id).title).toBe('Written through A');

    expect((await p.course.call('PUT', `/api/v1/courses/${course.id}/enrolment`, { token: student.token })).status).toBe(201);
    const created = await p.course.call('POST', `/api/v1/courses/${course.id}/reviews`, { token: student.token, body: { rating: 3 } });
    expect(created.status).toBe(201);
    expect((await b.call('GET', reviewsPath)).body.items.map((r: { id: string }) => r.id)).toEqual([created.body.id]);
    expect((await b.call('GET', path)).body.rating.count).toBe(1);

    // And the other way round: B writes, A reads.
    await b.call('DELETE', `/api/v1/reviews/${created.body.id}`, { token: student.token });
    expect((await p.course.call('GET', reviewsPath)).body.items).toEqual([]);
    expect((await p.course.call('GET', path)).body.rating.count).toBe(0);
  });

  it('keeps answering from the database when Redis is unreachable; /readyz says degraded with 200', async () => {
    const course = await publishedCourse();
    const { lines, logger } = captureLogs();
    const down = await startCourse({
      jwksUrl: p.jwksUrl,
      database: p.course.database,
      overrides: { redis: { url: 'redis://127.0.0.1:1' } },
      logger,
    });
    try {
      for (let i = 0; i < 3; i++) {
        const res = await down.call('GET', `/api/v1/courses/${course.id}`);
        expect(res.status).toBe(200);
        expect(res.body.id).toBe(course.id);
        expect(res.headers['x-cache']).toBe('MISS');
      }
      expect((await down.call('GET', '/api/v1/courses')).status).toBe(200);
      const written = await down.call('PATCH', `/api/v1/courses/${course.id}`, { token: instructor.token, body: { summary: 'Written while Redis is down' } });
      expect(written.status).toBe(200);
      expect((await down.call('GET', `/api/v1/courses/${course.id}`)).body.summary).toBe('Written while Redis is down');

      const ready = await down.call('GET', '/readyz');
      expect(ready.status).toBe(200);
      expect(ready.body).toEqual({ status: 'degraded', checks: { database: 'ok', redis: 'down' } });
      expect(down.cache.degraded).toBe(true);
      const warnings = lines.filter((l) => l.level === 'warn' && l.msg.includes('response cache unavailable'));
      expect(warnings).toHaveLength(1);
    } finally {
      await down.close();
    }
  });

  it('recovers by itself when Redis comes back, without serving what changed meanwhile', async () => {
    const course = await publishedCourse();
    const path = `/api/v1/courses/${course.id}`;
    const proxy = await new RedisProxy().start();
    const { lines, logger } = captureLogs();
    const c = await startCourse({
      jwksUrl: p.jwksUrl,
      database: p.course.database,
      redisPrefix: p.course.redisPrefix,
      // No pause between store retries: this test checks recovery at the first chance.
      overrides: { redis: { url: proxy.url }, cache: { storeRetryMs: 0 } },
      logger,
    });
    try {
      await until(async () => c.store.healthy());
      await c.call('GET', path);
      expect((await c.call('GET', path)).headers['x-cache']).toBe('HIT');

      await proxy.cut();
      // Written through this replica while its Redis is away: the invalidation is lost for now.
      const patched = await c.call('PATCH', path, { token: instructor.token, body: { title: 'Changed during the outage' } });
      expect(patched.status).toBe(200);
      const during = await c.call('GET', path);
      expect(during.status).toBe(200);
      expect(during.body.title).toBe('Changed during the outage');
      expect((await c.call('GET', '/readyz')).body.status).toBe('degraded');

      await proxy.start();
      await until(async () => (await c.call('GET', '/readyz')).body.status === 'ok');
      // The first store call after the outage bumps the epoch: the entry cached before it is not served.
      const after = await c.call('GET', path);
      expect(after.body.title).toBe('Changed during the outage');
      expect(after.headers['x-cache']).toBe('MISS');
      expect((await c.call('GET', path)).headers['x-cache']).toBe('HIT');
      expect(c.cache.degraded).toBe(false);
      expect(lines.filter((l) => l.level === 'warn' && l.msg.includes('response cache unavailable'))).toHaveLength(1);
      expect(lines.some((l) => l.msg === 'response cache available again')).toBe(true);
    } finally {
      await c.close();
      await proxy.cut();
    }
  });

  it('with the cache switched off answers BYPASS, and its writes still make the other replicas\' entries stale', async () => {
    const course = await publishedCourse();
    const path = `/api/v1/courses/${course.id}`;
    const off = await p.replica({ cache: { enabled: false } });
    expect((await off.call('GET', path)).headers['x-cache']).toBe('BYPASS');
    expect((await off.call('GET', '/api/v1/categories')).headers['x-cache']).toBe('BYPASS');
    await p.course.call('GET', path);
    expect((await p.course.call('GET', path)).headers['x-cache']).toBe('HIT');
    await off.call('PATCH', path, { token: instructor.token, body: { title: 'Written with the cache off' } });
    const fresh = await p.course.call('GET', path);
    expect(fresh.headers['x-cache']).toBe('MISS');
    expect(fresh.body.title).toBe('Written with the cache off');
  });

  it('counts cache outcomes in /metrics', async () => {
    const res = await p.course.call('GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/course_cache_answers_total\{[^}]*route="\/api\/v1\/courses\/:id"[^}]*result="HIT"[^}]*\} [1-9]/);
    // The near cache is live and holds what the tests above read.
    expect(res.text).toMatch(/course_near_cache_live\{[^}]*\} 1/);
    expect(res.text).toMatch(/course_near_cache_entries\{[^}]*\} [1-9]/);
  });

  it('checked every answer against the served OpenAPI document', () => {
    expect(p.course.checker.checked + b.checker.checked).toBeGreaterThan(30);
  });
});
