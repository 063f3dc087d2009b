/**
 * Once per `vitest run`, around every test file: gives the run its own Redis key prefix and its own
 * temporary folder, and removes both at the end, so a run leaves nothing behind on a shared machine.
 *
 * - Redis: every harness and store of the run takes a prefix under `test:<run>:` (see
 *   `redisTestPrefix()` in helpers/services.ts; the run prefix reaches the workers by environment).
 *   Teardown deletes `test:<run>:*` with SCAN + UNLINK and reports how many keys there were (cache
 *   version counters have no TTL, so without this they would stay for ever). It fails when keys under
 *   the prefix are still there after that: something outlived the run and kept writing. Keys of runs
 *   that died without a teardown (killed, Ctrl-C) are swept at the next start once a day old.
 * - Temporary folders: TMPDIR points into one folder of the run, so every `mkdtemp(tmpdir())` of a
 *   test, and of a child process it starts, lands there; teardown removes the folder.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

// The same names as helpers/services.ts, which this file does not import: that module checks the
// servers at import and would fail the run here under REQUIRE_SERVICES=1 before any report.
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const REDIS_RUN_PREFIX_ENV = 'TEST_REDIS_RUN_PREFIX';
const STALE_RUN_MS = 24 * 3600_000;

/** `test:<base36 start time>-<random>:`; the time lets a later run tell a dead run's keys from a live one's. */
function runPrefix(): string {
  return `test:${Date.now().toString(36)}-${randomBytes(4).toString('hex')}:`;
}

/** When the run that made `key` started, for keys under a run prefix. */
export function runStartedAt(key: string): number | undefined {
  const m = /^test:([0-9a-z]{8,9})-[0-9a-f]{8}:/.exec(key);
  return m ? parseInt(m[1]!, 36) : undefined;
}

async function withRedis<T>(fn: (redis: Redis) => Promise<T>): Promise<T | undefined> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2000, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
  } catch {
    return undefined; // No Redis: the suites that need it are skipped (or fail) on their own.
  }
  try {
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}

async function* scanAll(redis: Redis, pattern: string): AsyncGenerator<string[]> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) yield keys;
  } while (cursor !== '0');
}

/** Deletes every key `pick` selects among those matching `pattern`; returns how many, and how many had no TTL. */
async function unlinkAll(redis: Redis, pattern: string, pick: (key: string) => boolean = () => true): Promise<{ keys: number; withoutTtl: number }> {
  const found = { keys: 0, withoutTtl: 0 };
  for await (const batch of scanAll(redis, pattern)) {
    const keys = batch.filter(pick);
    if (keys.length === 0) continue;
    const ttls = await Promise.all(keys.map((k) => redis.pttl(k)));
    found.withoutTtl += ttls.filter((t) => t === -1).length;
    found.keys += await redis.unlink(...keys);
  }
  return found;
}

/** Deletes every key of the run `prefix`; `left` counts keys there after that (something still writing). */
export async function removeRunKeys(redis: Redis, prefix: string): Promise<{ keys: number; withoutTtl: number; left: number }> {
  const removed = await unlinkAll(redis, `${prefix}*`);
  let left = 0;
  for await (const batch of scanAll(redis, `${prefix}*`)) left += batch.length;
  return { ...removed, left };
}

/** Deletes the keys of runs that started more than a day before `now` (killed runs never reach their teardown). */
export async function sweepStaleRuns(redis: Redis, now = Date.now()): Promise<number> {
  const stale = await unlinkAll(redis, 'test:*', (key) => {
    const started = runStartedAt(key);
    return started !== undefined && now - started > STALE_RUN_MS;
  });
  return stale.keys;
}

/** Keys not under `test:` (a test that forgot the run prefix would leave its keys there). */
async function outsideTest(redis: Redis): Promise<Set<string>> {
  const keys = new Set<string>();
  for await (const batch of scanAll(redis, '*')) for (const k of batch) if (!k.startsWith('test:')) keys.add(k);
  return keys;
}

export default async function setup(): Promise<() => Promise<void>> {
  const prefix = runPrefix();
  process.env[REDIS_RUN_PREFIX_ENV] = prefix;
  const runTmp = mkdtempSync(join(tmpdir(), 'course-platform-tests-'));
  process.env.TMPDIR = runTmp;

  const outsideBefore = await withRedis(outsideTest);
  const stale = await withRedis((redis) => sweepStaleRuns(redis));
  if (stale) console.error(`[test setup] removed ${stale} Redis keys of earlier runs that did not clean up`);

  return async () => {
    rmSync(runTmp, { recursive: true, force: true });
    const removed = await withRedis((redis) => removeRunKeys(redis, prefix));
    if (!removed) return;
    console.error(`[test teardown] removed ${removed.keys} Redis keys under ${prefix}* (${removed.withoutTtl} without TTL)`);
    // A warning only: on a shared Redis another process may have written them.
    const outsideAfter = await withRedis(outsideTest);
    const appeared = [...(outsideAfter ?? [])].filter((k) => !outsideBefore?.has(k));
    if (appeared.length > 0) {
      console.error(`[test teardown] warning: ${appeared.length} Redis keys outside test:* appeared during the run (a harness without the run prefix?): ${appeared.slice(0, 5).join(', ')}`);
    }
    if (removed.left > 0) throw new Error(`${removed.left} Redis keys under ${prefix}* came back after the teardown deleted them: something outlived the run`);
  };
}
