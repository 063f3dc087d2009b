/**
 * Revocation reaching course-service (issue 18), with the real auth-service listening and two
 * course-service replicas on real PostgreSQL: a logged-out session, a disabled and a deleted account are
 * refused (401 `session_revoked`) by both replicas within 2 s, measured, in both run modes:
 *
 * - real mode (Redis): the replicas poll only once a minute here, so the 2 s can only come from
 *   auth-service's poke on the Redis channel;
 * - without Redis (as `npm start` runs): the replicas' poll of the feed (every 500 ms by default).
 *
 * Another user's token, and the same user's other session, keep working.
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres, hasRedis } from '../helpers/services.js';
import { startPlatform, type CourseHarness, type Platform } from '../helpers/course_app.js';
import { newId } from '../../internal/shared/utils/ids.js';
import { publishedCourseOverHttp } from './factories.js';

/** A public read that checks a token when one is sent (one course; anonymous reads come from the cache). */
let READ = '';

async function status(replica: CourseHarness, token: string): Promise<{ status: number; code?: string }> {
  const res = await replica.call('GET', READ, { token });
  return { status: res.status, code: res.body?.code };
}

/** Milliseconds until every replica refuses the token with 401 session_revoked (gives up after 5 s). */
async function refusedAfter(replicas: CourseHarness[], token: string, since: number): Promise<number> {
  const pending = new Set(replicas);
  while (pending.size > 0 && Date.now() - since < 5000) {
    for (const r of [...pending]) {
      const s = await status(r, token);
      if (s.status === 401) {
        expect(s.code).toBe('session_revoked');
        pending.delete(r);
      } else {
        expect(s.status).toBe(200);
      }
    }
    if (pending.size) await new Promise((resolve) => setTimeout(resolve, 10));
  }
  expect(pending.size, 'replicas still accepting the revoked token').toBe(0);
  return Date.now() - since;
}

function suite(mode: 'redis' | 'polling') {
  const channel = `test-revocations-${newId()}`;
  let p: Platform;
  let replicas: CourseHarness[];

  beforeAll(async () => {
    const redis = mode === 'redis' ? {} : { redis: { url: '' } };
    const revocations = mode === 'redis' ? { channel, pollIntervalMs: 60_000 } : { channel };
    p = await startPlatform({
      auth: { ...redis, revocations: { channel, publishIntervalMs: 100 } },
      course: { overrides: { ...redis, revocations } },
    });
    replicas = [p.course, await p.replica({ ...redis, revocations })];
    const teacher = await p.user({ role: 'instructor' });
    const created = await publishedCourseOverHttp(p.course.call, teacher.token, {
      title: 'Revocable Reading', summary: 's', description: 'd', category: 'Data', tags: ['sql'], level: 'beginner', language: 'en', durationMinutes: 60,
    });
    READ = `/api/v1/courses/${created.id}`;
    for (const r of replicas) {
      expect(r.revocations).toBeDefined();
      expect((await r.call('GET', '/readyz')).body.checks.revocations).toBe('ok');
    }
  });
  afterAll(async () => {
    await p?.close();
  });

  /** A user with two sessions (two logins). */
  async function twoSessions() {
    const user = await p.auth.newUser();
    const first = (await p.auth.login(user.email, user.password)).accessToken;
    const second = (await p.auth.login(user.email, user.password)).accessToken;
    return { ...user, token: first, second };
  }

  it('refuses a logged-out session on both replicas within 2 s; the same user\'s other session and another user go on', async () => {
    const user = await twoSessions();
    const otherSession = user.second;
    const someoneElse = await p.user();
    for (const r of replicas) for (const t of [user.token, otherSession, someoneElse.token]) expect((await status(r, t)).status).toBe(200);

    const started = Date.now();
    expect((await p.auth.call('POST', '/api/v1/auth/logout', { token: user.token, body: {} })).status).toBe(204);
    const ms = await refusedAfter(replicas, user.token, started);
    console.error(`[revocation] (${mode}): logout refused by 2 replicas after ${ms} ms`);
    expect(ms).toBeLessThan(2000);

    for (const r of replicas) {
      expect(await status(r, otherSession)).toEqual({ status: 200, code: undefined });
      expect(await status(r, someoneElse.token)).toEqual({ status: 200, code: undefined });
    }
    // Anonymous reads never touch the list.
    expect((await replicas[0]!.call('GET', READ)).status).toBe(200);
  });

  it('refuses every token of an account an admin disables, within 2 s on both replicas', async () => {
    const admin = await p.user({ role: 'admin' });
    const user = await twoSessions();
    const second = user.second;
    const bystander = await p.user();
    for (const r of replicas) expect((await status(r, user.token)).status).toBe(200);

    const started = Date.now();
    const res = await p.auth.call('PATCH', `/api/v1/admin/users/${user.id}`, { token: admin.token, body: { disabled: true } });
    expect(res.status).toBe(200);
    const ms = await refusedAfter(replicas, user.token, started);
    console.error(`[revocation] (${mode}): disabled account refused by 2 replicas after ${ms} ms`);
    expect(ms).toBeLessThan(2000);
    expect(await refusedAfter(replicas, second, started)).toBeLessThan(2000);
    for (const r of replicas) expect((await status(r, bystander.token)).status).toBe(200);
  });

  it('refuses the tokens of a deleted account within 2 s on both replicas', async () => {
    const user = await p.user();
    for (const r of replicas) expect((await status(r, user.token)).status).toBe(200);
    const started = Date.now();
    await p.auth.database.db.query('DELETE FROM users WHERE id = $1', [user.id]);
    const ms = await refusedAfter(replicas, user.token, started);
    console.error(`[revocation] (${mode}): deleted account refused by 2 replicas after ${ms} ms`);
    expect(ms).toBeLessThan(2000);
  });

  it('accepts a token issued after the account was enabled again (the account entry names only older tokens)', async () => {
    const admin = await p.user({ role: 'admin' });
    const user = await twoSessions();
    await p.auth.call('PATCH', `/api/v1/admin/users/${user.id}`, { token: admin.token, body: { disabled: true } });
    await refusedAfter(replicas, user.token, Date.now());
    await p.auth.call('PATCH', `/api/v1/admin/users/${user.id}`, { token: admin.token, body: { disabled: false } });
    // `iat` has whole seconds: a token from the second of the disabling is refused too.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const fresh = (await p.auth.login(user.email, user.password)).accessToken;
    expect(decodeJwt(fresh).iat).toBeGreaterThan(decodeJwt(user.token).iat!);
    for (const r of replicas) expect((await status(r, fresh)).status).toBe(200);
  });
}

describe.skipIf(!hasPostgres || !hasRedis)('revocation reaches course-service: real mode (Redis pub/sub)', () => suite('redis'));
describe.skipIf(!hasPostgres)('revocation reaches course-service: without Redis (polling, as npm start)', () => suite('polling'));
