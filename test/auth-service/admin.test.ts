/** Admin user management: search with keyset pages, roles, disabling, the last admin, revoking sessions. */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres } from '../helpers/services.js';
import { startAuth, type AuthHarness } from '../helpers/auth_app.js';

type AdminUser = { id: string; email: string; role: string; disabled: boolean; disabledAt: string | null };
type Page = { items: AdminUser[]; nextCursor: string | null };

describe.skipIf(!hasPostgres)('admin', () => {
  let h: AuthHarness;
  let admin: { id: string; email: string; password: string };
  let adminToken: string;

  beforeAll(async () => {
    h = await startAuth();
    admin = await h.newUser({ role: 'admin' });
    adminToken = (await h.login(admin.email, admin.password)).accessToken;
  });
  afterAll(async () => {
    await h?.close();
  });

  it('refuses students and instructors (403) and anonymous callers (401) on every admin route', async () => {
    const someone = await h.newUser();
    const routes: [string, string, unknown?][] = [
      ['GET', '/api/v1/admin/users'],
      ['PATCH', `/api/v1/admin/users/${someone.id}`, { role: 'admin' }],
      ['DELETE', `/api/v1/admin/users/${someone.id}/sessions`],
      ['GET', '/api/v1/admin/notifications'],
      ['POST', `/api/v1/admin/notifications/${someone.id}/retry`],
    ];
    for (const role of ['student', 'instructor'] as const) {
      const u = await h.newUser({ role });
      const token = (await h.login(u.email, u.password)).accessToken;
      for (const [method, url, body] of routes) {
        const res = await h.call(method, url, { token, body });
        expect(res.status, `${role} ${method} ${url}`).toBe(403);
        expect(res.body.code).toBe('forbidden');
      }
    }
    for (const [method, url, body] of routes) {
      expect((await h.call(method, url, { body })).status, `anonymous ${method} ${url}`).toBe(401);
    }
    const { rows } = await h.database.db.query<{ role: string }>('SELECT role FROM users WHERE id = $1', [someone.id]);
    expect(rows[0]!.role).toBe('student');
  });

  it('walks every user with the keyset cursor, each exactly once, in id order', async () => {
    for (let i = 0; i < 7; i++) await h.newUser();
    const { rows } = await h.database.db.query<{ id: string }>('SELECT id FROM users ORDER BY id');
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/api/v1/admin/users?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const res = await h.call<Page>('GET', url, { token: adminToken });
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(3);
      seen.push(...res.body.items.map((u) => u.id));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor && pages < 50);
    expect(seen).toEqual(rows.map((r) => r.id));
    expect(pages).toBe(Math.ceil(rows.length / 3));
  });

  it('searches by e-mail or name, case-insensitively, and filters by role', async () => {
    const target = await h.newUser({ role: 'instructor' });
    const byEmail = await h.call<Page>('GET', `/api/v1/admin/users?q=${encodeURIComponent(target.email.toUpperCase())}`, { token: adminToken });
    expect(byEmail.body.items.map((u) => u.id)).toEqual([target.id]);
    const byName = await h.call<Page>('GET', `/api/v1/admin/users?q=${encodeURIComponent(target.displayName)}`, { token: adminToken });
    expect(byName.body.items.map((u) => u.id)).toContain(target.id);
    const instructors = await h.call<Page>('GET', '/api/v1/admin/users?role=instructor&limit=100', { token: adminToken });
    expect(instructors.body.items.length).toBeGreaterThan(0);
    expect(instructors.body.items.every((u) => u.role === 'instructor')).toBe(true);
    // LIKE wildcards in q are literal.
    const wildcard = await h.call<Page>('GET', '/api/v1/admin/users?q=%25', { token: adminToken });
    expect(wildcard.body.items).toEqual([]);
  });

  it('refuses a forged cursor, a limit out of range and an unknown filter', async () => {
    const forged = Buffer.from(JSON.stringify({ k: 'courses', v: { id: admin.id } })).toString('base64url');
    for (const query of [`cursor=${forged}`, 'cursor=!!!', 'limit=0', 'limit=101', 'role=root', 'sort=email']) {
      const res = await h.call('GET', `/api/v1/admin/users?${query}`, { token: adminToken });
      expect(res.status, query).toBe(400);
      expect(['invalid_cursor', 'validation_failed']).toContain(res.body.code);
    }
  });

  it('promotes a student to instructor; the next token carries the new role', async () => {
    const u = await h.newUser();
    const res = await h.call<AdminUser>('PATCH', `/api/v1/admin/users/${u.id}`, { token: adminToken, body: { role: 'instructor' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: u.id, role: 'instructor', disabled: false, disabledAt: null });
    const pair = await h.login(u.email, u.password);
    expect(decodeJwt(pair.accessToken).role).toBe('instructor');
  });

  it('disables an account: its sessions end, refresh is 401, login is 403 account_disabled; enabling again works', async () => {
    const u = await h.newUser();
    const pair = await h.login(u.email, u.password);
    const res = await h.call<AdminUser>('PATCH', `/api/v1/admin/users/${u.id}`, { token: adminToken, body: { disabled: true } });
    expect(res.status).toBe(200);
    expect(res.body.disabled).toBe(true);
    expect(Date.parse(res.body.disabledAt!)).toBeGreaterThan(0);

    expect((await h.call('GET', '/api/v1/users/me', { token: pair.accessToken })).status).toBe(401);
    const refresh = await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: pair.refreshToken } });
    expect(refresh.status).toBe(401);
    const login = await h.call('POST', '/api/v1/auth/login', { body: { email: u.email, password: u.password } });
    expect(login.status).toBe(403);
    expect(login.body.code).toBe('account_disabled');

    const enabled = await h.call<AdminUser>('PATCH', `/api/v1/admin/users/${u.id}`, { token: adminToken, body: { disabled: false } });
    expect(enabled.body).toMatchObject({ disabled: false, disabledAt: null });
    expect((await h.call('POST', '/api/v1/auth/login', { body: { email: u.email, password: u.password } })).status).toBe(200);
    // Ended sessions stay ended.
    expect((await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: pair.refreshToken } })).status).toBe(401);
  });

  it('the last admin cannot demote or disable themself (409 last_admin); with a second admin it works', async () => {
    const demote = await h.call('PATCH', `/api/v1/admin/users/${admin.id}`, { token: adminToken, body: { role: 'student' } });
    expect(demote.status).toBe(409);
    expect(demote.body.code).toBe('last_admin');
    const disable = await h.call('PATCH', `/api/v1/admin/users/${admin.id}`, { token: adminToken, body: { disabled: true } });
    expect(disable.status).toBe(409);
    expect((await h.call('GET', '/api/v1/users/me', { token: adminToken })).status).toBe(200);

    const second = await h.newUser({ role: 'admin' });
    const secondToken = (await h.login(second.email, second.password)).accessToken;
    const ok = await h.call<AdminUser>('PATCH', `/api/v1/admin/users/${second.id}`, { token: secondToken, body: { role: 'student' } });
    expect(ok.status).toBe(200);
    expect(ok.body.role).toBe('student');
    // `second` is no admin any more: its admin calls are refused from the next token on.
    const fresh = (await h.login(second.email, second.password)).accessToken;
    expect((await h.call('GET', '/api/v1/admin/users', { token: fresh })).status).toBe(403);
  });

  it('two admins demoting each other at once leave one admin', async () => {
    const a = await h.newUser({ role: 'admin' });
    const aToken = (await h.login(a.email, a.password)).accessToken;
    // Now `admin` and `a` are the admins; each tries to demote the other and themself at the same time.
    const results = await Promise.all([
      h.call('PATCH', `/api/v1/admin/users/${a.id}`, { token: adminToken, body: { role: 'student' } }),
      h.call('PATCH', `/api/v1/admin/users/${admin.id}`, { token: aToken, body: { role: 'student' } }),
    ]);
    const { rows } = await h.database.db.query<{ n: number }>("SELECT count(*)::int AS n FROM users WHERE role = 'admin' AND disabled_at IS NULL");
    // Without counting under the admins' row locks, both see two admins and both succeed: none left.
    expect(rows[0]!.n).toBe(1);
    // One demotion wins. The other is refused: with 409 last_admin when it counted the admins after the
    // winner committed, or with 401 when its sender's token was checked after the sender had lost the role.
    const [won, lost] = [...results].sort((x, y) => x.status - y.status);
    expect(won!.status).toBe(200);
    expect([401, 409]).toContain(lost!.status);
    expect(lost!.body.code).toBe(lost!.status === 409 ? 'last_admin' : 'token_outdated');
    // Restore: make sure `admin` is an admin again for the tests below.
    await h.database.db.query("UPDATE users SET role = 'admin' WHERE id = $1", [admin.id]);
    adminToken = (await h.login(admin.email, admin.password)).accessToken;
  });

  it("revokes all of a user's sessions and says how many", async () => {
    const u = await h.newUser();
    const pairs = [await h.login(u.email, u.password), await h.login(u.email, u.password)];
    const res = await h.call('DELETE', `/api/v1/admin/users/${u.id}/sessions`, { token: adminToken });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ revoked: 2 });
    for (const p of pairs) {
      expect((await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: p.refreshToken } })).status).toBe(401);
      expect((await h.call('GET', '/api/v1/users/me', { token: p.accessToken })).status).toBe(401);
    }
    // The account itself still works.
    expect((await h.call('POST', '/api/v1/auth/login', { body: { email: u.email, password: u.password } })).status).toBe(200);
    expect((await h.call('DELETE', `/api/v1/admin/users/${u.id}/sessions`, { token: adminToken })).body).toEqual({ revoked: 1 });
  });

  it('lists mail by status with keyset pages and retries a failed mail, which then goes out', async () => {
    const u = await h.newUser();
    for (let i = 0; i < 3; i++) expect((await h.call('POST', '/api/v1/auth/password/forgot', { body: { email: u.email } })).status).toBe(202);
    await h.smtp.waitFor(() => h.smtp.to(u.email).length === 3);
    // The SMTP server has a mail before the worker marks its row sent: wait for the rows, not the mail.
    const sentRows = async () =>
      (await h.database.db.query<{ id: string }>("SELECT id FROM notifications WHERE user_id = $1 AND status = 'sent' ORDER BY id", [u.id])).rows;
    for (let i = 0; i < 100 && (await sentRows()).length < 3; i++) await new Promise((r) => setTimeout(r, 50));
    const rows = await sentRows();
    expect(rows).toHaveLength(3);

    // Walk the sent mail two at a time: every row of this user turns up once.
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 100; pages++) {
      const url: string = `/api/v1/admin/notifications?status=sent&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await h.call<{ items: { id: string; status: string }[]; nextCursor: string | null }>('GET', url, { token: adminToken });
      expect(page.status).toBe(200);
      expect(page.body.items.every((n) => n.status === 'sent')).toBe(true);
      seen.push(...page.body.items.map((n) => n.id));
      cursor = page.body.nextCursor;
      if (!cursor) break;
    }
    expect(new Set(seen).size).toBe(seen.length);
    for (const r of rows) expect(seen).toContain(r.id);

    // The SMTP server refuses everything until the worker gives the next mail up as failed.
    h.smtp.refuseAll = true;
    let failedId: string | undefined;
    try {
      expect((await h.call('POST', '/api/v1/auth/password/forgot', { body: { email: u.email } })).status).toBe(202);
      for (let i = 0; i < 200 && !failedId; i++) {
        const failed = await h.database.db.query<{ id: string }>("SELECT id FROM notifications WHERE user_id = $1 AND status = 'failed'", [u.id]);
        failedId = failed.rows[0]?.id;
        if (!failedId) await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      h.smtp.refuseAll = false;
    }
    expect(failedId).toBeDefined();
    const failed = await h.call<{ items: { id: string; lastError: string | null }[] }>('GET', '/api/v1/admin/notifications?status=failed&limit=100', { token: adminToken });
    expect(failed.body.items.find((n) => n.id === failedId)?.lastError).toMatch(/451/);

    const retry = await h.call('POST', `/api/v1/admin/notifications/${failedId}/retry`, { token: adminToken });
    expect(retry.status).toBe(202);
    expect(retry.body).toMatchObject({ id: failedId, status: 'queued', attempts: 0 });
    await h.smtp.waitFor(() => h.smtp.to(u.email).length === 4);
    const again = await h.call('POST', `/api/v1/admin/notifications/${failedId}/retry`, { token: adminToken });
    expect(again.status).toBe(409);

    const notFailed = await h.call('POST', `/api/v1/admin/notifications/${rows[1]!.id}/retry`, { token: adminToken });
    expect(notFailed.status).toBe(409);
    expect(notFailed.body.code).toBe('notification_not_failed');
    const missing = await h.call('POST', '/api/v1/admin/notifications/01890000-0000-7000-8000-000000000000/retry', { token: adminToken });
    expect(missing.status).toBe(404);
    const badStatus = await h.call('GET', '/api/v1/admin/notifications?status=bounced', { token: adminToken });
    expect(badStatus.status).toBe(400);
  });

  it('answers 404 for an unknown user, 400 for a malformed id or an empty or unknown patch', async () => {
    const missing = '01890000-0000-7000-8000-000000000000';
    const notFound = await h.call('PATCH', `/api/v1/admin/users/${missing}`, { token: adminToken, body: { role: 'student' } });
    expect(notFound.status).toBe(404);
    expect(notFound.body.code).toBe('user_not_found');
    expect((await h.call('DELETE', `/api/v1/admin/users/${missing}/sessions`, { token: adminToken })).status).toBe(404);
    expect((await h.call('PATCH', '/api/v1/admin/users/not-a-uuid', { token: adminToken, body: { role: 'student' } })).status).toBe(400);
    const u = await h.newUser();
    for (const body of [{}, { role: 'root' }, { email: 'x@example.com' }, { disabled: 'yes' }]) {
      const res = await h.call('PATCH', `/api/v1/admin/users/${u.id}`, { token: adminToken, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.code).toBe('validation_failed');
    }
  });
});
