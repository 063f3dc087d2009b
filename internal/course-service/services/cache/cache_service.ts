/**
 * The response cache: versioned keys over a KeyValueStore (Redis shared by all replicas, or memory in
 * embedded mode).
 *
 * - Each scope (`course:<id>`, `courses`, ... see cache_scopes.ts) has a version counter that never
 *   expires. An entry's key embeds the versions of the scopes it depends on, read with one MGET, so
 *   `invalidate(scopes)` is one INCR per scope and every replica stops seeing the old entries at once.
 *   No SCAN or KEYS; stale entries are never read again and age out by their TTL.
 * - Concurrent misses of one key in this process share one loader call (single flight).
 * - A store failure never fails a request: the loader answers, `degraded` turns on, `onError` is called
 *   once per outage, and the next successful store call turns it off again (ioredis reconnects by
 *   itself). While failing, requests skip the store for a second at a time (a slow Redis must not cost
 *   every request its timeout). An invalidation lost during an outage is made up for by bumping a
 *   global epoch, which every key also embeds, as soon as the store answers again.
 *
 * - Near cache (when `near` is set): versions and entries are also kept in this process and a hit costs
 *   no round trip and no promise (`peekPrepared`). Over Redis every bump is published to the replicas
 *   and a write waits until each has applied it (cache_bus.ts); over the memory store (one process) the
 *   process's own bumps are applied to it at once. The rules that keep the near copy exact are in
 *   near_cache.ts.
 *
 * Keys: `cache:ver:<scope>` (counters) and `cache:data:<scope>@<v>|...|*@<epoch>:<key>` (entries). The
 * store's own key prefix (config `redis.keyPrefix`) keeps deployments apart.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { KeyValueStore } from '../../../shared/utils/redis.js';
import type { CacheInvalidator } from './cache_scopes.js';
import { NearCache, NearLookup, type NearCacheOptions } from './near_cache.js';

export type { NearLookup };
import { CacheBus, canPublish } from './cache_bus.js';

export interface CacheServiceOptions {
  courseTtlMs: number;
  listTtlMs: number;
  reviewsTtlMs: number;
  categoriesTtlMs: number;
  /** While the store fails, requests skip it this long before one tries again (default 1000 ms). */
  storeRetryMs?: number;
  /** Called once when the store starts failing (log it; /readyz reads `degraded`). */
  onError?: (err: unknown) => void;
  /** Called once when the store answers again after a failure. */
  onRecover?: () => void;
  /** Keep a near cache in this process (over Redis, or over the memory store of embedded mode). */
  near?: NearCacheOptions;
  /** How long a write waits for the replicas to acknowledge its bump (default 200 ms). */
  ackTimeoutMs?: number;
  /** A write answered at that deadline, `missing` replicas short (count it, log it now and then). */
  onAckTimeout?: (missing: number) => void;
}

export interface CacheResult<T> {
  value: T;
  /** True when the value came from the store; false when the loader ran (or was joined). */
  hit: boolean;
}

const VERSION_PREFIX = 'cache:ver:';
const DATA_PREFIX = 'cache:data:';
const EPOCH_SCOPE = '*';
/** How long a write waits for the replicas to acknowledge its bump before it answers anyway. */
const ACK_TIMEOUT_MS = 200;
/** Marks an entry stored as raw text (see trySet). */
const RAW_MARK = '#';
/** Invalidation bumps sent at once before later ones gather into the next (CacheService.invalidate). */
const MAX_BUMPS_IN_FLIGHT = 4;

/** How long requests skip a failing store before one tries it again. */
const STORE_RETRY_MS = 1000;

export class CacheService implements CacheInvalidator {
  readonly ttl: { course: number; list: number; reviews: number; categories: number };
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private failing = false;
  /**
   * An invalidation failed: bump the epoch before trusting any entry again. Known limit: a process that
   * dies during a Redis outage after a write takes this pending bump with it, and the entries that write
   * should have made stale live until their TTL (seconds to a minute; see the cache settings).
   */
  private epochBumpPending = false;
  /** While the store is failing, requests skip it until this time, then one probes it again. */
  private skipStoreUntil = 0;
  /** Bumped by every local invalidate, so a degraded-mode flight started before a write is not joined after it. */
  private localGeneration = 0;
  /** Scopes waiting for the next bump, the callers waiting for it, and the bumps under way (invalidate). */
  private queuedScopes = new Set<string>();
  private queuedWaiters: (() => void)[] = [];
  private bumpsInFlight = 0;
  private readonly near: NearCache | undefined;
  private readonly bus: CacheBus | undefined;
  /** Writes that answered at the acknowledgement deadline (see CacheBus). */
  ackTimeouts = 0;

  constructor(
    private readonly store: KeyValueStore,
    private readonly options: CacheServiceOptions,
  ) {
    this.ttl = {
      course: options.courseTtlMs,
      list: options.listTtlMs,
      reviews: options.reviewsTtlMs,
      categories: options.categoriesTtlMs,
    };
    const wantNear = options.near !== undefined && options.near.maxBytes > 0;
    if (!canPublish(store)) {
      // The memory store (embedded mode): one process, so its own bumps are all there is to hear, and
      // the near cache is live from the start. It keeps the entries in the form a hit sends them.
      this.near = wantNear && store.kind === 'memory' ? new NearCache(options.near!) : undefined;
      this.near?.setLive(true);
    } else {
      this.near = wantNear ? new NearCache(options.near!) : undefined;
      this.bus = new CacheBus(store, this.near, {
        ackTimeoutMs: options.ackTimeoutMs ?? ACK_TIMEOUT_MS,
        onStoreError: (err) => this.failed(err),
        onAckTimeout: (missing) => {
          this.ackTimeouts++;
          options.onAckTimeout?.(missing);
        },
      });
    }
  }

  /** The near cache's state (tests, metrics); undefined when there is none. */
  get nearState(): { live: boolean; entries: number; bytes: number; versions: number } | undefined {
    return this.near ? { live: this.near.live, ...this.near.size } : undefined;
  }

  /** Stops listening for invalidations (the store itself is closed by its owner). */
  async close(): Promise<void> {
    await this.bus?.close();
  }

  /** True while the store is failing (the service answers from the database). */
  get degraded(): boolean {
    return this.failing;
  }

  /**
   * The cached value of `key` under `scopes`, or `loader()`'s (stored for `ttlMs`). `key` must identify
   * the answer fully (e.g. the path and normalised query). Loader errors propagate and are not cached.
   * The value must be JSON-serialisable.
   */
  async getOrLoad<T>(scopes: readonly string[], key: string, ttlMs: number, loader: () => Promise<T>): Promise<CacheResult<T>> {
    const near = this.nearHit<T>(scopes, key);
    if (near) return near;
    return this.fetchOrLoad(scopes, key, ttlMs, loader);
  }

  /** `getOrLoad` for a caller that has just looked in the near cache itself (`peek`) and missed. */
  async fetchOrLoad<T>(scopes: readonly string[], key: string, ttlMs: number, loader: () => Promise<T>): Promise<CacheResult<T>> {
    const found = await this.lookup<T>(scopes, key, ttlMs);
    if (found?.hit) return { value: found.value, hit: true };
    const entryKey = found?.entryKey;

    // The flight key holds the versions, so a caller that arrives after an invalidation never joins a
    // load that started before it.
    const flightKey = entryKey ?? `degraded#${this.localGeneration}:${scopes.join('|')}:${key}`;
    const existing = this.inFlight.get(flightKey) as Promise<T> | undefined;
    if (existing) return { value: await existing, hit: false };

    const storeKey = entryKey;
    const flight = (async () => {
      const value = await loader();
      if (storeKey !== undefined) await this.trySet(storeKey, value, ttlMs);
      return value;
    })();
    this.inFlight.set(flightKey, flight);
    try {
      return { value: await flight, hit: false };
    } finally {
      if (this.inFlight.get(flightKey) === flight) this.inFlight.delete(flightKey);
    }
  }

  /**
   * The stored entry (a hit), or the key it would be stored under (a miss), or undefined when the store
   * is failing. While it fails, the store is skipped for a moment at a time: a slow or dead Redis must
   * not cost every request its timeout.
   */
  private async lookup<T>(
    scopes: readonly string[],
    key: string,
    ttlMs: number,
  ): Promise<{ hit: true; value: T } | { hit: false; entryKey: string } | undefined> {
    if (this.failing && Date.now() < this.skipStoreUntil) return undefined;
    try {
      await this.settleEpoch();
      const allScopes = [...scopes, EPOCH_SCOPE];
      const changesBefore = this.near?.changeCount ?? 0;
      const versions = (await this.store.mget(allScopes.map((s) => VERSION_PREFIX + s))).map((v) => v ?? '0');
      const entryKey = entryKeyOf(allScopes, versions, key);
      const cached = await this.store.get(entryKey);
      this.succeeded();
      this.near?.learn(allScopes, versions, changesBefore);
      const parsed = cached === null ? undefined : parseEntry(cached);
      if (!parsed) return { hit: false, entryKey };
      this.near?.set(entryKey, parsed.v, cached!.length, ttlMs);
      return { hit: true, value: parsed.v as T };
    } catch (err) {
      this.failed(err);
      return undefined;
    }
  }

  /** The near cache's value of `key` under `scopes`, if it has a current one (no I/O, no promise). */
  peek<T>(scopes: readonly string[], key: string): T | undefined {
    return this.nearHit<T>(scopes, key)?.value;
  }

  /**
   * A handle for reading `key` under `scopes` from the near cache again and again (`peekPrepared`);
   * keep one per key (e.g. per URL), it remembers what it found last time.
   */
  nearLookup(scopes: readonly string[], key: string): NearLookup {
    const allScopes = [...scopes, EPOCH_SCOPE];
    return new NearLookup(allScopes, (versions) => entryKeyOf(allScopes, versions, key));
  }

  /**
   * `peek` through a handle, with the value turned by `prepare` once per entry and kept beside it
   * (NearCache.prepared): a reader that sends the value in another form (bytes, headers) makes that
   * form once, not per hit. Synchronous: no I/O, no promise, and nothing allocated while the entry stays.
   */
  peekPrepared<P>(lookup: NearLookup, prepare: (value: unknown) => { prepared: P; size: number }): P | undefined {
    const near = this.near;
    if (near === undefined || this.failing || this.epochBumpPending) return undefined;
    return near.prepared<P>(lookup, prepare);
  }

  /**
   * A hit from the near cache, or undefined. It is served only while the store is healthy, the
   * subscription live (NearCache) and no invalidation of this process is pending. No later message
   * can be missed here: a write is answered only after every replica has applied its bump (CacheBus).
   */
  private nearHit<T>(scopes: readonly string[], key: string): CacheResult<T> | undefined {
    const near = this.near;
    if (near === undefined || this.failing || this.epochBumpPending) return undefined;
    const allScopes = [...scopes, EPOCH_SCOPE];
    const versions = near.versionsOf(allScopes);
    if (versions === undefined) return undefined;
    const entry = near.get(entryKeyOf(allScopes, versions, key));
    return entry === undefined ? undefined : { value: entry.value as T, hit: true };
  }

  /**
   * Makes every entry that depends on any of `scopes` stale, on every replica. Never throws. Resolves
   * once a bump holding `scopes` was applied (and, over Redis, acknowledged by every replica), so the
   * caller answers its client only then. Up to MAX_BUMPS_IN_FLIGHT bumps run at once, each sent at once;
   * beyond that, later scopes gather and go out together in the next bump to start (one INCR per
   * distinct scope, one message). So a burst of writes (500 enrolments a second, each making
   * `course:<id>` and `courses` stale) costs a few bumps rather than one round trip and one message to
   * every replica per write, while one slow acknowledgement holds back only its own bump's callers.
   */
  async invalidate(scopes: readonly string[]): Promise<void> {
    this.localGeneration++;
    if (scopes.length === 0) return;
    if (this.failing && Date.now() < this.skipStoreUntil) {
      this.epochBumpPending = true;
      return;
    }
    for (const scope of scopes) this.queuedScopes.add(scope);
    const done = new Promise<void>((resolve) => this.queuedWaiters.push(resolve));
    if (this.bumpsInFlight < MAX_BUMPS_IN_FLIGHT) void this.sendQueued();
    return done;
  }

  /** Sends the gathered scopes, one bump at a time, until none are left; see `invalidate`. */
  private async sendQueued(): Promise<void> {
    while (this.queuedScopes.size > 0) {
      const scopes = [...this.queuedScopes];
      const waiters = this.queuedWaiters;
      this.queuedScopes = new Set();
      this.queuedWaiters = [];
      this.bumpsInFlight++;
      try {
        await this.settleEpoch();
        await this.bump(scopes);
        this.succeeded();
      } catch (err) {
        this.epochBumpPending = true;
        this.failed(err);
      } finally {
        this.bumpsInFlight--;
      }
      for (const resolve of waiters) resolve();
    }
  }

  private async settleEpoch(): Promise<void> {
    if (!this.epochBumpPending) return;
    await this.bump([EPOCH_SCOPE]);
    this.epochBumpPending = false;
  }

  /** INCR of each scope's version; over Redis published to every replica's near cache and acknowledged. */
  private async bump(scopes: string[]): Promise<void> {
    const keys = scopes.map((s) => VERSION_PREFIX + s);
    if (this.bus) await this.bus.bump(keys, scopes);
    else {
      const values = await Promise.all(keys.map((k) => this.store.incr(k)));
      this.near?.bumped(scopes, values);
    }
  }

  private async trySet(key: string, value: unknown, ttlMs: number): Promise<void> {
    try {
      // A string is stored as it is behind a marker no JSON text starts with: a hit then costs no parse.
      const text = typeof value === 'string' ? RAW_MARK + value : JSON.stringify({ v: value });
      await this.store.set(key, text, ttlMs);
      this.near?.set(key, value, text.length, ttlMs);
    } catch (err) {
      this.failed(err);
    }
  }

  private failed(err: unknown): void {
    this.skipStoreUntil = Date.now() + (this.options.storeRetryMs ?? STORE_RETRY_MS);
    if (this.failing) return;
    this.failing = true;
    try {
      this.options.onError?.(err);
    } catch {
      // A logging callback must not turn a cache fault into a request failure.
    }
  }

  private succeeded(): void {
    if (!this.failing) return;
    this.failing = false;
    try {
      this.options.onRecover?.();
    } catch {
      // As above.
    }
  }
}

/** The near cache's state on /metrics (nothing when there is no near cache). */
export function registerNearCacheMetrics(registry: Registry, cache: CacheService): void {
  if (cache.nearState === undefined) return;
  const gauge = (name: string, help: string, pick: (s: NonNullable<CacheService['nearState']>) => number) =>
    new Gauge({ name, help, registers: [registry], collect() { this.set(pick(cache.nearState!)); } });
  gauge('course_near_cache_live', '1 while the invalidation channel is live (the near cache serves)', (s) => Number(s.live));
  gauge('course_near_cache_entries', 'Cached answers held in this process', (s) => s.entries);
  gauge('course_near_cache_bytes', 'Size of the cached answers held in this process (text length)', (s) => s.bytes);
  new Counter({
    name: 'course_cache_ack_timeouts_total',
    help: 'Writes answered before every replica had acknowledged their cache invalidation (a slow or stuck replica)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(cache.ackTimeouts);
    },
  });
}

function entryKeyOf(scopes: readonly string[], versions: readonly string[], key: string): string {
  let out = DATA_PREFIX;
  for (let i = 0; i < scopes.length; i++) out += (i ? '|' : '') + scopes[i] + '@' + versions[i];
  return out + ':' + key;
}

function parseEntry(text: string): { v: unknown } | undefined {
  if (text.startsWith(RAW_MARK)) return { v: text.slice(RAW_MARK.length) };
  try {
    const parsed = JSON.parse(text) as unknown;
    return typeof parsed === 'object' && parsed !== null && 'v' in parsed ? (parsed as { v: unknown }) : undefined;
  } catch {
    return undefined;
  }
}
