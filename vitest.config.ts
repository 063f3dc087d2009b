import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['internal/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Per run: a Redis key prefix and a temporary folder, both removed at the end.
    globalSetup: ['test/global_setup.ts'],
    // A committed `.only` fails the run in CI (`.ci/run` sets CI=1), instead of silently skipping the rest.
    allowOnly: !process.env.CI,
    // One file per core and one more: the files wait on PostgreSQL, Redis and SMTP much of the time
    // (3 on the 2-core machines the suite was tuned on). At most 6: each file opens PostgreSQL pools of
    // its own, and a default server takes 100 connections.
    poolOptions: { forks: { maxForks: Math.min(availableParallelism() + 1, 6), minForks: 1 } },
    pool: 'forks',
  },
});
