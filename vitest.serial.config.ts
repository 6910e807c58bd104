import { defineConfig } from 'vitest/config';
import { SERIAL_TESTS, sharedTestSettings } from './vitest.shared';

export default defineConfig({
  test: {
    ...sharedTestSettings,
    include: SERIAL_TESTS,
    fileParallelism: false,
    maxWorkers: 1,
  },
});
