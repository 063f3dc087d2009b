/**
 * course-service as the tests run it: the real app on a fresh PostgreSQL database (or one shared by
 * several "replicas"), Redis with its own key prefix, tokens verified against a JWKS over HTTP, and
 * every answer checked against the served OpenAPI document.
 *
 * `startPlatform()` adds the real auth-service, listening on a port, whose JWKS course-service reads
 * and whose logins give the tokens (`platform.user({role: 'instructor'})`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCourseApp, type CourseApp } from '../../internal/course-service/app.js';
import { loadCourseConfig, type CourseConfig } from '../../internal/course-service/config.js';
import type { TokenVerifier } from '../../internal/shared/utils/jwt.js';
import { createLogger, type Logger } from '../../internal/shared/utils/logging.js';
import { createTestDatabase, type TestDatabase } from './pg.js';
import { ResponseChecker, caller } from './openapi.js';
import { REDIS_URL, hasRedis, redisTestPrefix } from './services.js';
import { SERVICE_CLIENT, startAuth, type AuthHarness, type CallOptions, type CallResult } from './auth_app.js';

export type { CallOptions, CallResult };

export interface StartCourseOptions {
  /** JWKS of the token issuer (e.g. `${authAddress}/.well-known/jwks.json`). */
  jwksUrl?: string;
  /** Replaces JWKS verification altogether. */
  verifier?: TokenVerifier;
  /** Share a database between apps (replicas); by default each harness makes and drops its own. */
  database?: TestDatabase;
  /** Share the cache between apps (replicas): the same Redis key prefix. */
  redisPrefix?: string;
  /** Settings on top of the test defaults (deep-merged). */
  overrides?: Record<string, unknown>;
  logger?: Logger;
}

export interface CourseHarness extends CourseApp {
  config: CourseConfig;
  database: TestDatabase;
  checker: ResponseChecker;
  redisPrefix: string;
  call<T = any>(method: string, url: string, options?: CallOptions): Promise<CallResult<T>>;
  close(): Promise<void>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key];
    out[key] = isPlainObject(value) && isPlainObject(prev) ? merge(prev, value) : value;
  }
  return out;
}

export function testCourseConfig(overrides: Record<string, unknown>): CourseConfig {
  return loadCourseConfig({
    env: {},
    overrides: merge(
      {
        varDir: mkdtempSync(join(tmpdir(), 'course-test-')),
        log: { level: process.env.TEST_LOG_LEVEL ?? 'silent' },
        // The outbox relay is another component's test subject; tests that want it switch it on.
        relay: { enabled: false },
      },
      overrides,
    ),
  });
}

export async function startCourse(options: StartCourseOptions = {}): Promise<CourseHarness> {
  const database = options.database ?? (await createTestDatabase('course-service'));
  const redisPrefix = options.redisPrefix ?? redisTestPrefix('course');
  const config = testCourseConfig(
    merge(
      {
        database: { url: database.url, migrateOnStart: false, poolSize: 20 },
        redis: { url: hasRedis ? REDIS_URL : '', keyPrefix: redisPrefix },
        auth: { jwksUrl: options.jwksUrl ?? '', jwksCooldownMs: 0 },
      },
      options.overrides ?? {},
    ),
  );
  const built = await buildCourseApp(config, {
    logger: options.logger ?? createLogger(config.log.level, 'course-service'),
    ...(options.verifier ? { verifier: options.verifier } : {}),
  });
  await built.app.ready();
  const checker = new ResponseChecker(built.app.swagger() as never);

  const call = caller(built.app, checker);

  return {
    ...built,
    config,
    database,
    checker,
    redisPrefix,
    call,
    async close() {
      await built.app.close();
      if (!options.database) await database.drop();
      // The folder this harness made (a varDir the test passed in is the test's to remove).
      if (options.overrides?.varDir === undefined) rmSync(config.varDir, { recursive: true, force: true });
    },
  };
}

export interface PlatformUser {
  id: string;
  email: string;
  displayName: string;
  token: string;
}

export interface Platform {
  auth: AuthHarness;
  /** Where auth-service listens (http://127.0.0.1:<port>). */
  authUrl: string;
  jwksUrl: string;
  course: CourseHarness;
  /** A user made in auth-service and logged in through its API: the token is a real access token. */
  user(options?: { role?: 'student' | 'instructor' | 'admin'; verified?: boolean }): Promise<PlatformUser>;
  /** Another course-service app (a replica) on the same database and Redis prefix. */
  replica(overrides?: Record<string, unknown>): Promise<CourseHarness>;
  close(): Promise<void>;
}

/**
 * The real auth-service (listening; unverified users may log in, so their tokens say
 * `emailVerified: false`) and course-service verifying its tokens through the JWKS over HTTP.
 */
export async function startPlatform(options: { course?: Omit<StartCourseOptions, 'jwksUrl'>; auth?: Record<string, unknown> } = {}): Promise<Platform> {
  const auth = await startAuth(merge({ auth: { requireEmailVerification: false, verificationResendIntervalSec: 0 } }, options.auth ?? {}));
  const authUrl = await auth.app.listen({ port: 0, host: '127.0.0.1' });
  const jwksUrl = `${authUrl}/.well-known/jwks.json`;
  const relayAuth = { url: authUrl, clientId: SERVICE_CLIENT.id, clientSecret: SERVICE_CLIENT.secret };
  const course = await startCourse({
    ...options.course,
    jwksUrl,
    overrides: merge({ auth: relayAuth }, options.course?.overrides ?? {}),
  });
  const replicas: CourseHarness[] = [];

  return {
    auth,
    authUrl,
    jwksUrl,
    course,
    async user(userOptions = {}) {
      const user = await auth.newUser({ role: userOptions.role ?? 'student', verified: userOptions.verified ?? true });
      const login = await auth.login(user.email, user.password);
      return { id: user.id, email: user.email, displayName: user.displayName, token: login.accessToken };
    },
    async replica(overrides = {}) {
      const replica = await startCourse({
        jwksUrl,
        database: course.database,
        redisPrefix: course.redisPrefix,
        overrides: merge({ auth: relayAuth }, overrides),
      });
      replicas.push(replica);
      return replica;
    },
    async close() {
      for (const r of replicas) await r.close();
      await course.close();
      await auth.close();
    },
  };
}
