/** auth-service settings: the schema (with defaults), the environment bindings, and the loader. */
import { join } from 'node:path';
import { PROJECT_ROOT } from '../shared/utils/paths.js';
import { Type, type Static } from '@sinclair/typebox';
import { DatabaseSettings, HttpSettings, LogSettings, RedisSettings, SHARED_ENV, loadConfig, type EnvBinding, type LoadConfigOptions } from '../shared/utils/config.js';

const Window = (limit: number, windowSec: number, what: string) =>
  Type.Object({
    limit: Type.Integer({ minimum: 0, default: limit, description: `${what}: attempts allowed per window (0 = no limit)` }),
    windowSec: Type.Integer({ minimum: 1, default: windowSec, description: `${what}: window length, seconds` }),
  }, { default: {} });

export const AuthSettings = Type.Object({
  varDir: Type.String({ default: 'var', description: 'Where embedded data, keys and mail live' }),
  publicUrl: Type.String({ default: 'http://localhost:8081', description: 'Base URL of auth-service as clients see it (links in mails)' }),
  appUrl: Type.String({
    pattern: '^(https?://[^\\s/?#]+(/[^\\s?#]*)?)?$',
    default: '',
    description: 'Public address of the web front end; mail links to its pages are appUrl + a `links` template. Empty = no front end: review mails link to the course in the API',
  }),
  // Paths, not URLs: a front end moves with appUrl alone. `{name}` is replaced by the URL-encoded value.
  links: Type.Object({
    coursePage: Type.String({ pattern: '^/', default: '/courses/{slug}', description: 'Course page of the front end, for review mails; `{slug}` and `{id}` are the course\'s' }),
    loginPage: Type.String({ pattern: '^/', default: '/login', description: 'Login page of the front end, for mails that say "log in" (when auth.loginUrl is empty)' }),
  }, { default: {} }),
  http: Type.Object({ ...HttpSettings.properties, port: Type.Integer({ minimum: 0, maximum: 65535, default: 8081, description: 'TCP port' }) }, { default: {} }),
  database: Type.Object(DatabaseSettings.properties, { default: {} }),
  redis: Type.Object(RedisSettings.properties, { default: {} }),
  log: Type.Object(LogSettings.properties, { default: {} }),
  jwt: Type.Object({
    issuer: Type.String({ default: 'course-platform-auth', description: 'Access-token `iss`' }),
    audience: Type.String({ default: 'course-platform', description: 'Access-token `aud`' }),
    accessTokenTtlSec: Type.Integer({ minimum: 30, default: 900, description: 'Access-token lifetime' }),
    keysDir: Type.String({ default: '', description: 'Directory of Ed25519 private keys (PKCS#8 PEM); empty = <varDir>/auth-service/keys' }),
    activeKid: Type.String({ default: '', description: 'kid of the signing key; empty = the newest file' }),
    generateKeyIfMissing: Type.Boolean({ default: true, description: 'Create a key when the directory has none (one replica only)' }),
  }, { default: {} }),
  sessions: Type.Object({
    refreshTokenTtlDays: Type.Integer({ minimum: 1, default: 14, description: 'A session ends after this many days without a refresh' }),
    maxLifetimeDays: Type.Integer({ minimum: 1, default: 30, description: 'A session ends this many days after login, used or not (ASVS 3.3.2)' }),
    reuseGraceSec: Type.Integer({ minimum: 0, default: 10, description: 'A just-rotated refresh token still works this long (concurrent tabs)' }),
    refreshSecret: Type.String({ default: '', description: 'HMAC secret for refresh tokens (min 32 chars); empty = a file under varDir' }),
  }, { default: {} }),
  passwords: Type.Object({
    memoryCostKiB: Type.Integer({ minimum: 8, default: 19456, description: 'argon2id memory (OWASP: 19 MiB)' }),
    timeCost: Type.Integer({ minimum: 1, default: 2, description: 'argon2id iterations' }),
    parallelism: Type.Integer({ minimum: 1, default: 1, description: 'argon2id lanes' }),
    maxConcurrent: Type.Integer({
      minimum: 0,
      default: 0,
      description: 'Hashes computed at once, the rest wait in line (0 = cores - 1, at least 1): a login flood leaves the event loop a core',
    }),
    dutyPercent: Type.Integer({
      minimum: 1,
      maximum: 100,
      default: 50,
      description: 'Share of time each of the maxConcurrent slots may spend hashing: after a hash, the slot rests in proportion before the next',
    }),
    threadNiceness: Type.Integer({
      minimum: 0,
      maximum: 19,
      default: 10,
      description: 'Linux: nice value of the thread pool that hashes (0 = unchanged), so a login flood yields the CPU to other work on the host',
    }),
    threadIdle: Type.Boolean({
      default: true,
      description: 'Linux: the hashing threads run as SCHED_IDLE (only on CPU nothing else wants) while the host has CPU to spare',
    }),
    slowHashMs: Type.Integer({
      minimum: 0,
      default: 250,
      description: 'A hash still running after this long puts idle hashing threads back at threadNiceness for 30 s (0 = never)',
    }),
  }, { default: {} }),
  auth: Type.Object({
    requireEmailVerification: Type.Boolean({ default: true, description: 'Refuse login until the e-mail is verified' }),
    verificationResendIntervalSec: Type.Integer({ minimum: 0, default: 60, description: 'Least time between verification mails to one user' }),
    verifyTokenTtlHours: Type.Integer({ minimum: 1, default: 24, description: 'E-mail verification token lifetime' }),
    resetTokenTtlMinutes: Type.Integer({ minimum: 1, default: 60, description: 'Password-reset token lifetime' }),
    verifyEmailUrl: Type.String({ default: '', description: 'Page for the verification link; empty = auth-service\'s own page' }),
    resetPasswordUrl: Type.String({ default: '', description: 'Page for the reset link; empty = auth-service\'s own page' }),
    loginUrl: Type.String({ default: '', description: 'Login page named in mails; empty = appUrl + links.loginPage, or the public URL without appUrl' }),
  }, { default: {} }),
  rateLimits: Type.Object({
    enabled: Type.Boolean({ default: true, description: 'Switch every rate limit' }),
    loginFailuresPerEmailIp: Window(5, 900, 'Failed logins per e-mail and IP'),
    loginFailuresPerIp: Window(50, 900, 'Failed logins per IP'),
    registrationsPerIp: Window(10, 3600, 'Registrations per IP'),
    mailsPerIp: Window(20, 3600, 'Verification and reset mails asked per IP'),
    mailsPerEmail: Window(5, 3600, 'Verification and reset mails asked per e-mail'),
  }, { default: {} }),
  mail: Type.Object({
    smtpUrl: Type.String({ default: '', description: 'SMTP relay (smtp:// or smtps://); empty writes .eml files' }),
    from: Type.String({ default: 'Course Platform <no-reply@course-platform.local>', description: 'From address' }),
    dir: Type.String({ default: '', description: 'Where .eml files go; empty = <varDir>/mail' }),
    workerEnabled: Type.Boolean({ default: true, description: 'Run the delivery worker in this process' }),
    pollIntervalMs: Type.Integer({ minimum: 10, default: 1000, description: 'Worker poll interval' }),
    batchSize: Type.Integer({ minimum: 1, default: 20, description: 'Mails claimed per poll' }),
    maxAttempts: Type.Integer({ minimum: 1, default: 8, description: 'Attempts before a mail is failed' }),
    backoffBaseMs: Type.Integer({ minimum: 1, default: 2000, description: 'First retry delay (doubles each time)' }),
    backoffMaxMs: Type.Integer({ minimum: 1, default: 3_600_000, description: 'Longest retry delay' }),
    leaseMs: Type.Integer({ minimum: 1000, default: 60_000, description: 'How long a claimed mail is held before another worker may take it' }),
  }, { default: {} }),
  clients: Type.Array(
    Type.Object({ id: Type.String({ minLength: 1 }), secret: Type.String({ minLength: 16 }) }, { additionalProperties: false }),
    { default: [], description: 'Service clients for the client_credentials grant (JSON in AUTH_CLIENTS)' },
  ),
  revocations: Type.Object({
    pruneIntervalMs: Type.Integer({ minimum: 1000, default: 60_000, description: 'How often expired entries of the revocation feed are deleted' }),
    publishIntervalMs: Type.Integer({
      minimum: 10,
      default: 250,
      description: 'With Redis: how often the feed is checked for new entries, to tell course-service replicas at once',
    }),
    channel: Type.String({
      minLength: 1,
      default: 'course-platform:revocations',
      description: 'With Redis: pub/sub channel that tells course-service of new revocations (the same in both services)',
    }),
  }, { default: {} }),
  admin: Type.Object({
    email: Type.String({ default: '', description: 'Create this admin at start when absent' }),
    password: Type.String({ default: '', description: 'Password of that admin' }),
  }, { default: {} }),
});

export type AuthConfig = Static<typeof AuthSettings>;

export const AUTH_ENV: EnvBinding[] = [
  ...SHARED_ENV,
  { path: 'http.port', vars: ['AUTH_PORT', 'PORT'] },
  { path: 'publicUrl', vars: ['AUTH_PUBLIC_URL'] },
  { path: 'appUrl', vars: ['APP_URL'] },
  { path: 'http.corsOrigins', vars: ['CORS_ORIGINS'] },
  { path: 'mail.smtpUrl', vars: ['SMTP_URL'] },
  { path: 'mail.from', vars: ['MAIL_FROM'] },
  { path: 'jwt.keysDir', vars: ['SIGNING_KEYS_DIR'] },
  { path: 'jwt.activeKid', vars: ['SIGNING_KEY_ID'] },
  { path: 'jwt.generateKeyIfMissing', vars: ['SIGNING_KEY_GENERATE'] },
  { path: 'jwt.issuer', vars: ['JWT_ISSUER'] },
  { path: 'jwt.audience', vars: ['JWT_AUDIENCE'] },
  { path: 'sessions.refreshSecret', vars: ['REFRESH_TOKEN_SECRET'] },
  { path: 'clients', vars: ['AUTH_CLIENTS'] },
  { path: 'admin.email', vars: ['ADMIN_EMAIL'] },
  { path: 'admin.password', vars: ['ADMIN_PASSWORD'] },
  { path: 'auth.requireEmailVerification', vars: ['REQUIRE_EMAIL_VERIFICATION'] },
  { path: 'rateLimits.enabled', vars: ['RATE_LIMITS_ENABLED'] },
  { path: 'database.migrateOnStart', vars: ['MIGRATE_ON_START'] },
];

export function loadAuthConfig(options: LoadConfigOptions = {}): AuthConfig {
  return loadConfig(AuthSettings, AUTH_ENV, { file: join(PROJECT_ROOT, 'config', 'auth-config.yml'), ...options });
}

/** Paths derived from varDir when not set explicitly. */
export function authPaths(config: AuthConfig): { dataDir: string; keysDir: string; mailDir: string; secretFile: string } {
  const base = join(config.varDir, 'auth-service');
  return {
    dataDir: join(base, 'pgdata'),
    keysDir: config.jwt.keysDir || join(base, 'keys'),
    mailDir: config.mail.dir || join(config.varDir, 'mail'),
    secretFile: join(base, 'refresh-secret'),
  };
}
