/**
 * Relay benchmark (`pnpm bench:relay [--quick] [flags]`). In one run, against the real RabbitMQ and the
 * configured MongoDB-compatible server:
 *   1. raw broker ceiling: the relay's own wire messages on a confirm channel, no database;
 *   2. relay drain over in-memory stores: the real relay (createRelay) with a database that costs
 *      nothing, publishing the same backlog to the real broker; goal ≥ 80 % of the ceiling;
 *   3. relay drain: the real relay (createMongoRelay, polling) publishing a pre-inserted backlog;
 *      one page of each relay step timed alone; the mark two ways (updateMany $in, bulkWrite of updateOne);
 *   4. naive relay: poll every second, 100 at a time, publish + confirm + updateOne one by one;
 *   5. steady-state lag (publishedAt − createdAt) at 25/50/75 % of the measured drain rate.
 * Every measured run uses a fresh database, exchange and queue, all removed afterwards. The report goes
 * to stdout (tables, then one JSON line); progress goes to stderr. Missing a goal is reported, not an
 * error: the exit code is non-zero only when the benchmark itself fails.
 *
 * Flags: --updates N (drain size, 3000) --repeat N (3) --naive-seconds S (20) --lag-seconds S (10)
 *        --loads 25,50,75 --mark-sizes N,N (collection sizes of the mark comparison: the drain size; 1000
 *        with --quick; on FerretDB a bulk mark in 20000 takes half a minute) --seed N (1) --quick (small
 *        sizes for a smoke run).
 * RELAY_* environment variables (except RELAY_MODE) are passed to the relay's config, e.g.
 * RELAY_BATCH_SIZE=1000 pnpm bench:relay.
 */
import { redactUrl } from '@chat3/runtime';
import { MongoClient } from 'mongodb';
import { connectBroker } from './bench/broker';
import { commandLine, describeEnvironment, loadAverage, numFlag, parseFlags } from './bench/common';
import { createRegistry, exitWhenDone, trackFatal } from './bench/lifecycle';
import { fmt, median } from './bench/report';
import { measureCeiling, measureNaive } from './bench/relay/baselines';
import { changeStreamsSupported, dropDb, relayConfig, type RelayBenchContext } from './bench/relay/context';
import { measureDrain, measureMemoryDrain } from './bench/relay/drain';
import { measureLag } from './bench/relay/lag';
import { measureMarks, measurePage } from './bench/relay/page-costs';
import { relayJson, renderRelayText, summarizeRelay } from './bench/relay/render';
import type {
  CeilingRun,
  LagRun,
  MarkComparison,
  MarkMethod,
  MemoryDrainRun,
  MongoDrainRun,
  RelayBenchParams,
  RelayBenchResults,
} from './bench/relay/results';
import { prepareBacklog, type Backlog } from './bench/relay/workload';

const flags = parseFlags(import.meta.url, {
  updates: { type: 'string' },
  repeat: { type: 'string' },
  'naive-seconds': { type: 'string' },
  'lag-seconds': { type: 'string' },
  loads: { type: 'string' },
  'mark-sizes': { type: 'string' },
  seed: { type: 'string' },
  quick: { type: 'boolean', default: false },
});

const quick = flags.quick ?? false;
const updates = Math.floor(numFlag('updates', flags.updates, quick ? 500 : 3000, 1));
const params: RelayBenchParams = {
  updates,
  repeat: Math.floor(numFlag('repeat', flags.repeat, quick ? 1 : 3, 1)),
  naiveSeconds: numFlag('naive-seconds', flags['naive-seconds'], quick ? 4 : 20, 0.5),
  lagSeconds: numFlag('lag-seconds', flags['lag-seconds'], quick ? 3 : 10, 0.5),
  loads: (flags.loads ?? '25,50,75').split(',').map((s) => numFlag('loads', s.trim(), 0, 1)),
  markSizes: (flags['mark-sizes'] ?? (quick ? '1000' : `${updates}`))
    .split(',')
    .map((s) => Math.floor(numFlag('mark-sizes', s.trim(), 0, 1))),
  seed: Math.floor(numFlag('seed', flags.seed, 1, 0)),
  quick,
};

const log = (msg: string) => process.stderr.write(`[bench-relay] ${msg}\n`);
const fatal = trackFatal(log);
const created = createRegistry();
let ctx: RelayBenchContext | undefined;

async function connect(): Promise<RelayBenchContext> {
  const mongoUri = process.env.MONGODB_URI ?? '';
  if (!mongoUri) throw new Error('MONGODB_URI is required (run through `pnpm bench:relay`, which starts the services)');
  const rabbitUrl = process.env.RABBITMQ_URL ?? 'amqp://localhost:5672';
  const runId = `${Date.now().toString(36)}_${process.pid}`;
  const mongo = await MongoClient.connect(mongoUri, { serverSelectionTimeoutMS: 5_000, socketTimeoutMS: 300_000, ignoreUndefined: true });
  const admin = await connectBroker(rabbitUrl, `bench-relay admin ${runId}`);
  const broker = await connectBroker(rabbitUrl, `bench-relay publisher ${runId}`);
  // RELAY_* tuning from the environment, so a run can try other settings; the mode is always polling.
  const relayEnv = Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] => e[0].startsWith('RELAY_') && e[0] !== 'RELAY_MODE' && e[1] !== undefined,
    ),
  );
  return { mongoUri, rabbitUrl, runId, relayEnv, fatal, created, log, mongo, admin, broker };
}

async function cleanup(c: RelayBenchContext): Promise<void> {
  await created.cleanupAll((name) => dropDb(c, name), c.admin, log);
  for (const conn of [c.broker, c.admin]) await conn.close().catch(() => undefined);
  await c.mongo.close().catch(() => undefined);
}

/** The ceiling and the two drains; the ceiling and the in-memory drain alternate, so drift hits both alike. */
async function measureThroughput(c: RelayBenchContext, backlog: Backlog, window: number) {
  const ceiling: CeilingRun[] = [];
  const memoryDrain: MemoryDrainRun[] = [];
  const drain: MongoDrainRun[] = [];
  const drained = (r: { reached: boolean }) => (r.reached ? '' : ' (DID NOT DRAIN)');
  for (let i = 0; i < params.repeat; i++) {
    const k = `${i + 1}/${params.repeat}`;
    ceiling.push(await measureCeiling(c, backlog.messages, window, i));
    log(`ceiling ${k}: ${fmt(ceiling[i]!.rate)} msg/s`);
    memoryDrain.push(await measureMemoryDrain(c, backlog.docs, i));
    log(`in-memory relay drain ${k}: ${fmt(memoryDrain[i]!.rate)} msg/s in ${fmt(memoryDrain[i]!.ms)} ms${drained(memoryDrain[i]!)}`);
  }
  for (let i = 0; i < params.repeat; i++) {
    drain.push(await measureDrain(c, backlog.docs, i));
    log(`relay drain ${i + 1}/${params.repeat}: ${fmt(drain[i]!.rate)} msg/s in ${fmt(drain[i]!.ms)} ms${drained(drain[i]!)}`);
  }
  return { ceiling, memoryDrain, drain };
}

/** The two marks at each collection size (the backlog's own Updates at its size). */
async function measureMarkSizes(c: RelayBenchContext, backlog: Backlog, pageSize: number): Promise<MarkComparison[]> {
  const marks: MarkComparison[] = [];
  for (const size of params.markSizes) {
    const docs = size === backlog.docs.length ? backlog.docs : prepareBacklog(params.seed, size).docs;
    const m = await measureMarks(c, docs, pageSize, 3);
    const ms = (method: MarkMethod) => fmt(median(m.runs.filter((r) => r.method === method).map((r) => r.ms)));
    log(`mark of ${m.pageSize} in ${size}: updateMany ${ms('updateMany')} ms, bulkWrite ${ms('bulkWrite')} ms`);
    marks.push(m);
  }
  return marks;
}

/** Lag at each load, a fraction of the measured drain rate. */
async function measureLags(c: RelayBenchContext, drainRate: number): Promise<LagRun[]> {
  const lag: LagRun[] = [];
  for (const load of params.loads) {
    const rate = (drainRate * load) / 100;
    log(`lag at ${load} % (${fmt(rate, 1)} msg/s) for ${params.lagSeconds} s`);
    const r = await measureLag(c, load, rate, params.lagSeconds, params.seed + 1000 + load);
    log(`  p50 ${fmt(r.lag.p50)} ms, p99 ${fmt(r.lag.p99)} ms${r.drained ? '' : ' (DID NOT DRAIN)'}`);
    lag.push(r);
  }
  return lag;
}

async function main(): Promise<void> {
  const wallStart = performance.now();
  const loadAtStart = loadAverage();
  const c = (ctx = await connect());
  try {
    const env = { ...(await describeEnvironment(c.mongo, c.broker)), changeStreams: await changeStreamsSupported(c) };
    const probe = relayConfig(c, 'probe', 'probe', 'probe');
    const relay = {
      batchSize: probe.RELAY_BATCH_SIZE,
      window: probe.RELAY_WINDOW,
      pollIntervalMs: probe.RELAY_POLL_INTERVAL_MS,
      partitions: probe.RELAY_PARTITIONS,
    };
    log(`${env.mongo}, ${env.rabbitmq}; ${params.updates} Updates, ${params.repeat}× repeat, window ${relay.window}`);
    const backlog = prepareBacklog(params.seed, params.updates);

    const throughput = await measureThroughput(c, backlog, relay.window);
    const page = await measurePage(c, backlog.docs, relay.batchSize, relay.window);
    log(`one page: fetch ${fmt(page.fetchMs)} ms, publish ${fmt(page.publishMs)} ms, mark ${fmt(page.markMs)} ms`);
    const marks = await measureMarkSizes(c, backlog, relay.batchSize);
    const naive = await measureNaive(c, backlog.docs, params.naiveSeconds);
    log(`naive relay: ${fmt(naive.rate, 1)} msg/s (${naive.published} in ${fmt(naive.ms)} ms)`);
    const lag = await measureLags(c, median(throughput.drain.map((r) => r.rate)));

    const results: RelayBenchResults = {
      command: commandLine('scripts/bench-relay.ts'),
      params,
      env: { ...env, mongoUri: redactUrl(c.mongoUri), relayEnv: c.relayEnv },
      relayConfig: relay,
      workload: backlog.workload,
      ...throughput,
      page,
      marks,
      naive,
      lag,
      load: { start: loadAtStart, end: loadAverage() },
      totalSeconds: (performance.now() - wallStart) / 1000,
    };
    const summary = summarizeRelay(results);
    process.stdout.write(`${renderRelayText(results, summary)}\n${JSON.stringify(relayJson(results, summary))}\n`);
  } finally {
    await cleanup(c);
  }
}

// A hung server (FerretDB has been seen to stop answering under concurrent DDL) must not hang the run forever.
const watchdogMs = Math.max(
  10 * 60_000,
  4 * (params.repeat * 60_000 + params.naiveSeconds * 1000 + params.loads.length * params.lagSeconds * 3000) +
    params.markSizes.reduce((s, n) => s + n * 10, 0),
);
setTimeout(() => {
  log(`watchdog: no result after ${Math.round(watchdogMs / 60_000)} min; is the database answering? cleaning up and exiting`);
  setTimeout(() => process.exit(1), 30_000).unref();
  (ctx ? cleanup(ctx) : Promise.resolve()).finally(() => process.exit(1));
}, watchdogMs).unref();

exitWhenDone(main(), fatal, log);
