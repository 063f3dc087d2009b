/**
 * Embedded mode (no settings): PGlite under varDir, memory rate limits, mail as .eml files, a signing key
 * made on first start. The same register -> verify -> login flow as on PostgreSQL, once.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAuthApp, type AuthApp } from '../../internal/auth-service/app.js';
import type { AuthConfig } from '../../internal/auth-service/config.js';
import { testAuthConfig } from '../helpers/auth_app.js';
import { ResponseChecker } from '../helpers/openapi.js';

const PASSWORD = 'an embedded passphrase';

describe('embedded mode (PGlite, .eml mail)', () => {
  let varDir: string;
  let config: AuthConfig;
  let built: AuthApp | undefined;
  let checker: ResponseChecker;

  async function start(): Promise<void> {
    built = await buildAuthApp(config);
    await built.app.ready();
    checker = new ResponseChecker(built.app.swagger() as never);
  }

  async function call(method: 'GET' | 'POST', url: string, body?: object) {
    const res = await built!.app.inject({ method, url, ...(body ? { payload: body } : {}) });
    checker.check(method, url, res);
    return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined };
  }

  async function waitForMail(to: string, timeoutMs = 10_000) {
    const dir = join(varDir, 'mail');
    const end = Date.now() + timeoutMs;
    for (;;) {
      const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.eml')) : [];
      for (const f of files) {
        const mail = await simpleParser(readFileSync(join(dir, f)));
        const addresses = Array.isArray(mail.to) ? mail.to.map((a) => a.text).join(',') : (mail.to?.text ?? '');
        if (addresses.includes(to)) return mail;
      }
      if (Date.now() > end) throw new Error(`No .eml for ${to} in ${dir} (have ${files.join(', ')})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  beforeAll(async () => {
    varDir = mkdtempSync(join(tmpdir(), 'auth-embedded-'));
    config = testAuthConfig({ varDir, database: { url: '' }, redis: { url: '' }, mail: { smtpUrl: '', pollIntervalMs: 30 } });
    await start();
  }, 60_000);
  afterAll(async () => {
    await built?.app.close();
    rmSync(varDir, { recursive: true, force: true });
  });

  it('runs on PGlite with memory rate limits and a key created under varDir', async () => {
    expect(built!.db.kind).toBe('pglite');
    expect(built!.store.kind).toBe('memory');
    expect(existsSync(join(varDir, 'auth-service', 'pgdata'))).toBe(true);
    expect(readdirSync(join(varDir, 'auth-service', 'keys')).filter((f) => f.endsWith('.pem'))).toHaveLength(1);
    const ready = await call('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ok', checks: { database: 'ok' } });
  });

  it('registers, verifies from the .eml file, logs in and refreshes', async () => {
    expect((await call('POST', '/api/v1/auth/register', { email: 'Embedded@Example.com', password: PASSWORD, displayName: 'Emma' })).status).toBe(202);
    const early = await call('POST', '/api/v1/auth/login', { email: 'embedded@example.com', password: PASSWORD });
    expect(early.status).toBe(403);
    expect(early.body.code).toBe('email_not_verified');

    const mail = await waitForMail('embedded@example.com');
    expect(mail.subject).toMatch(/confirm/i);
    const token = /[?&]token=([A-Za-z0-9_-]+)/.exec(mail.text ?? '')?.[1];
    expect(token).toBeDefined();
    const verified = await call('POST', '/api/v1/auth/verify-email', { token });
    expect(verified.status).toBe(200);
    expect(verified.body.emailVerified).toBe(true);

    const login = await call('POST', '/api/v1/auth/login', { email: 'embedded@example.com', password: PASSWORD });
    expect(login.status).toBe(200);
    expect(decodeProtectedHeader(login.body.accessToken).kid).toBe(built!.keys.active.kid);
    const refreshed = await call('POST', '/api/v1/auth/refresh', { refreshToken: login.body.refreshToken });
    expect(refreshed.status).toBe(200);
    // A taken address answers the same and mails its owner.
    expect((await call('POST', '/api/v1/auth/register', { email: 'embedded@example.com', password: PASSWORD, displayName: 'Again' })).status).toBe(202);
  });

  it('keeps data, signing key and refresh secret across a restart', async () => {
    const kid = built!.keys.active.kid;
    const login = await call('POST', '/api/v1/auth/login', { email: 'embedded@example.com', password: PASSWORD });
    expect(login.status).toBe(200);
    await built!.app.close();
    built = undefined;

    await start();
    expect(built!.keys.active.kid).toBe(kid);
    const me = await built!.app.inject({ method: 'GET', url: '/api/v1/users/me', headers: { authorization: `Bearer ${login.body.accessToken}` } });
    checker.check('GET', '/api/v1/users/me', me);
    expect(me.statusCode).toBe(200);
    expect((await call('POST', '/api/v1/auth/refresh', { refreshToken: login.body.refreshToken })).status).toBe(200);
  }, 60_000);
});
