/** Password hashing threads at a lower CPU priority (services/thread_priority.ts). */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { lowerThreadPoolPriority, type ThreadPoolHooks } from '../../internal/auth-service/services/thread_priority.js';

function niceOf(tid: string): number {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

describe('lowerThreadPoolPriority', () => {
  it('renices exactly the threads that worked on the pool jobs, never the main thread, and survives a refusal', async () => {
    const main = String(process.pid);
    let times = new Map([[main, 5], ['101', 0], ['102', 3], ['103', 0]]);
    const setPriority = vi.fn((tid: number) => {
      if (tid === 103) throw new Error('EACCES');
    });
    const hooks: ThreadPoolHooks = {
      cpuTimes: () => times,
      busyPool: async () => {
        times = new Map([[main, 9], ['101', 2], ['102', 3], ['103', 4], ['104', 1]]);
      },
      setPriority,
    };
    expect(await lowerThreadPoolPriority(10, hooks)).toBe(2);
    expect(setPriority.mock.calls).toEqual([[101, 10], [103, 10], [104, 10]]);
    expect(await lowerThreadPoolPriority(0, hooks)).toBe(0);
  });

  it.skipIf(process.platform !== 'linux')('on Linux, leaves the event loop thread alone and makes the pool threads nicer', async () => {
    const changed = await lowerThreadPoolPriority(7);
    expect(changed).toBeGreaterThanOrEqual(1);
    const nice = readdirSync('/proc/self/task').map((tid) => ({ tid, nice: niceOf(tid) }));
    expect(nice.find((t) => t.tid === String(process.pid))!.nice).toBe(0);
    expect(nice.filter((t) => t.nice === 7).length).toBe(changed);
  });
});
