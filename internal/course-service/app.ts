/**
 * The composition of course-service: opens the database and the store, builds the cache, repositories,
 * services and controllers with plain constructors, and registers the routers. Tests build the same app
 * and call it with `inject`; `cmd/course-service/main.ts` only adds listening and signals.
 *
 * Access tokens are verified against auth-service's JWKS over HTTP (no shared secret); jose caches the
 * key set and refetches it when a token names an unknown `kid`, so a rotated key needs no restart.
 */
import { createServer, type App, type ReadinessCheck } from '../shared/server.js';
import type { Database } from '../shared/utils/database.js';
import { openServiceDatabase } from '../shared/utils/migrations.js';
import { openStore, type KeyValueStore } from '../shared/utils/redis.js';
import { remoteVerifier, type TokenVerifier } from '../shared/utils/jwt.js';
import { createLogger, type Logger } from '../shared/utils/logging.js';
import { authenticator } from '../shared/middleware/authenticate.js';
import { coursePaths, type CourseConfig } from './config.js';
import { CourseRepository } from './repository/course_repository.js';
import { ReviewRepository } from './repository/review_repository.js';
import { OutboxRepository } from './repository/outbox_repository.js';
import { CacheService, registerNearCacheMetrics } from './services/cache/cache_service.js';
import { CourseService } from './services/course_service.js';
import { ReviewService } from './services/review_service.js';
import { CourseController } from './controllers/course_controller.js';
import { ReviewController } from './controllers/review_controller.js';
import { ResponseCache } from './middleware/response_cache.js';
import { courseRouter } from './routers/course_router.js';
import { reviewRouter } from './routers/review_router.js';
import { categoryRouter } from './routers/category_router.js';
import { curriculumRouter } from './routers/curriculum_router.js';
import { CurriculumService } from './services/curriculum_service.js';
import { CurriculumController } from './controllers/curriculum_controller.js';
import { learningRouter } from './routers/learning_router.js';
import { LearningController } from './controllers/learning_controller.js';
import { EnrolmentService } from './services/enrolment_service.js';
import { ProgressService } from './services/progress_service.js';
import { StatsService } from './services/stats_service.js';
import { AuthClient } from './services/auth_client.js';
import { NotificationRelay, registerRelayMetrics } from './services/notification_relay.js';
import { registerSearchOrderMetric } from './services/search_order.js';
import { AnnouncementFanout, AnnouncementService } from './services/announcement_service.js';
import { AnnouncementRepository } from './repository/announcement_repository.js';
import { AnnouncementController } from './controllers/announcement_controller.js';
import { announcementRouter } from './routers/announcement_router.js';
import { AccountDataRepository } from './repository/account_data_repository.js';
import { AccountEventsService } from './services/account_events.js';
import { InternalController } from './controllers/internal_controller.js';
import { internalRouter } from './routers/internal_router.js';
import { RevocationSync } from './services/revocation_list.js';

export interface CourseAppOptions {
  logger?: Logger;
  /** Uses this database instead of opening one (tests, tools); it is not closed with the app. */
  db?: Database;
  /** Verifies access tokens instead of the JWKS of `auth.jwksUrl` (tests). */
  verifier?: TokenVerifier;
}

export interface CourseApp {
  app: App;
  db: Database;
  store: KeyValueStore;
  cache: CacheService;
  verifier: TokenVerifier;
  courses: CourseService;
  reviews: ReviewService;
  enrolments: EnrolmentService;
  progress: ProgressService;
  relay: NotificationRelay;
  fanout: AnnouncementFanout;
  /** The revocation list and its feed reader; undefined when off (no client secret, or `revocations.enabled` false). */
  revocations: RevocationSync | undefined;
}

/** Where the JWKS lives: `auth.jwksUrl`, else auth-service's well-known path. */
export function jwksUrlOf(config: CourseConfig): string {
  return config.auth.jwksUrl || `${config.auth.url.replace(/\/$/, '')}/.well-known/jwks.json`;
}

export async function buildCourseApp(config: CourseConfig, options: CourseAppOptions = {}): Promise<CourseApp> {
  const logger = options.logger ?? createLogger(config.log.level, 'course-service');
  const paths = coursePaths(config);

  const db = await openServiceDatabase('course-service', config.database, paths.dataDir, logger, options.db);

  // The cache's own callbacks carry the warning (once per outage); the connection events are detail.
  const store = openStore(config.redis.url, config.redis.keyPrefix, (up, err) =>
    up ? logger.info('redis connected') : logger.info({ err: err?.message }, 'redis connection lost; reconnecting'),
  );
  let lastAckWarning = 0;
  const cache = new CacheService(store, {
    courseTtlMs: config.cache.courseTtlMs,
    listTtlMs: config.cache.listTtlMs,
    reviewsTtlMs: config.cache.reviewsTtlMs,
    categoriesTtlMs: config.cache.categoriesTtlMs,
    storeRetryMs: config.cache.storeRetryMs,
    near: { maxBytes: config.cache.nearMaxBytes, trustMs: config.cache.nearTrustMs },
    onError: (err) =>
      logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'response cache unavailable; answering from the database'),
    onRecover: () => logger.info('response cache available again'),
    onAckTimeout: (missing) => {
      // At most one line a minute; /metrics counts them all (course_cache_ack_timeouts_total).
      if (Date.now() - lastAckWarning < 60_000) return;
      lastAckWarning = Date.now();
      logger.warn({ missing }, 'a write answered before every replica acknowledged its cache invalidation');
    },
  });

  const courseRepository = new CourseRepository(db);
  const reviewRepository = new ReviewRepository(db);
  const outbox = new OutboxRepository(db);
  // Writes make cache entries stale whether or not this replica reads through the cache (`cache.enabled`),
  // since other replicas sharing the store may.
  const courses = new CourseService({ db, courses: courseRepository, cache });
  const reviews = new ReviewService({
    db,
    courses: courseRepository,
    reviews: reviewRepository,
    outbox,
    cache,
    requireEnrolment: config.reviews.requireEnrolment,
  });
  const enrolments = new EnrolmentService({ db, courses: courseRepository, cache });
  const progress = new ProgressService({ db, courses: courseRepository, outbox });

  // Issue 18: the revocation list (services/revocation_list.ts), read from auth-service with the
  // service token; without a client secret there is no way to read it (README, "Revocation").
  const authClient = new AuthClient({ baseUrl: config.auth.url, clientId: config.auth.clientId, clientSecret: config.auth.clientSecret });
  const revocations =
    config.revocations.enabled && authClient.configured
      ? new RevocationSync(authClient, store, logger, { pollIntervalMs: config.revocations.pollIntervalMs, channel: config.revocations.channel })
      : undefined;
  if (!revocations) logger.warn('revocation list off (no auth.clientSecret or revocations.enabled false): revoked tokens are refused only at expiry');

  const readiness: ReadinessCheck[] = [
    { name: 'database', critical: true, check: () => db.ping() },
    // Not ready until the whole unexpired feed is in; afterwards auth-service being away does not matter here.
    ...(revocations
      ? [{ name: 'revocations', critical: true, check: async () => { if (!revocations.ready) throw new Error('revocation feed not read yet'); } }]
      : []),
    // Redis down: still ready (answers come from the database), reported as degraded.
    ...(store.kind === 'redis' ? [{ name: 'redis', critical: false, check: () => store.ping() }] : []),
  ];
  const app = await createServer({
    service: 'course-service',
    version: '1.0.0',
    description:
      'Course catalogue, search, reviews and rating aggregates for the course platform. Public GET answers are cached ' +
      '(`X-Cache: HIT|MISS|BYPASS`); access tokens come from auth-service.',
    logger,
    log: config.log,
    http: config.http,
    publicUrl: config.publicUrl,
    bearerAuth: true,
    tags: [
      { name: 'courses', description: 'The course catalogue: search, read, create, edit, publish' },
      { name: 'reviews', description: 'Reviews, moderation and instructor responses' },
      { name: 'categories', description: 'Categories of published courses' },
      { name: 'curriculum', description: 'Sections and lessons: the outline, its order, lesson bodies' },
      { name: 'learning', description: 'Enrolment, progress, certificates and course analytics' },
      { name: 'internal', description: 'For auth-service only (its service token): account events and the GDPR export' },
    ],
    readiness,
    // A token of an ended session or a revoked account (services/revocation_list.ts).
    tokenRefusals: ['session_revoked'],
  });

  // course-service never calls auth-service per request: a valid token is trusted until it expires
  // unless the revocation list (kept current from auth-service's feed) names its session or account.
  const verifier =
    options.verifier ??
    remoteVerifier(jwksUrlOf(config), { issuer: config.auth.issuer, audience: config.auth.audience, cooldownMs: config.auth.jwksCooldownMs });
  const authn = authenticator(verifier, revocations?.check);
  const responses = new ResponseCache(cache, config.cache.enabled, app.metrics);
  // Before the routers: each cached route gets its hit path when it is registered.
  responses.attach(app);

  const courseController = new CourseController(courses);
  courseRouter(app, courseController, authn, responses);
  reviewRouter(app, new ReviewController(reviews), authn, responses);
  categoryRouter(app, courseController, responses);
  const announcementRepository = new AnnouncementRepository(db);
  announcementRouter(
    app,
    new AnnouncementController(new AnnouncementService({ db, courses: courseRepository, announcements: announcementRepository, outbox })),
    authn,
  );
  curriculumRouter(app, new CurriculumController(new CurriculumService({ db, courses: courseRepository, cache, progress })), authn, responses);
  learningRouter(app, new LearningController(enrolments, progress, new StatsService({ db })), authn);
  internalRouter(app, new InternalController(new AccountEventsService({ db, data: new AccountDataRepository(db), courses: courseRepository, cache })), authn);

  // Review mails: the relay delivers course_outbox events to auth-service's POST /api/v1/notifications.
  const relay = new NotificationRelay(
    db,
    outbox,
    authClient,
    logger,
    { ...config.relay, publicUrl: config.publicUrl },
  );
  registerRelayMetrics(app.metrics, db, outbox);
  registerNearCacheMetrics(app.metrics, cache);
  registerSearchOrderMetric(app.metrics, courseRepository);
  // Announcements: queued for every active learner in batches, then mailed by the relay.
  const fanout = new AnnouncementFanout(db, announcementRepository, outbox, logger, { batchSize: 500, pollIntervalMs: config.relay.pollIntervalMs });
  if (config.relay.enabled) {
    relay.start();
    fanout.start();
  }
  if (revocations) {
    revocations.registerMetrics(app.metrics);
    await revocations.start(config.revocations.startWaitMs);
  }

  app.addHook('onClose', async () => {
    await fanout.stop();
    await relay.stop();
    await revocations?.stop();
    await cache.close();
    await store.close().catch(() => undefined);
    if (!options.db) await db.close();
  });
  return { app, db, store, cache, verifier, courses, reviews, enrolments, progress, relay, fanout, revocations };
}
