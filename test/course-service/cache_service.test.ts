import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { hasPostgres, hasRedis, REDIS_URL, redisTestPrefix } from '../helpers/services.js';
import { MemoryStore, RedisStore, type KeyValueStore } from '../../internal/shared/utils/redis.js';
import { CacheService, type CacheServiceOptions } from '../../internal/course-service/services/cache/cache_service.js';
import { CacheScopes } from '../../internal/course-service/services/cache/cache_scopes.js';
import { instructor, publishedCourse, reviewAsLearner, services, student } from './factories.js';

const TTL: CacheServiceOptions = { courseTtlMs: 60_000, listTtlMs: 30_000, reviewsTtlMs: 30_000, categoriesTtlMs: 60_000 };

async function ready(store: RedisStore): Promise<RedisStore> {
  if (store.client.status !== 'ready') await new Promise((resolve) => store.client.once('ready', resolve));
  return store;
}

/** A counting loader that takes a little while, like a database query. */
function loader<T>(value: () => T, ms = 30) {
  const fn = vi.fn(async () => {
    await new Promise((r) => setTimeout(r, ms));
    return value();
  });
  return fn;
}

describe.skipIf(!hasRedis)('CacheService over Redis', () => {
  // Two replicas: separate connections, same Redis and key prefix.
  let storeA: RedisStore;
  let storeB: RedisStore;
  let a: CacheService;
  let b: CacheService;

  beforeAll(async () => {
    const prefix = redisTestPrefix('cache');
    storeA = await ready(new RedisStore(REDIS_URL, prefix));
    storeB = await ready(new RedisStore(REDIS_URL, prefix));
    a = new CacheService(storeA, TTL);
    b = new CacheService(storeB, TTL);
  });
  afterAll(async () => {
    await storeA?.close();
    await storeB?.close();
  });

  it('shares entries between replicas and makes them stale everywhere on invalidate', async () => {
    let version = 1;
    const load = loader(() => ({ title: `v${version}` }));
    const scopes = ['course:1'];
    expect(await a.getOrLoad(scopes, 'GET /courses/1', 10_000, load)).toEqual({ value: { title: 'v1' }, hit: false });
    expect(await b.getOrLoad(scopes, 'GET /courses/1', 10_000, load)).toEqual({ value: { title: 'v1' }, hit: true });
    expect(load).toHaveBeenCalledTimes(1);

    // A write on replica A, then a read on replica B: B reads the write.
    version = 2;
    await a.invalidate(scopes);
    expect(await b.getOrLoad(scopes, 'GET /courses/1', 10_000, load)).toEqual({ value: { title: 'v2' }, hit: false });
    expect(await a.getOrLoad(scopes, 'GET /courses/1', 10_000, load)).toEqual({ value: { title: 'v2' }, hit: true });
    expect(load).toHaveBeenCalledTimes(2);
  });

  it('shares bumps between concurrent invalidations, and each caller returns only after its scopes went stale everywhere', async () => {
    const versionOf = async (scope: string) => Number((await storeA.get(`cache:ver:${scope}`)) ?? 0);
    const before = await versionOf('courses');
    let version = 1;
    const load = loader(() => ({ v: version }), 1);
    for (let i = 0; i < 40; i++) await b.getOrLoad([`course:batch-${i}`, 'courses'], `GET /batch/${i}`, 10_000, load);
    version = 2;
    // 40 writers, each making its course and the lists stale, at once.
    await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        await a.invalidate([`course:batch-${i}`, 'courses']);
        // Read-your-write on the other replica as soon as this caller's invalidate returned.
        expect(await b.getOrLoad([`course:batch-${i}`, 'courses'], `GET /batch/${i}`, 10_000, load)).toMatchObject({ value: { v: 2 } });
      }),
    );
    const bumps = (await versionOf('courses')) - before;
    expect(bumps).toBeGreaterThan(0);
    expect(bumps).toBeLessThan(40);
    for (let i = 0; i < 40; i++) expect(await versionOf(`course:batch-${i}`)).toBeGreaterThan(0);
  });

  it('invalidates only entries that depend on the bumped scope', async () => {
    const one = loader(() => 'one');
    const list = loader(() => 'list');
    await a.getOrLoad(['course:x'], 'one', 10_000, one);
    await a.getOrLoad(['courses', 'categories'], 'list', 10_000, list);
    await b.invalidate(['categories']);
    expect((await a.getOrLoad(['course:x'], 'one', 10_000, one)).hit).toBe(true);
    expect((await a.getOrLoad(['courses', 'categories'], 'list', 10_000, list)).hit).toBe(false);
  });

  it('runs the loader once for 20 concurrent misses of one key (single flight)', async () => {
    const load = loader(() => ({ n: 42 }), 50);
    const results = await Promise.all(Array.from({ length: 20 }, () => a.getOrLoad(['courses'], 'GET /courses?sort=new', 10_000, load)));
    expect(load).toHaveBeenCalledTimes(1);
    expect(results.every((r) => r.value.n === 42 && !r.hit)).toBe(true);
    expect(await a.getOrLoad(['courses'], 'GET /courses?sort=new', 10_000, load)).toEqual({ value: { n: 42 }, hit: true });
  });

  it('does not cache loader errors, and the next caller loads again', async () => {
    const failing = vi.fn(async () => {
      throw new Error('db down');
    });
    await expect(a.getOrLoad(['courses'], 'err', 10_000, failing)).rejects.toThrow('db down');
    await expect(a.getOrLoad(['courses'], 'ok', 10_000, async () => 1)).resolves.toEqual({ value: 1, hit: false });
    await expect(a.getOrLoad(['courses'], 'err', 10_000, async () => 2)).resolves.toEqual({ value: 2, hit: false });
  });

  it('expires entries after their TTL', async () => {
    const load = loader(() => 'x', 0);
    await a.getOrLoad(['ttl'], 'k', 50, load);
    expect((await a.getOrLoad(['ttl'], 'k', 50, load)).hit).toBe(true);
    await new Promise((r) => setTimeout(r, 80));
    expect((await a.getOrLoad(['ttl'], 'k', 50, load)).hit).toBe(false);
  });
});

describe('CacheService when the store fails', () => {
  it('answers from the loader when Redis is unreachable, reports once, never throws', async () => {
    const store = new RedisStore('redis://127.0.0.1:1');
    const onError = vi.fn();
    const cache = new CacheService(store, { ...TTL, onError });
    try {
      for (let i = 0; i < 3; i++) {
        await expect(cache.getOrLoad(['courses'], 'k', 1000, async () => ({ i }))).resolves.toEqual({ value: { i }, hit: false });
      }
      await expect(cache.invalidate(['courses'])).resolves.toBeUndefined();
      expect(cache.degraded).toBe(true);
      expect(onError).toHaveBeenCalledTimes(1);
      // Single flight still holds while degraded.
      const load = loader(() => 'x');
      await Promise.all(Array.from({ length: 10 }, () => cache.getOrLoad(['courses'], 'same', 1000, load)));
      expect(load).toHaveBeenCalledTimes(1);
    } finally {
      await store.close();
    }
  });

  it('recovers by itself, and an invalidation lost in the outage still makes old entries stale', async () => {
    // A memory store that can be switched off: a pure unit, no Redis needed.
    const inner = new MemoryStore();
    let down = false;
    const guard = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) => (...args: A) => (down ? Promise.reject(new Error('ECONNREFUSED')) : fn(...args));
    const store: KeyValueStore = {
      kind: 'memory',
      get: guard((k: string) => inner.get(k)),
      mget: guard((k: string[]) => inner.mget(k)),
      set: guard((k: string, v: string, t?: number) => inner.set(k, v, t)),
      del: guard((k: string) => inner.del(k)),
      getdel: guard((k: string) => inner.getdel(k)),
      incr: guard((k: string) => inner.incr(k)),
      incrWindow: guard((k: string, w: number) => inner.incrWindow(k, w)),
      decrWindow: guard((k: string) => inner.decrWindow(k)),
      healthy: () => !down,
      ping: guard(() => inner.ping()),
      close: () => inner.close(),
    };
    const onError = vi.fn();
    const onRecover = vi.fn();
    const cache = new CacheService(store, { ...TTL, onError, onRecover, storeRetryMs: 0 });

    await cache.getOrLoad(['course:1'], 'k', 10_000, async () => 'old');
    expect((await cache.getOrLoad(['course:1'], 'k', 10_000, async () => 'unused')).hit).toBe(true);

    down = true;
    await cache.invalidate(['course:1']); // lost: the store is down
    expect(await cache.getOrLoad(['course:1'], 'k', 10_000, async () => 'new')).toEqual({ value: 'new', hit: false });
    expect(cache.degraded).toBe(true);

    down = false;
    expect(await cache.getOrLoad(['course:1'], 'k', 10_000, async () => 'new')).toEqual({ value: 'new', hit: false });
    expect(cache.degraded).toBe(false);
    expect(onError).toHaveBeenCalledTimes(1);
    expect(onRecover).toHaveBeenCalledTimes(1);
    expect(await cache.getOrLoad(['course:1'], 'k', 10_000, async () => 'unused')).toEqual({ value: 'new', hit: true });
  });
});

describe('CacheService entries', () => {
  it('keeps strings as raw text (no JSON wrapper) and other values as JSON, both round-tripping exactly', async () => {
    const store = new MemoryStore();
    const cache = new CacheService(store, TTL);
    const text = '#"tag"\n{"a":"x\\ny"}';
    expect(await cache.getOrLoad(['s'], 'text', 1000, async () => text)).toEqual({ value: text, hit: false });
    expect(await cache.getOrLoad(['s'], 'text', 1000, async () => 'unused')).toEqual({ value: text, hit: true });
    const object = { title: '#not raw', n: 1 };
    await cache.getOrLoad(['s'], 'object', 1000, async () => object);
    expect(await cache.getOrLoad(['s'], 'object', 1000, async () => ({}))).toEqual({ value: object, hit: true });
  });
});

describe('CacheService with a failing store', () => {
  it('skips the store for storeRetryMs after a failure instead of paying its timeout on every request', async () => {
    let calls = 0;
    const failing = () => {
      calls++;
      return Promise.reject(new Error('ETIMEDOUT'));
    };
    const store: KeyValueStore = {
      kind: 'memory',
      get: failing,
      mget: failing,
      set: failing,
      del: failing,
      getdel: failing,
      incr: failing,
      incrWindow: failing,
      decrWindow: failing,
      healthy: () => false,
      ping: failing,
      close: async () => undefined,
    };
    const cache = new CacheService(store, { ...TTL, storeRetryMs: 200 });
    for (let i = 0; i < 5; i++) expect(await cache.getOrLoad(['s'], 'k', 1000, async () => i)).toEqual({ value: i, hit: false });
    expect(calls).toBe(1);
    await cache.invalidate(['s']);
    expect(calls).toBe(1);
    await new Promise((r) => setTimeout(r, 220));
    await cache.getOrLoad(['s'], 'k', 1000, async () => 'probe');
    // One probe after the pause (the epoch bump owed by the skipped invalidation comes first).
    expect(calls).toBe(2);
  });
});

describe.skipIf(!hasPostgres || !hasRedis)('services invalidate the cache after each write', () => {
  let t: TestDatabase;
  let storeA: RedisStore;
  let storeB: RedisStore;

  beforeAll(async () => {
    t = await createTestDatabase('course-service');
    const prefix = redisTestPrefix('cache');
    storeA = await ready(new RedisStore(REDIS_URL, prefix));
    storeB = await ready(new RedisStore(REDIS_URL, prefix));
  });
  afterAll(async () => {
    await storeA?.close();
    await storeB?.close();
    await t?.drop();
  });

  it('a client reads its own course and review writes through another replica', async () => {
    // Replica A takes the writes; replica B answers the reads, caching them the way the HTTP layer will.
    const cacheA = new CacheService(storeA, TTL);
    const cacheB = new CacheService(storeB, TTL);
    const a = services(t.db, cacheA);
    const b = services(t.db, cacheB);
    const owner = instructor();
    const course = await publishedCourse(t.db, a.courses, owner, { title: 'Before', category: 'Cached' });

    const readCourse = () => cacheB.getOrLoad(CacheScopes.courseRead(course.id, true), `GET /courses/${course.id}`, TTL.courseTtlMs, () => b.courses.get(undefined, course.id));
    const readSlug = () => cacheB.getOrLoad(CacheScopes.courseRead(course.slug, false), `GET /courses/${course.slug}`, TTL.courseTtlMs, () => b.courses.get(undefined, course.slug));
    const readList = () => cacheB.getOrLoad(CacheScopes.courseListRead(), 'GET /courses?category=Cached', TTL.listTtlMs, () => b.courses.list({ category: 'Cached' }));
    const readCategories = () => cacheB.getOrLoad(CacheScopes.categoriesRead(), 'GET /categories', TTL.categoriesTtlMs, () => b.courses.listCategories());
    const readReviews = () =>
      cacheB.getOrLoad(CacheScopes.courseReviewsRead(course.id, true), `GET /courses/${course.id}/reviews`, TTL.reviewsTtlMs, () => b.reviews.listByCourse(undefined, course.id));

    for (const read of [readCourse, readSlug, readList, readCategories, readReviews]) {
      expect((await read()).hit).toBe(false);
      expect((await read()).hit).toBe(true);
    }

    await a.courses.update(owner, course.id, { title: 'After', category: 'Cached' });
    expect(await readCourse()).toMatchObject({ hit: false, value: { title: 'After' } });
    expect(await readSlug()).toMatchObject({ hit: false, value: { title: 'After' } });
    expect((await readList()).value.items[0]?.title).toBe('After');

    const author = student();
    const review = await reviewAsLearner(t.db, a.reviews, cacheA)(author, course.id, { rating: 5 });
    expect(await readReviews()).toMatchObject({ hit: false, value: { items: [{ id: review.id }] } });
    expect(await readCourse()).toMatchObject({ hit: false, value: { rating: { count: 1, average: 5 } } });
    expect((await readList()).value.items[0]?.rating.count).toBe(1);

    await a.courses.update(owner, course.id, { status: 'archived' });
    expect((await readCategories()).value.items.find((c) => c.name === 'Cached')).toBeUndefined();
    await expect(readCourse()).rejects.toMatchObject({ code: 'course_not_found' });
    await expect(readReviews()).rejects.toMatchObject({ code: 'course_not_found' });
  });
});
