/**
 * No e-mail change link token reaches the logs: the request, both confirmations, a replay and a cancel
 * run with the access log on, and no line holds a token from the mails.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAuthApp, type AuthApp } from '../../internal/auth-service/app.js';
import { createLogger } from '../../internal/shared/utils/logging.js';
import { newId } from '../../internal/shared/utils/ids.js';
import { PasswordHasher } from '../../internal/auth-service/services/password_hasher.js';
import { hasPostgres, hasRedis, REDIS_URL } from '../helpers/services.js';
import { CHEAP_HASH, testAuthConfig } from '../helpers/auth_app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { TestSmtp, tokenFrom } from '../helpers/smtp.js';

describe.skipIf(!hasPostgres)('e-mail change: nothing secret in the logs', () => {
  const lines: string[] = [];
  let database: TestDatabase;
  let smtp: TestSmtp;
  let auth: AuthApp;
  let varDir: string;

  beforeAll(async () => {
    database = await createTestDatabase('auth-service');
    smtp = await new TestSmtp().start();
    const config = testAuthConfig({
      database: { url: database.url, migrateOnStart: false },
      redis: { url: hasRedis ? REDIS_URL : '', keyPrefix: `test:${randomBytes(4).toString('hex')}:` },
      mail: { smtpUrl: smtp.url, pollIntervalMs: 30, backoffBaseMs: 30, backoffMaxMs: 200, leaseMs: 2000 },
      log: { level: 'debug' },
    });
    varDir = config.varDir;
    auth = await buildAuthApp(config, { logger: createLogger('debug', 'auth-service', { write: (l: string) => void lines.push(l) }) });
    await auth.app.ready();
  });
  afterAll(async () => {
    await auth?.app.close();
    await smtp?.stop();
    await database?.drop();
    if (varDir) rmSync(varDir, { recursive: true, force: true });
  });

  it('logs requests of every step without a token, password or the new address', async () => {
    const email = `logs-${randomBytes(4).toString('hex')}@example.com`;
    const password = `pass-${randomBytes(6).toString('hex')}`;
    await database.db.query(
      `INSERT INTO users (id, email, password_hash, display_name, email_verified_at) VALUES ($1, $2, $3, 'Logged', now())`,
      [newId(), email, await new PasswordHasher(CHEAP_HASH).hash(password)],
    );
    const post = (url: string, payload: unknown, token?: string) =>
      auth.app.inject({ method: 'POST', url, payload: payload as object, headers: token ? { authorization: `Bearer ${token}` } : {} });
    const login = await post('/api/v1/auth/login', { email, password });
    const { accessToken } = login.json() as { accessToken: string };
    const newEmail = `logs-new-${randomBytes(4).toString('hex')}@example.com`;
    expect((await post('/api/v1/users/me/email', { newEmail }, accessToken)).statusCode).toBe(202);
    await auth.emailChange.settled();
    const toNew = await smtp.waitFor((m) => m.to.includes(newEmail));
    const toOld = await smtp.waitFor((m) => m.to.includes(email) && /Approve/.test(m.subject));
    const cancel = /email-change-cancel\?token=([A-Za-z0-9_-]+)/.exec(toOld.text)![1]!;
    const tokens = [tokenFrom(toNew), tokenFrom(toOld), cancel];
    expect((await post('/api/v1/auth/email-change/confirm', { token: tokens[0] })).statusCode).toBe(200);
    expect((await post('/api/v1/auth/email-change/confirm', { token: tokens[0] })).statusCode).toBe(400);
    expect((await post('/api/v1/auth/email-change/confirm', { token: tokens[1] })).statusCode).toBe(200);
    expect((await post('/api/v1/auth/email-change/cancel', { token: cancel })).statusCode).toBe(400);
    await auth.app.inject({ method: 'GET', url: `/api/v1/auth/pages/email-change?token=${tokens[1]}` });

    const log = lines.join('\n');
    expect(lines.length).toBeGreaterThan(5);
    expect(log).toContain('/api/v1/auth/email-change/confirm');
    for (const secret of [...tokens, password, accessToken, newEmail]) expect(log).not.toContain(secret);
  });
});
