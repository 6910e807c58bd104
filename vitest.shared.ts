/** Settings both vitest runs share (vitest.config.ts runs in parallel, vitest.serial.config.ts one file at a time). */
export const sharedTestSettings = {
  globalSetup: ['packages/testkit/src/global-setup.ts'],
  // Integration tests wait on real brokers, servers and child processes.
  testTimeout: 120_000,
  hookTimeout: 120_000,
  teardownTimeout: 60_000,
  pool: 'forks' as const,
  passWithNoTests: true,
};

/**
 * Run alone, after the rest: the fault simulation (CPU-bound; next to it, spawned builders and relays
 * starve on two cores), tests that change the whole broker (a resource alarm, max_message_size),
 * tests that time something (the replay's pace), and the builder's fault tests, which write and read
 * back thousands of Updates: next to the relay's fault tests on the stand-in they timed out at 180 s
 * (about 60 s alone).
 */
export const SERIAL_TESTS = ['packages/fault-sim/test/**/*.test.ts', 'packages/*/test/**/*.serial.test.ts', 'scripts/**/*.serial.test.ts'];
