/** Registration, e-mail verification and login over real PostgreSQL, Redis and SMTP. */
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres } from '../helpers/services.js';
import { startAuth, type AuthHarness } from '../helpers/auth_app.js';
import { tokenFrom } from '../helpers/smtp.js';

const PASSWORD = 'correct horse battery';

describe.skipIf(!hasPostgres)('register and login', () => {
  let h: AuthHarness;
  beforeAll(async () => {
    h = await startAuth();
  });
  afterAll(async () => {
    await h?.close();
  });

  async function registerAndVerify(email: string, displayName = 'Vera'): Promise<void> {
    const reg = await h.call('POST', '/api/v1/auth/register', { body: { email, password: PASSWORD, displayName } });
    expect(reg.status).toBe(202);
    const mail = await h.smtp.waitFor((m) => m.to.includes(email.toLowerCase()) && /confirm/i.test(m.subject));
    const verified = await h.call('POST', '/api/v1/auth/verify-email', { body: { token: tokenFrom(mail) } });
    expect(verified.status).toBe(200);
  }

  it('registers a student with the default locale, stores the e-mail normalised and sends a verification mail', async () => {
    const res = await h.call('POST', '/api/v1/auth/register', {
      body: { email: 'Mixed.Case@Example.COM', password: PASSWORD, displayName: '  Max  ' },
    });
    expect(res.status).toBe(202);
    expect(typeof res.body.message).toBe('string');
    const { rows } = await h.database.db.query<{ email: string; role: string; locale: string; display_name: string; email_verified_at: Date | null }>(
      "SELECT email, role, locale, display_name, email_verified_at FROM users WHERE email = 'mixed.case@example.com'",
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ role: 'student', locale: 'en', display_name: 'Max', email_verified_at: null });
    const mail = await h.smtp.waitFor((m) => m.to.includes('mixed.case@example.com'));
    expect(mail.subject).toMatch(/confirm/i);
    // The link opens a page, never the action itself (a mail scanner must not use the token up).
    expect(mail.text).toMatch(/\/api\/v1\/auth\/pages\/verify-email\?token=/);
  });

  it('sends the verification mail in the chosen locale', async () => {
    const res = await h.call('POST', '/api/v1/auth/register', { body: { email: 'ru-user@example.com', password: PASSWORD, displayName: 'Иван', locale: 'ru' } });
    expect(res.status).toBe(202);
    const mail = await h.smtp.waitFor((m) => m.to.includes('ru-user@example.com'));
    expect(mail.subject).toMatch(/Подтвердите/);
  });

  it('refuses an attempt to set role (or any unknown field) at registration and creates nobody', async () => {
    const email = 'would-be-admin@example.com';
    const res = await h.call('POST', '/api/v1/auth/register', { body: { email, password: PASSWORD, displayName: 'Mallory', role: 'admin' } });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'body.role' })]));
    const { rows } = await h.database.db.query('SELECT 1 FROM users WHERE email = $1', [email]);
    expect(rows).toHaveLength(0);

    const verified = await h.call('POST', '/api/v1/auth/register', { body: { email, password: PASSWORD, displayName: 'Mallory', emailVerified: true } });
    expect(verified.status).toBe(400);
    expect(verified.body.errors[0].path).toBe('body.emailVerified');
  });

  it('validates the register body: bad e-mail, missing name, blank name, unknown locale', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ email: 'not-an-email', password: PASSWORD, displayName: 'A' }, 'body.email'],
      [{ email: 'a@example.com', password: PASSWORD }, 'body.displayName'],
      [{ email: 'a@example.com', password: PASSWORD, displayName: '   ' }, 'body.displayName'],
      [{ email: 'a@example.com', password: PASSWORD, displayName: 'A', locale: 'de' }, 'body.locale'],
      [{ email: 'a@example.com', password: 12345678, displayName: 'A' }, 'body.password'],
    ];
    for (const [body, path] of cases) {
      const res = await h.call('POST', '/api/v1/auth/register', { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.code).toBe('validation_failed');
      expect(res.body.errors[0].path).toBe(path);
    }
  });

  it('refuses a weak password at registration with 400 weak_password', async () => {
    const res = await h.call('POST', '/api/v1/auth/register', { body: { email: 'weak@example.com', password: 'password1', displayName: 'W' } });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('weak_password');
    expect(res.body.errors[0].path).toBe('body.password');
  });

  it('refuses login before verification (403 email_not_verified), then logs in with the right claims', async () => {
    const email = 'Claims@Example.com';
    await h.call('POST', '/api/v1/auth/register', { body: { email, password: PASSWORD, displayName: 'Clara' } });
    const early = await h.call('POST', '/api/v1/auth/login', { body: { email, password: PASSWORD } });
    expect(early.status).toBe(403);
    expect(early.body.code).toBe('email_not_verified');

    const mail = await h.smtp.waitFor((m) => m.to.includes('claims@example.com'));
    expect((await h.call('POST', '/api/v1/auth/verify-email', { body: { token: tokenFrom(mail) } })).status).toBe(200);

    const res = await h.call('POST', '/api/v1/auth/login', { body: { email: 'CLAIMS@example.com', password: PASSWORD }, headers: { 'user-agent': 'vitest-browser' } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ tokenType: 'Bearer', expiresIn: 900, user: { email: 'claims@example.com', displayName: 'Clara', role: 'student', locale: 'en', emailVerified: true } });
    expect(res.body.refreshToken).toMatch(/^[0-9a-f-]{36}\.0\.[A-Za-z0-9_-]{43}$/);

    const header = decodeProtectedHeader(res.body.accessToken);
    expect(header).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt', kid: h.keys.active.kid });
    const claims = decodeJwt(res.body.accessToken);
    expect(claims).toMatchObject({
      iss: h.config.jwt.issuer,
      aud: h.config.jwt.audience,
      sub: res.body.user.id,
      role: 'student',
      emailVerified: true,
      name: 'Clara',
    });
    expect(claims.exp! - claims.iat!).toBe(900);
    expect(typeof claims.jti).toBe('string');
    const { rows } = await h.database.db.query<{ id: string; user_agent: string }>('SELECT id, user_agent FROM sessions WHERE user_id = $1', [res.body.user.id]);
    expect(rows).toEqual([{ id: claims.sid, user_agent: 'vitest-browser' }]);

    const me = await h.call('GET', '/api/v1/users/me', { token: res.body.accessToken });
    expect(me.status).toBe(200);
    expect(me.body.id).toBe(res.body.user.id);
  });

  it('gives 401 invalid_credentials for a wrong password', async () => {
    const u = await h.newUser();
    const res = await h.call('POST', '/api/v1/auth/login', { body: { email: u.email, password: 'not the password at all' } });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('invalid_credentials');
  });

  it('gives 403 account_disabled only to a disabled account with the right password', async () => {
    const u = await h.newUser({ disabled: true });
    const right = await h.call('POST', '/api/v1/auth/login', { body: { email: u.email, password: u.password } });
    expect(right.status).toBe(403);
    expect(right.body.code).toBe('account_disabled');
    const wrong = await h.call('POST', '/api/v1/auth/login', { body: { email: u.email, password: 'not the password at all' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe('invalid_credentials');
  });

  it('the mail link opens a page that does not use the token up (mail scanners follow links)', async () => {
    const email = 'page-link@example.com';
    await h.call('POST', '/api/v1/auth/register', { body: { email, password: PASSWORD, displayName: 'Paige' } });
    const mail = await h.smtp.waitFor((m) => m.to.includes(email));
    const link = new URL(/https?:\/\/\S+verify-email\?token=[A-Za-z0-9_-]+/.exec(mail.text)![0]);
    const token = tokenFrom(mail);
    for (let i = 0; i < 2; i++) {
      const page = await h.call('GET', `${link.pathname}${link.search}`);
      expect(page.status).toBe(200);
      expect(String(page.headers['content-type'])).toMatch(/^text\/html/);
      expect(String(page.headers['content-security-policy'])).toContain("default-src 'none'");
      expect(page.text).not.toContain(token);
    }
    const verified = await h.call('POST', '/api/v1/auth/verify-email', { body: { token } });
    expect(verified.status).toBe(200);
  });

  it('refuses an unknown, a malformed and an already used verification token', async () => {
    const unknown = await h.call('POST', '/api/v1/auth/verify-email', { body: { token: 'A'.repeat(43) } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.code).toBe('invalid_or_expired_token');
    const malformed = await h.call('POST', '/api/v1/auth/verify-email', { body: { token: 'bad token with spaces' } });
    expect(malformed.status).toBe(400);
    expect(malformed.body.code).toBe('validation_failed');
  });

  it('refuses an expired verification token', async () => {
    const email = 'expired-verify@example.com';
    await h.call('POST', '/api/v1/auth/register', { body: { email, password: PASSWORD, displayName: 'Eve' } });
    const mail = await h.smtp.waitFor((m) => m.to.includes(email));
    await h.database.db.query(
      "UPDATE one_time_tokens SET expires_at = now() - interval '1 second' WHERE user_id = (SELECT id FROM users WHERE email = $1)",
      [email],
    );
    const res = await h.call('POST', '/api/v1/auth/verify-email', { body: { token: tokenFrom(mail) } });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('invalid_or_expired_token');
  });

  it('resends a verification mail whose fresh link works; a verified account gets no mail', async () => {
    const email = 'resend@example.com';
    await h.call('POST', '/api/v1/auth/register', { body: { email, password: PASSWORD, displayName: 'Rene' } });
    await h.smtp.waitFor((m) => m.to.includes(email));
    const resend = await h.call('POST', '/api/v1/auth/verify-email/resend', { body: { email: 'RESEND@example.com' } });
    expect(resend.status).toBe(202);
    await h.smtp.waitFor(() => h.smtp.to(email).length === 2);
    const second = h.smtp.to(email)[1]!;
    expect(tokenFrom(second)).not.toBe(tokenFrom(h.smtp.to(email)[0]!));
    expect((await h.call('POST', '/api/v1/auth/verify-email', { body: { token: tokenFrom(second) } })).status).toBe(200);

    const again = await h.call('POST', '/api/v1/auth/verify-email/resend', { body: { email } });
    expect(again.status).toBe(202);
    const { rows } = await h.database.db.query<{ n: number }>("SELECT count(*)::int AS n FROM notifications WHERE recipient = $1 AND template = 'verify_email'", [email]);
    expect(rows[0]!.n).toBe(2);
  });

  it('with requireEmailVerification off, an unverified account logs in and its token says emailVerified=false', async () => {
    const lax = await startAuth({ auth: { requireEmailVerification: false } }, { database: h.database, smtp: h.smtp });
    try {
      const u = await lax.newUser({ verified: false });
      const res = await lax.call('POST', '/api/v1/auth/login', { body: { email: u.email, password: u.password } });
      expect(res.status).toBe(200);
      expect(res.body.user.emailVerified).toBe(false);
      expect(decodeJwt(res.body.accessToken).emailVerified).toBe(false);
    } finally {
      await lax.close();
    }
  });

  it('logs out locally: the session ends, its access and refresh tokens stop working, others stay', async () => {
    await registerAndVerify('logout-local@example.com');
    const a = await h.login('logout-local@example.com', PASSWORD);
    const b = await h.login('logout-local@example.com', PASSWORD);
    const out = await h.call('POST', '/api/v1/auth/logout', { token: a.accessToken });
    expect(out.status).toBe(204);
    const me = await h.call('GET', '/api/v1/users/me', { token: a.accessToken });
    expect(me.status).toBe(401);
    expect(me.body.code).toBe('session_revoked');
    expect((await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: a.refreshToken } })).status).toBe(401);
    expect((await h.call('GET', '/api/v1/users/me', { token: b.accessToken })).status).toBe(200);
  });

  it('logs out the others (scope=others) and everything (scope=global)', async () => {
    await registerAndVerify('logout-scopes@example.com');
    const [a, b, c] = [
      await h.login('logout-scopes@example.com', PASSWORD),
      await h.login('logout-scopes@example.com', PASSWORD),
      await h.login('logout-scopes@example.com', PASSWORD),
    ];
    expect((await h.call('POST', '/api/v1/auth/logout', { token: a.accessToken, body: { scope: 'others' } })).status).toBe(204);
    expect((await h.call('GET', '/api/v1/users/me', { token: a.accessToken })).status).toBe(200);
    expect((await h.call('GET', '/api/v1/users/me', { token: b.accessToken })).status).toBe(401);
    expect((await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: c.refreshToken } })).status).toBe(401);

    const d = await h.login('logout-scopes@example.com', PASSWORD);
    expect((await h.call('POST', '/api/v1/auth/logout', { token: d.accessToken, body: { scope: 'global' } })).status).toBe(204);
    expect((await h.call('GET', '/api/v1/users/me', { token: a.accessToken })).status).toBe(401);
    expect((await h.call('GET', '/api/v1/users/me', { token: d.accessToken })).status).toBe(401);
    const { rows } = await h.database.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = 'logout-scopes@example.com' AND s.revoked_at IS NULL",
    );
    expect(rows[0]!.n).toBe(0);
  });

  it('refuses logout without a token and with an unknown scope', async () => {
    const anon = await h.call('POST', '/api/v1/auth/logout');
    expect(anon.status).toBe(401);
    const u = await h.newUser();
    const t = await h.login(u.email, u.password);
    const bad = await h.call('POST', '/api/v1/auth/logout', { token: t.accessToken, body: { scope: 'everyone' } });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('validation_failed');
  });

  it("ignores a refresh token of someone else's session at logout", async () => {
    const victim = await h.newUser();
    const v = await h.login(victim.email, victim.password);
    const attacker = await h.newUser();
    const a = await h.login(attacker.email, attacker.password);
    expect((await h.call('POST', '/api/v1/auth/logout', { token: a.accessToken, body: { refreshToken: v.refreshToken } })).status).toBe(204);
    expect((await h.call('GET', '/api/v1/users/me', { token: v.accessToken })).status).toBe(200);
    expect((await h.call('GET', '/api/v1/users/me', { token: a.accessToken })).status).toBe(401);
  });
});
