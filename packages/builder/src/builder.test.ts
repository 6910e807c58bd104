import { createLogger, type LeaseStore } from '@chat3/runtime';
import { describe, expect, it } from 'vitest';
import { createBuilder, type BuilderStore } from './builder';
import { loadBuilderConfig } from './config';
import { createBuilderMetrics } from './metrics';

const unused = () => Promise.reject(new Error('not used by this test'));
const store: BuilderStore = {
  ensureIndexes: unused,
  findDialogIdOfMessage: unused,
  loadReadModel: unused,
  insertUpdates: unused,
  computeStats: unused,
  loadEmitted: unused,
  claimEmission: unused,
};
const leases: LeaseStore = {
  ensureLeases: unused,
  heartbeat: unused,
  liveMembers: unused,
  renew: unused,
  freePartitions: unused,
  acquire: unused,
  handBack: unused,
  leave: unused,
};

describe('chat3_builder_partitions', () => {
  it('is BUILDER_PARTITIONS from the moment the builder exists, so an alert can compare the owned ones with it', async () => {
    const metrics = createBuilderMetrics({ defaultMetrics: false });
    const config = loadBuilderConfig({
      MONGODB_URI: 'mongodb://127.0.0.1:1/',
      RABBITMQ_URL: 'amqp://127.0.0.1:1',
      BUILDER_PARTITIONS: '12',
    });
    createBuilder({ config, store, leases, metrics, logger: createLogger({ name: 'test', level: 'silent' }), onFatal: () => undefined });
    expect(await metrics.registry.metrics()).toMatch(/^chat3_builder_partitions 12$/m);
  });
});
