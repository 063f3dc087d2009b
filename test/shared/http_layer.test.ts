/**
 * The shared HTTP layer (internal/shared/server.ts and its middleware) as both services run it:
 * path ids, validation errors, 304 answers, CORS preflights, the operations routes and trustProxy.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres } from '../helpers/services.js';
import { startAuth, type AuthHarness, type CallResult } from '../helpers/auth_app.js';
import { startCourse, type CourseHarness } from '../helpers/course_app.js';

function expectProblem(res: CallResult, status: number, code: string): void {
  expect(res.status, res.text).toBe(status);
  expect(String(res.headers['content-type'])).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, code });
}

describe.skipIf(!hasPostgres)('shared HTTP layer', () => {
  let auth: AuthHarness;
  let course: CourseHarness;
  let admin: { accessToken: string };

  beforeAll(async () => {
    auth = await startAuth();
    course = await startCourse();
    const user = await auth.newUser({ role: 'admin' });
    admin = await auth.login(user.email, user.password);
  });
  afterAll(async () => {
    await course?.close();
    await auth?.close();
  });

  it('refuses ids that are not canonical UUIDs (urn:uuid:, braces, no hyphens) with 400 validation_failed, never a 500', async () => {
    const id = randomUUID();
    for (const bad of [`urn:uuid:${id}`, `URN:UUID:${id}`, `{${id}}`, id.replaceAll('-', '')]) {
      const enc = encodeURIComponent(bad);
      expectProblem(await auth.call('DELETE', `/api/v1/admin/users/${enc}/sessions`, { token: admin.accessToken }), 400, 'validation_failed');
      expectProblem(await auth.call('POST', `/api/v1/admin/notifications/${enc}/retry`, { token: admin.accessToken }), 400, 'validation_failed');
      expectProblem(await auth.call('DELETE', `/api/v1/auth/sessions/${enc}`, { token: admin.accessToken }), 400, 'validation_failed');
      expectProblem(await course.call('GET', `/api/v1/reviews/${enc}`), 400, 'validation_failed');
      expectProblem(await course.call('GET', `/api/v1/reviews?authorId=${enc}`), 400, 'validation_failed');
    }
    // The canonical form, in either case, still names nothing rather than being refused.
    expectProblem(await course.call('GET', `/api/v1/reviews/${id.toUpperCase()}`), 404, 'review_not_found');
    expect((await auth.call('DELETE', `/api/v1/admin/users/${id}/sessions`, { token: admin.accessToken })).status).toBe(404);
  });
});
