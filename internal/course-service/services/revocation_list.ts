/**
 * Revocation reaching course-service (issue 18): the ended sessions and the disabled or deleted
 * accounts whose access tokens may still be unexpired, held in memory by every replica and checked where
 * the token is verified (a Map lookup: no promise, no allocation, no I/O per request).
 *
 * `RevocationSync` fills the list from auth-service's feed (`GET /api/v1/internal/revocations`, with
 * the service token): every `pollIntervalMs` in both run modes, and at once when auth-service pokes
 * the Redis channel (real mode). While auth-service cannot be reached the last list is kept and used
 * (fail-open, README "Revocation"), polling goes on, `course_revocations_feed_age_seconds` grows and
 * one warning is logged; entries made meanwhile arrive when it is back (the cursor resumes).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { HttpError } from '../../shared/utils/errors.js';
import type { Principal } from '../../shared/utils/jwt.js';
import type { Logger } from '../../shared/utils/logging.js';
import type { KeyValueStore, Subscription } from '../../shared/utils/redis.js';
import type { AuthClient, RevocationFeedPage } from './auth_client.js';

interface UserEntry {
  /** Tokens with `iat` at or before this (seconds since the epoch) are refused. */
  notBeforeSec: number;
  expiresAtMs: number;
}

export class RevocationList {
  /** Session id -> when the entry can go (ms). */
  private readonly sessions = new Map<string, number>();
  private readonly users = new Map<string, UserEntry>();

  /**
   * True when the token's session has ended, or its account was disabled or deleted at or after the
   * token was issued (`iat` has whole seconds: a token from the same second is refused too).
   */
  refuses(principal: Principal): boolean {
    if (principal.sid !== undefined && this.sessions.has(principal.sid)) return true;
    if (this.users.size === 0) return false;
    const user = this.users.get(principal.sub);
    return user !== undefined && (principal.iat ?? 0) <= user.notBeforeSec;
  }

  /** Applies feed entries; applying one twice changes nothing. */
  apply(items: RevocationFeedPage['items'], now = Date.now()): void {
    for (const item of items) {
      const expiresAtMs = Date.parse(item.expiresAt);
      if (!(expiresAtMs > now)) continue;
      if (item.kind === 'session') {
        this.sessions.set(item.subject, Math.max(expiresAtMs, this.sessions.get(item.subject) ?? 0));
      } else if (item.kind === 'user') {
        const notBeforeSec = Date.parse(item.notBefore) / 1000;
        const prev = this.users.get(item.subject);
        this.users.set(item.subject, {
          notBeforeSec: Math.max(notBeforeSec, prev?.notBeforeSec ?? 0),
          expiresAtMs: Math.max(expiresAtMs, prev?.expiresAtMs ?? 0),
        });
      }
    }
  }

  /** Forgets entries whose tokens have all expired. */
  sweep(now = Date.now()): void {
    for (const [sid, expiresAt] of this.sessions) if (expiresAt <= now) this.sessions.delete(sid);
    for (const [sub, entry] of this.users) if (entry.expiresAtMs <= now) this.users.delete(sub);
  }

  get size(): { sessions: number; users: number } {
    return { sessions: this.sessions.size, users: this.users.size };
  }
}

export interface RevocationSyncOptions {
  pollIntervalMs: number;
  /** Redis channel auth-service pokes on a new entry (real mode). */
  channel: string;
}

export class RevocationSync {
  readonly list = new RevocationList();
  private cursor = '0.0';
  private loadedAt: number | undefined;
  private readonly startedAt = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private subscription: Subscription | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private failing = false;
  private stopped = false;
  private refused: Counter | undefined;
  /** Settles when the first whole feed is in (readiness waits for it). */
  private firstLoad!: () => void;
  readonly loaded = new Promise<void>((resolve) => (this.firstLoad = resolve));

  constructor(
    private readonly client: Pick<AuthClient, 'revocations'>,
    private readonly store: KeyValueStore,
    private readonly logger: Logger,
    private readonly options: RevocationSyncOptions,
  ) {}

  /** The bearer check (authenticate.ts `PrincipalCheck`): answers at once, throws 401 `session_revoked`. */
  readonly check = (principal: Principal): void => {
    if (!this.list.refuses(principal)) return;
    this.refused?.inc();
    throw HttpError.unauthorized('session_revoked', 'This session has ended; log in again');
  };

  /** True once the whole unexpired feed has been read. */
  get ready(): boolean {
    return this.loadedAt !== undefined;
  }

  /** Seconds since the feed was last read in full (since start while it never was). */
  get ageSeconds(): number {
    return (Date.now() - (this.lastSuccess ?? this.startedAt)) / 1000;
  }

  private lastSuccess: number | undefined;

  /** Starts polling and listening; resolves after the first sync attempt (or `waitMs`), never throws. */
  async start(waitMs: number): Promise<void> {
    if (this.store.subscribe) {
      this.subscription = this.store.subscribe(
        [this.options.channel],
        () => this.syncNow(),
        // After a gap in the subscription pokes may have been lost: read the feed.
        (live) => live && this.syncNow(),
      );
    }
    this.timer = setInterval(() => this.syncNow(), this.options.pollIntervalMs);
    this.timer.unref();
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([this.syncNow(), new Promise<void>((resolve) => (timeout = setTimeout(resolve, waitMs)))]);
    clearTimeout(timeout);
  }

  /** Reads the feed now; a call while a read runs makes one more read after it (pokes coalesce). */
  syncNow(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.readAll().finally(() => {
      this.running = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        void this.syncNow();
      }
    });
    return this.running;
  }

  private async readAll(): Promise<void> {
    try {
      for (let pages = 0; pages < 100; pages++) {
        const page = await this.client.revocations(this.cursor);
        this.list.apply(page.items);
        this.cursor = page.cursor;
        if (!page.more) break;
      }
      this.list.sweep();
      this.lastSuccess = Date.now();
      if (this.loadedAt === undefined) {
        this.loadedAt = this.lastSuccess;
        this.firstLoad();
      }
      if (this.failing) this.logger.info('revocation feed: auth-service answers again; revocation list current');
      this.failing = false;
    } catch (err) {
      if (!this.failing) {
        this.logger.warn(
          { err: (err as Error).message },
          'revocation feed: cannot read it from auth-service; keeping the last list and retrying (course_revocations_feed_age_seconds)',
        );
      }
      this.failing = true;
    }
  }

  registerMetrics(registry: Registry): void {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const sync = this;
    new Gauge({
      name: 'course_revocations_feed_age_seconds',
      help: 'Seconds since the revocation feed was last read in full from auth-service (grows while it cannot be reached)',
      registers: [registry],
      collect() {
        this.set(sync.ageSeconds);
      },
    });
    new Gauge({
      name: 'course_revocations_entries',
      help: 'Revoked sessions and accounts held in memory',
      labelNames: ['kind'],
      registers: [registry],
      collect() {
        const size = sync.list.size;
        this.set({ kind: 'session' }, size.sessions);
        this.set({ kind: 'user' }, size.users);
      },
    });
    this.refused = new Counter({
      name: 'course_revocations_refused_total',
      help: 'Requests refused because their token\'s session or account was revoked',
      registers: [registry],
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.subscription?.close();
    await this.running?.catch(() => undefined);
  }
}
