/**
 * Revocation in embedded mode, as `npm start` runs it: both services on PGlite under their varDir, no
 * Redis, course-service reading auth-service's feed over HTTP with the shared client secret. A logout
 * is refused by course-service within 2 s (its poll of the feed), and the migration's triggers and
 * cursor work on PGlite as on PostgreSQL.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAuthApp, type AuthApp } from '../../internal/auth-service/app.js';
import { buildCourseApp, type CourseApp } from '../../internal/course-service/app.js';
import { SERVICE_CLIENT, testAuthConfig } from '../helpers/auth_app.js';
import { testCourseConfig } from '../helpers/course_app.js';

describe('revocation in embedded mode (PGlite, no Redis)', () => {
  const varDir = mkdtempSync(join(tmpdir(), 'revocation-embedded-'));
  let auth: AuthApp;
  let course: CourseApp;

  beforeAll(async () => {
    const authConfig = testAuthConfig({
      varDir,
      database: { url: '' },
      redis: { url: '' },
      mail: { smtpUrl: '', workerEnabled: false },
      auth: { requireEmailVerification: false },
    });
    auth = await buildAuthApp(authConfig);
    const authUrl = await auth.app.listen({ port: 0, host: '127.0.0.1' });
    course = await buildCourseApp(
      testCourseConfig({
        varDir,
        database: { url: '' },
        redis: { url: '' },
        auth: { url: authUrl, clientId: SERVICE_CLIENT.id, clientSecret: SERVICE_CLIENT.secret, jwksCooldownMs: 0 },
      }),
    );
    await course.app.ready();
  }, 180_000);
  afterAll(async () => {
    await course?.app.close();
    await auth?.app.close();
    rmSync(varDir, { recursive: true, force: true });
  });

  it('refuses a logged-out session within 2 s; the user\'s other session goes on', async () => {
    expect((await course.app.inject({ url: '/readyz' })).json()).toMatchObject({ checks: { revocations: 'ok' } });
    const email = `embedded-${Date.now()}@example.com`;
    const password = 'an embedded passphrase';
    expect((await auth.app.inject({ method: 'POST', url: '/api/v1/auth/register', payload: { email, password, displayName: 'Em' } })).statusCode).toBe(202);
    const login = async () => (await auth.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } })).json().accessToken as string;
    const [token, other] = [await login(), await login()];
    const read = async (t: string) => {
      const res = await course.app.inject({ url: '/api/v1/instructor/courses', headers: { authorization: `Bearer ${t}` } });
      return { status: res.statusCode, code: res.json().code as string | undefined };
    };
    // A student may not list instructor courses: 403 means the token itself was accepted.
    expect(await read(token)).toEqual({ status: 403, code: 'forbidden' });

    const started = Date.now();
    const out = await auth.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { authorization: `Bearer ${token}` }, payload: {} });
    expect(out.statusCode).toBe(204);
    while ((await read(token)).status === 403 && Date.now() - started < 5000) await new Promise((r) => setTimeout(r, 10));
    const ms = Date.now() - started;
    console.error(`[revocation] embedded mode: logout refused after ${ms} ms`);
    expect(await read(token)).toEqual({ status: 401, code: 'session_revoked' });
    expect(ms).toBeLessThan(2000);
    expect(await read(other)).toEqual({ status: 403, code: 'forbidden' });
  });
});
