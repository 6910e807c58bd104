/**
 * What every builder measurement shares: the servers, the run's connections, the clean-up registry, the
 * per-measurement names and databases, and the watch on a database that stopped answering.
 */
import { UPDATE_INDEXES, USER_STATS_INDEXES } from '@chat3/core';
import { createSilentLogger, ensureIndexes } from '@chat3/runtime';
import { ensureReadModelIndexes } from '@chat3/simulator';
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { MongoClient, type Db } from 'mongodb';
import { within } from '../common';
import type { Fatal, Registry } from '../lifecycle';
import { copyReadModel } from '../read-model-writes';

export interface BuilderBenchContext {
  mongoUri: string;
  rabbitUrl: string;
  runId: string;
  /** BUILDER_* tuning from the environment (never BUILDER_QUEUE or BUILDER_INSTANCE_ID). */
  builderEnv: Record<string, string>;
  fatal: Fatal;
  created: Registry;
  log: (msg: string) => void;
  /** Creates, copies and drops databases; reads what a measurement wrote. */
  mongo: MongoClient;
  /** Declares and deletes exchanges and queues. */
  admin: ChannelModel;
  /** The publishing connection, and the confirm channel on it that every event is published on. */
  broker: ChannelModel;
  publisher: ConfirmChannel;
  /** The baseline worker's connection. */
  worker: ChannelModel;
}

export interface MeasurementNames {
  db: string;
  exchange: string;
  queue: string;
}

/** Fresh names for one measurement; its database and (unless it uses no broker) exchange are registered for clean-up at once. */
export function measurementNames(ctx: BuilderBenchContext, label: string, { broker = true } = {}): MeasurementNames {
  const base = `bench_builder_${ctx.runId}_${label}`;
  ctx.created.dbs.add(base);
  if (broker) ctx.created.exchanges.add(`${base}.events`);
  return { db: base, exchange: `${base}.events`, queue: `${base}.intake` };
}

export async function dropDb(ctx: BuilderBenchContext, name: string): Promise<void> {
  await within(ctx.mongo.db(name).dropDatabase(), 60_000, `dropping ${name}`);
  ctx.created.dbs.delete(name);
}

export async function dropBroker(ctx: BuilderBenchContext, queues: readonly string[], exchanges: readonly string[]): Promise<void> {
  await ctx.created.dropBroker(ctx.admin, queues, exchanges);
}

export function newClient(mongoUri: string, appName: string, monitor = false): MongoClient {
  return new MongoClient(mongoUri, {
    monitorCommands: monitor,
    appName,
    serverSelectionTimeoutMS: 5_000,
    connectTimeoutMS: 5_000,
    socketTimeoutMS: 300_000,
    maxPoolSize: 32,
    ignoreUndefined: true,
  });
}

/** A fresh database holding `template`'s read model, with the indexes production has before traffic. */
export async function freshReadModel(ctx: BuilderBenchContext, dbName: string, template: Db): Promise<Db> {
  const db = ctx.mongo.db(dbName);
  await ensureReadModelIndexes(db);
  await copyReadModel(template, db);
  return db;
}

/** The indexes of `updates` and `userstats`, as the builder creates them. */
export async function updateIndexes(db: Db): Promise<void> {
  const quiet = createSilentLogger();
  await ensureIndexes(db.collection('updates'), UPDATE_INDEXES, quiet);
  await ensureIndexes(db.collection('userstats'), USER_STATS_INDEXES, quiet);
}

/**
 * Fails the run when the database stops answering: FerretDB 1.24 with a 20-connection PostgreSQL pool
 * deadlocks once ~20 update commands run at once (see read-model-writes.ts), and then never recovers.
 * Every 5 s it reads a document of a collection that exists (FerretDB answers for a missing one without
 * asking PostgreSQL); three probes of 5 s failing in a row call `abort`.
 */
export async function watchDatabase(ctx: BuilderBenchContext, abort: (reason: string) => void): Promise<{ stop(): Promise<void> }> {
  const name = `bench_builder_${ctx.runId}_probe`;
  ctx.created.dbs.add(name);
  const probe = ctx.mongo.db(name).collection<{ _id: string }>('probe');
  await probe.insertOne({ _id: 'probe' });
  let failures = 0;
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    within(probe.findOne({ _id: 'probe' }), 5_000, 'database probe')
      .then(
        () => (failures = 0),
        () => {
          failures += 1;
          if (failures >= 3) abort('the database stopped answering (3 probes of 5 s failed); restart it and run again');
        },
      )
      .finally(() => (running = false));
  }, 5_000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await dropDb(ctx, name).catch(() => undefined);
    },
  };
}
