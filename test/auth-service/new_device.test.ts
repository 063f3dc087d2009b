/**
 * New-device mail and "this was not me", over real PostgreSQL, Redis and SMTP: no mail on the first
 * sign-in nor from a known device (a browser update included), a mail from a new device or one not seen
 * for 90 days (after the MFA step when MFA is on), and the link's page and POST: every session ends and a
 * reset link is mailed, once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres } from '../helpers/services.js';
import { startAuth, type AuthHarness } from '../helpers/auth_app.js';
import { tokenFrom } from '../helpers/smtp.js';
import { outboxesSettled } from '../helpers/outbox.js';
import { agentFamily, describeDevice, networkOf } from '../../internal/auth-service/services/new_device.js';
import { codeAt } from '../../internal/auth-service/services/totp.js';
import { createLogger } from '../../internal/shared/utils/logging.js';

const FIREFOX_120 = 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0';
const FIREFOX_121 = 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0';
const CHROME_WIN = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';

describe('device identity', () => {
  it('is the user agent without versions and the network (/24, /48)', () => {
    expect(agentFamily(FIREFOX_120)).toBe(agentFamily(FIREFOX_121));
    expect(agentFamily(FIREFOX_120)).not.toBe(agentFamily(CHROME_WIN));
    expect(networkOf('203.0.113.7')).toBe('203.0.113.0/24');
    expect(networkOf('203.0.113.250')).toBe(networkOf('203.0.113.7'));
    expect(networkOf('203.0.114.7')).not.toBe(networkOf('203.0.113.7'));
    expect(networkOf('::ffff:203.0.113.7')).toBe('203.0.113.0/24');
    expect(networkOf('2001:db8:1:2::1')).toBe('2001:db8:1::/48');
    expect(networkOf('2001:0db8:0001:ffff::9')).toBe('2001:db8:1::/48');
    expect(networkOf('2001:db8:2::1')).not.toBe(networkOf('2001:db8:1::1'));
    expect(describeDevice(FIREFOX_120)).toBe('Firefox, Linux');
    expect(describeDevice(CHROME_WIN)).toBe('Chrome, Windows');
    expect(describeDevice(null)).toBe('unknown device');
  });
});

describe.skipIf(!hasPostgres)('new-device mail', () => {
  let h: AuthHarness;
  const logLines: string[] = [];
  const notMeTokens: string[] = [];
  beforeAll(async () => {
    h = await startAuth({ log: { level: 'debug' } }, { logger: createLogger('debug', 'auth-service', { write: (l: string) => void logLines.push(l) }) });
  });
  afterAll(async () => {
    await h?.close();
  });

  const login = (email: string, password: string, ua: string) => h.call('POST', '/api/v1/auth/login', { body: { email, password }, headers: { 'user-agent': ua } });
  const newDeviceMails = (email: string) => h.smtp.to(email).filter((m) => /New sign-in/.test(m.subject));
  const events = async (userId: string, event: string) =>
    (await h.database.db.query<{ n: number }>('SELECT count(*)::int AS n FROM security_events WHERE user_id = $1 AND event = $2', [userId, event])).rows[0]!.n;

  it('mails nothing on the first sign-in, nor from a known device after a browser update; stores only a hash', async () => {
    const u = await h.newUser();
    expect((await login(u.email, u.password, FIREFOX_120)).status).toBe(200);
    expect((await login(u.email, u.password, FIREFOX_121)).status).toBe(200);
    await outboxesSettled({ auth: h.database.db });
    expect(newDeviceMails(u.email)).toHaveLength(0);
    expect(await events(u.id, 'new_device_login')).toBe(0);
    const rows = (await h.database.db.query<{ device_hash: Buffer }>('SELECT device_hash FROM known_devices WHERE user_id = $1', [u.id])).rows;
    expect(rows).toHaveLength(1);
    expect(rows[0]!.device_hash).toHaveLength(32);
    expect(rows[0]!.device_hash.toString('latin1')).not.toMatch(/firefox|127\.0\.0/i);
  });

  it('mails the owner from a new device, with a working "this was not me" link', async () => {
    const u = await h.newUser();
    const home = await login(u.email, u.password, FIREFOX_120);
    const away = await login(u.email, u.password, CHROME_WIN);
    expect(away.status).toBe(200);
    const mail = await h.smtp.waitFor((m) => m.to.includes(u.email) && /New sign-in/.test(m.subject));
    expect(mail.text).toContain('Chrome, Windows');
    expect(mail.text).toMatch(/\/api\/v1\/auth\/pages\/not-me\?token=/);
    expect(await events(u.id, 'new_device_login')).toBe(1);

    notMeTokens.push(tokenFrom(mail));
    // The link opens a page (a GET uses nothing up)...
    const link = new URL(/(http\S+not-me\?token=\S+)/.exec(mail.text)![1]!);
    const page = await h.call('GET', `${link.pathname}${link.search}`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    expect(page.text).not.toContain(tokenFrom(mail));

    // ...whose button posts the token: every session ends, a reset link is mailed.
    const res = await h.call('POST', '/api/v1/auth/not-me', { body: { token: tokenFrom(mail) } });
    expect(res.status).toBe(204);
    for (const pair of [home.body, away.body]) {
      expect((await h.call('GET', '/api/v1/users/me', { token: pair.accessToken })).status).toBe(401);
      expect((await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: pair.refreshToken } })).status).toBe(401);
    }
    const reset = await h.smtp.waitFor((m) => m.to.includes(u.email) && /Reset your/.test(m.subject));
    expect(tokenFrom(reset)).toBeTruthy();
    expect(await events(u.id, 'not_me_reported')).toBe(1);

    // Once.
    const again = await h.call('POST', '/api/v1/auth/not-me', { body: { token: tokenFrom(mail) } });
    expect(again.status).toBe(400);
    expect(again.body.code).toBe('invalid_or_expired_token');
    expect(await events(u.id, 'not_me_reported')).toBe(1);
  });

  it('mails again for a device not seen for 90 days, and not for one seen within them', async () => {
    const u = await h.newUser();
    await login(u.email, u.password, FIREFOX_120);
    await login(u.email, u.password, CHROME_WIN);
    await h.smtp.waitFor(() => newDeviceMails(u.email).length === 1);
    await h.database.db.query("UPDATE known_devices SET last_seen_at = now() - interval '89 days' WHERE user_id = $1", [u.id]);
    await login(u.email, u.password, CHROME_WIN);
    await outboxesSettled({ auth: h.database.db });
    expect(newDeviceMails(u.email)).toHaveLength(1);
    await h.database.db.query("UPDATE known_devices SET last_seen_at = now() - interval '91 days' WHERE user_id = $1", [u.id]);
    await login(u.email, u.password, CHROME_WIN);
    await h.smtp.waitFor(() => newDeviceMails(u.email).length === 2);
    expect(await events(u.id, 'new_device_login')).toBe(2);
  });

  it('with MFA on, mails after the code, not at the password', async () => {
    const u = await h.newUser();
    const first = await login(u.email, u.password, FIREFOX_120);
    const enrol = await h.call('POST', '/api/v1/users/me/mfa/totp', { token: first.body.accessToken });
    const secret = enrol.body.secret as string;
    // Not in the last seconds of a 30 s step, so the previous step's code is still within the window when checked.
    if (Date.now() % 30_000 > 25_000) await new Promise((r) => setTimeout(r, 30_000 - (Date.now() % 30_000) + 200));
    await h.call('POST', `/api/v1/users/me/mfa/totp/${enrol.body.factorId}/activate`, { token: first.body.accessToken, body: { code: codeAt(secret, Date.now() - 30_000) } });
    const challenge = await login(u.email, u.password, CHROME_WIN);
    expect(challenge.body.mfaRequired).toBe(true);
    await outboxesSettled({ auth: h.database.db });
    expect(newDeviceMails(u.email)).toHaveLength(0);
    const done = await h.call('POST', '/api/v1/auth/mfa/verify', { body: { mfaToken: challenge.body.mfaToken, method: 'totp', code: codeAt(secret, Date.now() + 30_000) }, headers: { 'user-agent': CHROME_WIN } });
    expect(done.status, done.text).toBe(200);
    await h.smtp.waitFor(() => newDeviceMails(u.email).length === 1);
  });

  it('a wrong or malformed "not me" token is 400 and ends nothing', async () => {
    const u = await h.newUser();
    const t = await login(u.email, u.password, FIREFOX_120);
    for (const body of [{ token: 'A'.repeat(43) }, { token: 'x' }, { token: 'bad token!' }, {}]) {
      const r = await h.call('POST', '/api/v1/auth/not-me', { body });
      expect(r.status).toBe(400);
    }
    expect((await h.call('GET', '/api/v1/users/me', { token: t.body.accessToken })).status).toBe(200);
    expect(await events(u.id, 'not_me_reported')).toBe(0);
  });

  it('never logs a "this was not me" token, even from the page URL', () => {
    expect(notMeTokens).toHaveLength(1);
    expect(logLines.join('\n')).toContain('/api/v1/auth/pages/not-me');
    for (const t of notMeTokens) expect(logLines.join('\n')).not.toContain(t);
  });
});
