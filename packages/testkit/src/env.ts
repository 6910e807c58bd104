/** Where the tests' services are: the environment services-up.sh exports (the global setup applies it). */
import { fileURLToPath } from 'node:url';

export interface TestEnv {
  mongoUri: string;
  rabbitUrl: string;
  /** external | mongod | memory-server | ferretdb: who started the Mongo server, and so what may be done to it. */
  mongoKind: string;
}

/** The repository root, with a trailing slash. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export function testEnv(): TestEnv {
  const missing = ['MONGODB_URI', 'RABBITMQ_URL'].filter((name) => !process.env[name]);
  if (missing.length > 0) {
    throw new Error(
      `${missing.join(' and ')} not set. Run tests with \`pnpm test\` or \`pnpm exec vitest\` (the global setup ` +
        'starts the services), or first run: eval "$(bash scripts/services-up.sh)"',
    );
  }
  return {
    mongoUri: process.env.MONGODB_URI!,
    rabbitUrl: process.env.RABBITMQ_URL!,
    mongoKind: process.env.CHAT3_MONGO_KIND ?? 'external',
  };
}
