/**
 * The replicas' invalidation channel (Redis pub/sub), so that near caches (near_cache.ts) follow every
 * write of every replica.
 *
 * - `bump` increments the scopes' version counters and publishes the new values in one atomic Redis
 *   step; Redis says how many subscribers received the message.
 * - Every replica applies each message to its near cache and then acknowledges it on the writer's own
 *   ack channel; `bump` resolves when as many acknowledgements as receivers have come back (or after
 *   `ackTimeoutMs`). The writer answers its client only then, so the client reads its write on every
 *   replica. A replica that misses the deadline stays stale at most until its trust in the version runs
 *   out (`cache.nearTrustMs`).
 * - Every replica with Redis takes part, near cache or not (a replica with the cache off still writes,
 *   and still acknowledges at once).
 */
import { randomBytes } from 'node:crypto';
import type { KeyValueStore, Subscription } from '../../../shared/utils/redis.js';
import type { NearCache } from './near_cache.js';

/** A store that can publish (Redis). */
export type PublishingStore = KeyValueStore & Required<Pick<KeyValueStore, 'incrAndPublish' | 'publish' | 'subscribe'>>;

export function canPublish(store: KeyValueStore): store is PublishingStore {
  return typeof store.incrAndPublish === 'function' && typeof store.publish === 'function' && typeof store.subscribe === 'function';
}

interface PendingBump {
  acks: number;
  /** Unknown until Redis answers (acknowledgements may come first). */
  receivers: number;
  done: () => void;
}

export class CacheBus {
  private readonly channel: string;
  private readonly writer = randomBytes(6).toString('base64url');
  private readonly ackChannel: string;
  private readonly subscription: Subscription;
  private readonly pending = new Map<string, PendingBump>();
  private seq = 0;

  constructor(
    private readonly store: PublishingStore,
    private readonly near: NearCache | undefined,
    private readonly options: {
      ackTimeoutMs: number;
      onStoreError: (err: unknown) => void;
      /** A bump answered at the deadline: `missing` replicas had not acknowledged it. */
      onAckTimeout?: (missing: number) => void;
    },
  ) {
    this.channel = `${store.channelPrefix ?? ''}cache:invalidate`;
    this.ackChannel = `${this.channel}:ack:${this.writer}`;
    this.subscription = store.subscribe(
      [this.channel, this.ackChannel],
      (channel, text) => (channel === this.channel ? this.heard(text) : this.acknowledged(text)),
      (live) => {
        near?.setLive(live);
        // Acknowledgements cannot come in now: nobody waits for them.
        if (!live) for (const bump of this.pending.values()) bump.done();
      },
    );
  }

  get live(): boolean {
    return this.subscription.live;
  }

  /** Increments the scopes' counters (full keys in `keys`) and returns once every replica has applied it. */
  async bump(keys: string[], scopes: string[]): Promise<number[]> {
    const id = `${this.writer} ${++this.seq}`;
    let timer: NodeJS.Timeout | undefined;
    const acknowledged = new Promise<void>((resolve) => {
      const bump: PendingBump = { acks: 0, receivers: Infinity, done: resolve };
      this.pending.set(id, bump);
      timer = setTimeout(() => {
        if (Number.isFinite(bump.receivers)) this.options.onAckTimeout?.(bump.receivers - bump.acks);
        resolve();
      }, this.options.ackTimeoutMs);
    });
    try {
      const { values, receivers } = await this.store.incrAndPublish(keys, scopes, this.channel, id);
      this.near?.bumped(scopes, values);
      const bump = this.pending.get(id)!;
      bump.receivers = receivers;
      if (bump.acks >= receivers) bump.done();
      await acknowledged;
      return values;
    } finally {
      clearTimeout(timer);
      this.pending.delete(id);
    }
  }

  async close(): Promise<void> {
    await this.subscription.close();
  }

  private heard(text: string): void {
    const id = this.near ? this.near.heard(text) : text.split('\n', 1)[0]!;
    const writer = id.slice(0, id.indexOf(' '));
    // Our own message: acknowledged here, not through Redis (a round trip and two messages per bump saved;
    // it is counted among the receivers all the same, and heard, so applied, like anyone else's).
    if (writer === this.writer) this.acknowledged(id);
    else this.store.publish(`${this.channel}:ack:${writer}`, id).catch(this.options.onStoreError);
  }

  private acknowledged(id: string): void {
    const bump = this.pending.get(id);
    if (bump && ++bump.acks >= bump.receivers) bump.done();
  }
}
