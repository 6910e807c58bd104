/**
 * What every relay measurement shares: the servers, the run's connections, the clean-up registry and the
 * per-measurement names. Each measurement takes fresh names (database, exchange, queue), registered the
 * moment they are made, and removes them when it ends; the registry removes whatever a failure left.
 */
import { UPDATE_INDEXES } from '@chat3/core';
import { loadRelayConfig, type RelayConfig, type StoredUpdate } from '@chat3/relay';
import { COMMITTED_READS, DURABLE_WRITES, createSilentLogger, ensureIndexes, isChangeStreamUnsupported } from '@chat3/runtime';
import type { ChannelModel } from 'amqplib';
import type { Collection, MongoClient } from 'mongodb';
import { createTopology } from '../broker';
import type { Fatal, Registry } from '../lifecycle';

export interface RelayBenchContext {
  mongoUri: string;
  rabbitUrl: string;
  runId: string;
  /** RELAY_* tuning from the environment (never RELAY_MODE: the benchmark always polls). */
  relayEnv: Record<string, string>;
  fatal: Fatal;
  created: Registry;
  log: (msg: string) => void;
  /** Creates and drops databases, inserts backlogs, runs the page and mark measurements. */
  mongo: MongoClient;
  /** Declares and deletes exchanges and queues, reads queue depths. */
  admin: ChannelModel;
  /** The publishing connection of the ceiling, the page breakdown and the naive relay. */
  broker: ChannelModel;
}

export interface MeasurementNames {
  db: string;
  exchange: string;
  queue: string;
}

/** Fresh names for one measurement, registered for clean-up at once. */
export function measurementNames(ctx: RelayBenchContext, label: string, { database = true } = {}): MeasurementNames {
  const base = `bench_relay_${ctx.runId}_${label}`;
  if (database) ctx.created.dbs.add(base);
  ctx.created.exchanges.add(`${base}.updates`);
  ctx.created.queues.add(`${base}.all`);
  return { db: base, exchange: `${base}.updates`, queue: `${base}.all` };
}

export async function dropDb(ctx: RelayBenchContext, name: string): Promise<void> {
  await ctx.mongo.db(name).dropDatabase();
  ctx.created.dbs.delete(name);
}

/**
 * Runs `fn` with fresh names and the benchmark topology (an exchange, one queue bound `update.#`);
 * afterwards drops the database (when one was named) and the topology, also when `fn` failed.
 */
export async function withMeasurement<T>(
  ctx: RelayBenchContext,
  label: string,
  options: { database?: boolean },
  fn: (names: MeasurementNames) => Promise<T>,
): Promise<T> {
  const database = options.database ?? true;
  const names = measurementNames(ctx, label, { database });
  try {
    await createTopology(ctx.admin, names.exchange, names.queue);
    return await fn(names);
  } finally {
    if (database) await dropDb(ctx, names.db);
    await ctx.created.dropBroker(ctx.admin, [names.queue], [names.exchange]);
  }
}

/** `updates` in database `db`, with the relay's indexes (production has them before the backlog) and `docs` in it. */
export async function freshUpdates(ctx: RelayBenchContext, db: string, docs: readonly StoredUpdate[]): Promise<Collection<StoredUpdate>> {
  const col = ctx.mongo.db(db).collection<StoredUpdate>('updates');
  await ensureIndexes(col as never, UPDATE_INDEXES, createSilentLogger());
  for (let i = 0; i < docs.length; i += 1000) await col.insertMany(docs.slice(i, i + 1000) as StoredUpdate[], { ordered: false });
  return col;
}

/** `updates` of database `db` as the relay opens it (createMongoRelay): its read and write concerns. */
export function relayUpdates(ctx: RelayBenchContext, db: string): Collection<StoredUpdate> {
  return ctx.mongo.db(db).collection<StoredUpdate>('updates', { writeConcern: DURABLE_WRITES, readConcern: COMMITTED_READS });
}

/** The relay's configuration for one measurement: polling, silent, no metrics port, the run's RELAY_* tuning. */
export function relayConfig(ctx: RelayBenchContext, db: string, exchange: string, label: string): RelayConfig {
  return loadRelayConfig({
    ...ctx.relayEnv,
    MONGODB_URI: ctx.mongoUri,
    MONGODB_DB: db,
    RABBITMQ_URL: ctx.rabbitUrl,
    RABBITMQ_UPDATES_EXCHANGE: exchange,
    UPDATES_COLLECTION: 'updates',
    LEASES_COLLECTION: 'leases',
    RELAY_MODE: 'polling',
    METRICS_PORT: '0',
    LOG_LEVEL: 'silent',
    RELAY_INSTANCE_ID: `bench-${label}`,
  });
}

/** True when the server has change streams (the report says why change-stream lag is not measured). */
export async function changeStreamsSupported(ctx: RelayBenchContext): Promise<boolean> {
  const name = `bench_relay_${ctx.runId}_probe`;
  ctx.created.dbs.add(name);
  const probe = ctx.mongo.db(name).collection('probe').watch([], { maxAwaitTimeMS: 1 });
  try {
    await probe.tryNext();
    return true;
  } catch (err) {
    if (isChangeStreamUnsupported(err)) return false;
    throw err;
  } finally {
    await probe.close().catch(() => undefined);
    await dropDb(ctx, name).catch(() => undefined);
  }
}
