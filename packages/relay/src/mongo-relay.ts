/** The relay on MongoDB: its ports wired to the driver (main.ts and the benchmarks start it this way). */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { COMMITTED_READS, DURABLE_WRITES, createMongoLeaseStore, type LeaseDoc, type Logger, type LoopHealth } from '@chat3/runtime';
import type { MongoClient } from 'mongodb';
import { retentionSeconds, type RelayConfig } from './config';
import { createMongoLayoutStore, type LayoutDoc } from './db/partition-layout';
import { createMongoResumeTokenStore } from './db/resume-tokens';
import { createMongoRetentionStore } from './db/retention-store';
import type { SeqCounterDoc } from './db/update-seqs';
import { createMongoUpdateStore } from './db/update-store';
import type { RelayMetrics } from './metrics';
import type { StoredUpdate } from './ports';
import { createRelay, type Relay } from './relay';
import { createRetention, withRetention } from './retention';

/** Least time between two samples of `chat3_relay_oldest_retained_seconds`. */
const RETENTION_SAMPLE_INTERVAL_MS = 15_000;

export interface MongoRelayDeps {
  config: RelayConfig;
  mongo: MongoClient;
  metrics: RelayMetrics;
  logger: Logger;
  onFatal: (err: Error) => void;
  /** Where every loop records progress and errors, for /healthz. */
  loops?: LoopHealth;
}

export function createMongoRelay({ config, mongo, metrics, logger, onFatal, loops }: MongoRelayDeps): Relay {
  const db = mongo.db(config.MONGODB_DB);
  const leases = db.collection<LeaseDoc>(config.LEASES_COLLECTION, { writeConcern: DURABLE_WRITES });
  const updates = db.collection<StoredUpdate>(config.UPDATES_COLLECTION, { writeConcern: DURABLE_WRITES, readConcern: COMMITTED_READS });
  const relay = createRelay({
    config,
    store: createMongoUpdateStore(
      updates,
      db.collection<SeqCounterDoc>(config.SEQS_COLLECTION, { writeConcern: DURABLE_WRITES, readConcern: COMMITTED_READS }),
      logger,
    ),
    leases: createMongoLeaseStore(leases),
    layouts: createMongoLayoutStore(db.collection<LayoutDoc>(config.LEASES_COLLECTION, { writeConcern: DURABLE_WRITES }), leases),
    resumeTokens: (group, owner) => createMongoResumeTokenStore(leases, group, owner),
    metrics,
    logger,
    onFatal,
    loops,
  });
  const retention = createRetention({
    store: createMongoRetentionStore(updates, db, logger),
    leases: createMongoLeaseStore(leases),
    instanceId: `${config.RELAY_INSTANCE_ID ?? hostname()}-${randomUUID().slice(0, 8)}`,
    leaseTtlMs: config.LEASE_TTL_MS,
    retentionSeconds: retentionSeconds(config),
    batchSize: config.RELAY_RETENTION_BATCH,
    intervalMs: config.RELAY_RETENTION_INTERVAL_MS,
    // The oldest retained age moves slowly; sampling it as often as the backlog would only load the server.
    sampleIntervalMs: Math.max(config.RELAY_STATS_INTERVAL_MS, RETENTION_SAMPLE_INTERVAL_MS),
    metrics,
    loops,
    logger: logger.child({ component: 'retention' }),
  });
  return withRetention(relay, retention);
}
