/**
 * The composition of auth-service: opens the database and the store, builds repositories, services and
 * controllers with plain constructors, and registers the routers. Tests build the same app and call it
 * with `inject`; `cmd/auth-service/main.ts` only adds listening and signals.
 */
import formbody from '@fastify/formbody';
import { createServer, type App } from '../shared/server.js';
import type { Database } from '../shared/utils/database.js';
import { openServiceDatabase } from '../shared/utils/migrations.js';
import { openStore, type KeyValueStore } from '../shared/utils/redis.js';
import { TokenVerifier } from '../shared/utils/jwt.js';
import { createLogger, type Logger } from '../shared/utils/logging.js';
import { authenticator } from '../shared/middleware/authenticate.js';
import { authPaths, type AuthConfig } from './config.js';
import { UserRepository } from './repository/user_repository.js';
import { SessionRepository } from './repository/session_repository.js';
import { SecurityEventRepository } from './repository/security_event_repository.js';
import { TokenRepository } from './repository/token_repository.js';
import { NotificationRepository } from './repository/notification_repository.js';
import { PasswordHasher } from './services/password_hasher.js';
import { AppLinks } from './services/app_links.js';
import { UnsubscribeTokens } from './services/unsubscribe_tokens.js';
import { KeyStore } from './services/signing_keys.js';
import { loadServerSecret } from './services/server_secret.js';
import { SessionCheck } from './services/session_check.js';
import { TokenService } from './services/token_service.js';
import { RateLimiter } from './services/rate_limiter.js';
import { AuthService } from './services/auth_service.js';
import { UserService } from './services/user_service.js';
import { NotificationService } from './services/notification_service.js';
import { DeliveryWorker, registerOutboxMetrics } from './services/delivery_worker.js';
import { createMailer, type Mailer } from './services/mail/mailer.js';
import { AuthController } from './controllers/auth_controller.js';
import { UserController } from './controllers/user_controller.js';
import { NotificationController } from './controllers/notification_controller.js';
import { PagesController } from './controllers/pages_controller.js';
import { authRouter } from './routers/auth_router.js';
import { usersRouter } from './routers/users_router.js';
import { notificationRouter } from './routers/notification_router.js';
import { pagesRouter } from './routers/pages_router.js';
import { MfaRepository } from './repository/mfa_repository.js';
import { MfaChallenges, MfaService } from './services/mfa_service.js';
import { NewDevices, NotMeService } from './services/new_device.js';
import { SecretBox, mfaEncryptionKey } from './services/totp.js';
import { MfaController } from './controllers/mfa_controller.js';
import { mfaRouter } from './routers/mfa_router.js';
import { IdentityRepository } from './repository/identity_repository.js';
import { OidcService } from './services/oidc_service.js';
import { OidcController } from './controllers/oidc_controller.js';
import { oidcRouter } from './routers/oidc_router.js';
import { EmailChangeRepository } from './repository/email_change_repository.js';
import { SecurityActivityRepository } from './repository/security_activity_repository.js';
import { EmailChangeService } from './services/email_change_service.js';
import { SecurityActivityService, SecurityEventRetention } from './services/security_activity_service.js';
import { AccountController } from './controllers/account_controller.js';
import { accountRouter } from './routers/account_router.js';
import { DeletionRepository } from './repository/deletion_repository.js';
import { AccountOutboxRepository } from './repository/account_outbox_repository.js';
import { DeletionService } from './services/deletion_service.js';
import { ExportService } from './services/export_service.js';
import { AUTH_SERVICE_CLIENT_ID, CourseClient } from './services/course_client.js';
import { AccountEventRelay, registerAccountOutboxMetrics } from './services/account_event_relay.js';
import { GdprController } from './controllers/gdpr_controller.js';
import { gdprRouter } from './routers/gdpr_router.js';
import { RevocationRepository } from './repository/revocation_repository.js';
import { RevocationFeed } from './services/revocation_feed.js';
import { RevocationController } from './controllers/revocation_controller.js';
import { revocationRouter } from './routers/revocation_router.js';


export interface AuthAppOptions {
  logger?: Logger;
  /** Replaces the mailer made from settings (tests). */
  mailer?: Mailer;
  /** Uses this database instead of opening one (tests, tools). */
  db?: Database;
}

export interface AuthApp {
  app: App;
  db: Database;
  store: KeyValueStore;
  keys: KeyStore;
  worker: DeliveryWorker;
  users: UserService;
  hasher: PasswordHasher;
  emailChange: EmailChangeService;
  retention: SecurityEventRetention;
  /** The account rules; `auth.settled()` waits for mail requests still running after their answer. */
  auth: AuthService;
  /** Account deletion and its purge job. */
  deletions: DeletionService;
  /** Delivers account events (deletions) to course-service. */
  accountRelay: AccountEventRelay;
}

export async function buildAuthApp(config: AuthConfig, options: AuthAppOptions = {}): Promise<AuthApp> {
  const logger = options.logger ?? createLogger(config.log.level, 'auth-service');
  // auth-service's own service token says `client:auth-service`; a configured client must not mint the same subject.
  if (config.clients.some((c) => c.id === AUTH_SERVICE_CLIENT_ID)) {
    throw new Error(`clients: the id "${AUTH_SERVICE_CLIENT_ID}" is reserved for auth-service's own service token`);
  }
  const paths = authPaths(config);

  const db = await openServiceDatabase('auth-service', config.database, paths.dataDir, logger, options.db);

  const store = openStore(config.redis.url, config.redis.keyPrefix, (up, err) =>
    up ? logger.info('redis connected') : logger.warn({ err: err?.message }, 'redis unavailable; rate limits fall back to memory'),
  );
  const keys = await KeyStore.load(paths.keysDir, { activeKid: config.jwt.activeKid || undefined, generateIfMissing: config.jwt.generateKeyIfMissing });
  // One server secret keys both HMACs (refresh tokens, unsubscribe links); their inputs never overlap.
  const secret = loadServerSecret(config.sessions.refreshSecret, paths.secretFile);
  const tokenService = new TokenService(keys, config.jwt, secret);
  const mailer = options.mailer ?? createMailer({ smtpUrl: config.mail.smtpUrl, mailDir: paths.mailDir, from: config.mail.from });

  const users = new UserRepository(db);
  const sessions = new SessionRepository(db);
  const tokens = new TokenRepository(db);
  const securityEvents = new SecurityEventRepository(db);
  const outbox = new NotificationRepository(db);
  const hasher = new PasswordHasher(config.passwords);
  const unsubscribe = new UnsubscribeTokens(secret);
  const appLinks = new AppLinks(config.appUrl, config.links);
  const notificationService = new NotificationService({ db, notifications: outbox, users, publicUrl: config.publicUrl, unsubscribe, appLinks });
  const pagesBase = `${config.publicUrl.replace(/\/$/, '')}/api/v1/auth/pages`;
  // Two-factor sign-in and new-device mail (README "Two-factor sign-in").
  const mfaRepo = new MfaRepository(db);
  const limiter = new RateLimiter(store, config.rateLimits.enabled);
  const devices = new NewDevices({
    mfa: mfaRepo,
    tokens,
    securityEvents,
    notifications: notificationService,
    hmacKey: secret,
    rules: { ...config.newDevice, notMeLink: `${pagesBase}/not-me` },
  });
  const deletionRepository = new DeletionRepository(db);
  const accountOutbox = new AccountOutboxRepository(db);
  const courseClient = new CourseClient(tokenService, { baseUrl: config.courseService.url, timeoutMs: config.courseService.timeoutMs });
  const accountRelay = new AccountEventRelay(db, accountOutbox, courseClient, logger, {
    pollIntervalMs: config.accountEvents.pollIntervalMs,
    batchSize: config.accountEvents.batchSize,
    backoffBaseMs: config.accountEvents.backoffBaseMs,
    backoffMaxMs: config.accountEvents.backoffMaxMs,
    leaseMs: config.accountEvents.leaseMs,
  });
  const deletionService = new DeletionService({
    db,
    mfaEnabled: (userId) => mfaRepo.hasActiveFactor(userId),
    users,
    sessions,
    tokens,
    securityEvents,
    notifications: notificationService,
    deletions: deletionRepository,
    outbox: accountOutbox,
    rules: {
      graceHours: config.accountDeletion.graceHours,
      cancelLink: config.accountDeletion.cancelUrl || `${pagesBase}/cancel-deletion`,
      purgeIntervalMs: config.accountDeletion.purgeIntervalMs,
      purgeBatchSize: config.accountDeletion.purgeBatchSize,
    },
    logger,
    onEvent: () => accountRelay.kick(),
  });
  const authService = new AuthService({
    db,
    users,
    sessions,
    tokens,
    securityEvents,
    hasher,
    tokenService,
    notifications: notificationService,
    limiter,
    rules: {
      ...config.auth,
      refreshTokenTtlDays: config.sessions.refreshTokenTtlDays,
      sessionMaxLifetimeDays: config.sessions.maxLifetimeDays,
      reuseGraceSec: config.sessions.reuseGraceSec,
      links: {
        verifyEmail: config.auth.verifyEmailUrl || `${pagesBase}/verify-email`,
        resetPassword: config.auth.resetPasswordUrl || `${pagesBase}/reset-password`,
        login: config.auth.loginUrl || appLinks.loginPage() || config.publicUrl,
      },
      rateLimits: config.rateLimits,
      clients: config.clients,
    },
    logger,
    mfaGate: new MfaChallenges(mfaRepo, config.mfa.challengeTtlSec),
    devices,
    signInGuard: (user) => deletionService.assertNotPending(user.id),
  });
  const mfaService = new MfaService({
    db,
    mfa: mfaRepo,
    users,
    sessions,
    securityEvents,
    notifications: notificationService,
    limiter,
    hasher,
    auth: authService,
    box: new SecretBox(mfaEncryptionKey(config.mfa.encryptionKey, secret)),
    hmacKey: secret,
    rules: {
      issuer: config.mfa.issuer,
      attemptsPerChallenge: config.mfa.attemptsPerChallenge,
      failuresPerUser: config.mfa.failuresPerUser,
      reauthPerUser: config.rateLimits.loginFailuresPerEmailIp,
      failuresPerIp: config.rateLimits.loginFailuresPerIp,
    },
  });
  const notMe = new NotMeService({ db, users, sessions, tokens, securityEvents, auth: authService });
  const userService = new UserService(db, users, sessions, hasher, securityEvents);
  // E-mail change and security activity (issue 18).
  const emailChanges = new EmailChangeRepository(db);
  const emailChange = new EmailChangeService({
    db,
    users,
    sessions,
    tokens,
    changes: emailChanges,
    securityEvents,
    notifications: notificationService,
    limiter: new RateLimiter(store, config.rateLimits.enabled),
    rules: {
      tokenTtlHours: config.emailChange.tokenTtlHours,
      links: {
        confirm: config.emailChange.confirmUrl || `${pagesBase}/email-change`,
        cancel: config.emailChange.cancelUrl || `${pagesBase}/email-change-cancel`,
        login: config.auth.loginUrl || appLinks.loginPage() || config.publicUrl,
      },
      rateLimits: config.rateLimits,
    },
    logger,
    mfaEnabled: (userId) => mfaRepo.hasActiveFactor(userId),
  });
  const activityRepository = new SecurityActivityRepository(db);
  const retention = new SecurityEventRetention(activityRepository, {
    retentionDays: config.securityEvents.retentionDays,
    intervalSec: config.securityEvents.purgeIntervalSec,
    batchSize: config.securityEvents.purgeBatchSize,
  }, logger, [emailChanges]);
  const worker = new DeliveryWorker({ notifications: outbox, mailer, logger, options: config.mail });

  const app = await createServer({
    service: 'auth-service',
    version: '1.0.0',
    description: 'Accounts, sessions, access tokens (EdDSA, JWKS) and mail for the course platform.',
    logger,
    log: config.log,
    http: config.http,
    publicUrl: config.publicUrl,
    bearerAuth: true,
    // The session check (services/session_check.ts) refuses tokens of ended sessions and changed roles.
    tokenRefusals: ['session_revoked', 'token_outdated'],
    tags: [
      { name: 'auth', description: 'Registration, login, sessions and passwords' },
      { name: 'users', description: 'My profile' },
      { name: 'admin', description: 'User and mail administration (admin role)' },
      { name: 'notifications', description: 'Mail to users, for services' },
      { name: 'pages', description: 'Pages that mail links open' },
      { name: 'keys', description: 'Token verification keys' },
      { name: 'internal', description: 'Service-to-service reads (service token only; not routed by the Ingress)' },
    ],
    readiness: [
      { name: 'database', critical: true, check: () => db.ping() },
      ...(store.kind === 'redis' ? [{ name: 'redis', critical: false, check: () => store.ping() }] : []),
    ],
  });
  await app.register(formbody, { bodyLimit: config.http.bodyLimit });
  registerOutboxMetrics(app.metrics, outbox);

  // Each token is also checked against its session and account (services/session_check.ts).
  const verifier = new TokenVerifier(keys.localKeySet(), { issuer: config.jwt.issuer, audience: config.jwt.audience });
  const sessionCheck = new SessionCheck(sessions);
  const authn = authenticator(verifier, (principal) => sessionCheck.verify(principal));

  const userController = new UserController(userService, unsubscribe);
  authRouter(app, new AuthController(authService), userController, authn);
  usersRouter(app, userController, authn);
  notificationRouter(app, new NotificationController(notificationService), authn);
  pagesRouter(app, new PagesController(), keys);
  mfaRouter(app, new MfaController(mfaService, notMe), authn);
  // Sign in with an OpenID Connect provider (services/oidc_service.ts); front-end origins default to appUrl's.
  const oidcSettings = { ...config.oidc, redirectOrigins: config.oidc.redirectOrigins.length ? config.oidc.redirectOrigins : config.appUrl ? [new URL(config.appUrl).origin] : [], publicUrl: config.publicUrl };
  const oidcService = new OidcService({ db, users, identities: new IdentityRepository(db), securityEvents, sessions, auth: authService, store, limiter: new RateLimiter(store, config.rateLimits.enabled), settings: oidcSettings, logger });
  oidcRouter(app, new OidcController(oidcService, config.publicUrl.startsWith('https:'), config.oidc.stateTtlSec), authn);
  accountRouter(app, new AccountController(emailChange, new SecurityActivityService(activityRepository)), authn);
  gdprRouter(app, new GdprController(deletionService, new ExportService({ db, mfaEnabled: (userId) => mfaRepo.hasActiveFactor(userId), users, data: deletionRepository, securityEvents, courses: courseClient, logger })), authn);
  registerAccountOutboxMetrics(app.metrics, accountOutbox);
  // Issue 18: the revocation feed course-service replicas read (services/revocation_feed.ts).
  const revocationFeed = new RevocationFeed(new RevocationRepository(db), store, logger, {
    ...config.revocations,
    keepSec: config.jwt.accessTokenTtlSec + 60,
  });
  revocationRouter(app, new RevocationController(revocationFeed), authn);
  revocationFeed.start();

  if (config.admin.email && config.admin.password) {
    const { created } = await userService.ensureAdmin(config.admin.email, config.admin.password);
    logger.info({ created }, 'admin account ensured');
  }
  if (config.mail.workerEnabled) worker.start();
  if (config.securityEvents.purgeEnabled) retention.start();
  if (config.accountDeletion.purgeEnabled) deletionService.startPurger();
  if (config.accountEvents.relayEnabled) accountRelay.start();

  app.addHook('onClose', async () => {
    // Mail requests answered before the close still write their outbox rows.
    await authService.settled();
    await emailChange.settled();
    await retention.stop();
    revocationFeed.stop();
    await worker.stop();
    await deletionService.stopPurger();
    await accountRelay.stop();
    await Promise.allSettled([mailer.close(), store.close()]);
    if (!options.db) await db.close();
  });
  return { app, db, store, keys, worker, users: userService, hasher, auth: authService, emailChange, retention, deletions: deletionService, accountRelay };
}
