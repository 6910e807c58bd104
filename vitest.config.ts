import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'scripts/**/*.test.ts'],
    globalSetup: ['packages/testkit/src/global-setup.ts'],
    // Integration tests wait on real brokers, servers and child processes.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
    // Two cores: more workers only make the spawned builders and relays fight for CPU. Parallel files
    // are safe because each uses its own database and exchange/queue names.
    pool: 'forks',
    maxWorkers: 2,
    passWithNoTests: true,
  },
});
