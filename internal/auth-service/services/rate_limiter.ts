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

export class RateLimiter {
  private readonly fallback = new MemoryStore();

  constructor(
    private readonly store: KeyValueStore,
    private readonly enabled: boolean,
  ) {}

  private async count(key: string, windowMs: number): Promise<{ count: number; ttlMs: number }> {
    try {
      return await this.store.incrWindow(key, windowMs);
    } catch {
      return this.fallback.incrWindow(key, windowMs);
    }
  }

  /** Counts one attempt; throws 429 with Retry-After once the window's limit is passed. */
  async hit(name: string, subject: string, window: Window): Promise<void> {
    if (!this.enabled || window.limit === 0) return;
    const { count, ttlMs } = await this.count(`rl:${name}:${subject}`, window.windowSec * 1000);
    if (count > window.limit) throw HttpError.tooManyRequests(ttlMs / 1000);
  }

  /** Throws 429 when the window is already full, without counting (e.g. before checking a password). */
  async check(name: string, subject: string, window: Window): Promise<void> {
    if (!this.enabled || window.limit === 0) return;
    const key = `rl:${name}:${subject}`;
    let raw: string | null;
    try {
      raw = await this.store.get(key);
    } catch {
      raw = await this.fallback.get(key);
    }
    if (raw !== null && Number(raw) >= window.limit) {
      // The window's remaining time: count once more costs nothing since it is already full.
      const { ttlMs } = await this.count(key, window.windowSec * 1000);
      throw HttpError.tooManyRequests(ttlMs / 1000);
    }
  }
}
