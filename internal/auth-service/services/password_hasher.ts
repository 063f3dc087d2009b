/**
 * argon2id password hashing. The argon2 binding runs on libuv's thread pool, so hashing never blocks
 * the event loop. Production uses OWASP's parameters (m=19 MiB, t=2, p=1); tests set cheap ones.
 *
 * At most `maxConcurrent` hashes run at once (default: one fewer than the cores, at least one); the
 * rest wait in line here. Without the bound a login flood fills the whole libuv pool (4 threads) with
 * argon2, takes every core from the event loop and from whatever shares the machine, and holds
 * 19 MiB per hash in flight. `npm run bench` (login flood, bench/README.md) on 2 cores: with the pool
 * full, cached reads of a course-service on the same machine went from p99 5 ms to 97 ms; with one
 * hash at a time, to 10-17 ms, for about 40% fewer logins per second.
 *
 * Each slot also hashes at most `dutyPercent` of the time (default 50): after a hash of d ms the slot
 * rests d * (100 / dutyPercent - 1) ms before the next in line starts. One login is not slowed (the
 * rest comes after its answer); a flood is, to half the logins per second. A core that never rests
 * slows everything else on a small VM even when the hashing threads yield at once (thread_priority.ts):
 * an idle-priority busy loop alone doubled the p99 of course reads there, a half-time one did not
 * (`npm run bench`, cached reads during a login flood: 1.6-2.0x the quiet p99 at 100%, 48-55 logins/s;
 * 1.0-1.6x at 50%, 27 logins/s).
 */
import argon2 from 'argon2';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';

export interface HashParams {
  memoryCostKiB: number;
  timeCost: number;
  parallelism: number;
  /** Hashes computed at once (0 or absent: cores - 1, at least 1). */
  maxConcurrent?: number;
  /** Share of its time a slot may spend hashing, in percent (absent: 100): see the top of this file. */
  dutyPercent?: number;
}

export class PasswordHasher {
  private dummy: Promise<string> | undefined;
  private readonly limit: number;
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  private readonly duty: number;

  constructor(private readonly params: HashParams) {
    this.limit = params.maxConcurrent && params.maxConcurrent > 0 ? params.maxConcurrent : Math.max(1, availableParallelism() - 1);
    this.duty = Math.min(100, Math.max(1, params.dutyPercent ?? 100));
  }

  private slow: { afterMs: number; notify: () => void } | undefined;

  /**
   * Calls `notify` whenever a hash is still running `afterMs` after it started (time in line not
   * counted): the sign that its thread gets no CPU (thread_priority.ts).
   */
  whenSlow(afterMs: number, notify: () => void): void {
    this.slow = afterMs > 0 ? { afterMs, notify } : undefined;
  }

  /** Runs `work` when a slot is free; a finished hash hands its slot to the next in line. */
  private async bounded<T>(work: () => Promise<T>): Promise<T> {
    if (this.active < this.limit) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    const slow = this.slow;
    const timer = slow ? setTimeout(slow.notify, slow.afterMs).unref() : undefined;
    const started = performance.now();
    try {
      return await work();
    } finally {
      clearTimeout(timer);
      // At a duty below 100%, the slot rests in proportion to the hash it ran before the next may start.
      const restMs = (performance.now() - started) * (100 / this.duty - 1);
      if (restMs >= 1) setTimeout(() => this.release(), restMs).unref();
      else this.release();
    }
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }

  hash(password: string): Promise<string> {
    return this.bounded(() =>
      argon2.hash(password, {
        type: argon2.argon2id,
        memoryCost: this.params.memoryCostKiB,
        timeCost: this.params.timeCost,
        parallelism: this.params.parallelism,
      }),
    );
  }

  async verify(hash: string, password: string): Promise<boolean> {
    try {
      return await this.bounded(() => argon2.verify(hash, password));
    } catch {
      return false;
    }
  }

  /** Spends the same time as a real check, for unknown e-mails (no user enumeration by timing). */
  async verifyDummy(password: string): Promise<false> {
    this.dummy ??= this.hash('dummy-password-for-timing');
    await this.verify(await this.dummy, password);
    return false;
  }

  needsRehash(hash: string): boolean {
    return argon2.needsRehash(hash, { memoryCost: this.params.memoryCostKiB, timeCost: this.params.timeCost, parallelism: this.params.parallelism });
  }
}

export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 128;

let common: Set<string> | undefined;

/** About 49,000 of the most common passwords (zxcvbn-ts's list), lower-cased. */
function commonPasswords(): Set<string> {
  if (!common) {
    const require = createRequire(import.meta.url);
    const { dictionary } = require('@zxcvbn-ts/language-common') as { dictionary: Record<string, string[]> };
    common = new Set((dictionary['passwords-common'] ?? []).map((p) => p.toLowerCase()));
  }
  return common;
}

/** Why a password is refused, or undefined when it is acceptable (NIST 800-63B: length and blocklist). */
export function passwordProblem(password: string, context: string[] = []): string | undefined {
  const length = [...password].length;
  if (length < PASSWORD_MIN) return `must be at least ${PASSWORD_MIN} characters`;
  if (length > PASSWORD_MAX) return `must be at most ${PASSWORD_MAX} characters`;
  const lower = password.toLowerCase();
  if (commonPasswords().has(lower)) return 'is too common';
  if (new Set(lower).size < 3) return 'is too simple';
  if (context.some((c) => c.length >= 4 && lower === c.toLowerCase())) return 'must not be your e-mail or name';
  return undefined;
}
