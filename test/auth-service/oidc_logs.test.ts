/**
 * Signing in with a provider logs none of its secrets: the provider's authorization code, state,
 * nonce, PKCE verifier, the client secret, our one-time code, the tokens (issue 19; like
 * test/shared/log_lines.test.ts for the other flows).
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAuthApp, type AuthApp } from '../../internal/auth-service/app.js';
import { createLogger } from '../../internal/shared/utils/logging.js';
import { hasPostgres, hasRedis, REDIS_URL, redisTestPrefix } from '../helpers/services.js';
import { testAuthConfig } from '../helpers/auth_app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { TEST_CLIENT, startProvider, walkProvider, type TestProvider } from '../helpers/oidc.js';

const PUBLIC_URL = 'http://auth.test';
const RETURN = 'http://app.test/back';

describe.skipIf(!hasPostgres)('OIDC log lines', () => {
  const lines: string[] = [];
  let database: TestDatabase;
  let auth: AuthApp;
  let idp: TestProvider;

  beforeAll(async () => {
    idp = await startProvider([`${PUBLIC_URL}/api/v1/auth/oidc/dev/callback`]);
    database = await createTestDatabase('auth-service');
    const config = testAuthConfig({
      publicUrl: PUBLIC_URL,
      appUrl: 'http://app.test',
      database: { url: database.url, migrateOnStart: false },
      redis: { url: hasRedis ? REDIS_URL : '', keyPrefix: redisTestPrefix('oidc-logs') },
      mail: { workerEnabled: false },
      // debug: the most the service ever writes.
      log: { level: 'debug' },
      oidc: {
        allowInsecure: true,
        providers: [
          { id: 'dev', name: 'Dev', issuer: idp.issuer, ...TEST_CLIENT },
          { id: 'down', name: 'Down', issuer: 'http://127.0.0.1:9', ...TEST_CLIENT },
        ],
      },
    });
    auth = await buildAuthApp(config, { logger: createLogger('debug', 'auth-service', { write: (l: string) => void lines.push(l) }) });
    await auth.app.ready();
  }, 30_000);
  afterAll(async () => {
    await auth?.app.close();
    await database?.drop();
    await idp?.stop();
  });

  async function flow(login: string, tamperNonce = false) {
    const start = await auth.app.inject({ method: 'GET', url: `/api/v1/auth/oidc/dev/start?redirectTo=${encodeURIComponent(RETURN)}` });
    expect(start.statusCode).toBe(302);
    const location = new URL(String(start.headers.location));
    const cookie = String(start.headers['set-cookie']).split(';')[0]!;
    if (tamperNonce) {
      const key = `oidc:state:${createHash('sha256').update(location.searchParams.get('state')!).digest('base64url')}`;
      await auth.store.set(key, JSON.stringify({ ...JSON.parse((await auth.store.get(key))!), nonce: 'tampered-nonce-0123456789' }), 60_000);
    }
    const back = new URL(await walkProvider(location.toString(), login));
    const cb = await auth.app.inject({ method: 'GET', url: back.pathname + back.search, headers: { cookie } });
    expect(cb.statusCode).toBe(302);
    return {
      secrets: [location.searchParams.get('state')!, location.searchParams.get('nonce')!, location.searchParams.get('code_challenge')!, back.searchParams.get('code')!, cookie.split('=')[1]!],
      result: new URL(String(cb.headers.location)).searchParams,
    };
  }

  it('a sign-in, its failures and the exchange log no code, state, nonce, secret or token', async () => {
    const sub = `acct-${randomBytes(4).toString('hex')}`;
    idp.accounts.set(sub, { email: `${sub}@idp.example.com`, email_verified: true });
    const ok = await flow(sub);
    const code = ok.result.get('code')!;
    expect(code).toBeTruthy();
    const exchange = await auth.app.inject({ method: 'POST', url: '/api/v1/auth/oidc/exchange', payload: { code } });
    expect(exchange.statusCode).toBe(200);
    const { accessToken, refreshToken } = exchange.json() as { accessToken: string; refreshToken: string };
    const replay = await auth.app.inject({ method: 'POST', url: '/api/v1/auth/oidc/exchange', payload: { code } });
    expect(replay.statusCode).toBe(400);

    const bad = await flow(sub, true);
    expect(bad.result.get('error')).toBe('invalid_response');
    const down = await auth.app.inject({ method: 'GET', url: `/api/v1/auth/oidc/down/start?redirectTo=${encodeURIComponent(RETURN)}` });
    expect(down.statusCode).toBe(503);

    const log = lines.join('\n');
    // The failures were logged (so the check below looks at lines that could have held a secret).
    expect(log).toContain('identity provider answer refused');
    expect(log).toContain('identity provider unavailable');
    expect(log).toContain('/api/v1/auth/oidc/dev/callback?');
    for (const secret of [...ok.secrets, ...bad.secrets, code, accessToken, refreshToken, TEST_CLIENT.clientSecret]) {
      expect(log, secret).not.toContain(secret);
    }
    // No JWT at all (ID tokens, access tokens).
    expect(log).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/);
  });
});
