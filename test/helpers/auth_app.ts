/**
 * auth-service as the tests run it: the real app on a fresh PostgreSQL database, Redis (own key
 * prefix), an SMTP server started by the test, cheap password hashing, and every answer checked
 * against the served OpenAPI document.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { buildAuthApp, type AuthApp } from '../../internal/auth-service/app.js';
import { loadAuthConfig, type AuthConfig } from '../../internal/auth-service/config.js';
import { PasswordHasher } from '../../internal/auth-service/services/password_hasher.js';
import { newId } from '../../internal/shared/utils/ids.js';
import { createLogger } from '../../internal/shared/utils/logging.js';
import { createTestDatabase, type TestDatabase } from './pg.js';
import { ResponseChecker, caller, type CallOptions, type CallResult } from './openapi.js';
import { REDIS_URL, hasRedis, redisTestPrefix } from './services.js';
import { TestSmtp } from './smtp.js';

export const CHEAP_HASH = { memoryCostKiB: 1024, timeCost: 1, parallelism: 1 };
export const SERVICE_CLIENT = { id: 'course-service', secret: 'test-course-service-secret-0123456789' };

export type { CallOptions, CallResult };

let counter = 0;

export interface AuthHarness extends AuthApp {
  config: AuthConfig;
  database: TestDatabase;
  smtp: TestSmtp;
  checker: ResponseChecker;
  call<T = any>(method: string, url: string, options?: CallOptions): Promise<CallResult<T>>;
  newUser(options?: { role?: 'student' | 'instructor' | 'admin'; verified?: boolean; locale?: 'en' | 'ru'; disabled?: boolean }): Promise<{ id: string; email: string; password: string; displayName: string }>;
  login(email: string, password: string): Promise<{ accessToken: string; refreshToken: string; user: { id: string } }>;
  close(): Promise<void>;
}

export function testAuthConfig(overrides: Record<string, unknown>): AuthConfig {
  return loadAuthConfig({
    env: {},
    overrides: {
      varDir: mkdtempSync(join(tmpdir(), 'auth-test-')),
      log: { level: process.env.TEST_LOG_LEVEL ?? 'silent' },
      passwords: CHEAP_HASH,
      auth: { verificationResendIntervalSec: 0 },
      mail: { pollIntervalMs: 30, backoffBaseMs: 30, backoffMaxMs: 200, leaseMs: 2000 },
      clients: [SERVICE_CLIENT],
      ...overrides,
    },
  });
}

/** `existing.logger` replaces the harness's logger (a test that reads the log lines). */
export async function startAuth(
  overrides: Record<string, unknown> = {},
  existing?: { database?: TestDatabase; smtp?: TestSmtp; logger?: ReturnType<typeof createLogger> },
): Promise<AuthHarness> {
  const database = existing?.database ?? (await createTestDatabase('auth-service'));
  const smtp = existing?.smtp ?? (await new TestSmtp().start());
  const config = testAuthConfig({
    database: { url: database.url, migrateOnStart: false },
    redis: { url: hasRedis ? REDIS_URL : '', keyPrefix: redisTestPrefix('auth') },
    mail: { smtpUrl: smtp.url, pollIntervalMs: 30, backoffBaseMs: 30, backoffMaxMs: 200, leaseMs: 2000 },
    ...overrides,
  });
  const built = await buildAuthApp(config, { logger: existing?.logger ?? createLogger(config.log.level, 'auth-service') });
  await built.app.ready();
  const checker = new ResponseChecker(built.app.swagger() as never);
  const hasher = new PasswordHasher(CHEAP_HASH);

  const call = caller(built.app, checker);

  return {
    ...built,
    config,
    database,
    smtp,
    checker,
    call,
    async newUser(options = {}) {
      const n = ++counter;
      const user = {
        id: newId(),
        email: `user${n}-${randomBytes(3).toString('hex')}@example.com`,
        password: `pass-${randomBytes(6).toString('hex')}`,
        displayName: `User ${n}`,
      };
      await database.db.query(
        `INSERT INTO users (id, email, password_hash, display_name, role, locale, email_verified_at, disabled_at)
         VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $7 THEN now() END, CASE WHEN $8 THEN now() END)`,
        [user.id, user.email, await hasher.hash(user.password), user.displayName, options.role ?? 'student', options.locale ?? 'en', options.verified ?? true, options.disabled ?? false],
      );
      return user;
    },
    async login(email, password) {
      const res = await call<{ accessToken: string; refreshToken: string; user: { id: string } }>('POST', '/api/v1/auth/login', { body: { email, password } });
      if (res.status !== 200) throw new Error(`login failed: ${res.status} ${res.text}`);
      return res.body;
    },
    async close() {
      await built.app.close();
      if (!existing?.smtp) await smtp.stop();
      if (!existing?.database) await database.drop();
      // The folder this harness made (a varDir the test passed in is the test's to remove).
      if (overrides.varDir === undefined) rmSync(config.varDir, { recursive: true, force: true });
    },
  };
}
