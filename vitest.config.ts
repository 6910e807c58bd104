import { defineConfig } from 'vitest/config';
import { SERIAL_TESTS, sharedTestSettings } from './vitest.shared';

export default defineConfig({
  test: {
    ...sharedTestSettings,
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'scripts/**/*.test.ts', 'ops/test/**/*.test.ts'],
    exclude: ['**/node_modules/**', ...SERIAL_TESTS],
    // Two cores: more workers only make the spawned builders and relays fight for CPU. Parallel files
    // are safe because each uses its own database and exchange/queue names.
    maxWorkers: 2,
  },
});
