/** My profile (GET/PATCH /api/v1/users/me) and my sessions (list, end one). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres } from '../helpers/services.js';
import { SERVICE_CLIENT, startAuth, type AuthHarness } from '../helpers/auth_app.js';

type Session = { id: string; userAgent: string | null; ip: string | null; current: boolean; createdAt: string; lastUsedAt: string; expiresAt: string };

describe.skipIf(!hasPostgres)('profile and sessions', () => {
  let h: AuthHarness;
  beforeAll(async () => {
    h = await startAuth();
  });
  afterAll(async () => {
    await h?.close();
  });

  async function loginAs(email: string, password: string, userAgent: string) {
    const res = await h.call('POST', '/api/v1/auth/login', { body: { email, password }, headers: { 'user-agent': userAgent } });
    expect(res.status).toBe(200);
    return { ...res.body, sid: (res.body.refreshToken as string).split('.')[0]! } as { accessToken: string; refreshToken: string; sid: string };
  }

  describe('profile', () => {
    it('shows my profile with preferences and a strong ETag; If-None-Match gives 304', async () => {
      const u = await h.newUser({ locale: 'ru' });
      const { accessToken } = await h.login(u.email, u.password);
      const res = await h.call('GET', '/api/v1/users/me', { token: accessToken });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: u.id, email: u.email, displayName: u.displayName, role: 'student', locale: 'ru', emailVerified: true, preferences: { reviewEmails: true } });
      expect(res.body).not.toHaveProperty('passwordHash');
      expect(res.body).not.toHaveProperty('password_hash');
      const etag = String(res.headers.etag);
      expect(etag).toMatch(/^"[^"]+"$/);
      const again = await h.call('GET', '/api/v1/users/me', { token: accessToken, headers: { 'if-none-match': etag } });
      expect(again.status).toBe(304);
      expect(again.text).toBe('');
    });

    it('changes name, locale and review mails; the change shows in GET, the database and the ETag', async () => {
      const u = await h.newUser();
      const { accessToken } = await h.login(u.email, u.password);
      const before = await h.call('GET', '/api/v1/users/me', { token: accessToken });
      const res = await h.call('PATCH', '/api/v1/users/me', {
        token: accessToken,
        body: { displayName: '  Renamed  ', locale: 'ru', preferences: { reviewEmails: false } },
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ displayName: 'Renamed', locale: 'ru', preferences: { reviewEmails: false } });
      expect(Date.parse(res.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(before.body.updatedAt));
      const after = await h.call('GET', '/api/v1/users/me', { token: accessToken });
      expect(after.body).toEqual(res.body);
      expect(after.headers.etag).not.toBe(before.headers.etag);
      const { rows } = await h.database.db.query<{ notify_reviews: boolean; locale: string }>('SELECT notify_reviews, locale FROM users WHERE id = $1', [u.id]);
      expect(rows[0]).toEqual({ notify_reviews: false, locale: 'ru' });

      // A partial patch leaves the rest alone, and review mails can be turned back on.
      const partial = await h.call('PATCH', '/api/v1/users/me', { token: accessToken, body: { preferences: { reviewEmails: true } } });
      expect(partial.body).toMatchObject({ displayName: 'Renamed', locale: 'ru', preferences: { reviewEmails: true } });
    });

    it('turning review mails off suppresses review notifications for me', async () => {
      const u = await h.newUser({ role: 'instructor' });
      const { accessToken } = await h.login(u.email, u.password);
      await h.call('PATCH', '/api/v1/users/me', { token: accessToken, body: { preferences: { reviewEmails: false } } });
      const service = await h.call('POST', '/api/v1/auth/token', { form: { grant_type: 'client_credentials', client_id: SERVICE_CLIENT.id, client_secret: SERVICE_CLIENT.secret } });
      const res = await h.call('POST', '/api/v1/notifications', {
        token: service.body.access_token,
        body: { userId: u.id, template: 'review_created', data: { courseTitle: 'C', rating: 4, authorName: 'A' }, idempotencyKey: 'e1' },
      });
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ id: null, status: 'suppressed' });
    });

    it('refuses unknown fields (no mass assignment), naming the path; nothing changes', async () => {
      const u = await h.newUser();
      const { accessToken } = await h.login(u.email, u.password);
      const cases: [Record<string, unknown>, string][] = [
        [{ role: 'admin' }, 'body.role'],
        [{ displayName: 'X', emailVerified: true }, 'body.emailVerified'],
        [{ preferences: { reviewEmails: false, marketing: true } }, 'body.preferences.marketing'],
        [{ email: 'new@example.com' }, 'body.email'],
      ];
      for (const [body, path] of cases) {
        const res = await h.call('PATCH', '/api/v1/users/me', { token: accessToken, body });
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.body.code).toBe('validation_failed');
        expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path })]));
      }
      const { rows } = await h.database.db.query<{ role: string; display_name: string; notify_reviews: boolean }>(
        'SELECT role, display_name, notify_reviews FROM users WHERE id = $1',
        [u.id],
      );
      expect(rows[0]).toEqual({ role: 'student', display_name: u.displayName, notify_reviews: true });
    });

    it('refuses an empty patch, a blank or too long name, an unknown locale and a wrong type', async () => {
      const u = await h.newUser();
      const { accessToken } = await h.login(u.email, u.password);
      for (const body of [{}, { displayName: '   ' }, { displayName: 'x'.repeat(101) }, { locale: 'fr' }, { preferences: { reviewEmails: 'no' } }]) {
        const res = await h.call('PATCH', '/api/v1/users/me', { token: accessToken, body });
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.body.code).toBe('validation_failed');
      }
    });

    it('needs a token', async () => {
      expect((await h.call('GET', '/api/v1/users/me')).status).toBe(401);
      expect((await h.call('PATCH', '/api/v1/users/me', { body: { locale: 'ru' } })).status).toBe(401);
    });
  });

  describe('sessions', () => {
    it('lists my active sessions, marks the current one, and hides other users\' sessions', async () => {
      const u = await h.newUser();
      const laptop = await loginAs(u.email, u.password, 'Laptop Firefox');
      const phone = await loginAs(u.email, u.password, 'Phone Safari');
      const other = await h.newUser();
      await loginAs(other.email, other.password, 'Someone else');

      const res = await h.call<{ items: Session[] }>('GET', '/api/v1/auth/sessions', { token: laptop.accessToken });
      expect(res.status).toBe(200);
      expect(res.body.items.map((s) => s.id).sort()).toEqual([laptop.sid, phone.sid].sort());
      expect(res.body.items.filter((s) => s.current).map((s) => s.id)).toEqual([laptop.sid]);
      expect(res.body.items.find((s) => s.id === phone.sid)!.userAgent).toBe('Phone Safari');
      expect(res.body.items.every((s) => s.ip === '127.0.0.1')).toBe(true);

      const fromPhone = await h.call<{ items: Session[] }>('GET', '/api/v1/auth/sessions', { token: phone.accessToken });
      expect(fromPhone.body.items.filter((s) => s.current).map((s) => s.id)).toEqual([phone.sid]);
    });

    it('ends one of my other sessions: it leaves the list and its tokens stop working', async () => {
      const u = await h.newUser();
      const a = await loginAs(u.email, u.password, 'A');
      const b = await loginAs(u.email, u.password, 'B');
      const del = await h.call('DELETE', `/api/v1/auth/sessions/${b.sid}`, { token: a.accessToken });
      expect(del.status).toBe(204);
      const list = await h.call<{ items: Session[] }>('GET', '/api/v1/auth/sessions', { token: a.accessToken });
      expect(list.body.items.map((s) => s.id)).toEqual([a.sid]);
      expect((await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: b.refreshToken } })).status).toBe(401);
      expect((await h.call('GET', '/api/v1/users/me', { token: b.accessToken })).status).toBe(401);
      const again = await h.call('DELETE', `/api/v1/auth/sessions/${b.sid}`, { token: a.accessToken });
      expect(again.status).toBe(404);
      expect(again.body.code).toBe('session_not_found');
    });

    it("ending another user's session is 404, and that session lives on", async () => {
      const me = await h.newUser();
      const mine = await loginAs(me.email, me.password, 'Me');
      const victim = await h.newUser();
      const theirs = await loginAs(victim.email, victim.password, 'Victim');
      const res = await h.call('DELETE', `/api/v1/auth/sessions/${theirs.sid}`, { token: mine.accessToken });
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('session_not_found');
      expect((await h.call('GET', '/api/v1/users/me', { token: theirs.accessToken })).status).toBe(200);
      const { rows } = await h.database.db.query<{ revoked_at: Date | null }>('SELECT revoked_at FROM sessions WHERE id = $1', [theirs.sid]);
      expect(rows[0]!.revoked_at).toBeNull();
    });

    it('ending my current session logs me out', async () => {
      const u = await h.newUser();
      const a = await loginAs(u.email, u.password, 'A');
      expect((await h.call('DELETE', `/api/v1/auth/sessions/${a.sid}`, { token: a.accessToken })).status).toBe(204);
      const me = await h.call('GET', '/api/v1/users/me', { token: a.accessToken });
      expect(me.status).toBe(401);
      expect(me.body.code).toBe('session_revoked');
    });

    it('refuses a malformed session id and anonymous callers', async () => {
      const u = await h.newUser();
      const a = await loginAs(u.email, u.password, 'A');
      const bad = await h.call('DELETE', '/api/v1/auth/sessions/not-a-uuid', { token: a.accessToken });
      expect(bad.status).toBe(400);
      expect(bad.body.errors[0].path).toMatch(/^params\.id/);
      expect((await h.call('GET', '/api/v1/auth/sessions')).status).toBe(401);
      expect((await h.call('DELETE', `/api/v1/auth/sessions/${a.sid}`)).status).toBe(401);
    });
  });
});
