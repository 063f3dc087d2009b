/**
 * Password hashing at the lowest CPU priority that still gets work done. The rest of auth-service
 * reaches this file only through hash_threads.ts (`lowerHashThreads`, then `attach`).
 *
 * argon2 hashes on libuv's thread pool, and on a host that both services share (the one Docker image, a
 * small VM) a login flood keeps those threads busy: the scheduler then makes course-service's catalogue
 * reads wait for a time slice. On Linux the scheduling policy and the nice value are per thread, so the
 * pool's threads alone can yield, leaving auth-service's event loop (its other requests) at normal
 * priority.
 *
 * Two levels, chosen by what the host has to spare:
 * - **idle** (`SCHED_IDLE`, set with util-linux `chrt`): a hash runs only on CPU time that nothing else
 *   wants, and any other thread that wakes up takes the core at once. A raised nice value alone does not
 *   give that: the scheduler lets a running nice thread finish its slice first, and a read waits behind
 *   it (`npm run bench`, cached reads during a login flood: p99 2.4–3.1x the quiet p99 at nice 10 or 19,
 *   1.8–1.9x idle).
 * - **nice** (`niceness`, 10 by default): when the host has no spare CPU at all, idle threads get almost
 *   nothing (two busy loops on 2 cores: 0.2 hashes/s idle, 4.6 at nice 10, 57 with the cores free) and
 *   logins would stall. So a hash that is still running after `slowHashMs` (PasswordHasher.whenSlow)
 *   puts the threads back at the nice level for `holdMs`, then they return to idle.
 *
 * Node does not name the pool's threads (all are `node`), so they are found by what they do: one job
 * per pool thread (a short PBKDF2, 30–40 ms each, all at once), and the threads whose CPU time grew
 * by at least a clock tick are the pool's. Call `HashThreads.start` at process start (it costs those
 * ~30 ms once). Raising a nice value or choosing SCHED_IDLE needs no privilege. Elsewhere than on
 * Linux it does nothing.
 */
import { execFile } from 'node:child_process';
import { pbkdf2 } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { setPriority } from 'node:os';

export interface ThreadPoolHooks {
  /** CPU time (clock ticks) of each of the process's threads, by thread id. */
  cpuTimes(): Map<string, number>;
  /** Runs one job on each pool thread at once; resolves when all are done. */
  busyPool(): Promise<void>;
  setPriority(tid: number, niceness: number): void;
  /** Moves a thread to SCHED_IDLE (`idle`) or back to the normal policy, keeping its nice value. */
  setIdle(tid: number, idle: boolean): Promise<void>;
}

const POOL_SIZE = Number(process.env.UV_THREADPOOL_SIZE) || 4;

const linux: ThreadPoolHooks = {
  cpuTimes: () =>
    new Map(
      readdirSync('/proc/self/task').flatMap((tid) => {
        try {
          // Fields after the command name: utime is the 12th, stime the 13th.
          const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
          const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
          return [[tid, Number(fields[11]) + Number(fields[12])] as [string, number]];
        } catch {
          return []; // the thread ended meanwhile
        }
      }),
    ),
  busyPool: () =>
    Promise.all(
      Array.from({ length: POOL_SIZE }, (_, i) => new Promise<void>((resolve, reject) => pbkdf2(`pool ${i}`, 'salt', 150_000, 32, 'sha256', (err) => (err ? reject(err) : resolve())))),
    ).then(() => undefined),
  setPriority: (tid, niceness) => setPriority(tid, niceness),
  // Node has no binding for sched_setscheduler; util-linux's chrt (in every Debian image) does it.
  setIdle: (tid, idle) =>
    new Promise((resolve, reject) => {
      execFile('chrt', [idle ? '--idle' : '--other', '--pid', '0', String(tid)], { timeout: 2000 }, (err) => (err ? reject(err) : resolve()));
    }),
};

export const defaultHooks: ThreadPoolHooks | undefined = process.platform === 'linux' ? linux : undefined;

export type HashThreadLevel = 'normal' | 'nice' | 'idle';

export interface HashThreadOptions {
  /** Nice value (1..19) of the pool threads; 0 leaves them alone (and then idle is not used either). */
  niceness: number;
  /** Use SCHED_IDLE while the host has spare CPU. */
  idle: boolean;
  /** How long the threads stay at the nice level after a slow hash before returning to idle. */
  holdMs?: number;
  /** Told about each change of level (for the log and a metric). */
  onChange?: (level: HashThreadLevel, reason: string) => void;
}

export class HashThreads {
  private level: HashThreadLevel = 'normal';
  private holdTimer: NodeJS.Timeout | undefined;
  private switching: Promise<void> = Promise.resolve();
  private listener: HashThreadOptions['onChange'];
  /** Times the threads went back from idle to nice because a hash was slow. */
  starvedCount = 0;

  private constructor(
    readonly tids: readonly number[],
    private readonly options: HashThreadOptions,
    private readonly hooks: ThreadPoolHooks | undefined,
  ) {
    this.listener = options.onChange;
  }

  /** Finds the pool's threads (see the top of this file) and lowers them as `options` say. */
  static async start(options: HashThreadOptions, hooks: ThreadPoolHooks | undefined = defaultHooks): Promise<HashThreads> {
    const tids = hooks && options.niceness > 0 ? await findPoolThreads(hooks) : [];
    const threads = new HashThreads(tids, options, hooks);
    await threads.lower();
    return threads;
  }

  get current(): HashThreadLevel {
    return this.level;
  }

  private async lower(): Promise<void> {
    const hooks = this.hooks;
    if (!hooks || this.tids.length === 0) return;
    const niceness = Math.min(19, this.options.niceness);
    let niced = 0;
    for (const tid of this.tids) {
      try {
        hooks.setPriority(tid, niceness);
        niced++;
      } catch {
        // Not allowed here (a sandbox): this thread keeps the normal priority.
      }
    }
    if (niced === 0) return;
    this.change('nice', 'start');
    if (this.options.idle && (await this.setIdle(true))) this.change('idle', 'start');
  }

  /**
   * A hash has run longer than it should: the host has no CPU to spare, so idle threads would starve.
   * Back to the nice level for `holdMs`, then idle again.
   */
  slowHash(): void {
    if (this.level !== 'idle') return;
    this.starvedCount++;
    this.change('nice', 'a hash was slow: the host has no spare CPU');
    this.switching = this.switching.then(async () => {
      await this.setIdle(false);
      clearTimeout(this.holdTimer);
      this.holdTimer = setTimeout(() => {
        this.holdTimer = undefined;
        this.switching = this.switching.then(async () => {
          if (this.level === 'nice' && (await this.setIdle(true))) this.change('idle', 'hold over');
        });
      }, this.options.holdMs ?? 30_000);
      this.holdTimer.unref();
    });
  }

  /** Tells `listener` about each later change of level (the app's logger and metrics come after start). */
  watch(listener: (level: HashThreadLevel, reason: string) => void): void {
    this.listener = listener;
  }

  /** Waits for a level change in progress (tests). */
  settled(): Promise<void> {
    return this.switching;
  }

  close(): void {
    clearTimeout(this.holdTimer);
  }

  /** Moves every thread; true when at least one moved (chrt missing or refused: false). */
  private async setIdle(idle: boolean): Promise<boolean> {
    const outcomes = await Promise.allSettled(this.tids.map((tid) => this.hooks!.setIdle(tid, idle)));
    return outcomes.some((o) => o.status === 'fulfilled');
  }

  private change(level: HashThreadLevel, reason: string): void {
    this.level = level;
    this.listener?.(level, reason);
  }
}

/** The thread ids that worked on a burst of one job per pool thread, never the main thread's. */
export async function findPoolThreads(hooks: ThreadPoolHooks): Promise<number[]> {
  const before = hooks.cpuTimes();
  await hooks.busyPool();
  const main = String(process.pid);
  const tids: number[] = [];
  for (const [tid, ticks] of hooks.cpuTimes()) {
    if (tid !== main && ticks - (before.get(tid) ?? 0) >= 1) tids.push(Number(tid));
  }
  return tids;
}
