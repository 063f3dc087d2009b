/**
 * Security activity over real PostgreSQL: the owner's 90 days in keyset pages, the admin's search, who
 * may read what, the events of flows that existed before the list (logout, session revocation, password
 * reset, verification, an admin disabling an account), each written with its action or not at all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres } from '../helpers/services.js';
import { startAuth, type AuthHarness } from '../helpers/auth_app.js';
import { tokenFrom } from '../helpers/smtp.js';
import { newId } from '../../internal/shared/utils/ids.js';
import { encodeCursor } from '../../internal/shared/utils/cursor.js';

interface EventView {
  id: string;
  event: string;
  createdAt: string;
  ip: string | null;
  userAgent: string | null;
  sessionId: string | null;
  details: Record<string, unknown>;
  userId?: string | null;
}

describe.skipIf(!hasPostgres)('security activity', () => {
  let h: AuthHarness;
  let admin: { id: string; token: string };
  beforeAll(async () => {
    h = await startAuth();
    const a = await h.newUser({ role: 'admin' });
    admin = { id: a.id, token: (await h.login(a.email, a.password)).accessToken };
  });
  afterAll(async () => {
    await h?.close();
  });

  /** Inserts an event `ageDays` old (fractional days allowed), as the recorder would have. */
  async function seed(userId: string, event: string, ageDays: number, details: Record<string, unknown> = {}): Promise<string> {
    const id = newId();
    await h.database.db.query(
      `INSERT INTO security_events (id, user_id, event, ip, details, created_at) VALUES ($1, $2, $3, '203.0.113.9', $4, now() - make_interval(secs => $5))`,
      [id, userId, event, JSON.stringify(details), ageDays * 86400],
    );
    return id;
  }

  type PageOrProblem = { items: EventView[]; nextCursor: string | null; code?: string };
  const mine = (token: string, query = '') => h.call<PageOrProblem>('GET', `/api/v1/users/me/security-events${query}`, { token });
  const adminList = (token: string, query = '') => h.call<PageOrProblem>('GET', `/api/v1/admin/security-events${query}`, { token });

  async function eventsOf(userId: string, event: string): Promise<{ details: Record<string, unknown>; session_id: string | null; ip: string | null }[]> {
    const { rows } = await h.database.db.query<{ details: Record<string, unknown>; session_id: string | null; ip: string | null }>(
      'SELECT details, session_id, ip FROM security_events WHERE user_id = $1 AND event = $2 ORDER BY created_at',
      [userId, event],
    );
    return rows;
  }

  describe('reading', () => {
    it('shows the owner their own events, newest first, with the documented fields, and none of anyone else', async () => {
      const u = await h.newUser();
      const other = await h.newUser();
      const t = await h.login(u.email, u.password);
      await h.login(other.email, other.password);
      await seed(u.id, 'password_changed', 2);
      const res = await mine(t.accessToken);
      expect(res.status).toBe(200);
      expect(res.body.items.map((e) => e.event)).toEqual(['login', 'password_changed']);
      const [login] = res.body.items;
      expect(Object.keys(login!).sort()).toEqual(['createdAt', 'details', 'event', 'id', 'ip', 'sessionId', 'userAgent']);
      expect(login!.sessionId).toBeTruthy();
      expect(login!.details).toEqual({ amr: ['pwd'] });
      expect(res.body.nextCursor).toBeNull();
      // The other user's login is not there, and a student cannot ask for it by id.
      const otherId = (await eventsOf(other.id, 'login'))[0];
      expect(otherId).toBeDefined();
      expect(res.body.items.every((e) => e.userId === undefined)).toBe(true);
      expect((await mine(t.accessToken, `?userId=${other.id}`)).status).toBe(400);
    });

    it('shows the owner 90 days; the admin sees what is kept', async () => {
      const u = await h.newUser();
      const t = await h.login(u.email, u.password);
      await seed(u.id, 'password_reset', 89);
      await seed(u.id, 'password_changed', 91);
      expect((await mine(t.accessToken)).body.items.map((e) => e.event)).toEqual(['login', 'password_reset']);
      const all = await adminList(admin.token, `?userId=${u.id}`);
      expect(all.status).toBe(200);
      expect(all.body.items.map((e) => e.event)).toEqual(['login', 'password_reset', 'password_changed']);
      expect(all.body.items.every((e) => e.userId === u.id)).toBe(true);
    });

    it('pages with keyset cursors: every event once, in order, the last page without a cursor', async () => {
      const u = await h.newUser();
      const t = await h.login(u.email, u.password);
      // 24 seeded events, two of them at the very same instant (the id breaks the tie).
      for (let i = 1; i <= 22; i++) await seed(u.id, 'login_failed', i / 10);
      const sameInstant = new Date(Date.now() - 3 * 86400_000).toISOString();
      for (let i = 0; i < 2; i++) {
        await h.database.db.query(`INSERT INTO security_events (id, user_id, event, created_at) VALUES ($1, $2, 'logout', $3)`, [newId(), u.id, sameInstant]);
      }
      const seen: EventView[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const q: string = `?limit=10${cursor ? `&cursor=${cursor}` : ''}`;
        const res = await mine(t.accessToken, q);
        expect(res.status).toBe(200);
        seen.push(...res.body.items);
        cursor = res.body.nextCursor;
        pages++;
      } while (cursor && pages < 10);
      expect(pages).toBe(3);
      expect(seen).toHaveLength(25);
      expect(new Set(seen.map((e) => e.id)).size).toBe(25);
      const order = seen.map((e) => `${e.createdAt}|${e.id}`);
      expect(order).toEqual([...order].sort().reverse());
      // Filtered by event, paging works the same.
      const logouts = await mine(t.accessToken, '?event=logout&limit=1');
      expect(logouts.body.items).toHaveLength(1);
      const next = await mine(t.accessToken, `?event=logout&limit=1&cursor=${logouts.body.nextCursor}`);
      expect(next.body.items).toHaveLength(1);
      expect(next.body.items[0]!.id).not.toBe(logouts.body.items[0]!.id);
      expect(next.body.nextCursor).toBeNull();
    });

    it('refuses a forged or foreign cursor and an unknown event with 400', async () => {
      const u = await h.newUser();
      const t = await h.login(u.email, u.password);
      expect((await mine(t.accessToken, '?cursor=not-a-cursor!')).status).toBe(400);
      const foreign = encodeCursor('users', [newId()]);
      const res = await mine(t.accessToken, `?cursor=${foreign}`);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('invalid_cursor');
      const adminsCursor = encodeCursor('admin-security-events', [new Date().toISOString(), newId()]);
      expect((await mine(t.accessToken, `?cursor=${adminsCursor}`)).body.code).toBe('invalid_cursor');
      expect((await mine(t.accessToken, '?event=made_up')).status).toBe(400);
      expect((await adminList(admin.token, '?userId=not-a-uuid')).status).toBe(400);
      expect((await mine(t.accessToken, '?limit=0')).status).toBe(400);
    });

    it('keeps the admin view to admins: a student or instructor is 403, no token 401', async () => {
      const student = await h.newUser();
      const teacher = await h.newUser({ role: 'instructor' });
      for (const who of [student, teacher]) {
        const t = await h.login(who.email, who.password);
        const res = await adminList(t.accessToken, `?userId=${admin.id}`);
        expect(res.status).toBe(403);
        expect(res.body.code).toBe('forbidden');
      }
      expect((await adminList('')).status).toBe(401);
      expect((await mine('')).status).toBe(401);
    });

    it('lets the admin filter by event across users', async () => {
      const a = await h.newUser();
      const b = await h.newUser();
      await seed(a.id, 'not_me_reported', 1);
      await seed(b.id, 'not_me_reported', 2);
      const res = await adminList(admin.token, '?event=not_me_reported');
      expect(res.status).toBe(200);
      expect(res.body.items.map((e) => e.userId)).toEqual([a.id, b.id]);
      expect(res.body.items.every((e) => e.event === 'not_me_reported')).toBe(true);
    });
  });

  describe('recording what existing flows do', () => {
    it('records a logout with its scope, and nothing for a logout that ended nothing', async () => {
      const u = await h.newUser();
      const t = await h.login(u.email, u.password);
      await h.login(u.email, u.password);
      expect((await h.call('POST', '/api/v1/auth/logout', { token: t.accessToken, headers: { 'user-agent': 'Test agent' }, body: { scope: 'global' } })).status).toBe(204);
      const [logout] = await eventsOf(u.id, 'logout');
      expect(logout!.details).toEqual({ scope: 'global', ended: 2 });
      expect(logout!.ip).toBeTruthy();
      // Only the refresh token: the session is already gone, so 401 and no second event.
      expect((await h.call('POST', '/api/v1/auth/logout', { body: { refreshToken: t.refreshToken } })).status).toBe(401);
      expect(await eventsOf(u.id, 'logout')).toHaveLength(1);
    });

    it('records the revocation of one of my sessions; someone else\'s session is 404 and records nothing', async () => {
      const u = await h.newUser();
      const other = await h.newUser();
      const here = await h.login(u.email, u.password);
      const there = await h.login(u.email, u.password);
      const theirs = await h.login(other.email, other.password);
      const sessions = await h.call<{ items: { id: string; current: boolean }[] }>('GET', '/api/v1/auth/sessions', { token: there.accessToken });
      const thereId = sessions.body.items.find((s) => s.current)!.id;
      const theirId = (await h.call<{ items: { id: string; current: boolean }[] }>('GET', '/api/v1/auth/sessions', { token: theirs.accessToken })).body.items[0]!.id;

      const refused = await h.call('DELETE', `/api/v1/auth/sessions/${theirId}`, { token: here.accessToken });
      expect(refused.status).toBe(404);
      expect(await eventsOf(u.id, 'session_revoked')).toHaveLength(0);
      expect(await eventsOf(other.id, 'session_revoked')).toHaveLength(0);

      expect((await h.call('DELETE', `/api/v1/auth/sessions/${thereId}`, { token: here.accessToken })).status).toBe(204);
      const [revoked] = await eventsOf(u.id, 'session_revoked');
      expect(revoked!.session_id).toBe(thereId);
      expect(revoked!.details).toMatchObject({ by: 'user' });
    });

    it('records a completed password reset and e-mail verification, and nothing for a refused reset', async () => {
      const u = await h.newUser();
      expect((await h.call('POST', '/api/v1/auth/password/forgot', { body: { email: u.email } })).status).toBe(202);
      await h.auth.settled();
      const mail = await h.smtp.waitFor((m) => m.to.includes(u.email) && /reset/i.test(m.subject));
      const token = tokenFrom(mail);
      // A weak password is refused: the transaction (token use included) rolls back, no event.
      expect((await h.call('POST', '/api/v1/auth/password/reset', { body: { token, password: 'short' } })).status).toBe(400);
      expect(await eventsOf(u.id, 'password_reset')).toHaveLength(0);
      expect((await h.call('POST', '/api/v1/auth/password/reset', { body: { token, password: 'a brand new passphrase' } })).status).toBe(204);
      expect(await eventsOf(u.id, 'password_reset')).toHaveLength(1);

      const fresh = await h.newUser({ verified: false });
      expect((await h.call('POST', '/api/v1/auth/verify-email/resend', { body: { email: fresh.email } })).status).toBe(202);
      await h.auth.settled();
      const verify = await h.smtp.waitFor((m) => m.to.includes(fresh.email) && /Confirm/.test(m.subject));
      expect((await h.call('POST', '/api/v1/auth/verify-email', { body: { token: tokenFrom(verify) } })).status).toBe(200);
      expect(await eventsOf(fresh.id, 'email_verified')).toHaveLength(1);
      expect((await h.call('POST', '/api/v1/auth/verify-email', { body: { token: tokenFrom(verify) } })).status).toBe(400);
      expect(await eventsOf(fresh.id, 'email_verified')).toHaveLength(1);
    });

    it('records an admin disabling and enabling an account and ending its sessions; a refused change records nothing', async () => {
      const u = await h.newUser();
      await h.login(u.email, u.password);
      expect((await h.call('PATCH', `/api/v1/admin/users/${u.id}`, { token: admin.token, body: { disabled: true } })).status).toBe(200);
      expect((await eventsOf(u.id, 'account_disabled'))[0]!.details).toEqual({ by: 'admin', adminId: admin.id });
      // Disabling again changes nothing, so no second event.
      expect((await h.call('PATCH', `/api/v1/admin/users/${u.id}`, { token: admin.token, body: { disabled: true } })).status).toBe(200);
      expect(await eventsOf(u.id, 'account_disabled')).toHaveLength(1);
      expect((await h.call('PATCH', `/api/v1/admin/users/${u.id}`, { token: admin.token, body: { disabled: false } })).status).toBe(200);
      expect(await eventsOf(u.id, 'account_enabled')).toHaveLength(1);

      await h.login(u.email, u.password);
      const ended = await h.call('DELETE', `/api/v1/admin/users/${u.id}/sessions`, { token: admin.token });
      expect(ended.body).toEqual({ revoked: 1 });
      expect((await eventsOf(u.id, 'session_revoked'))[0]!.details).toEqual({ by: 'admin', adminId: admin.id, ended: 1 });

      // The last admin cannot disable themself: 409, and no event.
      await h.database.db.query(`UPDATE users SET disabled_at = now() WHERE role = 'admin' AND id <> $1`, [admin.id]);
      const res = await h.call('PATCH', `/api/v1/admin/users/${admin.id}`, { token: admin.token, body: { disabled: true } });
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('last_admin');
      expect(await eventsOf(admin.id, 'account_disabled')).toHaveLength(0);
    });
  });
});
