/** Password change, forgot/reset and the password rules, over real PostgreSQL and SMTP. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres } from '../helpers/services.js';
import { startAuth, type AuthHarness } from '../helpers/auth_app.js';
import { tokenFrom } from '../helpers/smtp.js';

const NEW_PASSWORD = 'a brand new passphrase';

describe.skipIf(!hasPostgres)('passwords', () => {
  let h: AuthHarness;
  beforeAll(async () => {
    h = await startAuth();
  });
  afterAll(async () => {
    await h?.close();
  });

  const loginStatus = async (email: string, password: string) => (await h.call('POST', '/api/v1/auth/login', { body: { email, password } })).status;

  async function resetMailFor(email: string, count = 1) {
    await h.smtp.waitFor(() => h.smtp.to(email).filter((m) => /reset/i.test(m.subject)).length >= count);
    return h.smtp.to(email).filter((m) => /reset/i.test(m.subject))[count - 1]!;
  }

  describe('change', () => {
    it('needs the current password: a wrong one is 403 wrong_password and changes nothing', async () => {
      const u = await h.newUser();
      const t = await h.login(u.email, u.password);
      const res = await h.call('POST', '/api/v1/auth/password/change', { token: t.accessToken, body: { currentPassword: 'not my password', newPassword: NEW_PASSWORD } });
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('wrong_password');
      expect(await loginStatus(u.email, u.password)).toBe(200);
      expect(await loginStatus(u.email, NEW_PASSWORD)).toBe(401);
    });

    it('needs a token', async () => {
      const res = await h.call('POST', '/api/v1/auth/password/change', { body: { currentPassword: 'whatever12', newPassword: NEW_PASSWORD } });
      expect(res.status).toBe(401);
    });

    it('changes the password, ends the other sessions, keeps this one and mails the user', async () => {
      const u = await h.newUser();
      const here = await h.login(u.email, u.password);
      const elsewhere = await h.login(u.email, u.password);
      const res = await h.call('POST', '/api/v1/auth/password/change', { token: here.accessToken, body: { currentPassword: u.password, newPassword: NEW_PASSWORD } });
      expect(res.status).toBe(204);

      expect((await h.call('GET', '/api/v1/users/me', { token: here.accessToken })).status).toBe(200);
      expect((await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: here.refreshToken } })).status).toBe(200);
      expect((await h.call('GET', '/api/v1/users/me', { token: elsewhere.accessToken })).status).toBe(401);
      expect((await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: elsewhere.refreshToken } })).status).toBe(401);

      expect(await loginStatus(u.email, u.password)).toBe(401);
      expect(await loginStatus(u.email, NEW_PASSWORD)).toBe(200);
      const mail = await h.smtp.waitFor((m) => m.to.includes(u.email) && /changed/i.test(m.subject));
      expect(mail.text).toContain(u.displayName);
    });

    it('refuses weak new passwords with 400 weak_password and keeps the old one', async () => {
      const u = await h.newUser();
      const t = await h.login(u.email, u.password);
      const weak = ['short', 'password123', 'qwertyuiop', 'a'.repeat(129), 'aaaaaaaaaaaa', u.email];
      for (const newPassword of weak) {
        const res = await h.call('POST', '/api/v1/auth/password/change', { token: t.accessToken, body: { currentPassword: u.password, newPassword } });
        expect(res.status, newPassword).toBe(400);
        expect(res.body.code).toBe('weak_password');
        expect(res.body.errors[0].path).toBe('body.newPassword');
      }
      expect(await loginStatus(u.email, u.password)).toBe(200);
    });

    it('accepts exactly 128 characters and counts characters, not UTF-16 units', async () => {
      const u = await h.newUser();
      const t = await h.login(u.email, u.password);
      const longest = 'abcdefgh'.repeat(16);
      expect(longest).toHaveLength(128);
      const res = await h.call('POST', '/api/v1/auth/password/change', { token: t.accessToken, body: { currentPassword: u.password, newPassword: longest } });
      expect(res.status).toBe(204);
      // 120 emoji are 240 UTF-16 units but 120 characters: allowed.
      const emoji = '🔑🎓📚'.repeat(40);
      const res2 = await h.call('POST', '/api/v1/auth/password/change', { token: t.accessToken, body: { currentPassword: longest, newPassword: emoji } });
      expect(res2.status).toBe(204);
      expect(await loginStatus(u.email, emoji)).toBe(200);
    });
  });

  describe('register applies the same rules', () => {
    it.each([
      ['too short', 'abc12'],
      ['common', 'iloveyou'],
      ['too long (129)', 'x1y2z3'.repeat(21) + 'abc'],
    ])('%s → 400 weak_password', async (_name, password) => {
      const res = await h.call('POST', '/api/v1/auth/register', { body: { email: `weak-${Date.now()}@example.com`, password, displayName: 'W' } });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('weak_password');
    });
  });

  describe('forgot and reset', () => {
    it('mails a reset link to a known address; the link sets a new password once and ends every session', async () => {
      const u = await h.newUser();
      const a = await h.login(u.email, u.password);
      const b = await h.login(u.email, u.password);
      expect((await h.call('POST', '/api/v1/auth/password/forgot', { body: { email: u.email.toUpperCase() } })).status).toBe(202);
      const mail = await resetMailFor(u.email);
      expect(mail.text).toMatch(/\/api\/v1\/auth\/pages\/reset-password\?token=/);

      const res = await h.call('POST', '/api/v1/auth/password/reset', { body: { token: tokenFrom(mail), password: NEW_PASSWORD } });
      expect(res.status).toBe(204);
      for (const t of [a, b]) {
        expect((await h.call('GET', '/api/v1/users/me', { token: t.accessToken })).status).toBe(401);
        expect((await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: t.refreshToken } })).status).toBe(401);
      }
      expect(await loginStatus(u.email, NEW_PASSWORD)).toBe(200);
      expect(await loginStatus(u.email, u.password)).toBe(401);

      const again = await h.call('POST', '/api/v1/auth/password/reset', { body: { token: tokenFrom(mail), password: 'yet another passphrase' } });
      expect(again.status).toBe(400);
      expect(again.body.code).toBe('invalid_or_expired_token');
    });

    it('a reset proves the address: an unverified account becomes verified', async () => {
      const u = await h.newUser({ verified: false });
      expect(await loginStatus(u.email, u.password)).toBe(403);
      await h.call('POST', '/api/v1/auth/password/forgot', { body: { email: u.email } });
      const mail = await resetMailFor(u.email);
      expect((await h.call('POST', '/api/v1/auth/password/reset', { body: { token: tokenFrom(mail), password: NEW_PASSWORD } })).status).toBe(204);
      expect(await loginStatus(u.email, NEW_PASSWORD)).toBe(200);
    });

    it('a weak password does not use the link up', async () => {
      const u = await h.newUser();
      await h.call('POST', '/api/v1/auth/password/forgot', { body: { email: u.email } });
      const token = tokenFrom(await resetMailFor(u.email));
      for (const password of ['123456789', 'b'.repeat(129), 'short']) {
        const weak = await h.call('POST', '/api/v1/auth/password/reset', { body: { token, password } });
        expect(weak.status, password).toBe(400);
        expect(weak.body.code).toBe('weak_password');
        expect(weak.body.errors[0].path).toBe('body.password');
      }
      expect((await h.call('POST', '/api/v1/auth/password/reset', { body: { token, password: NEW_PASSWORD } })).status).toBe(204);
    });

    it('a newer reset link makes the older one useless', async () => {
      const u = await h.newUser();
      await h.call('POST', '/api/v1/auth/password/forgot', { body: { email: u.email } });
      const first = tokenFrom(await resetMailFor(u.email, 1));
      await h.call('POST', '/api/v1/auth/password/forgot', { body: { email: u.email } });
      const second = tokenFrom(await resetMailFor(u.email, 2));
      expect(second).not.toBe(first);
      const old = await h.call('POST', '/api/v1/auth/password/reset', { body: { token: first, password: NEW_PASSWORD } });
      expect(old.status).toBe(400);
      expect(old.body.code).toBe('invalid_or_expired_token');
      expect((await h.call('POST', '/api/v1/auth/password/reset', { body: { token: second, password: NEW_PASSWORD } })).status).toBe(204);
    });

    it('a completed reset spends every other open reset link, including an "account exists" mail\'s', async () => {
      const u = await h.newUser();
      await h.call('POST', '/api/v1/auth/password/forgot', { body: { email: u.email } });
      const asked = tokenFrom(await resetMailFor(u.email));
      // Someone registers the taken address afterwards: the owner gets a mail with a reset link too.
      expect((await h.call('POST', '/api/v1/auth/register', { body: { email: u.email, password: 'an attacker passphrase', displayName: 'X' } })).status).toBe(202);
      const exists = tokenFrom(await h.smtp.waitFor((m) => m.to.includes(u.email) && /already have/i.test(m.subject)));
      expect((await h.call('POST', '/api/v1/auth/password/reset', { body: { token: asked, password: NEW_PASSWORD } })).status).toBe(204);
      const late = await h.call('POST', '/api/v1/auth/password/reset', { body: { token: exists, password: 'a password set later' } });
      expect(late.status).toBe(400);
      expect(late.body.code).toBe('invalid_or_expired_token');
      expect(await loginStatus(u.email, NEW_PASSWORD)).toBe(200);
      const { rows } = await h.database.db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM one_time_tokens WHERE user_id = $1 AND purpose = 'password_reset' AND used_at IS NULL",
        [u.id],
      );
      expect(rows[0]!.n).toBe(0);
    });

    it('a verification spends the other open verification links', async () => {
      const u = await h.newUser({ verified: false });
      const confirmMails = () => h.smtp.to(u.email).filter((m) => /confirm/i.test(m.subject));
      for (let i = 1; i <= 2; i++) {
        expect((await h.call('POST', '/api/v1/auth/verify-email/resend', { body: { email: u.email } })).status).toBe(202);
        await h.smtp.waitFor(() => confirmMails().length >= i);
      }
      const [first, second] = confirmMails().map(tokenFrom) as [string, string];
      expect((await h.call('POST', '/api/v1/auth/verify-email', { body: { token: second } })).status).toBe(200);
      const again = await h.call('POST', '/api/v1/auth/verify-email', { body: { token: first } });
      expect(again.status).toBe(400);
      expect(again.body.code).toBe('invalid_or_expired_token');
    });

    it('an expired reset link is refused', async () => {
      const u = await h.newUser();
      await h.call('POST', '/api/v1/auth/password/forgot', { body: { email: u.email } });
      const token = tokenFrom(await resetMailFor(u.email));
      await h.database.db.query("UPDATE one_time_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1", [u.id]);
      const res = await h.call('POST', '/api/v1/auth/password/reset', { body: { token, password: NEW_PASSWORD } });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('invalid_or_expired_token');
      expect(await loginStatus(u.email, u.password)).toBe(200);
    });

    it('a verification token is not a reset token (and vice versa)', async () => {
      const email = 'purpose@example.com';
      await h.call('POST', '/api/v1/auth/register', { body: { email, password: 'first passphrase 1', displayName: 'P' } });
      const verifyToken = tokenFrom(await h.smtp.waitFor((m) => m.to.includes(email) && /confirm/i.test(m.subject)));
      const asReset = await h.call('POST', '/api/v1/auth/password/reset', { body: { token: verifyToken, password: NEW_PASSWORD } });
      expect(asReset.status).toBe(400);
      await h.call('POST', '/api/v1/auth/password/forgot', { body: { email } });
      const resetToken = tokenFrom(await resetMailFor(email));
      expect((await h.call('POST', '/api/v1/auth/verify-email', { body: { token: resetToken } })).status).toBe(400);
      // Both still work for their own purpose.
      expect((await h.call('POST', '/api/v1/auth/verify-email', { body: { token: verifyToken } })).status).toBe(200);
      expect((await h.call('POST', '/api/v1/auth/password/reset', { body: { token: resetToken, password: NEW_PASSWORD } })).status).toBe(204);
    });

    it('a disabled account gets no reset mail, and an open link stops working once it is disabled', async () => {
      const u = await h.newUser();
      await h.call('POST', '/api/v1/auth/password/forgot', { body: { email: u.email } });
      const token = tokenFrom(await resetMailFor(u.email));
      await h.database.db.query('UPDATE users SET disabled_at = now() WHERE id = $1', [u.id]);
      expect((await h.call('POST', '/api/v1/auth/password/reset', { body: { token, password: NEW_PASSWORD } })).status).toBe(400);
      expect((await h.call('POST', '/api/v1/auth/password/forgot', { body: { email: u.email } })).status).toBe(202);
      await h.auth.settled(); // the mail would be queued after the 202
      const { rows } = await h.database.db.query<{ n: number }>("SELECT count(*)::int AS n FROM notifications WHERE user_id = $1 AND template = 'password_reset'", [u.id]);
      expect(rows[0]!.n).toBe(1);
    });
  });
});
