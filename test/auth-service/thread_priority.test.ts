/**
 * Password hashing that leaves CPU to the rest of the host: threads at a lower priority
 * (services/thread_priority.ts), PasswordHasher.whenSlow and its duty cycle.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { PasswordHasher } from '../../internal/auth-service/services/password_hasher.js';
import { HashThreads, type HashThreadLevel, type ThreadPoolHooks } from '../../internal/auth-service/services/thread_priority.js';

const hasChrt = process.platform === 'linux' && spawnSync('chrt', ['--version']).status === 0;

/** Nice value and scheduling policy (0 SCHED_OTHER, 5 SCHED_IDLE) of one of this process's threads. */
function schedOf(tid: string | number): { nice: number; policy: number } {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields after the command name start at the 3rd (state): nice is the 19th, policy the 41st.
  return { nice: Number(fields[16]), policy: Number(fields[38]) };
}

function fakeHooks(options: { refuseNice?: number[]; idleFails?: boolean } = {}) {
  const main = String(process.pid);
  let times = new Map([[main, 5], ['101', 0], ['102', 3], ['103', 0]]);
  const state = new Map<number, { nice: number; idle: boolean }>();
  const hooks: ThreadPoolHooks = {
    cpuTimes: () => times,
    busyPool: async () => {
      // 101, 103 and 104 worked on the jobs; 102 did not; the main thread always works.
      times = new Map([[main, 9], ['101', 2], ['102', 3], ['103', 4], ['104', 1]]);
    },
    setPriority: vi.fn((tid: number, nice: number) => {
      if (options.refuseNice?.includes(tid)) throw new Error('EACCES');
      state.set(tid, { nice, idle: state.get(tid)?.idle ?? false });
    }),
    setIdle: vi.fn(async (tid: number, idle: boolean) => {
      if (options.idleFails) throw new Error('spawn chrt ENOENT');
      state.set(tid, { nice: state.get(tid)?.nice ?? 0, idle });
    }),
  };
  return { hooks, state };
}

describe('HashThreads', () => {
  it('lowers exactly the threads that worked on the pool jobs, never the main thread, and survives a refusal', async () => {
    const { hooks, state } = fakeHooks({ refuseNice: [103] });
    const changes: HashThreadLevel[] = [];
    const threads = await HashThreads.start({ niceness: 10, idle: true, onChange: (level) => changes.push(level) }, hooks);
    expect(threads.tids).toEqual([101, 103, 104]);
    expect(threads.current).toBe('idle');
    expect(changes).toEqual(['nice', 'idle']);
    expect(state.get(101)).toEqual({ nice: 10, idle: true });
    expect(state.get(104)).toEqual({ nice: 10, idle: true });
    expect(state.has(102)).toBe(false);
    expect(state.has(process.pid)).toBe(false);
  });

  it('stays at the nice level when idle is off or chrt is missing, and does nothing at niceness 0', async () => {
    const off = await HashThreads.start({ niceness: 10, idle: false }, fakeHooks().hooks);
    expect(off.current).toBe('nice');
    const missing = fakeHooks({ idleFails: true });
    const noChrt = await HashThreads.start({ niceness: 10, idle: true }, missing.hooks);
    expect(noChrt.current).toBe('nice');
    expect(missing.state.get(101)).toEqual({ nice: 10, idle: false });
    const none = fakeHooks();
    const zero = await HashThreads.start({ niceness: 0, idle: true }, none.hooks);
    expect(zero.current).toBe('normal');
    expect(none.hooks.setPriority).not.toHaveBeenCalled();
    expect(none.hooks.setIdle).not.toHaveBeenCalled();
  });

  it('a slow hash moves idle threads back to nice for the hold time, then they return to idle', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const { hooks, state } = fakeHooks();
      const changes: string[] = [];
      const threads = await HashThreads.start({ niceness: 10, idle: true, holdMs: 30_000, onChange: (level, reason) => changes.push(`${level}: ${reason}`) }, hooks);
      threads.slowHash();
      threads.slowHash(); // a second slow hash while already at nice changes nothing
      await threads.settled();
      expect(threads.current).toBe('nice');
      expect(threads.starvedCount).toBe(1);
      expect([...state.values()].every((s) => !s.idle && s.nice === 10)).toBe(true);

      await vi.advanceTimersByTimeAsync(29_000);
      expect(threads.current).toBe('nice');
      await vi.advanceTimersByTimeAsync(1_000);
      await threads.settled();
      expect(threads.current).toBe('idle');
      expect([...state.values()].every((s) => s.idle)).toBe(true);
      expect(changes).toEqual(['nice: start', 'idle: start', 'nice: a hash was slow: the host has no spare CPU', 'idle: hold over']);

      // A listener set later (the app's logger) hears the changes from then on, instead of the first.
      const watched: string[] = [];
      threads.watch((level) => watched.push(level));
      threads.slowHash();
      await threads.settled();
      expect(watched).toEqual(['nice']);
      expect(changes).toHaveLength(4);
      threads.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it.skipIf(process.platform !== 'linux')('on Linux, leaves the event loop thread alone and makes the pool threads nicer', async () => {
    const threads = await HashThreads.start({ niceness: 7, idle: false });
    try {
      expect(threads.tids.length).toBeGreaterThanOrEqual(1);
      expect(threads.current).toBe('nice');
      expect(schedOf(process.pid)).toEqual({ nice: 0, policy: 0 });
      const lowered = readdirSync('/proc/self/task').filter((tid) => threads.tids.includes(Number(tid)));
      expect(lowered.map(schedOf)).toEqual(lowered.map(() => ({ nice: 7, policy: 0 })));
    } finally {
      threads.close();
    }
  });

  // chrt comes with util-linux, essential in Debian; where it is missing, this shows as skipped.
  it.skipIf(!hasChrt)('on Linux with chrt, the pool threads become SCHED_IDLE, and a slow hash puts them back at nice', async () => {
    const threads = await HashThreads.start({ niceness: 7, idle: true, holdMs: 60_000 });
    try {
      expect(threads.current).toBe('idle');
      expect(schedOf(process.pid)).toEqual({ nice: 0, policy: 0 });
      const lowered = readdirSync('/proc/self/task').filter((tid) => threads.tids.includes(Number(tid)));
      expect(lowered.map(schedOf)).toEqual(lowered.map(() => ({ nice: 7, policy: 5 })));
      threads.slowHash();
      await threads.settled();
      expect(threads.current).toBe('nice');
      expect(lowered.map(schedOf)).toEqual(lowered.map(() => ({ nice: 7, policy: 0 })));
    } finally {
      threads.close();
    }
  });
});

describe('PasswordHasher.whenSlow', () => {
  const params = { memoryCostKiB: 8192, timeCost: 3, parallelism: 1, maxConcurrent: 1 };

  it('tells when a hash runs longer than the limit, and not when it does not', async () => {
    const hasher = new PasswordHasher(params);
    const notify = vi.fn();
    hasher.whenSlow(1, notify);
    await hasher.hash('correct horse battery');
    expect(notify).toHaveBeenCalledTimes(1);

    const patient = vi.fn();
    hasher.whenSlow(60_000, patient);
    const hash = await hasher.hash('correct horse battery');
    expect(await hasher.verify(hash, 'correct horse battery')).toBe(true);
    expect(patient).not.toHaveBeenCalled();
  });

  /** Times of three hashes one after the other, sorted. */
  async function threeHashes(hasher: PasswordHasher): Promise<number[]> {
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      await hasher.hash('one at a time');
      times.push(performance.now() - t0);
    }
    return times.sort((a, b) => a - b);
  }

  it('does not count the time a hash waits in line', async () => {
    const hasher = new PasswordHasher(params);
    const oneMs = (await threeHashes(hasher))[1]!;
    const notify = vi.fn();
    // One at a time (maxConcurrent 1), eight hashes take about eight times one: counted from the time
    // they were asked for, the last four would pass four times one. Counted from their start, none
    // should; two are allowed, for hashes that a busy machine slowed down.
    hasher.whenSlow(Math.max(40, oneMs * 4), notify);
    await Promise.all(Array.from({ length: 8 }, (_, i) => hasher.hash(`in line ${i}`)));
    expect(notify.mock.calls.length).toBeLessThanOrEqual(2);
  });

  it('at a duty of 25%, a slot rests three times each hash before the next in line, without delaying the answer', async () => {
    const duty = new PasswordHasher({ ...params, dutyPercent: 25 });
    const t0 = performance.now();
    const done: number[] = [];
    await Promise.all(Array.from({ length: 2 }, (_, i) => duty.hash(`in line ${i}`).then(() => done.push(performance.now() - t0))));
    // The first answer comes after its hash alone (done[0]); its slot then rests 3 x that hash before
    // the second starts. Were the rest before the answer, the gap would be one hash, about done[0] / 4.
    expect(done[1]! - done[0]!).toBeGreaterThanOrEqual(2.7 * done[0]! - 2);
  });
});
