/**
 * The GDPR export through both services: one document of the caller's data from auth-service and from
 * course-service's internal API (service token), no secrets, hashes or other people's data; a step-up
 * is required; course-service down gives 503 and no document (never a partial one).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishedCourseOverHttp } from '../course-service/factories.js';
import { hasPostgres } from '../helpers/services.js';
import { tokenFrom } from '../helpers/smtp.js';
import { startGdprPlatform, type GdprPlatform } from '../helpers/gdpr_platform.js';

/** Published through `publishedCourseOverHttp` (draft, section, lesson, PATCH): a create cannot publish. */
const COURSE = { summary: 's', description: 'd', category: 'Data', tags: ['sql'], level: 'beginner', language: 'en', durationMinutes: 60 };

describe.skipIf(!hasPostgres)('data export', () => {
  let p: GdprPlatform;
  beforeAll(async () => {
    p = await startGdprPlatform();
  });
  afterAll(async () => {
    await p?.close();
  });

  const exported = async (userId: string) =>
    (await p.auth.database.db.query("SELECT 1 FROM security_events WHERE user_id = $1 AND event = 'data_exported'", [userId])).rowCount;

  it('answers 503 and records nothing while course-service is down', async () => {
    const user = await p.user();
    const res = await p.auth.call('GET', '/api/v1/users/me/export', { token: user.token });
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('course_service_unavailable');
    expect(res.headers['retry-after']).toBeDefined();
    expect(res.body.profile).toBeUndefined();
    expect(await exported(user.id)).toBe(0);
  });

  it('needs a token and a recent sign-in', async () => {
    const user = await p.user();
    expect((await p.auth.call('GET', '/api/v1/users/me/export')).status).toBe(401);
    await p.auth.database.db.query("UPDATE sessions SET authenticated_at = now() - interval '16 minutes' WHERE user_id = $1", [user.id]);
    const stale = await p.auth.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: user.refreshToken } });
    const res = await p.auth.call('GET', '/api/v1/users/me/export', { token: stale.body.accessToken });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('reauthentication_required');
    expect(await exported(user.id)).toBe(0);
  });

  it("exports both services' data about the caller, and nothing secret or someone else's", async () => {
    await p.courseUp();
    const teacher = await p.user({ role: 'instructor' });
    const user = await p.user();
    const other = await p.user();
    const created = await publishedCourseOverHttp(p.course.call, teacher.token, { title: 'Exported course', ...COURSE });
    const mine = await p.course.call('POST', `/api/v1/courses/${created.id}/reviews`, { token: user.token, body: { rating: 4, title: 'Mine', body: 'My words' } });
    expect(mine.status).toBe(201);
    expect((await p.course.call('POST', `/api/v1/courses/${created.id}/reviews`, { token: other.token, body: { rating: 1, title: 'Theirs' } })).status).toBe(201);
    // A mail with a one-time link: the export lists the mail, never its link.
    expect((await p.auth.call('POST', '/api/v1/auth/password/forgot', { body: { email: user.email } })).status).toBe(202);
    const resetMail = await p.auth.smtp.waitFor((m) => m.to.includes(user.email));
    const resetToken = tokenFrom(resetMail);

    const res = await p.auth.call('GET', '/api/v1/users/me/export', { token: user.token });
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="course-platform-export-\d{4}-\d{2}-\d{2}\.json"$/);
    const doc = res.body;
    expect(doc.format).toBe('course-platform-export/1');
    expect(doc.profile).toMatchObject({ id: user.id, email: user.email, displayName: user.displayName, preferences: { reviewEmails: true } });
    expect(doc.sessions).toHaveLength(1);
    expect(Object.keys(doc.sessions[0]).sort()).toEqual(['aal', 'amr', 'authenticatedAt', 'createdAt', 'expiresAt', 'id', 'ip', 'lastUsedAt', 'revokedAt', 'revokedReason', 'userAgent']);
    expect(doc.securityEvents.map((e: { event: string }) => e.event)).toContain('login');
    expect(doc.mails).toEqual([expect.objectContaining({ template: 'password_reset', recipient: user.email })]);
    expect(doc.courseService.reviews).toEqual([expect.objectContaining({ id: mine.body.id, rating: 4, title: 'Mine', body: 'My words', courseTitle: 'Exported course' })]);
    expect(doc.courseService).toMatchObject({ enrolments: [], lessonCompletions: [], certificates: [], courses: [] });

    const text = JSON.stringify(doc);
    const { rows } = await p.auth.database.db.query<{ password_hash: string; secret: Buffer }>(
      'SELECT u.password_hash, s.secret FROM users u JOIN sessions s ON s.user_id = u.id WHERE u.id = $1', [user.id]);
    for (const secret of [rows[0]!.password_hash, rows[0]!.secret.toString('base64'), rows[0]!.secret.toString('hex'), user.refreshToken, user.password, resetToken]) {
      expect(text).not.toContain(secret);
    }
    expect(text).not.toMatch(/\$argon2|password_?hash|"secret"|refresh_?token/i);
    for (const foreign of [other.id, other.email, 'Theirs', teacher.email]) expect(text).not.toContain(foreign);
    expect(await exported(user.id)).toBe(1);
  });
});
