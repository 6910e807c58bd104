/**
 * The two systems under test, started in-process for one measurement: the real builder
 * (createMongoBuilder, as main.ts wires it, silent, on its own topology) and the baseline worker
 * (baseline-worker.ts) on its own intake queue. Both register what they create for clean-up.
 */
import { createMonotonicClock } from '@chat3/core';
import {
  builderTopology,
  createBuilderMetrics,
  createMongoBuilder,
  loadBuilderConfig,
  type BuilderMetrics,
  type QueueType,
} from '@chat3/builder';
import type { Db } from 'mongodb';
import { createIntake } from '../broker';
import { sleep } from '../common';
import { monitorCommands } from '../db-timing';
import { startInProcess } from '../lifecycle';
import { startBaselineWorker } from './baseline-worker';
import { dropBroker, newClient, updateIndexes, type BuilderBenchContext, type MeasurementNames } from './context';

const MAX_EVENT_BYTES = 1_048_576;

type Metric = { get(): Promise<{ values: Array<{ value: number }> }> };

export async function metricTotal(c: Metric): Promise<number> {
  return (await c.get()).values.reduce((s, v) => s + v.value, 0);
}

/** Events the builder is done with: built, ignored or dead-lettered. */
export async function processedBy(metrics: BuilderMetrics): Promise<number> {
  const [built, ignored, dead] = await Promise.all([
    metricTotal(metrics.eventsBuilt),
    metricTotal(metrics.eventsIgnored),
    metricTotal(metrics.eventsDeadLettered),
  ]);
  return built + ignored + dead;
}

/**
 * The real builder on `n`'s database and events exchange, its queues declared as `queueType`; resolves
 * once it holds every partition.
 */
export async function startBuilder(ctx: BuilderBenchContext, n: MeasurementNames, label: string, queueType: QueueType) {
  const config = loadBuilderConfig({
    ...ctx.builderEnv,
    MONGODB_URI: ctx.mongoUri,
    MONGODB_DB: n.db,
    RABBITMQ_URL: ctx.rabbitUrl,
    RABBITMQ_EVENTS_EXCHANGE: n.exchange,
    BUILDER_QUEUE: n.queue,
    BUILDER_QUEUE_TYPE: queueType,
    METRICS_PORT: '0',
    LOG_LEVEL: 'silent',
    BUILDER_INSTANCE_ID: `bench-${label}`,
  });
  const topology = builderTopology(
    config.RABBITMQ_EVENTS_EXCHANGE,
    config.BUILDER_QUEUE,
    config.BUILDER_PARTITIONS,
    config.BUILDER_QUEUE_TYPE,
  );
  const queues = [topology.intakeQueue, ...topology.partitionQueues, topology.deadLetterQueue];
  const exchanges = [topology.eventsExchange, topology.partitionExchange, topology.deadLetterExchange];
  for (const q of queues) ctx.created.queues.add(q);
  for (const e of exchanges) ctx.created.exchanges.add(e);

  const client = newClient(ctx.mongoUri, `chat3-builder-bench ${label}`, true);
  const timing = monitorCommands(client);
  await client.connect();
  const metrics = createBuilderMetrics({ defaultMetrics: false });
  // Exact batch sizes and durations, beside the histograms.
  const batchSizes: number[] = [];
  const batchSeconds: number[] = [];
  const observeSize = metrics.batchSize.observe.bind(metrics.batchSize);
  const observeSeconds = metrics.batchDuration.observe.bind(metrics.batchDuration);
  metrics.batchSize.observe = ((v: number) => {
    batchSizes.push(v);
    observeSize(v);
  }) as typeof metrics.batchSize.observe;
  metrics.batchDuration.observe = ((v: number) => {
    batchSeconds.push(v);
    observeSeconds(v);
  }) as typeof metrics.batchDuration.observe;

  const { t0, stop } = await startInProcess(client, ctx.fatal, (deps) => createMongoBuilder({ config, metrics, ...deps }));
  const deadline = performance.now() + 60_000;
  while ((await metricTotal(metrics.ownedPartitions)) < config.BUILDER_PARTITIONS) {
    ctx.fatal.check();
    if (performance.now() > deadline) throw new Error(`builder ${label} did not take its ${config.BUILDER_PARTITIONS} partitions in 60 s`);
    await sleep(20);
  }
  return {
    config,
    metrics,
    batchSizes,
    batchSeconds,
    readyMs: performance.now() - t0,
    timing,
    stop,
    dropTopology: () => dropBroker(ctx, queues, exchanges),
  };
}

/** The baseline worker on its own intake queue, bound to `n`'s events exchange, writing to `db`. */
export async function startBaseline(ctx: BuilderBenchContext, n: MeasurementNames, db: Db, stats: boolean) {
  ctx.created.queues.add(n.queue);
  await updateIndexes(db);
  await createIntake(ctx.admin, n.exchange, n.queue);
  const worker = await startBaselineWorker({
    model: ctx.worker,
    queue: n.queue,
    db,
    clock: createMonotonicClock(),
    maxEventBytes: MAX_EVENT_BYTES,
    stats,
    onError: (err) => ctx.log(`baseline worker error: ${String(err)}`),
  });
  return { ...worker, dropTopology: () => dropBroker(ctx, [n.queue], [n.exchange]) };
}
