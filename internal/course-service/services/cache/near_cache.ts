/**
 * The near cache: a bounded copy, in this process, of the cache versions and entries it read from
 * Redis, so that a hit costs no round trip and no promise; it is what lets a cached answer cost little
 * more than a bare route (bench/run.ts). Over Redis it follows the replicas' bumps as below; over the
 * memory store (embedded mode, one process) it is live from the start and this process's own bumps
 * (`bumped`) are all there is to hear.
 *
 * Freshness is the shared cache's, not a TTL's: an entry's key embeds the versions of its scopes, and
 * a version is used from here only while this process is sure to hear of every bump of it.
 * - Every invalidation increments the counters and publishes the new values in one atomic Redis step
 *   (RedisStore.incrAndPublish). Each replica applies the message, then acknowledges it to the writer
 *   (CacheService), and the writer answers its client only when every replica that received the
 *   message has acknowledged it: a client that got the answer of a write reads it on any replica.
 *   A replica that does not acknowledge in time (CacheService's ACK_TIMEOUT_MS) is stale at most until
 *   its trust in the version runs out (below).
 * - The writer also applies its own bump here at once (`bumped`).
 * - While the subscription is not live (starting, reconnecting) nothing is served from here, and every
 *   version learnt before is forgotten when it goes live again: messages sent meanwhile are lost.
 * - A version read with MGET is taken (`learn`) only if no message arrived while the MGET was in
 *   flight (it could be older than the message), and it is trusted for `trustMs` only: a stalled
 *   channel, or counters lost on the Redis side, cannot make a replica stale for longer than that.
 *
 * Entries live at most the TTL they were stored with (counted from when this process fetched them)
 * and are dropped oldest-first beyond `maxBytes` (string lengths; an approximation of the heap).
 */
export interface NearCacheOptions {
  /** Bound on the entries held (sum of their text lengths). */
  maxBytes: number;
  /** How long a version read from Redis is trusted without being read again. */
  trustMs: number;
  /** Bound on the versions held (one per scope read: a course, a review list, ...). */
  maxVersions?: number;
}

interface Version {
  value: string;
  /** Until when it may be used without reading it again. */
  trustedUntil: number;
}

interface Entry {
  value: unknown;
  size: number;
  expiresAt: number;
  /** The value in the form its reader sends it (see `prepared`), made on the first read. */
  memo?: unknown;
  /** Set when the entry leaves the map, so a reader holding it (NearLookup) knows to look again. */
  gone?: boolean;
}

/**
 * A reader's handle on one entry (one key under one list of scopes), kept between reads: the versions
 * and the entry it found last time. While the versions are the same and the entry is still held, a
 * read costs the version checks only: no key is built, hashed or looked up, nothing is allocated.
 */
export class NearLookup {
  /** The versions of `scopes` the entry was found under (filled in place). */
  readonly versions: string[] = [];
  entryKey = '';
  entry: Entry | undefined;

  constructor(
    /** Every scope the entry depends on (the epoch included). */
    readonly scopes: readonly string[],
    /** Builds the entry's key from the scopes' versions. */
    readonly keyOf: (versions: readonly string[]) => string,
  ) {}
}

/**
 * The text of an invalidation message: a first line naming the bump (`<writer> <seq>`, so replicas can
 * acknowledge it), then one `<scope> <version>` line per scope.
 */
export function bumpMessage(bumpId: string, scopes: readonly string[], values: readonly (number | string)[]): string {
  return [bumpId, ...scopes.map((s, i) => `${s} ${values[i]}`)].join('\n');
}

export class NearCache {
  private readonly versions = new Map<string, Version>();
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  private isLive = false;
  /** Bumped by every message, local bump and reset: `learn` refuses values read before a change. */
  private changes = 0;

  constructor(private readonly options: NearCacheOptions) {}

  /** The subscription's state. Both edges forget everything: what was learnt may be out of date. */
  setLive(live: boolean): void {
    if (live === this.isLive) return;
    this.isLive = live;
    this.clear();
  }

  get live(): boolean {
    return this.isLive;
  }

  /** A counter of changes heard; pass it back to `learn`. */
  get changeCount(): number {
    return this.changes;
  }

  /** The versions of `scopes` if each one is known and trusted now, else undefined. */
  versionsOf(scopes: readonly string[], now = Date.now()): string[] | undefined {
    if (!this.isLive) return undefined;
    const out: string[] = [];
    for (const scope of scopes) {
      const v = this.versions.get(scope);
      if (v === undefined || v.trustedUntil <= now) return undefined;
      out.push(v.value);
    }
    return out;
  }

  /** Versions read from the store; ignored if anything changed since `changeCountBefore`. */
  learn(scopes: readonly string[], values: readonly string[], changeCountBefore: number, now = Date.now()): void {
    if (!this.isLive || this.changes !== changeCountBefore) return;
    const trustedUntil = now + this.options.trustMs;
    scopes.forEach((scope, i) => this.versions.set(scope, { value: values[i]!, trustedUntil }));
    const max = this.options.maxVersions ?? 50_000;
    if (this.versions.size <= max) return;
    // Untrusted ones first, then the oldest; a forgotten version is simply read again.
    for (const [scope, v] of this.versions) if (v.trustedUntil <= now) this.versions.delete(scope);
    for (const scope of this.versions.keys()) {
      if (this.versions.size <= max) break;
      this.versions.delete(scope);
    }
  }

  /** Applies a message of the channel (see `bumpMessage`) and returns its bump id, to acknowledge. */
  heard(text: string): string {
    this.changes++;
    const lines = text.split('\n');
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const cut = line.lastIndexOf(' ');
      if (cut > 0) this.raise(line.slice(0, cut), line.slice(cut + 1));
    }
    return lines[0]!;
  }

  /** This process bumped these scopes to these values (it hears the message later). */
  bumped(scopes: readonly string[], values: readonly (number | string)[]): void {
    this.changes++;
    scopes.forEach((scope, i) => this.raise(scope, String(values[i])));
  }

  /** Counters only grow: a value below the known one is an older message than what is known. */
  private raise(scope: string, value: string): void {
    const known = this.versions.get(scope);
    if (known === undefined) return; // not read here: the next read asks the store
    if (Number(value) > Number(known.value)) known.value = value;
  }

  get(key: string, now = Date.now()): { value: unknown } | undefined {
    if (!this.isLive) return undefined;
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      this.drop(key, entry);
      return undefined;
    }
    return entry;
  }

  /**
   * The value of the current entry of `lookup` turned by `prepare` (e.g. the bytes and headers of an
   * HTTP answer), made once per entry and kept beside it (its size counted too), so a hit does no work
   * but the version checks. `prepare` must be the same function for a given key (one reader per key).
   * Same rules as `versionsOf` and `get`: only while live, only trusted versions, only unexpired entries.
   */
  prepared<P>(lookup: NearLookup, prepare: (value: unknown) => { prepared: P; size: number }, now = Date.now()): P | undefined {
    if (!this.isLive) return undefined;
    const { scopes, versions } = lookup;
    let same = versions.length === scopes.length;
    for (let i = 0; i < scopes.length; i++) {
      const v = this.versions.get(scopes[i]!);
      if (v === undefined || v.trustedUntil <= now) {
        versions.length = 0; // partly updated: the next read builds the key again
        return undefined;
      }
      if (versions[i] !== v.value) {
        versions[i] = v.value;
        same = false;
      }
    }
    if (!same) {
      lookup.entryKey = lookup.keyOf(versions);
      lookup.entry = undefined;
    }
    let entry = lookup.entry;
    if (entry === undefined || entry.gone) {
      entry = this.entries.get(lookup.entryKey);
      lookup.entry = entry;
      if (entry === undefined) return undefined;
    }
    if (entry.expiresAt <= now) {
      this.drop(lookup.entryKey, entry);
      lookup.entry = undefined;
      return undefined;
    }
    if (entry.memo === undefined) {
      const made = prepare(entry.value);
      entry.memo = made.prepared;
      entry.size += made.size;
      this.bytes += made.size;
      this.trim();
    }
    return entry.memo as P;
  }

  set(key: string, value: unknown, size: number, ttlMs: number, now = Date.now()): void {
    if (!this.isLive || size > this.options.maxBytes) return;
    const old = this.entries.get(key);
    // The same text read again (a version re-read after `trustMs`): keep the entry and what was
    // prepared from it, with the new expiry.
    if (old !== undefined && old.value === value) {
      old.expiresAt = now + ttlMs;
      return;
    }
    if (old) this.drop(key, old);
    this.entries.set(key, { value, size, expiresAt: now + ttlMs });
    this.bytes += size;
    this.trim();
  }

  /** Drops entries beyond `maxBytes`, oldest insertions first (a Map iterates in insertion order). */
  private trim(): void {
    if (this.bytes <= this.options.maxBytes) return;
    for (const [k, e] of this.entries) {
      if (this.bytes <= this.options.maxBytes) break;
      this.drop(k, e);
    }
  }

  /** Entries held and their size, for /metrics and tests. */
  get size(): { entries: number; bytes: number; versions: number } {
    return { entries: this.entries.size, bytes: this.bytes, versions: this.versions.size };
  }

  private drop(key: string, entry: Entry): void {
    entry.gone = true;
    this.entries.delete(key);
    this.bytes -= entry.size;
  }

  private clear(): void {
    this.changes++;
    this.versions.clear();
    for (const entry of this.entries.values()) entry.gone = true;
    this.entries.clear();
    this.bytes = 0;
  }
}
