/**
 * Fault: Redis goes away under read load, then comes back (course-service, real Redis behind a TCP proxy).
 *
 * Proves: while Redis is cut, every anonymous GET still answers 200 from the database (X-Cache MISS,
 * never HIT), no request waits more than 1.5 s, and /readyz is 200 `degraded` with `redis: down`; a
 * write made during the outage is never hidden by an entry cached before it (the CacheService bumps
 * its epoch in Redis once the store answers again); after restore() the cache serves HITs again within
 * a few seconds and /readyz is `ok`, with no restart.
 *
 * And Redis that stays connected but stops answering in time (3 s of latency, a partition or a stuck
 * server): each request gives up on Redis after ioredis' command timeout (1 s) and answers from the
 * database, still 200 and well under Redis' 3 s (< 1.8 s); HITs come back once the latency is gone.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres, hasRedis, REDIS_URL } from '../helpers/services.js';
import { startCourse, type CourseHarness } from '../helpers/course_app.js';
import { TcpProxy } from '../helpers/tcp_proxy.js';
import { instructor, publishedCourse } from '../course-service/factories.js';
import type { Principal } from '../../internal/shared/utils/jwt.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, condition: () => Promise<boolean> | boolean, timeoutMs: number): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (await condition()) return Date.now() - start;
    await sleep(50);
  }
  throw new Error(`${what}: not within ${timeoutMs} ms`);
}

interface Sample {
  path: string;
  start: number;
  end: number;
  status: number;
  cache: string;
  body: any;
}

describe.skipIf(!hasPostgres || !hasRedis)('fault: Redis gone under read load', () => {
  const proxy = new TcpProxy(REDIS_URL);
  let h: CourseHarness;
  let direct: Redis;
  let owner: Principal;
  const ids: string[] = [];

  beforeAll(async () => {
    await proxy.listen();
    h = await startCourse({ overrides: { redis: { url: `redis://127.0.0.1:${proxy.port}` } } });
    direct = new Redis(REDIS_URL, { keyPrefix: h.redisPrefix, lazyConnect: true, maxRetriesPerRequest: 1 });
    await direct.connect();
    owner = instructor();
    for (let i = 0; i < 3; i++) ids.push((await publishedCourse(h.db, h.courses, owner, { title: `Fault course ${i}` })).id);
  });

  afterAll(async () => {
    await h?.close();
    direct?.disconnect();
    await proxy.close();
  });

  it('answers every GET from the database while Redis is cut, bounded in time, and serves HITs again after restore', async () => {
    const paths = [
      ...ids.map((id) => `/api/v1/courses/${id}`),
      '/api/v1/courses?limit=10',
      '/api/v1/categories',
      `/api/v1/courses/${ids[0]}/reviews`,
    ];
    const written = `/api/v1/courses/${ids[1]}`;
    await until('redis connected through the proxy', () => h.store.healthy(), 5000);

    // Warm: a second read of each path is a HIT from Redis, through the proxy.
    for (const path of paths) expect((await h.call('GET', path)).status).toBe(200);
    for (const path of paths) expect((await h.call('GET', path)).headers['x-cache'], path).toBe('HIT');
    const epochBefore = Number((await direct.get('cache:ver:*')) ?? 0);
    const bytesBefore = proxy.stats.bytesDown;
    expect(bytesBefore).toBeGreaterThan(0);

    const samples: Sample[] = [];
    let running = true;
    const worker = async (n: number) => {
      for (let i = n; running; i++) {
        const path = paths[i % paths.length]!;
        const start = Date.now();
        const res = await h.call('GET', path);
        samples.push({ path, start, end: Date.now(), status: res.status, cache: String(res.headers['x-cache']), body: res.body });
      }
    };
    const workers = Array.from({ length: 6 }, (_, n) => worker(n));

    await sleep(300);
    const cutAt = Date.now();
    await proxy.cut();
    await sleep(300);

    const degraded = await h.call('GET', '/readyz');
    expect(degraded.status).toBe(200);
    expect(degraded.body).toEqual({ status: 'degraded', checks: { database: 'ok', redis: 'down' } });

    // A write while Redis is away: its invalidation cannot reach Redis.
    await h.courses.update(owner, ids[1]!, { title: 'Retitled during the outage' });
    const writtenAt = Date.now();
    expect(h.cache.degraded).toBe(true);
    await sleep(1200);

    const restoreAt = Date.now();
    await proxy.restore();
    const recoveryMs = await until(
      'HIT again after restore',
      () => samples.some((s) => s.start > restoreAt && s.cache === 'HIT' && s.path === written),
      8000,
    );
    const ready = await h.call('GET', '/readyz');
    await sleep(300);
    running = false;
    await Promise.all(workers);

    // Every answer was a 200, none waited past 1.5 s.
    const bad = samples.filter((s) => s.status !== 200);
    expect(bad.map((s) => `${s.path} ${s.status}`)).toEqual([]);
    const slowest = Math.max(...samples.map((s) => s.end - s.start));
    expect(slowest).toBeLessThan(1500);

    // While cut: answers came from the database, and there were plenty of them.
    const duringCut = samples.filter((s) => s.start > cutAt && s.end < restoreAt);
    expect(duringCut.length).toBeGreaterThan(50);
    expect(duringCut.filter((s) => s.cache === 'HIT')).toEqual([]);
    expect(new Set(duringCut.map((s) => s.cache))).toEqual(new Set(['MISS']));
    // ioredis kept knocking and the proxy turned it away: the outage was real.
    expect(proxy.stats.refused).toBeGreaterThan(0);

    // No answer that started after the write shows the old title, during the outage or after it.
    const afterWrite = samples.filter((s) => s.start > writtenAt);
    const titles = afterWrite.flatMap((s) => {
      if (s.path === written) return [s.body.title as string];
      if (s.path.startsWith('/api/v1/courses?')) return (s.body.items as { id: string; title: string }[]).filter((c) => c.id === ids[1]).map((c) => c.title);
      return [];
    });
    expect(titles.length).toBeGreaterThan(20);
    expect(titles.filter((t) => t !== 'Retitled during the outage')).toEqual([]);

    // Recovered by itself: HITs again, /readyz ok, the epoch was bumped in Redis for the lost invalidation.
    expect(recoveryMs).toBeLessThan(5000);
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ok', checks: { database: 'ok', redis: 'ok' } });
    expect(h.cache.degraded).toBe(false);
    const epochAfter = Number((await direct.get('cache:ver:*')) ?? 0);
    expect(epochAfter).toBeGreaterThan(epochBefore);
    const afterRecovery = samples.filter((s) => s.start > restoreAt + recoveryMs);
    expect(afterRecovery.some((s) => s.cache === 'HIT')).toBe(true);
    expect(proxy.stats.bytesDown).toBeGreaterThan(bytesBefore);

    console.error(
      `[faults_redis] ${samples.length} GETs, ${duringCut.length} while cut; slowest ${slowest} ms; HIT again ${recoveryMs} ms after restore`,
    );
  });

  it('answers from the database after the 1 s command timeout while Redis answers too slowly, and uses the cache again once it is fast', async () => {
    const path = `/api/v1/courses/${ids[2]}`;
    await until('redis connected', () => h.store.healthy(), 5000);
    await until('HIT before the fault', async () => (await h.call('GET', path)).headers['x-cache'] === 'HIT', 5000);

    proxy.delay(3000);
    const slowAt = Date.now();
    const samples = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const out: { ms: number; status: number; cache: string; at: number }[] = [];
        while (Date.now() - slowAt < 2500) {
          const start = Date.now();
          const res = await h.call('GET', path);
          out.push({ ms: Date.now() - start, status: res.status, cache: String(res.headers['x-cache']), at: start - slowAt });
        }
        return out;
      }),
    ).then((lists) => lists.flat());
    const degraded = await h.call('GET', '/readyz');
    proxy.delay(0);

    expect(samples.length).toBeGreaterThanOrEqual(8);
    expect(samples.filter((s) => s.status !== 200)).toEqual([]);
    // The near cache answers without Redis only while it trusts the versions it read (cache.nearTrustMs,
    // 1 s): then it asks Redis again, times out, and every answer comes from the database.
    const trustMs = h.config.cache.nearTrustMs;
    expect(samples.filter((s) => s.cache === 'HIT' && s.at > trustMs + 100)).toEqual([]);
    expect(samples.filter((s) => s.cache !== 'HIT').length).toBeGreaterThanOrEqual(4);
    const slowest = Math.max(...samples.map((s) => s.ms));
    // The command timeout (1 s) plus the database, never Redis' 3 s.
    expect(slowest).toBeLessThan(1800);
    expect(degraded.status).toBe(200);
    expect(degraded.body).toEqual({ status: 'degraded', checks: { database: 'ok', redis: 'down' } });

    // Replies already delayed still trickle in; then the cache serves again by itself.
    const backMs = await until('HIT after the latency is gone', async () => (await h.call('GET', path)).headers['x-cache'] === 'HIT', 10_000);
    expect((await h.call('GET', '/readyz')).body.status).toBe('ok');
    console.error(`[faults_redis] slow Redis: ${samples.length} GETs, slowest ${slowest} ms; HIT again ${backMs} ms after the latency went`);
  });
});
