/**
 * E-mail change (DESIGN 10) over real PostgreSQL, Redis and SMTP: both addresses confirm in either
 * order, "this was not me" cancels, the old address is told, the other sessions end, a taken address
 * is not revealed, links work once, a newer request supersedes an older one, step-up is required.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres } from '../helpers/services.js';
import { startAuth, type AuthHarness } from '../helpers/auth_app.js';
import { tokenFrom, type CapturedMail } from '../helpers/smtp.js';
import { randomBytes } from 'node:crypto';

const fresh = (label: string) => `${label}-${randomBytes(4).toString('hex')}@example.com`;

describe.skipIf(!hasPostgres)('e-mail change', () => {
  let h: AuthHarness;
  beforeAll(async () => {
    // Limits high enough for the many requests below; the limits have a test of their own.
    h = await startAuth({ rateLimits: { mailsPerEmail: { limit: 1000, windowSec: 3600 }, mailsPerIp: { limit: 1000, windowSec: 3600 } } });
  });
  afterAll(async () => {
    await h?.close();
  });

  const requestChange = (token: string, newEmail: unknown) => h.call('POST', '/api/v1/users/me/email', { token, body: { newEmail } });
  const confirm = (token: string) => h.call('POST', '/api/v1/auth/email-change/confirm', { body: { token } });
  const cancel = (token: string) => h.call('POST', '/api/v1/auth/email-change/cancel', { body: { token } });

  async function events(userId: string, event?: string): Promise<{ event: string; details: Record<string, unknown>; session_id: string | null }[]> {
    const { rows } = await h.database.db.query<{ event: string; details: Record<string, unknown>; session_id: string | null }>(
      `SELECT event, details, session_id FROM security_events WHERE user_id = $1 AND ($2::text IS NULL OR event = $2) ORDER BY created_at, id`,
      [userId, event ?? null],
    );
    return rows;
  }

  async function mailsOf(address: string, subject: RegExp, count = 1): Promise<CapturedMail[]> {
    await h.emailChange.settled();
    await h.smtp.waitFor(() => h.smtp.to(address).filter((m) => subject.test(m.subject)).length >= count);
    return h.smtp.to(address).filter((m) => subject.test(m.subject));
  }

  /** A user who asked to move to a new address: the tokens of both mails. */
  async function started() {
    const u = await h.newUser();
    const here = await h.login(u.email, u.password);
    const elsewhere = await h.login(u.email, u.password);
    const newEmail = fresh('moved');
    const res = await requestChange(here.accessToken, newEmail);
    expect(res.status).toBe(202);
    const [toNew] = await mailsOf(newEmail, /Confirm your new e-mail/);
    const [toOld] = await mailsOf(u.email, /Approve the new e-mail/);
    const cancelToken = /email-change-cancel\?token=([A-Za-z0-9_-]+)/.exec(toOld!.text)?.[1];
    expect(cancelToken).toBeTruthy();
    expect(toOld!.text).toContain(newEmail);
    return { u, here, elsewhere, newEmail, confirmNew: tokenFrom(toNew!), approveOld: tokenFrom(toOld!), cancelToken: cancelToken! };
  }

  async function emailOf(userId: string): Promise<{ email: string; email_verified_at: Date | null }> {
    const { rows } = await h.database.db.query<{ email: string; email_verified_at: Date | null }>('SELECT email, email_verified_at FROM users WHERE id = $1', [userId]);
    return rows[0]!;
  }

  async function expectCompleted(s: Awaited<ReturnType<typeof started>>) {
    const user = await emailOf(s.u.id);
    expect(user.email).toBe(s.newEmail);
    expect(user.email_verified_at).not.toBeNull();
    // The new address signs in, the old one no longer does.
    expect((await h.call('POST', '/api/v1/auth/login', { body: { email: s.newEmail, password: s.u.password } })).status).toBe(200);
    expect((await h.call('POST', '/api/v1/auth/login', { body: { email: s.u.email, password: s.u.password } })).status).toBe(401);
    // The session that asked stays; the other one ended.
    expect((await h.call('GET', '/api/v1/users/me', { token: s.here.accessToken })).status).toBe(200);
    expect((await h.call('GET', '/api/v1/users/me', { token: s.elsewhere.accessToken })).status).toBe(401);
    expect((await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: s.elsewhere.refreshToken } })).status).toBe(401);
    // The old address is told where the account went.
    const [notice] = await mailsOf(s.u.email, /e-mail address of your .* was changed/);
    expect(notice!.text).toContain(s.newEmail);
    expect((await events(s.u.id)).map((e) => e.event)).toEqual(expect.arrayContaining(['email_change_requested', 'email_changed']));
    const [changed] = await events(s.u.id, 'email_changed');
    expect(changed!.details).toEqual({ oldEmail: s.u.email, newEmail: s.newEmail });
  }

  it('completes when the new address confirms first and the old one approves second', async () => {
    const s = await started();
    const first = await confirm(s.confirmNew);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ state: 'awaiting_other' });
    // Half way: nothing has changed yet.
    expect((await emailOf(s.u.id)).email).toBe(s.u.email);
    expect((await h.call('GET', '/api/v1/users/me', { token: s.elsewhere.accessToken })).status).toBe(200);
    const second = await confirm(s.approveOld);
    expect(second.status).toBe(200);
    expect(second.body).toEqual({ state: 'completed' });
    await expectCompleted(s);
  });

  it('completes in the other order too (old approves first)', async () => {
    const s = await started();
    expect((await confirm(s.approveOld)).body).toEqual({ state: 'awaiting_other' });
    expect((await confirm(s.confirmNew)).body).toEqual({ state: 'completed' });
    await expectCompleted(s);
  });

  it('completes once when both addresses confirm at the same moment (and a new request races them)', async () => {
    const s = await started();
    const [a, b, c] = await Promise.all([confirm(s.confirmNew), confirm(s.approveOld), requestChange(s.here.accessToken, fresh('racer'))]);
    expect(c.status).toBe(202);
    await h.emailChange.settled();
    const states = [a, b].map((r) => (r.status === 200 ? r.body.state : r.status));
    // Either both confirmations won (one completes) or the new request superseded them first (links spent).
    if (states.includes('completed')) {
      expect(states.sort()).toEqual(['awaiting_other', 'completed']);
      expect((await emailOf(s.u.id)).email).toBe(s.newEmail);
    } else {
      expect([a.status, b.status].every((st) => st === 200 || st === 400)).toBe(true);
      expect((await emailOf(s.u.id)).email).toBe(s.u.email);
    }
  });

  it('refuses a replayed link, and every link once the change is done', async () => {
    const s = await started();
    expect((await confirm(s.confirmNew)).status).toBe(200);
    const replay = await confirm(s.confirmNew);
    expect(replay.status).toBe(400);
    expect(replay.body.code).toBe('invalid_or_expired_token');
    expect((await confirm(s.approveOld)).body).toEqual({ state: 'completed' });
    expect((await confirm(s.approveOld)).status).toBe(400);
    // The cancel link of a completed change is spent with it.
    const late = await cancel(s.cancelToken);
    expect(late.status).toBe(400);
    expect(late.body.code).toBe('invalid_or_expired_token');
    expect((await emailOf(s.u.id)).email).toBe(s.newEmail);
    // A link of one purpose is no good for another: a confirm token does not cancel, and back.
    const t = await started();
    expect((await cancel(t.confirmNew)).status).toBe(400);
    expect((await confirm(t.cancelToken)).status).toBe(400);
    expect((await confirm('not-a-real-token-at-all')).status).toBe(400);
  });

  it('"this was not me" cancels the change, spends its links and ends every session', async () => {
    const s = await started();
    expect((await confirm(s.confirmNew)).body).toEqual({ state: 'awaiting_other' });
    const res = await cancel(s.cancelToken);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ state: 'cancelled' });
    expect((await confirm(s.approveOld)).status).toBe(400);
    expect((await cancel(s.cancelToken)).status).toBe(400);
    expect((await emailOf(s.u.id)).email).toBe(s.u.email);
    for (const t of [s.here, s.elsewhere]) expect((await h.call('GET', '/api/v1/users/me', { token: t.accessToken })).status).toBe(401);
    const cancelled = await events(s.u.id, 'email_change_cancelled');
    expect(cancelled).toHaveLength(1);
    expect(cancelled[0]!.details).toEqual({ newEmail: s.newEmail });
    expect(await events(s.u.id, 'email_changed')).toHaveLength(0);
  });

  it('a newer request supersedes the pending one: the older links are spent', async () => {
    const s = await started();
    const second = fresh('second');
    expect((await requestChange(s.here.accessToken, second)).status).toBe(202);
    const [toNew] = await mailsOf(second, /Confirm your new e-mail/);
    expect((await confirm(s.confirmNew)).status).toBe(400);
    expect((await cancel(s.cancelToken)).status).toBe(400);
    const approvals = await mailsOf(s.u.email, /Approve the new e-mail/, 2);
    expect((await confirm(tokenFrom(toNew!))).body).toEqual({ state: 'awaiting_other' });
    expect((await confirm(tokenFrom(approvals[1]!))).body).toEqual({ state: 'completed' });
    expect((await emailOf(s.u.id)).email).toBe(second);
    const { rows } = await h.database.db.query<{ status: string }>('SELECT status FROM email_change_requests WHERE user_id = $1 ORDER BY created_at', [s.u.id]);
    expect(rows.map((r) => r.status)).toEqual(['superseded', 'completed']);
  });

  it('does not reveal a taken address: the same 202, the same event, similar time; the holder is told, nothing else', async () => {
    const holder = await h.newUser();
    const u = await h.newUser();
    const t = await h.login(u.email, u.password);
    const free = fresh('free');
    const taken = await requestChange(t.accessToken, holder.email.toUpperCase());
    const open = await requestChange(t.accessToken, free);
    expect(taken.status).toBe(202);
    expect(taken.text).toBe(open.text);
    const [inUse] = await mailsOf(holder.email, /tried to use your e-mail/);
    expect(inUse!.text).toContain(holder.displayName);
    expect(inUse!.text).not.toMatch(/token=/);
    await mailsOf(free, /Confirm your new e-mail/);
    // Only the free address started a request and mailed the current address.
    const { rows } = await h.database.db.query<{ new_email: string }>('SELECT new_email FROM email_change_requests WHERE user_id = $1', [u.id]);
    expect(rows.map((r) => r.new_email)).toEqual([free]);
    expect(h.smtp.to(u.email).filter((m) => /Approve/.test(m.subject))).toHaveLength(1);
    // The owner's activity reads the same for both.
    const requested = await events(u.id, 'email_change_requested');
    expect(requested.map((e) => Object.keys(e.details))).toEqual([['newEmail'], ['newEmail']]);

    // Timing: the per-account work runs after the answer, so both answer in about the same time.
    const time = async (address: string) => {
      const start = process.hrtime.bigint();
      expect((await requestChange(t.accessToken, address)).status).toBe(202);
      return Number(process.hrtime.bigint() - start) / 1e6;
    };
    const takenTimes: number[] = [];
    const freeTimes: number[] = [];
    for (let i = 0; i < 10; i++) {
      takenTimes.push(await time(holder.email));
      freeTimes.push(await time(fresh('timing')));
      await h.emailChange.settled();
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    expect(Math.abs(median(takenTimes) - median(freeTimes))).toBeLessThan(Math.max(15, median(freeTimes)));
  });

  it('answers 409 email_taken when the address was taken between request and completion, and changes nothing', async () => {
    const s = await started();
    expect((await confirm(s.confirmNew)).status).toBe(200);
    // Someone registers the address meanwhile.
    expect((await h.call('POST', '/api/v1/auth/register', { body: { email: s.newEmail, password: 'a long enough passphrase', displayName: 'Squatter' } })).status).toBe(202);
    const res = await confirm(s.approveOld);
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('email_taken');
    expect((await emailOf(s.u.id)).email).toBe(s.u.email);
    // The failed completion left no event, and the sessions stay.
    expect(await events(s.u.id, 'email_changed')).toHaveLength(0);
    expect((await h.call('GET', '/api/v1/users/me', { token: s.elsewhere.accessToken })).status).toBe(200);
    const { rows } = await h.database.db.query<{ status: string }>('SELECT status FROM email_change_requests WHERE user_id = $1', [s.u.id]);
    expect(rows.map((r) => r.status)).toEqual(['failed']);
  });

  it('refuses an expired request', async () => {
    const s = await started();
    await h.database.db.query(`UPDATE email_change_requests SET expires_at = now() - interval '1 second' WHERE user_id = $1`, [s.u.id]);
    expect((await confirm(s.confirmNew)).status).toBe(400);
    expect((await emailOf(s.u.id)).email).toBe(s.u.email);
  });

  it('needs a recent sign-in: an old auth_time is 403 reauthentication_required and nothing is written or mailed', async () => {
    const u = await h.newUser();
    const t = await h.login(u.email, u.password);
    await h.database.db.query(`UPDATE sessions SET authenticated_at = now() - interval '16 minutes' WHERE user_id = $1`, [u.id]);
    const refreshed = await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: t.refreshToken } });
    const newEmail = fresh('stale');
    const res = await requestChange(refreshed.body.accessToken, newEmail);
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('reauthentication_required');
    await h.emailChange.settled();
    expect(await events(u.id, 'email_change_requested')).toHaveLength(0);
    const { rows } = await h.database.db.query('SELECT 1 FROM email_change_requests WHERE user_id = $1', [u.id]);
    expect(rows).toHaveLength(0);
    const { rows: mails } = await h.database.db.query('SELECT 1 FROM notifications WHERE recipient = $1', [newEmail]);
    expect(mails).toHaveLength(0);
  });

  it('refuses bad input with 4xx and writes nothing', async () => {
    const u = await h.newUser();
    const t = await h.login(u.email, u.password);
    for (const body of [{ newEmail: 'not an address' }, { newEmail: 42 }, {}, { newEmail: fresh('x'), extra: 1 }]) {
      const res = await h.call('POST', '/api/v1/users/me/email', { token: t.accessToken, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.code).toBe('validation_failed');
    }
    const same = await requestChange(t.accessToken, u.email.toUpperCase());
    expect(same.status).toBe(400);
    expect(same.body.code).toBe('email_unchanged');
    expect((await requestChange('', fresh('anon'))).status).toBe(401);
    for (const body of [{}, { token: 'short' }, { token: 7 }]) {
      expect((await h.call('POST', '/api/v1/auth/email-change/confirm', { body })).status).toBe(400);
      expect((await h.call('POST', '/api/v1/auth/email-change/cancel', { body })).status).toBe(400);
    }
    await h.emailChange.settled();
    expect(await events(u.id, 'email_change_requested')).toHaveLength(0);
    const { rows } = await h.database.db.query('SELECT 1 FROM email_change_requests WHERE user_id = $1', [u.id]);
    expect(rows).toHaveLength(0);
  });

  it('serves the pages behind the links without echoing the token', async () => {
    const token = 'Tok3nValue_that-must-not-appear';
    for (const path of ['/api/v1/auth/pages/email-change', '/api/v1/auth/pages/email-change-cancel']) {
      const res = await h.call('GET', `${path}?token=${token}`);
      expect(res.status).toBe(200);
      expect(String(res.headers['content-type'])).toMatch(/text\/html/);
      expect(res.text).not.toContain(token);
      expect(res.headers['content-security-policy']).toMatch(/script-src 'sha256-/);
    }
  });
});

describe.skipIf(!hasPostgres)('e-mail change limits', () => {
  let h: AuthHarness;
  beforeAll(async () => {
    h = await startAuth({ rateLimits: { mailsPerEmail: { limit: 2, windowSec: 3600 }, mailsPerIp: { limit: 1000, windowSec: 3600 } } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('limits requests per user (mailsPerEmail): the third within the window is 429 and writes nothing', async () => {
    const u = await h.newUser();
    const t = await h.login(u.email, u.password);
    for (let i = 0; i < 2; i++) expect((await h.call('POST', '/api/v1/users/me/email', { token: t.accessToken, body: { newEmail: fresh(`lim${i}`) } })).status).toBe(202);
    const res = await h.call('POST', '/api/v1/users/me/email', { token: t.accessToken, body: { newEmail: fresh('lim3') } });
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBeDefined();
    await h.emailChange.settled();
    const { rows } = await h.database.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM security_events WHERE user_id = $1 AND event = 'email_change_requested'`, [u.id]);
    expect(rows[0]!.n).toBe(2);
  });
});
