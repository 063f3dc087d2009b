/**
 * Why auth-service touches thread priorities at all: argon2 hashes on libuv's thread pool, and on a host
 * that both services share, a login flood would make course-service's reads wait for CPU. So the pool's
 * threads run at the lowest priority that still gets logins done (idle while the host has CPU to spare,
 * back to nice when a hash is slow). Linux only; elsewhere nothing happens. How and the measurements:
 * thread_priority.ts.
 *
 * This is the one door to thread_priority.ts: `cmd/auth-service/main.ts` calls `lowerHashThreads` before
 * anything uses the pool, then `attach` once the app (its log and metrics) and the hasher exist.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../../shared/utils/logging.js';
import { HashThreads, defaultHooks, type HashThreadLevel, type ThreadPoolHooks } from './thread_priority.js';
import type { PasswordHasher } from './password_hasher.js';

export interface HashThreadSettings {
  /** Nice value of the pool threads; 0 leaves them alone. */
  threadNiceness: number;
  /** Use SCHED_IDLE while the host has spare CPU. */
  threadIdle: boolean;
  /** A hash running longer than this moves idle threads back to nice (0: never). */
  slowHashMs: number;
}

/** Where the threads' changes are told: the app's logger and metrics registry. */
export interface HashThreadReport {
  log: Pick<Logger, 'info' | 'warn'>;
  metrics: Registry;
}

export interface HashThreadPriority {
  /** Logs and counts each change of priority, and lets a slow hash move the threads back to nice. */
  attach(report: HashThreadReport, hasher: Pick<PasswordHasher, 'whenSlow'>): void;
}

/** Finds the pool's threads and lowers them (costs ~30 ms once; call it before the pool is used). */
export async function lowerHashThreads(settings: HashThreadSettings, hooks: ThreadPoolHooks | undefined = defaultHooks): Promise<HashThreadPriority> {
  const threads = await HashThreads.start({ niceness: settings.threadNiceness, idle: settings.threadIdle }, hooks);
  return {
    attach(report, hasher) {
      reportHashThreads(report, threads, settings.threadNiceness);
      hasher.whenSlow(settings.slowHashMs, () => threads.slowHash());
    },
  };
}

const LEVELS: HashThreadLevel[] = ['normal', 'nice', 'idle'];

/** Two metrics and a log line per change of priority. Exported so that a test can read the lines it writes. */
export function reportHashThreads(report: HashThreadReport, threads: HashThreads, niceness: number): void {
  new Gauge({
    name: 'auth_hash_threads_level',
    help: 'CPU priority of the password-hashing threads: 0 normal, 1 nice, 2 idle (SCHED_IDLE)',
    registers: [report.metrics],
    collect() {
      this.set(LEVELS.indexOf(threads.current));
    },
  });
  const starved = new Counter({
    name: 'auth_hash_threads_starved_total',
    help: 'Times a slow hash moved the hashing threads from idle back to nice (the host had no spare CPU)',
    registers: [report.metrics],
  });
  // The field is `priority`, not `level`: pino writes the log level as `level`, and a second one made
  // the line JSON with a duplicate key (which most parsers resolve by keeping the last: "idle").
  threads.watch((priority, reason) => {
    if (priority === 'nice' && reason !== 'start') {
      starved.inc();
      report.log.warn({ priority, reason }, 'password hashing threads back at nice priority');
    } else report.log.info({ priority, reason }, 'password hashing threads changed priority');
  });
  report.log.info({ threads: threads.tids.length, priority: threads.current, niceness }, 'password hashing threads at lower CPU priority');
}
