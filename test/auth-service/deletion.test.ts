/**
 * Account deletion across both services on real PostgreSQL, Redis and SMTP: the request (step-up, every
 * session ended, a mail with a cancel link), the grace period (no sign-in), cancel, the purge (the user
 * row and what cascades from it, an `account_deleted` event in the outbox), delivery to course-service
 * while it is down (nothing lost, applied when it is back), a redelivery (no double effect) and the
 * aggregates equal to a recount afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishedCourseOverHttp } from '../course-service/factories.js';
import { hasPostgres } from '../helpers/services.js';
import { tokenFrom } from '../helpers/smtp.js';
import { counterMismatches, seedLearning, seedLessons, startGdprPlatform, type GdprPlatform, type GdprUser } from '../helpers/gdpr_platform.js';

/** Published through `publishedCourseOverHttp` (draft, section, lesson, PATCH): a create cannot publish. */
const COURSE = { summary: 's', description: 'd', category: 'Data', tags: ['sql'], level: 'beginner', language: 'en', durationMinutes: 60 };

async function waitUntil<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!hasPostgres)('account deletion', () => {
  let p: GdprPlatform;
  beforeAll(async () => {
    // course-service is down until a test brings it up.
    p = await startGdprPlatform();
  });
  afterAll(async () => {
    await p?.close();
  });

  const authDb = () => p.auth.database.db;
  const count = async (sql: string, params: unknown[]) => (await authDb().query(sql, params)).rowCount;

  it('needs a token and a recent sign-in; bad bodies are 400; nothing is written', async () => {
    const user = await p.user();
    expect((await p.auth.call('POST', '/api/v1/users/me/deletion', { body: {} })).status).toBe(401);
    for (const body of [{ eraseReviews: 'yes' }, { eraseReviews: true, role: 'admin' }, [1]]) {
      const res = await p.auth.call('POST', '/api/v1/users/me/deletion', { token: user.token, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.code).toBe('validation_failed');
    }
    // A sign-in 20 minutes ago: the refreshed token carries that auth_time.
    await authDb().query("UPDATE sessions SET authenticated_at = now() - interval '20 minutes' WHERE user_id = $1", [user.id]);
    const stale = await p.auth.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: user.refreshToken } });
    expect(stale.status).toBe(200);
    const refused = await p.auth.call('POST', '/api/v1/users/me/deletion', { token: stale.body.accessToken, body: {} });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('reauthentication_required');
    expect(await count('SELECT 1 FROM account_deletions WHERE user_id = $1', [user.id])).toBe(0);
    expect(await count('SELECT 1 FROM sessions WHERE user_id = $1 AND revoked_at IS NULL', [user.id])).toBe(1);
    expect(await count("SELECT 1 FROM security_events WHERE user_id = $1 AND event = 'deletion_requested'", [user.id])).toBe(0);
    // Cancel: a malformed or unknown token.
    expect((await p.auth.call('POST', '/api/v1/auth/deletion/cancel', { body: { token: 'x' } })).status).toBe(400);
    const unknown = await p.auth.call('POST', '/api/v1/auth/deletion/cancel', { body: { token: 'a'.repeat(43) } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.code).toBe('invalid_or_expired_token');
    expect((await p.auth.call('POST', '/api/v1/auth/deletion/cancel', { body: { token: 'a'.repeat(43), extra: 1 } })).status).toBe(400);
  });

  it('ends every session, refuses sign-in during the grace period, and the mailed link cancels it once', async () => {
    const user = await p.user();
    const second = await p.auth.login(user.email, user.password);
    const res = await p.auth.call('POST', '/api/v1/users/me/deletion', { token: user.token, body: {} });
    expect(res.status).toBe(202);
    const purgeAt = new Date(res.body.purgeAt).getTime();
    expect(Math.abs(purgeAt - (Date.now() + 336 * 3600_000))).toBeLessThan(60_000);

    // Every session ended at once: the tokens and refresh tokens of both.
    expect((await p.auth.call('GET', '/api/v1/users/me', { token: user.token })).status).toBe(401);
    expect((await p.auth.call('GET', '/api/v1/users/me', { token: second.accessToken })).status).toBe(401);
    expect((await p.auth.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: second.refreshToken } })).status).toBe(401);
    const login = await p.auth.call('POST', '/api/v1/auth/login', { body: { email: user.email, password: user.password } });
    expect(login.status).toBe(403);
    expect(login.body.code).toBe('account_deletion_pending');
    // A wrong password still says only "wrong credentials".
    expect((await p.auth.call('POST', '/api/v1/auth/login', { body: { email: user.email, password: 'wrong-password-1' } })).body.code).toBe('invalid_credentials');

    const mail = await p.auth.smtp.waitFor((m) => m.to.includes(user.email) && m.subject.includes('will be deleted'));
    expect(mail.text).toContain('/api/v1/auth/pages/cancel-deletion?token=');
    const token = tokenFrom(mail);
    const page = await p.auth.app.inject({ method: 'GET', url: `/api/v1/auth/pages/cancel-deletion?token=${token}` });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Keep my account');
    expect(page.body).not.toContain(token);
    // Opening the page used nothing up: the deletion is still pending.
    expect(await count('SELECT 1 FROM account_deletions WHERE user_id = $1', [user.id])).toBe(1);

    expect((await p.auth.call('POST', '/api/v1/auth/deletion/cancel', { body: { token } })).status).toBe(204);
    expect((await p.auth.call('POST', '/api/v1/auth/deletion/cancel', { body: { token } })).body.code).toBe('invalid_or_expired_token');
    expect(await count('SELECT 1 FROM account_deletions WHERE user_id = $1', [user.id])).toBe(0);
    const back = await p.auth.login(user.email, user.password);
    expect(back.user.id).toBe(user.id);
    const events = (await authDb().query<{ event: string; details: Record<string, unknown> }>(
      "SELECT event, details FROM security_events WHERE user_id = $1 AND event LIKE 'deletion_%' ORDER BY created_at", [user.id])).rows;
    expect(events.map((e) => e.event)).toEqual(['deletion_requested', 'deletion_cancelled']);
    expect(events[0]!.details).toMatchObject({ eraseReviews: false });
    expect(JSON.stringify(events)).not.toContain(token);
  });

  it('the last active admin cannot delete their account; with another admin they can', async () => {
    const admin = await p.user({ role: 'admin' });
    const res = await p.auth.call('POST', '/api/v1/users/me/deletion', { token: admin.token, body: {} });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('last_admin');
    expect(await count('SELECT 1 FROM account_deletions WHERE user_id = $1', [admin.id])).toBe(0);
    expect(await count('SELECT 1 FROM sessions WHERE user_id = $1 AND revoked_at IS NULL', [admin.id])).toBe(1);
    await p.user({ role: 'admin' });
    expect((await p.auth.call('POST', '/api/v1/users/me/deletion', { token: admin.token, body: {} })).status).toBe(202);
  });

  it('purges when the grace period is over; course-service down loses nothing, the event is applied when it is back, and a redelivery changes nothing', async () => {
    const teacher = await p.user({ role: 'instructor' });
    const leaver = await p.user({ role: 'instructor' });
    const other = await p.user();
    const cdb = p.course.database.db;
    const courseId = (await publishedCourseOverHttp(p.course.call, teacher.token, { title: 'Deletion story', ...COURSE })).id;
    const own = await publishedCourseOverHttp(p.course.call, leaver.token, { title: 'Leaver teaches', ...COURSE });
    for (const [who, rating] of [[leaver, 5], [other, 3]] as const) {
      expect((await p.course.call('POST', `/api/v1/courses/${courseId}/reviews`, { token: who.token, body: { rating } })).status).toBe(201);
    }
    const lessons = await seedLessons(cdb, courseId);
    await seedLearning(cdb, { userId: leaver.id, courseId, lessonIds: lessons, completed: true });
    await seedLearning(cdb, { userId: other.id, courseId, lessonIds: [lessons[1]!] });

    const res = await p.auth.call('POST', '/api/v1/users/me/deletion', { token: leaver.token, body: { eraseReviews: true } });
    expect(res.status).toBe(202);
    // The grace period ends now; the purge job (every 100 ms here) takes it.
    await authDb().query("UPDATE account_deletions SET purge_at = now() - interval '1 second' WHERE user_id = $1", [leaver.id]);
    await waitUntil('the purge', async () => (await count('SELECT 1 FROM users WHERE id = $1', [leaver.id])) === 0);
    for (const table of ['sessions', 'one_time_tokens', 'security_events', 'notifications', 'account_deletions']) {
      expect(await count(`SELECT 1 FROM ${table} WHERE user_id = $1`, [leaver.id]), table).toBe(0);
    }
    const event = (await authDb().query<{ id: string; payload: Record<string, unknown> }>("SELECT id, payload FROM account_outbox WHERE payload->>'userId' = $1", [leaver.id])).rows;
    expect(event).toHaveLength(1);
    expect(event[0]!.payload).toMatchObject({ type: 'account_deleted', userId: leaver.id, eraseReviews: true, eventId: event[0]!.id });

    // course-service is down: the relay tries, fails, keeps the event and backs off.
    const tried = await waitUntil('failed attempts', async () => {
      const row = (await authDb().query<{ attempts: number; last_error: string | null; delivered_at: Date | null }>('SELECT attempts, last_error, delivered_at FROM account_outbox WHERE id = $1', [event[0]!.id])).rows[0];
      return row && row.attempts >= 2 ? row : undefined;
    });
    expect(tried.delivered_at).toBeNull();
    expect(tried.last_error).toBeTruthy();
    expect((await cdb.query('SELECT 1 FROM reviews WHERE author_id = $1', [leaver.id])).rowCount).toBe(1);

    await p.courseUp();
    await waitUntil('delivery', async () => (await authDb().query('SELECT 1 FROM account_outbox WHERE id = $1 AND delivered_at IS NOT NULL', [event[0]!.id])).rowCount === 1);
    expect((await cdb.query('SELECT 1 FROM reviews WHERE author_id = $1 OR (author_id IS NULL AND course_id = $2)', [leaver.id, courseId])).rowCount).toBe(0);
    expect((await cdb.query<{ rating_count: number; rating_sum: number; enrolment_count: number; learner_total: number }>(
      'SELECT rating_count, rating_sum, enrolment_count, learner_total FROM courses WHERE id = $1', [courseId])).rows[0]).toEqual({ rating_count: 1, rating_sum: 3, enrolment_count: 1, learner_total: 1 });
    expect((await cdb.query<{ status: string }>('SELECT status FROM courses WHERE id = $1', [own.id])).rows[0]!.status).toBe('archived');
    expect(await counterMismatches(cdb)).toEqual([]);

    // Delivered twice (an answer lost on the way back): the relay sends it again; nothing moves.
    const before = (await cdb.query('SELECT id, rating_count, rating_sum, enrolment_count, learner_total, completion_count FROM courses ORDER BY id')).rows;
    await authDb().query('UPDATE account_outbox SET delivered_at = NULL, next_attempt_at = now() WHERE id = $1', [event[0]!.id]);
    await waitUntil('redelivery', async () => (await authDb().query('SELECT 1 FROM account_outbox WHERE id = $1 AND delivered_at IS NOT NULL', [event[0]!.id])).rowCount === 1);
    expect((await cdb.query('SELECT id, rating_count, rating_sum, enrolment_count, learner_total, completion_count FROM courses ORDER BY id')).rows).toEqual(before);
    expect((await cdb.query('SELECT 1 FROM processed_account_events WHERE event_id = $1', [event[0]!.id])).rowCount).toBe(1);
    expect(await counterMismatches(cdb)).toEqual([]);
    // The address can be registered again: nothing of the old account remains in auth-service.
    expect((await p.auth.call('POST', '/api/v1/auth/login', { body: { email: leaver.email, password: leaver.password } })).body.code).toBe('invalid_credentials');
  });
});

describe.skipIf(!hasPostgres)('account deletion with a grace period of 0 hours', () => {
  let p: GdprPlatform;
  beforeAll(async () => {
    p = await startGdprPlatform({ auth: { accountDeletion: { graceHours: 0, purgeIntervalMs: 60_000 } } });
    await p.courseUp();
  });
  afterAll(async () => {
    await p?.close();
  });

  it('purges during the request (no cancel mail) and course-service anonymises the reviews', async () => {
    const teacher = await p.user({ role: 'instructor' });
    const leaver: GdprUser = await p.user();
    const created = await publishedCourseOverHttp(p.course.call, teacher.token, { title: 'Zero grace', ...COURSE });
    const review = await p.course.call('POST', `/api/v1/courses/${created.id}/reviews`, { token: leaver.token, body: { rating: 4 } });
    expect(review.status).toBe(201);

    const res = await p.auth.call('POST', '/api/v1/users/me/deletion', { token: leaver.token, body: {} });
    expect(res.status).toBe(202);
    expect(Math.abs(new Date(res.body.purgeAt).getTime() - Date.now())).toBeLessThan(10_000);
    expect((await p.auth.database.db.query('SELECT 1 FROM users WHERE id = $1', [leaver.id])).rowCount).toBe(0);
    await waitUntil('anonymous review', async () => (await p.course.database.db.query<{ author_name: string }>(
      'SELECT author_name FROM reviews WHERE id = $1 AND author_id IS NULL', [review.body.id])).rows[0]);
    const course = await p.course.call('GET', `/api/v1/courses/${created.id}`);
    expect(course.body.rating).toMatchObject({ count: 1, average: 4 });
    expect(p.auth.smtp.to(leaver.email).filter((m) => m.subject.includes('deleted'))).toHaveLength(0);
  });
});
