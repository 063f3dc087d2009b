import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['internal/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // 2 cores: a few files at a time, each with its own database.
    poolOptions: { forks: { maxForks: 3, minForks: 1 } },
    pool: 'forks',
  },
});
