/**
 * Process behaviour of both services: a bad environment is refused with one message listing every
 * problem (credentials redacted), and SIGTERM stops them gracefully.
 */
import { createBrokerHelper, createTestDatabase, spawnService, testEnv, uniqueName } from '@chat3/testkit';
import { describe, expect, it } from 'vitest';
import { deleteBuilderTopology } from './harness';

describe.each([
  ['builder', 'packages/builder/src/main.ts', 'BUILDER_BATCH_SIZE'],
  ['relay', 'packages/relay/src/main.ts', 'RELAY_BATCH_SIZE'],
])('%s process', (name, entry, batchVar) => {
  it('refuses a bad environment with one message that lists every problem', async () => {
    const proc = spawnService({
      name,
      entry,
      env: { MONGODB_URI: '', RABBITMQ_URL: 'http://guest:s3cret@broker', [batchVar]: 'lots', LOG_LEVEL: 'chatty' },
    });
    const { code } = await proc.exited;
    expect(code).toBe(2);
    const output = proc.logs().join('\n');
    for (const variable of ['MONGODB_URI', 'RABBITMQ_URL', batchVar, 'LOG_LEVEL']) expect(output).toContain(variable);
    expect(output).not.toContain('s3cret');
  });

  it('stops gracefully on SIGTERM', async () => {
    const env = testEnv();
    const database = await createTestDatabase(`proc_${name}`);
    const names = { events: uniqueName('proc_events'), updates: uniqueName('proc_updates'), queue: uniqueName('proc_builder') };
    try {
      const proc = spawnService({
        name,
        entry,
        env: {
          MONGODB_URI: env.mongoUri,
          MONGODB_DB: database.name,
          RABBITMQ_URL: env.rabbitUrl,
          RABBITMQ_EVENTS_EXCHANGE: names.events,
          RABBITMQ_UPDATES_EXCHANGE: names.updates,
          BUILDER_QUEUE: names.queue,
          METRICS_PORT: '0',
        },
      });
      await proc.waitForLog((e) => e.msg === `${name} started`, 60_000);
      proc.kill('SIGTERM');
      const { code } = await proc.exited;
      expect(code).toBe(0);
      expect(proc.entries().some((e) => e.msg === 'lease released' && e.reason === 'shutdown')).toBe(true);
      expect(proc.entries().at(-1)?.msg).toBe('stopped');
    } finally {
      await database.drop();
      await removeBrokerObjects(env.rabbitUrl, names);
    }
  });
});

/** What either service declared: the builder's topology, and the relay's exchange. */
async function removeBrokerObjects(url: string, names: { events: string; updates: string; queue: string }): Promise<void> {
  const broker = await createBrokerHelper(url);
  await deleteBuilderTopology(broker.channel, names.events, names.queue);
  await broker.channel.deleteExchange(names.updates).catch(() => undefined);
  await broker.close();
}
