/** The whole account story over real PostgreSQL, Redis and SMTP: register, verify, log in, forget, reset. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres } from '../helpers/services.js';
import { startAuth, type AuthHarness } from '../helpers/auth_app.js';
import { tokenFrom } from '../helpers/smtp.js';

describe.skipIf(!hasPostgres)('mail round trip', () => {
  let h: AuthHarness;
  beforeAll(async () => {
    h = await startAuth();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('registers, verifies from the mail, logs in, forgets and resets the password', async () => {
    const email = 'Round.Trip@Example.com';
    const reg = await h.call('POST', '/api/v1/auth/register', { body: { email, password: 'a long enough secret', displayName: 'Rita' } });
    expect(reg.status).toBe(202);

    const early = await h.call('POST', '/api/v1/auth/login', { body: { email, password: 'a long enough secret' } });
    expect(early.status).toBe(403);
    expect(early.body.code).toBe('email_not_verified');

    const verifyMail = await h.smtp.waitFor((m) => m.to.includes('round.trip@example.com') && /confirm/i.test(m.subject));
    expect(verifyMail.html).toContain('Rita');
    const verified = await h.call('POST', '/api/v1/auth/verify-email', { body: { token: tokenFrom(verifyMail) } });
    expect(verified.status).toBe(200);
    expect(verified.body.emailVerified).toBe(true);
    expect(verified.body.email).toBe('round.trip@example.com');

    const again = await h.call('POST', '/api/v1/auth/verify-email', { body: { token: tokenFrom(verifyMail) } });
    expect(again.status).toBe(400);
    expect(again.body.code).toBe('invalid_or_expired_token');

    const login = await h.call('POST', '/api/v1/auth/login', { body: { email: 'round.trip@example.com', password: 'a long enough secret' } });
    expect(login.status).toBe(200);
    expect(login.body.tokenType).toBe('Bearer');
    expect(login.body.user.role).toBe('student');

    const forgot = await h.call('POST', '/api/v1/auth/password/forgot', { body: { email } });
    expect(forgot.status).toBe(202);
    const resetMail = await h.smtp.waitFor((m) => m.to.includes('round.trip@example.com') && /password/i.test(m.subject));
    const reset = await h.call('POST', '/api/v1/auth/password/reset', { body: { token: tokenFrom(resetMail), password: 'an entirely new secret' } });
    expect(reset.status).toBe(204);

    // The reset ended every session: the old refresh token no longer works.
    const refresh = await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: login.body.refreshToken } });
    expect(refresh.status).toBe(401);
    const me = await h.call('GET', '/api/v1/users/me', { token: login.body.accessToken });
    expect(me.status).toBe(401);

    expect((await h.call('POST', '/api/v1/auth/login', { body: { email, password: 'a long enough secret' } })).status).toBe(401);
    expect((await h.call('POST', '/api/v1/auth/login', { body: { email, password: 'an entirely new secret' } })).status).toBe(200);
    await h.smtp.waitFor((m) => m.to.includes('round.trip@example.com') && m.text.includes('changed'));
    // A reset link is single use.
    const reuse = await h.call('POST', '/api/v1/auth/password/reset', { body: { token: tokenFrom(resetMail), password: 'yet another secret 1' } });
    expect(reuse.status).toBe(400);
  });
});

describe.skipIf(!hasPostgres)('mail round trip with other token lifetimes', () => {
  let h: AuthHarness;
  beforeAll(async () => {
    h = await startAuth({ auth: { verificationResendIntervalSec: 0, verifyTokenTtlHours: 2, resetTokenTtlMinutes: 30 } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('states the configured lifetimes in the verification and reset mails, in both languages', async () => {
    const password = 'a long enough secret';
    for (const [locale, verifyText, resetText] of [
      ['en', 'valid for 2 hours', 'valid for 30 minutes'],
      ['ru', 'действует 2 часа', 'действует 30 минут'],
    ] as const) {
      const email = `lifetime.${locale}@example.com`;
      expect((await h.call('POST', '/api/v1/auth/register', { body: { email, password, displayName: 'Lena', locale } })).status).toBe(202);
      const verifyMail = await h.smtp.waitFor((m) => m.to.includes(email) && m.text.includes(verifyText));
      expect(verifyMail.html).toContain(verifyText);
      expect((await h.call('POST', '/api/v1/auth/password/forgot', { body: { email } })).status).toBe(202);
      const resetMail = await h.smtp.waitFor((m) => m.to.includes(email) && m.text.includes(resetText));
      expect(resetMail.html).toContain(resetText);
    }
  });
});
