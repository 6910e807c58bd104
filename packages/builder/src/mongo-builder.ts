/** The builder on MongoDB: its ports wired to the driver (main.ts and the benchmarks start it this way). */
import { READ_MODEL_INDEXES, RETIRED_UPDATE_INDEXES, UPDATE_INDEXES, USER_STATS_INDEXES, type EmittedStats } from '@chat3/core';
import { DURABLE_WRITES, createMongoLeaseStore, ensureIndexes, type LeaseDoc, type Logger, type LoopHealth } from '@chat3/runtime';
import type { Document, MongoClient } from 'mongodb';
import { createBuilder, type Builder, type BuilderStore } from './builder';
import type { BuilderConfig } from './config';
import { findDialogIdOfMessage, loadReadModel, readModelCollections } from './db/read-model-queries';
import { insertUpdates, oldestWaitingSince } from './db/update-store';
import { createLagSampler, type LagSampler } from './lag-sampler';
import { claimEmission, computeStats, loadEmitted } from './db/user-stats-store';
import type { BuilderMetrics } from './metrics';

export interface MongoBuilderDeps {
  config: BuilderConfig;
  mongo: MongoClient;
  metrics: BuilderMetrics;
  logger: Logger;
  onFatal: (err: Error) => void;
  /** Where every loop records progress and errors, for /healthz. */
  loops?: LoopHealth;
}

export function createMongoBuilderStore(mongo: MongoClient, config: BuilderConfig, logger: Logger): BuilderStore {
  const db = mongo.db(config.MONGODB_DB);
  // Acknowledged only once majority-committed: an event is acked after its Updates are written.
  const updates = db.collection<Document>(config.UPDATES_COLLECTION, { writeConcern: DURABLE_WRITES });
  const userStats = db.collection<EmittedStats>(config.USER_STATS_COLLECTION, { writeConcern: DURABLE_WRITES });
  const readModel = readModelCollections(db, {
    users: config.USERS_COLLECTION,
    dialogs: config.DIALOGS_COLLECTION,
    dialogMembers: config.DIALOG_MEMBERS_COLLECTION,
    messages: config.MESSAGES_COLLECTION,
    messageStatuses: config.MESSAGE_STATUSES_COLLECTION,
  });
  return {
    async ensureIndexes() {
      await ensureIndexes(updates, UPDATE_INDEXES, logger, RETIRED_UPDATE_INDEXES);
      await ensureIndexes(userStats, USER_STATS_INDEXES, logger);
      if (config.BUILDER_ENSURE_READ_MODEL_INDEXES) {
        for (const [name, specs] of Object.entries(READ_MODEL_INDEXES)) {
          await ensureIndexes(readModel[name as keyof typeof readModel], specs, logger);
        }
      }
    },
    loadReadModel: (events) => loadReadModel(readModel, events),
    insertUpdates: (drafts) => insertUpdates(updates, drafts),
    computeStats: (tenantId, userIds) => computeStats(readModel.dialogMembers, tenantId, userIds),
    loadEmitted: (tenantId, userIds) => loadEmitted(userStats, tenantId, userIds),
    claimEmission: (previous, next) => claimEmission(userStats, previous, next),
    findDialogIdOfMessage: (tenantId, messageId) => findDialogIdOfMessage(readModel, tenantId, messageId),
  };
}

export function createMongoBuilder({ config, mongo, metrics, logger, onFatal, loops }: MongoBuilderDeps): Builder {
  return createBuilder({
    config,
    store: createMongoBuilderStore(mongo, config, logger),
    leases: createMongoLeaseStore(
      mongo.db(config.MONGODB_DB).collection<LeaseDoc>(config.LEASES_COLLECTION, { writeConcern: DURABLE_WRITES }),
    ),
    metrics,
    logger,
    onFatal,
    loops,
  });
}

/** The published-lag gauge, sampled from the `updates` collection. */
export function createMongoLagSampler({ config, mongo, metrics, logger, loops }: Omit<MongoBuilderDeps, 'onFatal'>): LagSampler {
  const updates = mongo.db(config.MONGODB_DB).collection<Document>(config.UPDATES_COLLECTION);
  return createLagSampler({
    oldestWaitingSince: () => oldestWaitingSince(updates),
    setLagSeconds: (seconds) => metrics.publishedLag.set(seconds),
    intervalMs: config.BUILDER_STATS_INTERVAL_MS,
    loop: loops?.loop('builder-stats'),
    logger: logger.child({ component: 'lag-sampler' }),
  });
}
