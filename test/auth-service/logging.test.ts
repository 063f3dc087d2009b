/**
 * No secrets in logs: the whole account story runs with an info-level logger whose output is kept,
 * and none of the passwords, tokens or client secrets it handled may appear in that output.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAuthApp, type AuthApp } from '../../internal/auth-service/app.js';
import { createLogger } from '../../internal/shared/utils/logging.js';
import { hasPostgres, hasRedis, REDIS_URL, redisTestPrefix } from '../helpers/services.js';
import { SERVICE_CLIENT, testAuthConfig } from '../helpers/auth_app.js';
import { ResponseChecker } from '../helpers/openapi.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { TestSmtp, tokenFrom } from '../helpers/smtp.js';

describe.skipIf(!hasPostgres)('logging', () => {
  const lines: string[] = [];
  const stream = { write: (line: string) => void lines.push(line) };
  let database: TestDatabase;
  let smtp: TestSmtp;
  let built: AuthApp;
  let checker: ResponseChecker;

  beforeAll(async () => {
    database = await createTestDatabase('auth-service');
    smtp = await new TestSmtp().start();
    const config = testAuthConfig({
      database: { url: database.url, migrateOnStart: false },
      redis: { url: hasRedis ? REDIS_URL : '', keyPrefix: redisTestPrefix('auth') },
      mail: { smtpUrl: smtp.url, pollIntervalMs: 30 },
      log: { level: 'info' },
    });
    built = await buildAuthApp(config, { logger: createLogger('info', 'auth-service', stream) });
    await built.app.ready();
    checker = new ResponseChecker(built.app.swagger() as never);
  });
  afterAll(async () => {
    await built?.app.close();
    await smtp?.stop();
    await database?.drop();
  });

  async function call(method: 'GET' | 'POST', url: string, options: { body?: object | string; token?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let payload: string | object | undefined = options.body;
    if (options.form) {
      payload = new URLSearchParams(options.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    const res = await built.app.inject({ method, url, headers, ...(payload !== undefined ? { payload } : {}) });
    checker.check(method, url, res);
    return { status: res.statusCode, body: res.body && String(res.headers['content-type']).includes('json') ? JSON.parse(res.body) : res.body };
  }

  it('logs requests but none of the passwords, refresh/access tokens, one-time tokens or client secrets', async () => {
    const email = 'logged@example.com';
    const secrets: Record<string, string> = {
      password: 'first secret passphrase',
      newPassword: 'second secret passphrase',
      resetPassword: 'third secret passphrase',
      wrongPassword: 'wrong secret passphrase',
    };

    expect((await call('POST', '/api/v1/auth/register', { body: { email, password: secrets.password!, displayName: 'Logan' } })).status).toBe(202);
    const verifyToken = tokenFrom(await smtp.waitFor((m) => m.to.includes(email)));
    secrets.verifyToken = verifyToken;
    // The page link as a browser opens it: the token sits in the URL that the request log records.
    expect((await call('GET', `/api/v1/auth/pages/verify-email?token=${verifyToken}`)).status).toBe(200);
    expect((await call('POST', '/api/v1/auth/verify-email', { body: { token: verifyToken } })).status).toBe(200);

    expect((await call('POST', '/api/v1/auth/login', { body: { email, password: secrets.wrongPassword! } })).status).toBe(401);
    const login = await call('POST', '/api/v1/auth/login', { body: { email, password: secrets.password! } });
    expect(login.status).toBe(200);
    secrets.accessToken = login.body.accessToken;
    secrets.refreshToken = login.body.refreshToken;
    const refreshed = await call('POST', '/api/v1/auth/refresh', { body: { refreshToken: login.body.refreshToken } });
    expect(refreshed.status).toBe(200);
    secrets.accessToken2 = refreshed.body.accessToken;
    secrets.refreshToken2 = refreshed.body.refreshToken;
    // A reused token is refused and logged as a refusal, without the token.
    expect((await call('POST', '/api/v1/auth/refresh', { body: { refreshToken: 'x'.repeat(20) } })).status).toBe(401);

    expect((await call('GET', '/api/v1/users/me', { token: refreshed.body.accessToken })).status).toBe(200);
    expect((await call('POST', '/api/v1/auth/password/change', { token: refreshed.body.accessToken, body: { currentPassword: secrets.password!, newPassword: secrets.newPassword! } })).status).toBe(204);

    expect((await call('POST', '/api/v1/auth/password/forgot', { body: { email } })).status).toBe(202);
    const resetToken = tokenFrom(await smtp.waitFor((m) => m.to.includes(email) && /reset/i.test(m.subject)));
    secrets.resetToken = resetToken;
    expect((await call('GET', `/api/v1/auth/pages/reset-password?token=${resetToken}&utm=x`)).status).toBe(200);
    expect((await call('POST', '/api/v1/auth/password/reset', { body: { token: resetToken, password: secrets.resetPassword! } })).status).toBe(204);

    const service = await call('POST', '/api/v1/auth/token', { form: { grant_type: 'client_credentials', client_id: SERVICE_CLIENT.id, client_secret: SERVICE_CLIENT.secret } });
    expect(service.status).toBe(200);
    secrets.clientSecret = SERVICE_CLIENT.secret;
    secrets.serviceToken = service.body.access_token;
    const badSecret = 'a-wrong-client-secret-987654321';
    secrets.badSecret = badSecret;
    expect((await call('POST', '/api/v1/auth/token', { body: { grant_type: 'client_credentials', client_id: SERVICE_CLIENT.id, client_secret: badSecret } })).status).toBe(401);

    // Refused bodies are not echoed into the log either.
    const leaky = 'password-in-a-broken-body';
    secrets.leaky = leaky;
    expect((await call('POST', '/api/v1/auth/login', { body: `{"email":"${email}","password":"${leaky}"`, headers: { 'content-type': 'application/json' } })).status).toBe(400);

    // Account deletion: the request, the cancel link's page (the token in a URL) and the cancel (in a body).
    const again = await call('POST', '/api/v1/auth/login', { body: { email, password: secrets.resetPassword! } });
    expect(again.status).toBe(200);
    secrets.accessToken3 = again.body.accessToken;
    secrets.refreshToken3 = again.body.refreshToken;
    expect((await call('POST', '/api/v1/users/me/deletion', { token: again.body.accessToken, body: {} })).status).toBe(202);
    const cancelToken = tokenFrom(await smtp.waitFor((m) => m.to.includes(email) && /deleted/i.test(m.subject)));
    secrets.cancelToken = cancelToken;
    expect((await call('GET', `/api/v1/auth/pages/cancel-deletion?token=${cancelToken}`)).status).toBe(200);
    expect((await call('POST', '/api/v1/auth/deletion/cancel', { body: { token: cancelToken } })).status).toBe(204);

    // Let the worker send (and log) the queued mails.
    await smtp.waitFor((m) => m.to.includes(email) && /changed/i.test(m.subject));
    await new Promise((r) => setTimeout(r, 200));

    const log = lines.join('');
    const entries = lines.map((l) => JSON.parse(l) as { msg?: string; reqId?: string; req?: { url?: string }; level?: string });
    // The log is real: requests, refusals and mail deliveries are there, with request ids.
    expect(entries.filter((e) => e.msg === 'request completed').length).toBeGreaterThanOrEqual(15);
    expect(entries.some((e) => e.msg === 'request refused')).toBe(true);
    expect(entries.some((e) => e.msg === 'mail sent')).toBe(true);
    expect(entries.filter((e) => e.msg === 'incoming request').every((e) => typeof e.reqId === 'string')).toBe(true);
    const pageUrls = entries.map((e) => e.req?.url).filter((u): u is string => !!u && u.includes('/pages/'));
    expect(pageUrls.length).toBeGreaterThanOrEqual(3);
    for (const url of pageUrls) expect(url).toContain('token=[REDACTED]');

    for (const [name, value] of Object.entries(secrets)) {
      expect(log.includes(value), `${name} appears in the log`).toBe(false);
      // Also no recognisable piece of a token (e.g. a JWT's signature or a refresh token's MAC).
      if (value.length > 40) expect(log.includes(value.slice(-24)), `the end of ${name} appears in the log`).toBe(false);
    }
  });
});
