/**
 * Password hashing at a lower CPU priority. argon2 hashes on libuv's thread pool, and on a host that
 * both services share (the one Docker image, a small VM) a login flood keeps those threads busy: the
 * scheduler then makes course-service's catalogue reads wait for a time slice (`npm run bench`, cached
 * reads during a login flood: p95 doubled). On Linux the nice value is per thread, so the pool's threads
 * alone can be made nicer, leaving auth-service's event loop (its other requests) at normal priority.
 *
 * Node does not name the pool's threads (all are `node`), so they are found by what they do: one job
 * per pool thread (a short PBKDF2, 30–40 ms each, all at once), and the threads whose CPU time grew
 * by at least a clock tick are the pool's. Call it at process start (it costs those ~30 ms once).
 * Raising a nice value needs no privilege. Elsewhere than on Linux it does nothing.
 */
import { pbkdf2 } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { setPriority } from 'node:os';

export interface ThreadPoolHooks {
  /** CPU time (clock ticks) of each of the process's threads, by thread id. */
  cpuTimes(): Map<string, number>;
  /** Runs one job on each pool thread at once; resolves when all are done. */
  busyPool(): Promise<void>;
  setPriority(tid: number, niceness: number): void;
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
};

/** Gives the thread pool's threads `niceness` (1..19); returns how many it changed. */
export async function lowerThreadPoolPriority(niceness: number, hooks: ThreadPoolHooks | undefined = process.platform === 'linux' ? linux : undefined): Promise<number> {
  if (!hooks || niceness <= 0) return 0;
  const before = hooks.cpuTimes();
  await hooks.busyPool();
  const main = String(process.pid);
  let changed = 0;
  for (const [tid, ticks] of hooks.cpuTimes()) {
    if (tid === main || ticks - (before.get(tid) ?? 0) < 1) continue;
    try {
      hooks.setPriority(Number(tid), Math.min(19, niceness));
      changed++;
    } catch {
      // Not allowed here (a sandbox): hashing keeps the normal priority.
    }
  }
  return changed;
}
