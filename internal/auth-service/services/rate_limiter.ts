/**
 * Fixed-window rate limits in the shared store (Redis in real mode), so every replica counts together.
 * If Redis fails, counting falls back to this process's memory: limits stay on (per replica) rather
 * than open.
 */
import { HttpError } from '../../shared/utils/errors.js';
import { MemoryStore, type KeyValueStore } from '../../shared/utils/redis.js';

export interface Window {
  limit: number;
  windowSec: number;
}

/** One counter an attempt is charged to: `name` and `subject` make its key (e.g. `login-fail`, `e-mail|ip`). */
export interface Counter {
  name: string;
  subject: string;
  window: Window;
}

/** An attempt counted in advance; see RateLimiter.reserve. */
export interface Reservation {
  /** Takes the attempt back from every counter (it succeeded, or never reached its check). Idempotent. */
  release(): Promise<void>;
}

export class RateLimiter {
  private readonly fallback = new MemoryStore();

  constructor(
    private readonly store: KeyValueStore,
    private readonly enabled: boolean,
  ) {}

  /** Counts in the shared store, else in memory; says which one counted, so a release goes there too. */
  private async count(key: string, windowMs: number): Promise<{ count: number; ttlMs: number; store: KeyValueStore }> {
    try {
      return { ...(await this.store.incrWindow(key, windowMs)), store: this.store };
    } catch {
      return { ...(await this.fallback.incrWindow(key, windowMs)), store: this.fallback };
    }
  }

  /** Counts one attempt; throws 429 with Retry-After once the window's limit is passed. */
  async hit(name: string, subject: string, window: Window): Promise<void> {
    if (!this.enabled || window.limit === 0) return;
    const { count, ttlMs } = await this.count(`rl:${name}:${subject}`, window.windowSec * 1000);
    if (count > window.limit) throw HttpError.tooManyRequests(ttlMs / 1000);
  }

  /**
   * Counts an attempt at a secret (a password, later an MFA code) *before* it is checked, and throws
   * 429 when that count passes a counter's limit. Checking first and counting after the (slow) check
   * would let a burst of parallel guesses all pass the check together; here each one takes its place
   * in one atomic step (INCR with expiry), so at most `limit` are ever in flight or failed per window.
   * The caller keeps the reservation when the secret was wrong (it counts as a failure) and releases
   * it when it was right or the check never happened (an error), so successes do not count. Every
   * check of a guessable secret goes through here.
   */
  async reserve(...counters: Counter[]): Promise<Reservation> {
    const active = counters.filter((c) => this.enabled && c.window.limit > 0);
    // Issued together: with Redis they leave in one write (auto-pipelining).
    const counted = await Promise.all(
      active.map(async (c) => {
        const key = `rl:${c.name}:${c.subject}`;
        return { key, limit: c.window.limit, ...(await this.count(key, c.window.windowSec * 1000)) };
      }),
    );
    let released = false;
    const reservation: Reservation = {
      release: async () => {
        if (released) return;
        released = true;
        await Promise.all(counted.map(({ key, store }) => store.decrWindow(key).catch(() => undefined)));
      },
    };
    const over = counted.filter((c) => c.count > c.limit);
    if (over.length) {
      // A refused attempt is no guess: it takes nothing from the other windows (or its own).
      await reservation.release();
      throw HttpError.tooManyRequests(Math.max(...over.map((c) => c.ttlMs)) / 1000);
    }
    return reservation;
  }
}
