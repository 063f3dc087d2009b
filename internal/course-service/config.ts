/** course-service settings: the schema (with defaults), the environment bindings, and the loader. */
import { join } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { DatabaseSettings, HttpSettings, LogSettings, RedisSettings, SHARED_ENV, loadConfig, type EnvBinding, type LoadConfigOptions } from '../shared/utils/config.js';
import { PROJECT_ROOT } from '../shared/utils/paths.js';

export const CourseSettings = Type.Object({
  varDir: Type.String({ default: 'var', description: 'Where embedded data lives' }),
  publicUrl: Type.String({ default: 'http://localhost:8082', description: 'Base URL of course-service as clients see it' }),
  http: Type.Object({ ...HttpSettings.properties, port: Type.Integer({ minimum: 0, maximum: 65535, default: 8082, description: 'TCP port' }) }, { default: {} }),
  database: Type.Object(DatabaseSettings.properties, { default: {} }),
  redis: Type.Object(RedisSettings.properties, { default: {} }),
  log: Type.Object(LogSettings.properties, { default: {} }),
  auth: Type.Object({
    url: Type.String({ default: 'http://localhost:8081', description: 'Base URL of auth-service (JWKS, tokens, notifications)' }),
    jwksUrl: Type.String({ default: '', description: 'JWKS URL; empty = <auth.url>/.well-known/jwks.json' }),
    issuer: Type.String({ default: 'course-platform-auth', description: 'Expected access-token `iss`' }),
    audience: Type.String({ default: 'course-platform', description: 'Expected access-token `aud`' }),
    jwksCooldownMs: Type.Integer({ minimum: 0, default: 30_000, description: 'Least time between JWKS refetches on an unknown kid' }),
    clientId: Type.String({ default: 'course-service', description: 'client_credentials id of this service' }),
    clientSecret: Type.String({ default: '', description: 'client_credentials secret; empty disables review mails' }),
  }, { default: {} }),
  cache: Type.Object({
    enabled: Type.Boolean({ default: true, description: 'Cache public GET answers' }),
    courseTtlMs: Type.Integer({ minimum: 1, default: 60_000, description: 'One course' }),
    listTtlMs: Type.Integer({ minimum: 1, default: 30_000, description: 'Course lists and searches' }),
    reviewsTtlMs: Type.Integer({ minimum: 1, default: 30_000, description: 'Review lists' }),
    categoriesTtlMs: Type.Integer({ minimum: 1, default: 60_000, description: 'Categories with counts' }),
    storeRetryMs: Type.Integer({ minimum: 0, default: 1000, description: 'While Redis fails, requests skip it this long before one tries again' }),
    nearMaxBytes: Type.Integer({
      minimum: 0,
      default: 16 * 1024 * 1024,
      description:
        'Bytes of cached answers kept in this process, ready to send (hits without a round trip or a promise; with Redis a copy ' +
        'of its entries, without Redis beside the memory store); 0 turns it off',
    }),
    nearTrustMs: Type.Integer({
      minimum: 1,
      default: 1000,
      description:
        'How long this process trusts a cache version it read before reading it again (with Redis bumps arrive by pub/sub, and ' +
        'this bounds staleness if that channel silently stalls; without Redis every bump is this process\'s own)',
    }),
  }, { default: {} }),
  reviews: Type.Object({
    requireEnrolment: Type.Boolean({
      default: true,
      description: 'Only active learners of a course may review it (403 `enrolment_required`); a learner who left keeps their review',
    }),
  }, { default: {} }),
  revocations: Type.Object({
    enabled: Type.Boolean({
      default: true,
      description: 'Refuse tokens of ended sessions and disabled or deleted accounts (needs auth.clientSecret; README "Revocation")',
    }),
    pollIntervalMs: Type.Integer({
      minimum: 50,
      default: 500,
      description: 'How often the revocation feed is read from auth-service (both modes; with Redis new entries come at once anyway)',
    }),
    channel: Type.String({
      minLength: 1,
      default: 'course-platform:revocations',
      description: 'With Redis: pub/sub channel on which auth-service announces new revocations (the same in both services)',
    }),
    startWaitMs: Type.Integer({ minimum: 0, default: 3000, description: 'At start, how long to wait for the first read of the feed before listening' }),
  }, { default: {} }),
  relay: Type.Object({
    enabled: Type.Boolean({ default: true, description: 'Deliver outbox events to auth-service from this process' }),
    pollIntervalMs: Type.Integer({ minimum: 10, default: 1000, description: 'Relay poll interval' }),
    batchSize: Type.Integer({ minimum: 1, default: 20, description: 'Events per poll' }),
    backoffBaseMs: Type.Integer({ minimum: 1, default: 1000, description: 'First retry delay (doubles each time)' }),
    backoffMaxMs: Type.Integer({ minimum: 1, default: 300_000, description: 'Longest retry delay' }),
  }, { default: {} }),
});

export type CourseConfig = Static<typeof CourseSettings>;

export const COURSE_ENV: EnvBinding[] = [
  ...SHARED_ENV,
  { path: 'http.port', vars: ['COURSE_PORT', 'PORT'] },
  { path: 'publicUrl', vars: ['COURSE_PUBLIC_URL'] },
  { path: 'http.corsOrigins', vars: ['CORS_ORIGINS'] },
  { path: 'auth.url', vars: ['AUTH_URL'] },
  { path: 'auth.jwksUrl', vars: ['JWKS_URL'] },
  { path: 'auth.issuer', vars: ['JWT_ISSUER'] },
  { path: 'auth.audience', vars: ['JWT_AUDIENCE'] },
  { path: 'auth.clientId', vars: ['COURSE_CLIENT_ID'] },
  { path: 'auth.clientSecret', vars: ['COURSE_CLIENT_SECRET'] },
  { path: 'database.migrateOnStart', vars: ['MIGRATE_ON_START'] },
  { path: 'cache.enabled', vars: ['CACHE_ENABLED'] },
  { path: 'cache.courseTtlMs', vars: ['CACHE_COURSE_TTL_MS'] },
  { path: 'cache.listTtlMs', vars: ['CACHE_LIST_TTL_MS'] },
  { path: 'reviews.requireEnrolment', vars: ['REVIEWS_REQUIRE_ENROLMENT'] },
];

export function loadCourseConfig(options: LoadConfigOptions = {}): CourseConfig {
  return loadConfig(CourseSettings, COURSE_ENV, { file: join(PROJECT_ROOT, 'config', 'course-config.yml'), ...options });
}

export function coursePaths(config: CourseConfig): { dataDir: string } {
  return { dataDir: join(config.varDir, 'course-service', 'pgdata') };
}
