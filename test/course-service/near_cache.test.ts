/**
 * The near cache (services/cache/near_cache.ts): its rules as a pure unit, then two CacheService replicas
 * with near caches over the real Redis, its pub/sub channel, and a proxy that cuts the subscription.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { hasRedis, REDIS_URL, redisTestPrefix } from '../helpers/services.js';
import { TcpProxy } from '../helpers/tcp_proxy.js';
import { RedisStore } from '../../internal/shared/utils/redis.js';
import { CacheService, type CacheServiceOptions } from '../../internal/course-service/services/cache/cache_service.js';
import { NearCache, NearLookup, bumpMessage } from '../../internal/course-service/services/cache/near_cache.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('NearCache rules', () => {
  function live(options = { maxBytes: 1000, trustMs: 1000 }): NearCache {
    const near = new NearCache(options);
    near.setLive(true);
    return near;
  }

  it('serves nothing until the subscription is live, and forgets everything when it drops', () => {
    const near = new NearCache({ maxBytes: 1000, trustMs: 1000 });
    near.learn(['a'], ['1'], near.changeCount);
    near.set('k', 'v', 1, 1000);
    expect(near.versionsOf(['a'])).toBeUndefined();
    expect(near.get('k')).toBeUndefined();

    near.setLive(true);
    near.learn(['a'], ['1'], near.changeCount);
    near.set('k', 'v', 1, 1000);
    expect(near.versionsOf(['a'])).toEqual(['1']);
    expect(near.get('k')).toEqual(expect.objectContaining({ value: 'v' }));

    near.setLive(false);
    near.setLive(true);
    expect(near.versionsOf(['a'])).toBeUndefined();
    expect(near.get('k')).toBeUndefined();
  });

  it('refuses a version read before a message came in (it may be older than the message)', () => {
    const near = live();
    near.learn(['a'], ['1'], near.changeCount);
    const before = near.changeCount;
    near.heard(bumpMessage('w 1', ['a'], [2]));
    near.learn(['a'], ['1'], before); // an MGET that left before the bump and came back after it
    expect(near.versionsOf(['a'])).toEqual(['2']);
  });

  it('only raises versions (a late message never takes one back), and ignores scopes it never read', () => {
    const near = live();
    near.learn(['a', 'b'], ['5', '1'], near.changeCount);
    near.bumped(['a'], [7]);
    near.heard(bumpMessage('w 2', ['a', 'b', 'c'], [6, 2, 9]));
    expect(near.versionsOf(['a', 'b'])).toEqual(['7', '2']);
    expect(near.versionsOf(['c'])).toBeUndefined();
  });

  it('trusts a version read from the store for trustMs only', () => {
    const near = live({ maxBytes: 1000, trustMs: 100 });
    near.learn(['a'], ['1'], near.changeCount, 1_000);
    expect(near.versionsOf(['a'], 1_099)).toEqual(['1']);
    expect(near.versionsOf(['a'], 1_100)).toBeUndefined();
  });

  it('drops the oldest entries beyond maxBytes and expired ones on read', () => {
    const near = live({ maxBytes: 10, trustMs: 1000 });
    near.set('one', 1, 4, 1000, 0);
    near.set('two', 2, 4, 1000, 0);
    near.set('three', 3, 4, 1000, 0);
    expect(near.get('one', 1)).toBeUndefined();
    expect(near.get('two', 1)?.value).toBe(2);
    expect(near.size).toEqual(expect.objectContaining({ entries: 2, bytes: 8 }));
    expect(near.get('three', 1000)).toBeUndefined();
    near.set('huge', 'x', 11, 1000);
    expect(near.get('huge')).toBeUndefined();
  });

  it('reads through a lookup handle: prepared once per entry, found again after a bump, never past expiry or a reset', () => {
    const near = live({ maxBytes: 1000, trustMs: 1000 });
    const lookup = new NearLookup(['a', '*'], (v) => `k@${v.join(',')}`);
    const prepare = vi.fn((value: unknown) => ({ prepared: `<${String(value)}>`, size: 3 }));
    expect(near.prepared(lookup, prepare, 0)).toBeUndefined(); // versions unknown
    near.learn(['a', '*'], ['1', '0'], near.changeCount, 0);
    near.set('k@1,0', 'one', 3, 500, 0);
    expect(near.prepared(lookup, prepare, 1)).toBe('<one>');
    expect(near.prepared(lookup, prepare, 2)).toBe('<one>');
    expect(prepare).toHaveBeenCalledTimes(1);
    expect(near.size.bytes).toBe(6); // the prepared form is counted too

    // A bump: the old entry is not served, the new one is found under the new key.
    near.bumped(['a'], [2]);
    expect(near.prepared(lookup, prepare, 3)).toBeUndefined();
    near.set('k@2,0', 'two', 3, 500, 3);
    expect(near.prepared(lookup, prepare, 4)).toBe('<two>');
    // The same text stored again keeps what was prepared; other text replaces it.
    near.set('k@2,0', 'two', 3, 500, 5);
    expect(near.prepared(lookup, prepare, 6)).toBe('<two>');
    expect(prepare).toHaveBeenCalledTimes(2);
    near.set('k@2,0', 'TWO', 3, 500, 7);
    expect(near.prepared(lookup, prepare, 8)).toBe('<TWO>');
    // Expired (entries live 500 ms from their store), or versions no longer trusted: nothing.
    expect(near.prepared(lookup, prepare, 507)).toBeUndefined();
    near.set('k@2,0', 'again', 3, 5000, 507);
    expect(near.prepared(lookup, prepare, 1001)).toBeUndefined();
    // A reset of the channel forgets the entry the handle held.
    near.learn(['a', '*'], ['2', '0'], near.changeCount, 1001);
    expect(near.prepared(lookup, prepare, 1002)).toBe('<again>');
    near.setLive(false);
    near.setLive(true);
    near.learn(['a', '*'], ['2', '0'], near.changeCount, 1003);
    expect(near.prepared(lookup, prepare, 1004)).toBeUndefined();
  });

  it('a handle that met an unknown version half way builds its key again (never the key of older versions)', () => {
    const near = live({ maxBytes: 1000, trustMs: 1000 });
    const lookup = new NearLookup(['a', 'b'], (v) => `k@${v.join(',')}`);
    const prepare = (value: unknown) => ({ prepared: value, size: 0 });
    near.learn(['b'], ['1'], near.changeCount, 0);
    near.learn(['a'], ['1'], near.changeCount, 500);
    near.set('k@1,1', 'old', 3, 5000, 0);
    expect(near.prepared(lookup, prepare, 600)).toBe('old');
    // `a` moves on while `b` is no longer trusted: nothing, then `b` is read again unchanged.
    near.bumped(['a'], [2]);
    expect(near.prepared(lookup, prepare, 1000)).toBeUndefined();
    near.learn(['b'], ['1'], near.changeCount, 1000);
    expect(near.prepared(lookup, prepare, 1001)).toBeUndefined(); // k@2,1 is not there, k@1,1 is not served
    near.set('k@2,1', 'new', 3, 5000, 1001);
    expect(near.prepared(lookup, prepare, 1002)).toBe('new');
  });

  it('applies a message and returns its bump id (what the replica acknowledges)', () => {
    const near = live();
    near.learn(['course:1', '*'], ['3', '1'], near.changeCount);
    expect(near.heard(bumpMessage('w1 7', ['course:1', 'courses'], [4, 9]))).toBe('w1 7');
    expect(near.versionsOf(['course:1', '*'])).toEqual(['4', '1']);
  });
});

describe.skipIf(!hasRedis)('CacheService with near caches over Redis', () => {
  const OPTIONS: CacheServiceOptions = {
    courseTtlMs: 60_000,
    listTtlMs: 30_000,
    reviewsTtlMs: 30_000,
    categoriesTtlMs: 60_000,
    near: { maxBytes: 1 << 20, trustMs: 60_000 },
  };
  const prefix = redisTestPrefix('near');
  const proxy = new TcpProxy(REDIS_URL);
  let storeA: RedisStore;
  let storeB: RedisStore;
  let a: CacheService;
  let b: CacheService;
  let direct: Redis;

  const until = async (what: string, check: () => boolean, ms = 5000) => {
    const end = Date.now() + ms;
    while (!check()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await sleep(10);
    }
  };

  beforeAll(async () => {
    await proxy.listen();
    storeA = new RedisStore(REDIS_URL, prefix);
    // Replica B reaches Redis through the proxy, so the test can cut its subscription.
    storeB = new RedisStore(`redis://127.0.0.1:${proxy.port}`, prefix);
    a = new CacheService(storeA, OPTIONS);
    b = new CacheService(storeB, OPTIONS);
    direct = new Redis(REDIS_URL, { keyPrefix: prefix });
    await until('both near caches live', () => a.nearState?.live === true && b.nearState?.live === true);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await storeA?.close();
    await storeB?.close();
    direct?.disconnect();
    await proxy.close();
  });

  it('answers a repeated read from the process, without Redis', async () => {
    const load = vi.fn(async () => 'v1');
    expect(await a.getOrLoad(['course:n1'], 'k1', 10_000, load)).toEqual({ value: 'v1', hit: false });
    expect(await a.getOrLoad(['course:n1'], 'k1', 10_000, load)).toEqual({ value: 'v1', hit: true });
    // Proof that the hit came from the process: the entry is gone from Redis and it still hits.
    const keys = await direct.keys(`${prefix}cache:data:*k1`);
    expect(keys).toHaveLength(1);
    await direct.del(keys[0]!.slice(prefix.length));
    expect(await a.getOrLoad(['course:n1'], 'k1', 10_000, load)).toEqual({ value: 'v1', hit: true });
    expect(load).toHaveBeenCalledTimes(1);
    expect(a.nearState).toEqual(expect.objectContaining({ live: true, entries: 1 }));
  });

  it('a write through one replica is read at once through the other, and through itself', async () => {
    let title = 'old';
    const load = vi.fn(async () => title);
    const scopes = ['course:n2'];
    for (const replica of [a, b, a, b]) await replica.getOrLoad(scopes, 'k2', 10_000, load);
    expect((await b.getOrLoad(scopes, 'k2', 10_000, load)).hit).toBe(true);

    for (const [writer, reader] of [
      [a, b],
      [b, a],
      [a, a],
    ] as const) {
      title = `${title}+`;
      const start = Date.now();
      await writer.invalidate(scopes);
      // Both replicas acknowledged: the writer did not wait for the 200 ms acknowledgement timeout.
      expect(Date.now() - start).toBeLessThan(150);
      expect(await reader.getOrLoad(scopes, 'k2', 10_000, load)).toEqual({ value: title, hit: false });
      expect(await reader.getOrLoad(scopes, 'k2', 10_000, load)).toEqual({ value: title, hit: true });
    }
  });

  it('stops serving from the process when its subscription is cut, and starts again afresh after', async () => {
    const load = vi.fn(async () => 'x');
    await b.getOrLoad(['course:n3'], 'k3', 10_000, load);
    expect((await b.getOrLoad(['course:n3'], 'k3', 10_000, load)).hit).toBe(true);

    await proxy.cut();
    await until('B not live', () => b.nearState?.live === false);
    expect(b.nearState).toEqual(expect.objectContaining({ entries: 0, versions: 0 }));
    // A write on A while B hears nothing: B must not serve its old copy once it is back.
    await a.invalidate(['course:n3']);
    await proxy.restore();
    await until('B live again', () => b.nearState?.live === true && storeB.healthy());
    const after = await b.getOrLoad(['course:n3'], 'k3', 10_000, async () => 'y');
    expect(after).toEqual({ value: 'y', hit: false });
  });

  it('answers a write after the acknowledgement timeout when a replica is slow to hear it, and that replica catches up', async () => {
    const load = vi.fn(async () => 'v');
    await b.getOrLoad(['course:n5'], 'k5', 10_000, load);
    expect((await b.getOrLoad(['course:n5'], 'k5', 10_000, load)).hit).toBe(true);
    proxy.delay(400);
    try {
      const start = Date.now();
      await a.invalidate(['course:n5']);
      const waited = Date.now() - start;
      // B's acknowledgement cannot come within 400 ms: A answers at its 200 ms deadline.
      expect(waited).toBeGreaterThanOrEqual(180);
      expect(waited).toBeLessThan(380);
      // The delayed message reaches B after 400 ms; B then serves the new version.
      await sleep(600);
      proxy.delay(0);
      expect(await b.getOrLoad(['course:n5'], 'k5', 10_000, async () => 'w')).toEqual({ value: 'w', hit: false });
    } finally {
      proxy.delay(0);
    }
  });

  it('reads a version from Redis again after trustMs, so a missed message costs at most that long', async () => {
    const store = new RedisStore(REDIS_URL, prefix);
    const c = new CacheService(store, { ...OPTIONS, near: { maxBytes: 1 << 20, trustMs: 50 } });
    try {
      await until('C live', () => c.nearState?.live === true);
      await c.getOrLoad(['course:n4'], 'k4', 10_000, async () => 'first');
      expect((await c.getOrLoad(['course:n4'], 'k4', 10_000, async () => 'unused')).hit).toBe(true);
      // A bump C cannot hear (straight INCR in Redis, no message), as if the message were lost.
      await direct.incr('cache:ver:course:n4');
      await sleep(60);
      expect(await c.getOrLoad(['course:n4'], 'k4', 10_000, async () => 'second')).toEqual({ value: 'second', hit: false });
    } finally {
      await c.close();
      await store.close();
    }
  });
});
