/** The store behind caches and rate limits means the same in Redis and in memory, and fails fast. */
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryStore, RedisStore, type KeyValueStore } from '../../internal/shared/utils/redis.js';
import { REDIS_URL, hasRedis, redisTestPrefix } from '../helpers/services.js';

const stores: [string, () => KeyValueStore, boolean][] = [
  ['memory', () => new MemoryStore(), true],
  ['redis', () => new RedisStore(REDIS_URL, redisTestPrefix('store')), hasRedis],
];

for (const [name, make, available] of stores) {
  describe.skipIf(!available)(`${name} store`, () => {
    const store = make();
    afterAll(() => store.close());

    it('counts a window and tells how long it has left', async () => {
      const first = await store.incrWindow('w', 1000);
      expect(first.count).toBe(1);
      expect(first.ttlMs).toBeGreaterThan(900);
      const second = await store.incrWindow('w', 1000);
      expect(second.count).toBe(2);
      expect(second.ttlMs).toBeLessThanOrEqual(1000);
    });

    it('expires values and windows', async () => {
      // Long enough that a loaded machine still reads the value before it expires.
      await store.set('short', 'v', 400);
      await store.incrWindow('short-window', 400);
      expect(await store.get('short')).toBe('v');
      await new Promise((r) => setTimeout(r, 500));
      expect(await store.get('short')).toBeNull();
      expect((await store.incrWindow('short-window', 400)).count).toBe(1);
    });

    it('reads many keys at once and keeps counters', async () => {
      await store.set('a', '1');
      expect(await store.mget(['a', 'missing'])).toEqual(['1', null]);
      expect(await store.incr('counter')).toBe(1);
      expect(await store.incr('counter')).toBe(2);
      await store.del('a');
      expect(await store.get('a')).toBeNull();
      expect(store.healthy()).toBe(true);
    });

    it('getdel hands a value to one caller only (single-use secrets)', async () => {
      await store.set('once', 'secret', 10_000);
      const taken = await Promise.all([store.getdel('once'), store.getdel('once'), store.getdel('once')]);
      expect(taken.filter((v) => v === 'secret')).toHaveLength(1);
      expect(taken.filter((v) => v === null)).toHaveLength(2);
      expect(await store.get('once')).toBeNull();
      expect(await store.getdel('never-set')).toBeNull();
    });
  });
}

describe('an unreachable Redis', () => {
  it('fails fast instead of hanging a request, and reports itself unhealthy', async () => {
    const store = new RedisStore('redis://127.0.0.1:1');
    const started = Date.now();
    await expect(store.get('x')).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(1500);
    expect(store.healthy()).toBe(false);
    await store.close();
  });
});
