/**
 * Standards checklist: OWASP ASVS 4.0.3, V2 (authentication) and V3 (session management), one test
 * per requirement that applies to an API with password login and refresh-token sessions. Real
 * auth-service over PostgreSQL, Redis and SMTP; no grace window for refresh-token reuse, so reuse
 * detection is immediate; every request comes from its own client address (behind a trusted proxy)
 * unless a test is about one address.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres } from '../helpers/services.js';
import { startAuth, type AuthHarness, type CallResult } from '../helpers/auth_app.js';
import { tokenFrom } from '../helpers/smtp.js';

const FAILURES_ALLOWED = 3;

/** What a client can compare between two answers: status, content type and body without requestId. */
function visible(res: CallResult) {
  const body = typeof res.body === 'object' && res.body !== null ? { ...res.body, requestId: undefined } : res.body;
  return { status: res.status, type: res.headers['content-type'], body };
}

describe.skipIf(!hasPostgres)('OWASP ASVS 4.0.3 V2/V3: authentication and sessions', () => {
  let h: AuthHarness;
  let ipCounter = 0;
  const from = (address = `10.30.${Math.floor(++ipCounter / 250)}.${ipCounter % 250}`) => ({ headers: { 'x-forwarded-for': address } });

  beforeAll(async () => {
    h = await startAuth({
      sessions: { reuseGraceSec: 0 },
      http: { trustProxy: true },
      rateLimits: { loginFailuresPerEmailIp: { limit: FAILURES_ALLOWED, windowSec: 60 } },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  type Pair = { accessToken: string; refreshToken: string };
  const login = (email: string, password: string) => h.call('POST', '/api/v1/auth/login', { body: { email, password }, ...from() });
  const me = (token: string) => h.call('GET', '/api/v1/users/me', { token });
  const refresh = (refreshToken: string) => h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken }, ...from() });
  const change = (token: string, currentPassword: string, newPassword: string) =>
    h.call('POST', '/api/v1/auth/password/change', { token, body: { currentPassword, newPassword }, ...from() });
  const register = (email: string, password: string) => h.call('POST', '/api/v1/auth/register', { body: { email, password, displayName: 'Reg' }, ...from() });

  async function session(): Promise<{ email: string; password: string; id: string; pair: Pair }> {
    const u = await h.newUser();
    return { ...u, pair: await h.login(u.email, u.password) };
  }

  async function resetToken(email: string, nth = 1): Promise<string> {
    expect((await h.call('POST', '/api/v1/auth/password/forgot', { body: { email }, ...from() })).status).toBe(202);
    await h.smtp.waitFor(() => h.smtp.to(email).filter((m) => /reset/i.test(m.subject)).length >= nth);
    return tokenFrom(h.smtp.to(email).filter((m) => /reset/i.test(m.subject))[nth - 1]!);
  }

  async function expectWeak(res: CallResult, field: string): Promise<void> {
    expect(res.status, res.text).toBe(400);
    expect(res.body.code).toBe('weak_password');
    expect(res.body.errors[0].path).toBe(`body.${field}`);
  }

  describe('V2.1 password security', () => {
    it('2.1.1: passwords of fewer than 8 characters are refused (7), 8 are accepted', async () => {
      const seven = 'Zq7#kP2';
      const email = `short-${randomUUID()}@example.com`;
      await expectWeak(await register(email, seven), 'password');
      const { rows } = await h.database.db.query('SELECT 1 FROM users WHERE email = $1', [email]);
      expect(rows).toEqual([]);
      const s = await session();
      await expectWeak(await change(s.pair.accessToken, s.password, seven), 'newPassword');
      expect((await change(s.pair.accessToken, s.password, `${seven}x`)).status).toBe(204);
      expect((await login(s.email, `${seven}x`)).status).toBe(200);
    });

    it('2.1.2: passwords of 64 and of 128 characters are permitted; 129 are refused', async () => {
      const s = await session();
      const p64 = 'long passphrase '.repeat(4);
      const p128 = 'Another-Long-Passphrase-'.repeat(6).slice(0, 128);
      expect([p64.length, p128.length]).toEqual([64, 128]);
      expect((await change(s.pair.accessToken, s.password, p64)).status).toBe(204);
      expect((await login(s.email, p64)).status).toBe(200);
      expect((await change(s.pair.accessToken, p64, p128)).status).toBe(204);
      expect((await login(s.email, p128)).status).toBe(200);
      await expectWeak(await change(s.pair.accessToken, p128, `${p128}z`), 'newPassword');
      await expectWeak(await register(`long-${randomUUID()}@example.com`, `${p128}z`), 'password');
    });

    it('2.1.3: no truncation: a long password differing only in its last character, or cut at 72 bytes, fails', async () => {
      const s = await session();
      const long = `${'truncation-check-'.repeat(6)}end!`;
      expect(long.length).toBeGreaterThan(72);
      expect((await change(s.pair.accessToken, s.password, long)).status).toBe(204);
      expect((await login(s.email, `${long.slice(0, -1)}?`)).status).toBe(401);
      expect((await login(s.email, long.slice(0, 72))).status).toBe(401);
      expect((await login(s.email, long.slice(0, 64))).status).toBe(401);
      expect((await login(s.email, long)).status).toBe(200);
    });

    it('2.1.4: any printable Unicode is permitted, spaces and emoji included, and counted as characters', async () => {
      const s = await session();
      const unicode = 'пароль с пробелами 🔑 日本語 ünïcödé';
      expect((await change(s.pair.accessToken, s.password, unicode)).status).toBe(204);
      expect((await login(s.email, unicode)).status).toBe(200);
      // Eight emoji: 16 UTF-16 units, but 8 characters, so exactly at the minimum.
      const emoji = '🎓📚🔑🧪🎯🧭🛰🪐';
      expect((await change(s.pair.accessToken, unicode, emoji)).status).toBe(204);
      expect((await login(s.email, emoji)).status).toBe(200);
    });

    it('2.1.6: changing the password needs the current one (403 wrong_password otherwise), and the old one then stops working', async () => {
      const s = await session();
      const wrong = await change(s.pair.accessToken, 'not-the-current-one', 'a brand new passphrase');
      expect(wrong.status).toBe(403);
      expect(wrong.body.code).toBe('wrong_password');
      expect((await login(s.email, 'a brand new passphrase')).status).toBe(401);
      expect((await change(s.pair.accessToken, s.password, 'a brand new passphrase')).status).toBe(204);
      expect((await login(s.email, s.password)).status).toBe(401);
      expect((await login(s.email, 'a brand new passphrase')).status).toBe(200);
    });

    it('2.1.7: breached and common passwords are refused at registration, change and reset', async () => {
      const common = ['password123', 'Password123', 'qwerty123', 'iloveyou', '12345678', 'letmein1'];
      const s = await session();
      for (const password of common) {
        await expectWeak(await register(`common-${randomUUID()}@example.com`, password), 'password');
        await expectWeak(await change(s.pair.accessToken, s.password, password), 'newPassword');
      }
      const token = await resetToken(s.email);
      await expectWeak(await h.call('POST', '/api/v1/auth/password/reset', { body: { token, password: 'password123' } }), 'password');
      expect((await login(s.email, s.password)).status).toBe(200);
    });

    it('2.1.9: no composition rules: a long lower-case passphrase without digits or symbols is accepted', async () => {
      const s = await session();
      const plain = 'violet tractors hum under the quiet bridge';
      expect((await change(s.pair.accessToken, s.password, plain)).status).toBe(204);
      expect((await login(s.email, plain)).status).toBe(200);
    });
  });

  describe('V2.2 general authenticator requirements', () => {
    it('2.2.1: failed logins are throttled: after the allowed failures 429 with Retry-After, even for the right password', async () => {
      const u = await h.newUser();
      const address = '10.31.0.1';
      for (let i = 0; i < FAILURES_ALLOWED; i++) {
        expect((await h.call('POST', '/api/v1/auth/login', { body: { email: u.email, password: 'wrong password!' }, ...from(address) })).status).toBe(401);
      }
      for (const password of ['wrong password!', u.password]) {
        const limited = await h.call('POST', '/api/v1/auth/login', { body: { email: u.email, password }, ...from(address) });
        expect(limited.status).toBe(429);
        expect(limited.body.code).toBe('rate_limited');
        expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
        expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
      }
      // Lockout is per account and address: the owner elsewhere is not locked out (no denial of service by a stranger).
      expect((await login(u.email, u.password)).status).toBe(200);
    });

    it('2.2 (no enumeration) registration: a taken and a free address get the same answer', async () => {
      const owner = await h.newUser();
      const taken = await register(owner.email.toUpperCase(), 'an attacker passphrase');
      const free = await register(`free-${randomUUID()}@example.com`, 'an attacker passphrase');
      expect(taken.status).toBe(202);
      expect(visible(taken)).toEqual(visible(free));
      expect(Object.keys(taken.headers).sort()).toEqual(Object.keys(free.headers).sort());
    });

    it('2.2 (no enumeration) forgotten password: a known and an unknown address get the same answer', async () => {
      const owner = await h.newUser();
      const known = await h.call('POST', '/api/v1/auth/password/forgot', { body: { email: owner.email }, ...from() });
      const unknown = await h.call('POST', '/api/v1/auth/password/forgot', { body: { email: `nobody-${randomUUID()}@example.com` }, ...from() });
      expect(known.status).toBe(202);
      expect(visible(known)).toEqual(visible(unknown));
    });

    it('2.2 (no enumeration) login: an unknown address and a wrong password get the same answer', async () => {
      const owner = await h.newUser();
      const wrong = await login(owner.email, 'wrong password!');
      const unknown = await login(`nobody-${randomUUID()}@example.com`, 'wrong password!');
      expect(wrong.status).toBe(401);
      expect(wrong.body.code).toBe('invalid_credentials');
      expect(visible(wrong)).toEqual(visible(unknown));
    });
  });

  describe('V2.5 credential recovery', () => {
    it('2.5.5: the user is told by mail when the password changes', async () => {
      const s = await session();
      expect((await change(s.pair.accessToken, s.password, 'a notified passphrase')).status).toBe(204);
      const mail = await h.smtp.waitFor((m) => m.to.includes(s.email) && /changed/i.test(m.subject));
      expect(mail.text).not.toContain('a notified passphrase');
    });

    it('2.5.6: a reset token works once: the second use is 400 invalid_or_expired_token', async () => {
      const s = await session();
      const token = await resetToken(s.email);
      expect((await h.call('POST', '/api/v1/auth/password/reset', { body: { token, password: 'first reset passphrase' } })).status).toBe(204);
      const again = await h.call('POST', '/api/v1/auth/password/reset', { body: { token, password: 'second reset passphrase' } });
      expect(again.status).toBe(400);
      expect(again.body.code).toBe('invalid_or_expired_token');
      expect((await login(s.email, 'first reset passphrase')).status).toBe(200);
      expect((await login(s.email, 'second reset passphrase')).status).toBe(401);
    });

    it('2.5.6: a reset token expires: once past expires_at it is refused and the password stays', async () => {
      const s = await session();
      const token = await resetToken(s.email);
      const { rowCount } = await h.database.db.query(
        "UPDATE one_time_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1 AND purpose = 'password_reset'",
        [s.id],
      );
      expect(rowCount).toBeGreaterThan(0);
      const res = await h.call('POST', '/api/v1/auth/password/reset', { body: { token, password: 'too late passphrase' } });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('invalid_or_expired_token');
      expect((await login(s.email, s.password)).status).toBe(200);
    });

    it('2.5.6 / 3.3.3: a password reset ends every session of the user', async () => {
      const s = await session();
      const other = await h.login(s.email, s.password);
      const token = await resetToken(s.email);
      expect((await h.call('POST', '/api/v1/auth/password/reset', { body: { token, password: 'a reset passphrase' } })).status).toBe(204);
      for (const pair of [s.pair, other]) {
        const res = await me(pair.accessToken);
        expect(res.status).toBe(401);
        expect(res.body.code).toBe('session_revoked');
        expect((await refresh(pair.refreshToken)).status).toBe(401);
      }
    });
  });

  describe('V3.3 session termination', () => {
    it('3.3.1: logout invalidates the session: its refresh token fails and auth-service refuses its access token', async () => {
      const s = await session();
      expect((await me(s.pair.accessToken)).status).toBe(200);
      expect((await h.call('POST', '/api/v1/auth/logout', { token: s.pair.accessToken })).status).toBe(204);
      const after = await me(s.pair.accessToken);
      expect(after.status).toBe(401);
      expect(after.body.code).toBe('session_revoked');
      const r = await refresh(s.pair.refreshToken);
      expect(r.status).toBe(401);
      expect(r.body.code).toBe('invalid_refresh_token');
    });

    it('3.3.3: after a password change the other sessions end; the one that changed it stays', async () => {
      const s = await session();
      const other = await h.login(s.email, s.password);
      expect((await change(s.pair.accessToken, s.password, 'a changed passphrase')).status).toBe(204);
      expect((await me(other.accessToken)).status).toBe(401);
      expect((await refresh(other.refreshToken)).status).toBe(401);
      expect((await me(s.pair.accessToken)).status).toBe(200);
      expect((await refresh(s.pair.refreshToken)).status).toBe(200);
    });

    it('3.3.4: a user sees their active sessions and can end any one of them', async () => {
      const s = await session();
      const other = await h.login(s.email, s.password);
      const list = await h.call('GET', '/api/v1/auth/sessions', { token: s.pair.accessToken });
      expect(list.status).toBe(200);
      const items = list.body.items as { id: string; current: boolean }[];
      expect(items).toHaveLength(2);
      const otherSid = other.refreshToken.split('.')[0]!;
      expect(items.find((i) => i.current)!.id).toBe(s.pair.refreshToken.split('.')[0]);
      expect((await h.call('DELETE', `/api/v1/auth/sessions/${otherSid}`, { token: s.pair.accessToken })).status).toBe(204);
      expect((await refresh(other.refreshToken)).status).toBe(401);
      expect((await me(other.accessToken)).status).toBe(401);
      expect((await me(s.pair.accessToken)).status).toBe(200);
    });
  });

  describe('V3.5 token-based session management', () => {
    it('3.5.x: a refresh rotates the pair, and reusing a rotated refresh token revokes the whole session', async () => {
      const s = await session();
      const first = await refresh(s.pair.refreshToken);
      expect(first.status).toBe(200);
      expect(first.body.refreshToken).not.toBe(s.pair.refreshToken);
      const second = await refresh(first.body.refreshToken);
      expect(second.status).toBe(200);

      // The thief replays the first token: the session ends for everyone holding its tokens.
      const reuse = await refresh(s.pair.refreshToken);
      expect(reuse.status).toBe(401);
      expect(reuse.body.code).toBe('refresh_token_reused');
      expect((await refresh(second.body.refreshToken)).status).toBe(401);
      const access = await me(second.body.accessToken);
      expect(access.status).toBe(401);
      expect(access.body.code).toBe('session_revoked');
      const { rows } = await h.database.db.query<{ revoked_reason: string }>('SELECT revoked_reason FROM sessions WHERE id = $1', [s.pair.refreshToken.split('.')[0]]);
      expect(rows[0]!.revoked_reason).toBe('refresh_token_reused');
    });
  });
});
