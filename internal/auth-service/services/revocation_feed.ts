/**
 * The revocation feed of auth-service (issue 18). The `revocations` table is filled by triggers
 * (migration 0010) in the transaction that ends a session or disables or deletes an account, so every
 * code path feeds it; this service answers course-service's reads of it, prunes what expired, and, with
 * Redis, tells the replicas at once that there is something new.
 *
 * - `page(after)`: the unexpired entries after a cursor. The cursor advances only past entries whose
 *   transaction is older than every running one (see the migration); later entries are sent too, so
 *   a reader learns of a commit at once, and may see them again (applying an entry twice is harmless).
 * - With Redis, a poller reads `max(seq)` every `publishIntervalMs` and, when it moved, PUBLISHes a
 *   bare "poke" on `channel`; each replica then reads the feed. The message carries nothing a replica
 *   trusts, so anyone who can publish there can only make replicas read the feed early. (Polling, not
 *   LISTEN/NOTIFY: it works the same on PGlite and through a transaction pooler, and costs one
 *   index-only read per interval per replica.)
 */
import type { Logger } from '../../shared/utils/logging.js';
import type { KeyValueStore } from '../../shared/utils/redis.js';
import type { RevocationPage } from '../models/revocation.js';
import type { RevocationRepository } from '../repository/revocation_repository.js';

export interface RevocationFeedOptions {
  /** Access-token lifetime plus clock skew: how long an entry is kept and served. */
  keepSec: number;
  pruneIntervalMs: number;
  publishIntervalMs: number;
  channel: string;
}

export class RevocationFeed {
  private timers: NodeJS.Timeout[] = [];
  private lastSeq: string | undefined;
  private publishing = false;
  private publishFailed = false;

  constructor(
    private readonly repository: RevocationRepository,
    private readonly store: KeyValueStore,
    private readonly logger: Logger,
    private readonly options: RevocationFeedOptions,
  ) {}

  /** A page of up to `limit` entries (1,000 over HTTP: a feed, not a list a client pages through). */
  async page(after: string | undefined, limit = 1000): Promise<RevocationPage> {
    const [xid, seq] = (after ?? '0.0').split('.') as [string, string];
    const rows = await this.repository.after(xid, seq, limit);
    let cursor = after ?? '0.0';
    // Settled rows come first (they sort by xid, and "settled" is xid < the oldest running xid).
    for (const row of rows) {
      if (!row.settled) break;
      cursor = row.position;
    }
    return {
      items: rows.map((r) => ({ kind: r.kind, subject: r.subject, notBefore: r.not_before.toISOString(), expiresAt: r.expires_at.toISOString() })),
      cursor,
      more: rows.length === limit && cursor !== (after ?? '0.0'),
    };
  }

  /**
   * Sets the entries' lifetime for the triggers (retried with the prune while the database is away),
   * and starts pruning (and publishing, with Redis).
   */
  start(): void {
    let keepSet = false;
    const maintain = async () => {
      if (!keepSet) {
        await this.repository.setKeep(this.options.keepSec);
        keepSet = true;
      }
      await this.repository.prune();
    };
    const run = () => void maintain().catch((err: unknown) => this.logger.warn({ err: (err as Error).message }, 'revocation feed: upkeep failed'));
    run();
    const prune = setInterval(run, this.options.pruneIntervalMs);
    prune.unref();
    this.timers.push(prune);
    if (this.store.kind === 'redis' && this.store.publish) {
      const publish = setInterval(() => void this.publishIfNew(), this.options.publishIntervalMs);
      publish.unref();
      this.timers.push(publish);
    }
  }

  /** One publisher step: PUBLISH a poke when the newest entry changed since the last step. */
  async publishIfNew(): Promise<void> {
    if (this.publishing) return;
    this.publishing = true;
    try {
      const seq = await this.repository.latestSeq();
      if (seq !== this.lastSeq) {
        // The first step after a start pokes too: something may have been written while nobody published.
        await this.store.publish!(this.options.channel, seq);
        this.lastSeq = seq;
      }
      if (this.publishFailed) this.logger.info('revocation feed: publishing again');
      this.publishFailed = false;
    } catch (err) {
      // Replicas still poll the feed: a lost poke delays a revocation by at most their poll interval.
      if (!this.publishFailed) this.logger.warn({ err: (err as Error).message }, 'revocation feed: cannot publish; replicas will learn by polling');
      this.publishFailed = true;
    } finally {
      this.publishing = false;
    }
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }
}
