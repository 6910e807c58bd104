/** The relay on MongoDB: its ports wired to the driver (main.ts and the benchmarks start it this way). */
import { COMMITTED_READS, DURABLE_WRITES, createMongoLeaseStore, type LeaseDoc, type Logger } from '@chat3/runtime';
import type { MongoClient } from 'mongodb';
import type { RelayConfig } from './config';
import { createMongoLayoutStore, type LayoutDoc } from './db/partition-layout';
import { createMongoResumeTokenStore } from './db/resume-tokens';
import type { SeqCounterDoc } from './db/update-seqs';
import { createMongoUpdateStore } from './db/update-store';
import type { RelayMetrics } from './metrics';
import type { StoredUpdate } from './ports';
import { createRelay, type Relay } from './relay';

export interface MongoRelayDeps {
  config: RelayConfig;
  mongo: MongoClient;
  metrics: RelayMetrics;
  logger: Logger;
  onFatal: (err: Error) => void;
}

export function createMongoRelay({ config, mongo, metrics, logger, onFatal }: MongoRelayDeps): Relay {
  const db = mongo.db(config.MONGODB_DB);
  const leases = db.collection<LeaseDoc>(config.LEASES_COLLECTION, { writeConcern: DURABLE_WRITES });
  const updates = db.collection<StoredUpdate>(config.UPDATES_COLLECTION, { writeConcern: DURABLE_WRITES, readConcern: COMMITTED_READS });
  return createRelay({
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
  });
}
