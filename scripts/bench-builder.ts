/**
 * Builder benchmark (`pnpm bench:builder [--quick] [flags]`). In one run, against the real RabbitMQ and
 * the configured MongoDB-compatible server, on simulated Chat3 traffic (createSimulation, wall clock):
 *   1. throughput of the real builder (in-process createMongoBuilder): the read model (population + every
 *      step's writes) is in place before timing; N events are published to a fresh events exchange and
 *      timed until the builder's metrics count all N processed (built + ignored + dead-lettered); once
 *      per queue type (BUILDER_QUEUE_TYPE: classic and quorum by default) in every repetition, the types
 *      taking turns to go first, each on queues of its own, and the quorum/classic ratio of the medians;
 *      after each, the broker alone on that queue type (same events through one queue, no database);
 *   2. the raw ceiling of the builder's own writes: the Update documents that run wrote, inserted again
 *      with one insertMany into a fresh collection on the same server; the builder's ratio to it;
 *   3. throughput of the baseline, the original update worker (scripts/bench/builder/baseline-worker.ts):
 *      same events, own queue, prefetch 1, per-event queries, one insertOne per recipient; bounded in time;
 *   4. latency event → Update (Update.createdAt − eventCreatedAt) of both at one offered rate below the
 *      baseline's capacity (default 50 % of its measured throughput), live traffic from the simulator.
 * Steps 2–4 use the primary queue type (the first of --queue-types) only.
 * Every measurement gets a fresh database and fresh exchange/queue names; all are removed afterwards.
 * The report goes to stdout (tables, then one JSON line); progress to stderr. Missing a goal is
 * reported (MISSED), not an error: the exit code is non-zero only when the benchmark itself fails.
 *
 * Flags: --events N (3000) --users N (200) --dialogs N (100) --seed N (1) --repeat N (3)
 *        --rate EV/S (latency phase; default 50 % of the baseline's median throughput)
 *        --latency-seconds S (10) --baseline-seconds S (cap per baseline throughput run, 30)
 *        --no-baseline-stats (baseline skips user.stats.update) --quick (smoke run, well under a minute)
 *        --queue-types classic,quorum (the builder's queue types, first = primary; default both, or only
 *        BUILDER_QUEUE_TYPE when that is set in the environment).
 * BUILDER_* environment variables (except BUILDER_QUEUE, BUILDER_QUEUE_TYPE and BUILDER_INSTANCE_ID)
 * reach the builder's config, e.g. BUILDER_BATCH_SIZE=1000 pnpm bench:builder.
 */
import { loadBuilderConfig, type QueueType } from '@chat3/builder';
import { redactUrl } from '@chat3/runtime';
import type { TrafficStep } from '@chat3/simulator';
import type { Db } from 'mongodb';
import { connectBroker } from './bench/broker';
import { commandLine, describeEnvironment, loadAverage, numFlag, parseFlags } from './bench/common';
import { createRegistry, exitWhenDone, trackFatal } from './bench/lifecycle';
import { fmt, median, round } from './bench/report';
import { dropDb, newClient, watchDatabase, type BuilderBenchContext } from './bench/builder/context';
import { measureBrokerCeiling } from './bench/builder/broker-ceiling';
import { measureInsertCeiling } from './bench/builder/insert-ceiling';
import { measureLatency } from './bench/builder/latency';
import { builderJson, renderBuilderText, summarizeBuilder } from './bench/builder/render';
import type {
  BrokerCeilingRun,
  BuilderBenchParams,
  BuilderBenchResults,
  InsertCeilingRun,
  LatencyRun,
  ThroughputRun,
} from './bench/builder/results';
import { baselineThroughput, builderThroughput } from './bench/builder/throughput';
import { parseQueueTypes, queueTypeOrder } from './bench/builder/queue-types';
import { prepareWorkload } from './bench/builder/workload';

const flags = parseFlags(import.meta.url, {
  events: { type: 'string' },
  users: { type: 'string' },
  dialogs: { type: 'string' },
  seed: { type: 'string' },
  repeat: { type: 'string' },
  rate: { type: 'string' },
  'latency-seconds': { type: 'string' },
  'baseline-seconds': { type: 'string' },
  'no-baseline-stats': { type: 'boolean', default: false },
  'queue-types': { type: 'string' },
  quick: { type: 'boolean', default: false },
});

const quick = flags.quick ?? false;
const params: BuilderBenchParams = {
  events: Math.floor(numFlag('events', flags.events, quick ? 400 : 3000, 1)),
  users: Math.floor(numFlag('users', flags.users, quick ? 100 : 200, 2)),
  dialogs: Math.floor(numFlag('dialogs', flags.dialogs, quick ? 50 : 100, 1)),
  seed: Math.floor(numFlag('seed', flags.seed, 1, 0)),
  repeat: Math.floor(numFlag('repeat', flags.repeat, quick ? 1 : 3, 1)),
  rate: flags.rate === undefined ? null : numFlag('rate', flags.rate, 0, 0.1),
  latencySeconds: numFlag('latency-seconds', flags['latency-seconds'], quick ? 4 : 10, 0.5),
  baselineSeconds: numFlag('baseline-seconds', flags['baseline-seconds'], quick ? 6 : 30, 1),
  baselineStats: !flags['no-baseline-stats'],
  queueTypes:
    flags['queue-types'] !== undefined
      ? parseQueueTypes(flags['queue-types'])
      : parseQueueTypes(process.env.BUILDER_QUEUE_TYPE ?? 'classic,quorum', 'BUILDER_QUEUE_TYPE'),
  quick,
};
const primaryType: QueueType = params.queueTypes[0]!;

const log = (msg: string) => process.stderr.write(`[bench-builder] ${msg}\n`);
const fatal = trackFatal(log);
const created = createRegistry();
let ctx: BuilderBenchContext | undefined;

async function connect(): Promise<BuilderBenchContext> {
  const mongoUri = process.env.MONGODB_URI ?? '';
  if (!mongoUri) throw new Error('MONGODB_URI is required (run through `pnpm bench:builder`, which starts the services)');
  const rabbitUrl = process.env.RABBITMQ_URL ?? 'amqp://localhost:5672';
  const runId = `${Date.now().toString(36)}_${process.pid}`;
  const mongo = newClient(mongoUri, 'chat3-builder-bench setup');
  await mongo.connect();
  const admin = await connectBroker(rabbitUrl, `bench-builder admin ${runId}`);
  const publisherConn = await connectBroker(rabbitUrl, `bench-builder publisher ${runId}`);
  const worker = await connectBroker(rabbitUrl, `bench-builder baseline ${runId}`);
  const publisher = await publisherConn.createConfirmChannel();
  publisher.on('error', (err: Error) => fatal.set(err));
  // BUILDER_* tuning from the environment; names are always the benchmark's own.
  const builderEnv = Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] =>
        e[0].startsWith('BUILDER_') && !['BUILDER_QUEUE', 'BUILDER_QUEUE_TYPE', 'BUILDER_INSTANCE_ID'].includes(e[0]) && e[1] !== undefined,
    ),
  );
  return { mongoUri, rabbitUrl, runId, builderEnv, fatal, created, log, mongo, admin, broker: publisherConn, publisher, worker };
}

async function cleanup(c: BuilderBenchContext): Promise<void> {
  await created.cleanupAll((name) => dropDb(c, name), c.admin, log);
  for (const conn of [c.broker, c.worker, c.admin]) await conn.close().catch(() => undefined);
  await c.mongo.close().catch(() => undefined);
}

/**
 * The builder and the broker alone on each queue type, the insert ceiling of the primary-type run and the
 * baseline, in turn for each repeat, so that drift hits all of them alike.
 */
async function measureThroughput(c: BuilderBenchContext, template: Db, steps: readonly TrafficStep[], prefetch: number) {
  const builder: ThroughputRun[] = [];
  const brokerCeiling: BrokerCeilingRun[] = [];
  const insertCeiling: InsertCeilingRun[] = [];
  const baseline: ThroughputRun[] = [];
  for (let i = 0; i < params.repeat; i++) {
    const k = `${i + 1}/${params.repeat}`;
    for (const queueType of queueTypeOrder(params.queueTypes, i)) {
      const { run: b, written } = await builderThroughput(c, i, template, steps, queueType);
      log(
        `builder ${queueType} ${k}: ${fmt(b.eventsPerSecond)} events/s, ${fmt(b.updatesPerSecond)} Updates/s` +
          `${b.reached ? '' : ` (ONLY ${b.processed}/${b.events})`}`,
      );
      builder.push(b);
      const q = await measureBrokerCeiling(c, steps, queueType, i, prefetch);
      log(`broker alone ${queueType} ${k}: ${fmt(q.eventsPerSecond)} events/s (publishing took ${fmt(q.publishMs)} ms)`);
      brokerCeiling.push(q);
      if (queueType !== primaryType) continue;
      const ceiling = await measureInsertCeiling(c, written, b.processed, i);
      log(`insert ceiling ${k}: ${ceiling.documents} Updates in ${fmt(ceiling.ms)} ms = ${fmt(ceiling.eventsPerSecond)} events/s`);
      insertCeiling.push(ceiling);
    }
    const o = await baselineThroughput(c, i, template, steps, { seconds: params.baselineSeconds, stats: params.baselineStats });
    log(
      `baseline ${k}: ${fmt(o.eventsPerSecond, 1)} events/s, ${fmt(o.updatesPerSecond, 1)} Updates/s ` +
        `(${o.processed}/${o.events} events in ${fmt(o.ms / 1000, 1)} s)`,
    );
    baseline.push(o);
  }
  return { builder, brokerCeiling, insertCeiling, baseline };
}

/** Latency of both systems at one offered rate, alternating. */
async function measureLatencies(c: BuilderBenchContext, rate: number): Promise<LatencyRun[]> {
  const runs: LatencyRun[] = [];
  for (let i = 0; i < params.repeat; i++) {
    for (const system of ['builder', 'baseline'] as const) {
      const r = await measureLatency(c, system, i, { ...params, rate, seconds: params.latencySeconds, queueType: primaryType });
      log(
        `latency ${system} ${i + 1}/${params.repeat} at ${fmt(r.offeredRate, 1)} events/s: p50 ${fmt(r.latency.p50)} ms, ` +
          `p99 ${fmt(r.latency.p99)} ms${r.keptUp ? '' : ` (DID NOT KEEP UP: ${r.processed}/${r.sent})`}`,
      );
      runs.push(r);
    }
  }
  return runs;
}

async function main(): Promise<void> {
  const wallStart = performance.now();
  const loadAtStart = loadAverage();
  const c = (ctx = await connect());
  const watch = await watchDatabase(c, (reason) => void abortRun(reason));
  try {
    const env = await describeEnvironment(c.mongo, c.broker);
    const probe = loadBuilderConfig({ ...c.builderEnv, MONGODB_URI: c.mongoUri });
    log(`${env.mongo}; ${env.rabbitmq}; ${params.events} events, ${params.repeat}× repeat; queue types ${params.queueTypes.join(', ')}`);
    const prepared = await prepareWorkload(c, params);
    log(`read model: population + ${prepared.workload.stepWrites} step writes applied in ${fmt(prepared.workload.readModelApplyMs)} ms`);

    const throughput = await measureThroughput(c, prepared.template, prepared.steps, probe.BUILDER_PREFETCH);
    await dropDb(c, prepared.templateName);
    const latencyRate = params.rate ?? Math.max(1, round(median(throughput.baseline.map((r) => r.eventsPerSecond)) / 2, 1));
    const latency = await measureLatencies(c, latencyRate);

    const results: BuilderBenchResults = {
      command: commandLine('scripts/bench-builder.ts'),
      params,
      env: { ...env, mongoUri: redactUrl(c.mongoUri), builderEnv: c.builderEnv },
      builderConfig: {
        batchSize: probe.BUILDER_BATCH_SIZE,
        batchWaitMs: probe.BUILDER_BATCH_WAIT_MS,
        partitions: probe.BUILDER_PARTITIONS,
        prefetch: probe.BUILDER_PREFETCH,
      },
      workload: prepared.workload,
      ...throughput,
      latencyRate,
      latency,
      load: { start: loadAtStart, end: loadAverage() },
      totalSeconds: (performance.now() - wallStart) / 1000,
    };
    const summary = summarizeBuilder(results);
    process.stdout.write(`${renderBuilderText(results, summary)}\n${JSON.stringify(builderJson(results, summary))}\n`);
  } finally {
    await watch.stop();
    await cleanup(c);
  }
}

/** Ends a run that cannot go on: broker objects are removed, databases (the server is not answering) named. */
let aborting = false;
async function abortRun(reason: string): Promise<void> {
  if (aborting) return;
  aborting = true;
  log(`${reason}; cleaning up the broker and exiting`);
  setTimeout(() => process.exit(1), 30_000).unref();
  if (ctx) await created.deleteAllBroker(ctx.admin, () => undefined);
  if (created.dbs.size > 0) log(`left behind (drop them once the server answers): ${[...created.dbs].join(', ')}`);
  process.exit(1);
}

// A wedged server (FerretDB has been seen to stop answering) must not hang the run forever.
const watchdogMs = Math.max(
  10 * 60_000,
  3 * params.repeat * (params.baselineSeconds * 1000 + 2 * params.latencySeconds * 1000 + 120_000 * params.queueTypes.length) +
    params.events * 100 * params.queueTypes.length,
);
setTimeout(() => {
  void abortRun(`watchdog: no result after ${Math.round(watchdogMs / 60_000)} min`);
}, watchdogMs).unref();

exitWhenDone(main(), fatal, log);
