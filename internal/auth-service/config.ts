/** auth-service settings: the schema (with defaults), the environment bindings, and the loader. */
import { join } from 'node:path';
import { PROJECT_ROOT } from '../shared/utils/paths.js';
import { Type, type Static } from '@sinclair/typebox';
import { ConfigError, DatabaseSettings, HttpSettings, LogSettings, RedisSettings, SHARED_ENV, loadConfig, type EnvBinding, type LoadConfigOptions } from '../shared/utils/config.js';

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
    certificatePage: Type.String({
      pattern: '^/',
      default: '/certificates/{verificationId}',
      description: 'Certificate page of the front end, for the course-completed mail; `{verificationId}` is the certificate\'s',
    }),
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
    mailsPerIp: Window(20, 3600, 'Verification, reset and e-mail change mails asked per IP'),
    mailsPerEmail: Window(5, 3600, 'Verification, reset and e-mail change mails asked per e-mail (and e-mail changes per user)'),
  }, { default: {} }),
  // Two-factor sign-in (README "Two-factor sign-in").
  mfa: Type.Object({
    encryptionKey: Type.String({
      default: '',
      description: 'AES-256-GCM key that seals TOTP secrets at rest: base64 of 32 bytes (`openssl rand -base64 32`); empty = derived from the server secret (sessions.refreshSecret or its file) with HKDF',
    }),
    issuer: Type.String({ default: 'Course Platform', description: 'Name the authenticator app shows beside the account (otpauth issuer)' }),
    challengeTtlSec: Type.Integer({ minimum: 30, maximum: 3600, default: 300, description: 'Lifetime of the mfaToken a password login answers with MFA on' }),
    attemptsPerChallenge: Window(5, 300, 'Codes tried per mfaToken'),
    failuresPerUser: Window(10, 900, 'Wrong codes per account (sign-in, re-authentication, activation)'),
  }, { default: {} }),
  newDevice: Type.Object({
    enabled: Type.Boolean({ default: true, description: 'Mail the owner when a sign-in comes from a device not seen for `rememberDays`' }),
    rememberDays: Type.Integer({ minimum: 1, default: 90, description: 'A device not seen for this long counts as new again' }),
    notMeTokenTtlHours: Type.Integer({ minimum: 1, default: 72, description: 'Lifetime of the "this was not me" link' }),
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
  emailChange: Type.Object({
    tokenTtlHours: Type.Integer({ minimum: 1, default: 24, description: 'E-mail change: lifetime of the request and of its confirm, approve and cancel links' }),
    confirmUrl: Type.String({ default: '', description: 'E-mail change: page for the confirm and approve links; empty = auth-service\'s own page' }),
    cancelUrl: Type.String({ default: '', description: 'E-mail change: page for the "this was not me" link; empty = auth-service\'s own page' }),
  }, { default: {} }),
  securityEvents: Type.Object({
    retentionDays: Type.Integer({
      minimum: 90,
      default: 365,
      description: 'Security activity older than this is deleted (owners see their last 90 days; admins see all that is kept)',
    }),
    purgeEnabled: Type.Boolean({ default: true, description: 'Run the retention purge in this process (safe on several replicas)' }),
    purgeIntervalSec: Type.Integer({ minimum: 1, default: 3600, description: 'Time between retention purges' }),
    purgeBatchSize: Type.Integer({ minimum: 1, default: 1000, description: 'Rows deleted per statement by the retention purge' }),
  }, { default: {} }),
  clients: Type.Array(
    Type.Object({ id: Type.String({ minLength: 1 }), secret: Type.String({ minLength: 16 }) }, { additionalProperties: false }),
    { default: [], description: 'Service clients for the client_credentials grant (JSON in AUTH_CLIENTS)' },
  ),
  // Sign in with an OpenID Connect provider (README "Sign in with an OpenID Connect provider").
  oidc: Type.Object({
    providers: Type.Array(
      Type.Object({
        id: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,31}$', description: 'In the URLs (`/api/v1/auth/oidc/{id}/...`) and stored with each linked identity: never change it' }),
        name: Type.String({ minLength: 1, maxLength: 60, description: 'Shown on the sign-in button' }),
        issuer: Type.String({ pattern: '^https?://[^\\s?#]+$', description: 'Issuer URL (discovery at <issuer>/.well-known/openid-configuration)' }),
        clientId: Type.String({ minLength: 1 }),
        clientSecret: Type.String({ minLength: 1 }),
        scope: Type.Optional(Type.String({ pattern: '(^|\\s)openid(\\s|$)', description: 'Default "openid email profile"' })),
      }, { additionalProperties: false }),
      { default: [], description: 'Identity providers (JSON in OIDC_PROVIDERS: [{id, name, issuer, clientId, clientSecret}]); the redirect URI to register at each is <publicUrl>/api/v1/auth/oidc/<id>/callback' },
    ),
    allowInsecure: Type.Boolean({ default: false, description: 'Allow http: issuers (tests, local development only)' }),
    redirectOrigins: Type.Array(Type.String({ pattern: '^https?://[^\\s/?#]+$' }), {
      default: [],
      description: 'Front-end origins a sign-in may return to (`redirectTo`); empty = the origin of appUrl. Not the CORS list, whose `*` would make an open redirect',
    }),
    stateTtlSec: Type.Integer({ minimum: 60, maximum: 3600, default: 600, description: 'How long a started sign-in (state, nonce, PKCE verifier) waits for its callback' }),
    codeTtlSec: Type.Integer({ minimum: 10, maximum: 600, default: 60, description: 'Lifetime of the one-time code the callback hands to the front end' }),
    timeoutSec: Type.Integer({ minimum: 1, maximum: 60, default: 10, description: 'Timeout of each request to a provider (discovery, token, userinfo)' }),
    startsPerIp: Window(60, 600, 'Provider sign-ins and links started per IP (each holds a state in the store until it expires)'),
  }, { default: {} }),
  accountDeletion: Type.Object({
    graceHours: Type.Integer({ minimum: 0, default: 336, description: 'Hours between a deletion request and the purge, during which the mailed link cancels it (0 = purge at once, no link)' }),
    cancelUrl: Type.String({ default: '', description: 'Page for the cancel link in the deletion mail; empty = auth-service\'s own page' }),
    purgeEnabled: Type.Boolean({ default: true, description: 'Run the purge job in this process (replicas share it: FOR UPDATE SKIP LOCKED)' }),
    purgeIntervalMs: Type.Integer({ minimum: 10, default: 60_000, description: 'How often the purge job looks for accounts whose grace period is over' }),
    purgeBatchSize: Type.Integer({ minimum: 1, default: 20, description: 'Accounts purged per run at most (one transaction each)' }),
  }, { default: {} }),
  courseService: Type.Object({
    url: Type.String({ default: 'http://localhost:8082', description: 'Base URL of course-service inside the network (account events, the export)' }),
    timeoutMs: Type.Integer({ minimum: 100, default: 5000, description: 'Time allowed for one call to course-service' }),
  }, { default: {} }),
  accountEvents: Type.Object({
    relayEnabled: Type.Boolean({ default: true, description: 'Deliver account events (deletions) to course-service from this process' }),
    pollIntervalMs: Type.Integer({ minimum: 10, default: 1000, description: 'Relay poll interval' }),
    batchSize: Type.Integer({ minimum: 1, default: 20, description: 'Events claimed per poll' }),
    backoffBaseMs: Type.Integer({ minimum: 1, default: 2000, description: 'First retry delay (doubles each time)' }),
    backoffMaxMs: Type.Integer({ minimum: 1, default: 600_000, description: 'Longest retry delay' }),
    leaseMs: Type.Integer({ minimum: 1000, default: 30_000, description: 'How long a claimed event is held before another relay may take it' }),
  }, { default: {} }),
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
  { path: 'mfa.encryptionKey', vars: ['MFA_ENCRYPTION_KEY'] },
  { path: 'oidc.providers', vars: ['OIDC_PROVIDERS'] },
  { path: 'oidc.allowInsecure', vars: ['OIDC_ALLOW_INSECURE'] },
  { path: 'oidc.redirectOrigins', vars: ['OIDC_REDIRECT_ORIGINS'] },
  { path: 'securityEvents.retentionDays', vars: ['SECURITY_EVENTS_RETENTION_DAYS'] },
  { path: 'accountDeletion.graceHours', vars: ['ACCOUNT_DELETION_GRACE_HOURS'] },
  { path: 'courseService.url', vars: ['COURSE_SERVICE_URL'] },
];

export function loadAuthConfig(options: LoadConfigOptions = {}): AuthConfig {
  const config = loadConfig(AuthSettings, AUTH_ENV, { file: join(PROJECT_ROOT, 'config', 'auth-config.yml'), ...options });
  checkOidc(config);
  return config;
}

/** What the schema cannot say about oidc.providers: unique ids, and http: issuers only when allowed. */
function checkOidc(config: AuthConfig): void {
  const seen = new Set<string>();
  config.oidc.providers.forEach((p, i) => {
    if (seen.has(p.id)) throw new ConfigError(`Invalid setting oidc.providers.${i}.id: "${p.id}" is used twice`);
    seen.add(p.id);
    if (p.issuer.startsWith('http:') && !config.oidc.allowInsecure) {
      throw new ConfigError(`Invalid setting oidc.providers.${i}.issuer: an http: issuer needs oidc.allowInsecure (OIDC_ALLOW_INSECURE=true)`);
    }
  });
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
