/**
 * The test suite itself: CI refuses a committed `.only`, every Redis key of a run sits under the run's
 * prefix (which test/global_setup.ts deletes at the end), and harnesses remove the folders they make.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { startAuth } from '../helpers/auth_app.js';
import { startCourse } from '../helpers/course_app.js';
import { REDIS_RUN_PREFIX, REDIS_URL, hasPostgres, hasRedis, redisTestPrefix } from '../helpers/services.js';
import { removeRunKeys, runStartedAt, sweepStaleRuns } from '../global_setup.js';

const ROOT = join(import.meta.dirname, '..', '..');

describe('CI and a committed .only', () => {
  // Under dist/ (ignored by git and eslint) so that the fixture's config finds vitest in node_modules.
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, 'dist', 'test-only-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('.ci/run exports CI=1 before it runs the tests', () => {
    const script = readFileSync(join(ROOT, '.ci', 'run'), 'utf8');
    const ci = script.search(/^export CI=1$/m);
    expect(ci).toBeGreaterThan(-1);
    expect(ci).toBeLessThan(script.search(/^npm test$/m));
  });

  it('a file with it.only fails a run under CI=1 and passes without it', async () => {
    writeFileSync(
      join(dir, 'focused.test.ts'),
      "import { expect, it } from 'vitest';\nit.only('focused', () => expect(1).toBe(1));\nit('the rest', () => expect(1).toBe(1));\n",
    );
    // The project's own settings (allowOnly among them), on the fixture alone.
    writeFileSync(
      join(dir, 'vitest.config.ts'),
      `import base from ${JSON.stringify(join(ROOT, 'vitest.config.ts'))};\n` +
        "export default { test: { ...base.test, include: ['focused.test.ts'], globalSetup: [] } };\n",
    );
    const vitest = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
    const run = (ci: boolean) => {
      const env: NodeJS.ProcessEnv = { ...process.env };
      delete env.CI;
      if (ci) env.CI = '1';
      return promisify(execFile)(process.execPath, [vitest, 'run', '--root', dir, '--config', join(dir, 'vitest.config.ts')], { cwd: dir, env }).then(
        ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
        (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code ?? -1, output: `${err.stdout ?? ''}${err.stderr ?? ''}` }),
      );
    };
    const [underCi, local] = await Promise.all([run(true), run(false)]);
    expect(underCi.code, underCi.output).toBe(1);
    expect(underCi.output).toContain('Unexpected .only modifier');
    expect(local.code, local.output).toBe(0);
  }, 60_000);
});

describe('keys and folders of a run', () => {
  it('takes every Redis prefix under the run prefix that the global setup deletes', () => {
    expect(process.env.TEST_REDIS_RUN_PREFIX).toBe(REDIS_RUN_PREFIX);
    expect(REDIS_RUN_PREFIX).toMatch(/^test:[0-9a-z]+-[0-9a-f]{8}:$/);
    const a = redisTestPrefix('x');
    expect(a.startsWith(`${REDIS_RUN_PREFIX}x:`)).toBe(true);
    expect(redisTestPrefix('x')).not.toBe(a);
  });

  it.skipIf(!hasPostgres || !hasRedis)('harnesses key Redis under the run prefix and remove their varDir when closed', async () => {
    const auth = await startAuth();
    const course = await startCourse();
    const dirs = [auth.config.varDir, course.config.varDir];
    expect(auth.config.redis.keyPrefix.startsWith(REDIS_RUN_PREFIX)).toBe(true);
    expect(course.config.redis.keyPrefix.startsWith(REDIS_RUN_PREFIX)).toBe(true);
    for (const d of dirs) expect(existsSync(d)).toBe(true);
    await auth.close();
    await course.close();
    for (const d of dirs) expect(existsSync(d), d).toBe(false);
  });
});

describe.skipIf(!hasRedis)('the teardown of a run', () => {
  const redis = new Redis(REDIS_URL);
  afterAll(() => redis.disconnect());
  // Made-up runs, so that this run's own keys are left alone.
  const run = (startedAt: number) => `test:${startedAt.toString(36)}-${randomBytes(4).toString('hex')}:`;

  it('deletes every key under the run prefix, with and without TTL, and counts those without', async () => {
    const prefix = run(Date.now());
    expect(runStartedAt(`${prefix}x`)).toBeGreaterThan(Date.now() - 1000);
    await redis.set(`${prefix}course:1:cache:ver:*`, '3');
    await redis.set(`${prefix}auth:2:rl:login`, '1', 'PX', 60_000);
    await redis.set(`${prefix}near:3:cache:data:x`, 'v');
    const other = `${run(Date.now())}cache:ver:*`;
    await redis.set(other, '1', 'PX', 60_000);
    expect(await removeRunKeys(redis, prefix)).toEqual({ keys: 3, withoutTtl: 2, left: 0 });
    expect(await redis.keys(`${prefix}*`)).toEqual([]);
    expect(await redis.exists(other)).toBe(1);
    await redis.unlink(other);
  });

  it('sweeps the keys of runs more than a day old and leaves younger runs and other keys alone', async () => {
    const now = Date.now();
    const dead = run(now - 25 * 3600_000);
    const live = run(now - 3600_000);
    const unrelated = `test:${randomBytes(4).toString('hex')}:cache:ver:*`;
    for (const key of [`${dead}a`, `${dead}b`, `${live}a`, unrelated]) await redis.set(key, '1', 'PX', 60_000);
    expect(await sweepStaleRuns(redis, now)).toBeGreaterThanOrEqual(2);
    expect(await redis.exists(`${dead}a`, `${dead}b`)).toBe(0);
    expect(await redis.exists(`${live}a`, unrelated)).toBe(2);
    await redis.unlink(`${live}a`, unrelated);
  });
});
