/**
 * Builder benchmark (`pnpm bench:builder [--quick] [flags]`). In one run, against the real RabbitMQ and
 * the configured MongoDB-compatible server, on simulated Chat3 traffic (createSimulation, wall clock):
 *   1. throughput of the real builder (in-process createBuilder): the read model (population + every
 *      step's writes) is in place before timing; N events are published to a fresh events exchange and
 *      timed until the builder's metrics count all N processed (built + ignored + dead-lettered);
 *   2. throughput of the baseline, the original update worker (scripts/bench/builder/baseline-worker.ts): same
 *      events, own queue, prefetch 1, per-event queries, one insertOne per recipient; bounded in time;
 *   3. latency event → Update (Update.createdAt − eventCreatedAt) of both at one offered rate below the
 *      baseline's capacity (default 50 % of its measured throughput), live traffic from the simulator.
 * Every measurement gets a fresh database and fresh exchange/queue names; all are removed afterwards.
 * The report goes to stdout (tables, then one JSON line); progress to stderr. Missing a goal is
 * reported (MISSED), not an error: the exit code is non-zero only when the benchmark itself fails.
 *
 * Flags: --events N (3000) --users N (200) --dialogs N (100) --seed N (1) --repeat N (3)
 *        --rate EV/S (latency phase; default 50 % of the baseline's median throughput)
 *        --latency-seconds S (10) --baseline-seconds S (cap per baseline throughput run, 30)
 *        --no-baseline-stats (baseline skips user.stats.update) --quick (smoke run, well under a minute).
 * BUILDER_* environment variables (except BUILDER_QUEUE and BUILDER_INSTANCE_ID) reach the builder's
 * config, e.g. BUILDER_BATCH_SIZE=1000 pnpm bench:builder.
 */
import { UPDATE_INDEXES, USER_STATS_INDEXES, createMonotonicClock } from '@chat3/core';
import {
  builderTopology,
  createMongoBuilder,
  createBuilderMetrics,
  loadBuilderConfig,
  type BuilderConfig,
  type BuilderMetrics,
} from '@chat3/builder';
import { createSilentLogger, ensureIndexes, redactUrl } from '@chat3/runtime';
import { createSimulation, ensureReadModelIndexes, sendEvents, type TrafficStep } from '@chat3/simulator';
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { MongoClient, type Db } from 'mongodb';
import { startBaselineWorker, type BaselineCounts } from './bench/builder/baseline-worker';
import { connectBroker, createIntake } from './bench/broker';
import { commandLine, describeEnvironment, numFlag, parseFlags, reportHeader, sleep, within } from './bench/common';
import { createRegistry, exitWhenDone, startInProcess, trackFatal } from './bench/lifecycle';
import { monitorCommands, type CommandTiming } from './bench/db-timing';
import { copyReadModel, writeReadModel } from './bench/read-model-writes';
import { countBy, fmt, median, round, roundAll, summarize, table, type Summary } from './bench/report';
import { playTraffic, publishTimes } from './bench/traffic-player';

// ---------------------------------------------------------------------------------------------------
// Flags

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
  quick: { type: 'boolean', default: false },
});

const quick = flags.quick ?? false;
const params = {
  events: Math.floor(numFlag('events', flags.events, quick ? 400 : 3000, 1)),
  users: Math.floor(numFlag('users', flags.users, quick ? 100 : 200, 2)),
  dialogs: Math.floor(numFlag('dialogs', flags.dialogs, quick ? 50 : 100, 1)),
  seed: Math.floor(numFlag('seed', flags.seed, 1, 0)),
  repeat: Math.floor(numFlag('repeat', flags.repeat, quick ? 1 : 3, 1)),
  rate: flags.rate === undefined ? null : numFlag('rate', flags.rate, 0, 0.1),
  latencySeconds: numFlag('latency-seconds', flags['latency-seconds'], quick ? 4 : 10, 0.5),
  baselineSeconds: numFlag('baseline-seconds', flags['baseline-seconds'], quick ? 6 : 30, 1),
  baselineStats: !flags['no-baseline-stats'],
  quick,
};

const MONGODB_URI = process.env.MONGODB_URI ?? '';
const RABBITMQ_URL = process.env.RABBITMQ_URL ?? 'amqp://localhost:5672';
const RUN_ID = `${Date.now().toString(36)}_${process.pid}`;
const MAX_EVENT_BYTES = 1_048_576;
const log = (msg: string) => process.stderr.write(`[bench-builder] ${msg}\n`);
const status = (met: boolean) => (met ? 'MET' : 'MISSED');

/** BUILDER_* tuning from the environment; names are always the benchmark's own. */
const builderEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => k.startsWith('BUILDER_') && k !== 'BUILDER_QUEUE' && k !== 'BUILDER_INSTANCE_ID'),
);

// ---------------------------------------------------------------------------------------------------
// Failure plumbing: a builder's onFatal, a worker error, an unhandled rejection or a signal ends the run.

const fatal = trackFatal(log);

// ---------------------------------------------------------------------------------------------------
// Clean-up registry: every database, exchange and queue is registered when it is named.

const created = createRegistry();
let mongo: MongoClient | undefined;
let admin: ChannelModel | undefined;

async function dropDb(name: string): Promise<void> {
  if (!mongo) return;
  await within(mongo.db(name).dropDatabase(), 60_000, `dropping ${name}`);
  created.dbs.delete(name);
}

async function dropBroker(queues: readonly string[], exchanges: readonly string[]): Promise<void> {
  if (admin) await created.dropBroker(admin, queues, exchanges);
}

function names(label: string) {
  const base = `bench_builder_${RUN_ID}_${label}`;
  created.dbs.add(base);
  created.exchanges.add(`${base}.events`);
  return { db: base, exchange: `${base}.events`, queue: `${base}.intake` };
}

// ---------------------------------------------------------------------------------------------------
// Databases

function newClient(appName: string, monitor = false): MongoClient {
  return new MongoClient(MONGODB_URI, {
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
async function freshReadModel(dbName: string, template: Db): Promise<Db> {
  const db = mongo!.db(dbName);
  await ensureReadModelIndexes(db);
  await copyReadModel(template, db);
  return db;
}

async function updateIndexes(db: Db): Promise<void> {
  const quiet = createSilentLogger();
  await ensureIndexes(db.collection('updates'), UPDATE_INDEXES, quiet);
  await ensureIndexes(db.collection('userstats'), USER_STATS_INDEXES, quiet);
}

// ---------------------------------------------------------------------------------------------------
// The real builder, in-process

async function sum(c: { get(): Promise<{ values: Array<{ value: number }> }> }): Promise<number> {
  return (await c.get()).values.reduce((s, v) => s + v.value, 0);
}

async function processedBy(metrics: BuilderMetrics): Promise<number> {
  const [built, ignored, dead] = await Promise.all([sum(metrics.eventsBuilt), sum(metrics.eventsIgnored), sum(metrics.eventsDeadLettered)]);
  return built + ignored + dead;
}

async function startBuilder(n: { db: string; exchange: string; queue: string }, label: string) {
  const config: BuilderConfig = loadBuilderConfig({
    ...builderEnv,
    MONGODB_URI,
    MONGODB_DB: n.db,
    RABBITMQ_URL,
    RABBITMQ_EVENTS_EXCHANGE: n.exchange,
    BUILDER_QUEUE: n.queue,
    METRICS_PORT: '0',
    LOG_LEVEL: 'silent',
    BUILDER_INSTANCE_ID: `bench-${label}`,
  });
  const topology = builderTopology(config.RABBITMQ_EVENTS_EXCHANGE, config.BUILDER_QUEUE, config.BUILDER_PARTITIONS);
  const queues = [topology.intakeQueue, ...topology.partitionQueues, topology.deadLetterQueue];
  const exchanges = [topology.eventsExchange, topology.partitionExchange, topology.deadLetterExchange];
  for (const q of queues) created.queues.add(q);
  for (const e of exchanges) created.exchanges.add(e);

  const client = newClient(`chat3-builder-bench ${label}`, true);
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

  const { t0, stop } = await startInProcess(client, fatal, (deps) => createMongoBuilder({ config, metrics, ...deps }));
  const deadline = performance.now() + 60_000;
  while ((await sum(metrics.ownedPartitions)) < config.BUILDER_PARTITIONS) {
    fatal.check();
    if (performance.now() > deadline) throw new Error(`builder ${label} did not take its ${config.BUILDER_PARTITIONS} partitions in 60 s`);
    await sleep(20);
  }
  const readyMs = performance.now() - t0;
  return {
    config,
    metrics,
    batchSizes,
    batchSeconds,
    readyMs,
    topology,
    timing,
    stop,
    dropTopology: () => dropBroker(queues, exchanges),
  };
}

// ---------------------------------------------------------------------------------------------------
// Publishing and waiting

/** Publishes all steps' events, as fast as confirms allow; resolves when the broker confirmed them. */
async function publishAll(ch: ConfirmChannel, exchange: string, steps: readonly TrafficStep[]): Promise<number> {
  const t = performance.now();
  const pending: Array<Promise<void>> = [];
  for (let i = 0; i < steps.length; i += 500) {
    const { confirmed } = await sendEvents(ch, exchange, steps.slice(i, i + 500));
    pending.push(confirmed);
    if (pending.length > 4) await pending.shift();
  }
  await Promise.all(pending);
  return performance.now() - t;
}

/**
 * Fails the run when the database stops answering: FerretDB 1.24 with a 20-connection PostgreSQL pool
 * deadlocks once ~20 update commands run at once (see read-model-writes.ts), and then never recovers.
 */
const PROBE_DB = `bench_builder_${RUN_ID}_probe`;
let probeReady = false;
let probeFailures = 0;
let lastProbe = 0;
async function probeDatabase(): Promise<void> {
  if (!mongo || !probeReady || performance.now() - lastProbe < 4_000) return;
  lastProbe = performance.now();
  try {
    // A collection that exists: FerretDB answers for a missing one without asking PostgreSQL.
    await within(
      mongo!
        .db(PROBE_DB)
        .collection('probe')
        .findOne({ _id: 'probe' as never }),
      5_000,
      'database probe',
    );
    probeFailures = 0;
  } catch {
    probeFailures += 1;
    if (probeFailures >= 3) void abortRun('the database stopped answering (3 probes of 5 s failed); restart it and run again');
  }
}

/** Polls `count()` until it reaches `target` or `timeoutMs` passes. */
async function waitCount(count: () => Promise<number> | number, target: number, timeoutMs: number, everyMs = 5) {
  const started = performance.now();
  for (;;) {
    fatal.check();
    const n = await count();
    const now = performance.now();
    if (n >= target) return { reached: true, count: n, at: now };
    if (now - started > timeoutMs) return { reached: false, count: n, at: now };
    await sleep(everyMs);
  }
}

// ---------------------------------------------------------------------------------------------------
// Throughput

interface ThroughputRun {
  system: 'builder' | 'baseline';
  events: number;
  processed: number;
  reached: boolean;
  ms: number;
  publishMs: number;
  eventsPerSecond: number;
  updates: number;
  updatesPerSecond: number;
  updatesInDb: number;
  detail: Record<string, number>;
  batchSizes?: number[];
  batchSeconds?: number[];
  db?: CommandTiming[];
}

/** The baseline worker on its own intake queue, bound to the measurement's events exchange. */
async function startBaseline(n: { exchange: string; queue: string }, db: Db, worker: ChannelModel) {
  await updateIndexes(db);
  await createIntake(admin!, n.exchange, n.queue);
  return startBaselineWorker({
    model: worker,
    queue: n.queue,
    db,
    clock: createMonotonicClock(),
    maxEventBytes: MAX_EVENT_BYTES,
    stats: params.baselineStats,
    onError: (err) => log(`baseline worker error: ${String(err)}`),
  });
}

async function builderThroughput(rep: number, template: Db, steps: readonly TrafficStep[], ch: ConfirmChannel): Promise<ThroughputRun> {
  const n = names(`b_tp${rep}`);
  const db = await freshReadModel(n.db, template);
  const b = await startBuilder(n, `tp${rep}`);
  try {
    b.timing.reset();
    const t0 = performance.now();
    const publishMs = await publishAll(ch, n.exchange, steps);
    const w = await waitCount(() => processedBy(b.metrics), steps.length, 120_000 + steps.length * 50);
    const dbTiming = b.timing.snapshot();
    const ms = w.at - t0;
    const m = b.metrics;
    const updates = await sum(m.updatesWritten);
    const detail = {
      built: await sum(m.eventsBuilt),
      ignored: await sum(m.eventsIgnored),
      deadLettered: await sum(m.eventsDeadLettered),
      duplicates: await sum(m.updatesDuplicate),
      retries: await sum(m.batchRetries),
      batches: b.batchSizes.length,
      readyMs: b.readyMs,
    };
    await b.stop();
    const updatesInDb = await db.collection('updates').countDocuments({});
    return {
      system: 'builder',
      events: steps.length,
      processed: w.count,
      reached: w.reached,
      ms,
      publishMs,
      eventsPerSecond: (w.count / ms) * 1000,
      updates,
      updatesPerSecond: (updates / ms) * 1000,
      updatesInDb,
      detail,
      batchSizes: b.batchSizes,
      batchSeconds: b.batchSeconds,
      db: dbTiming,
    };
  } finally {
    await b.stop();
    await dropDb(n.db);
    await b.dropTopology();
  }
}

async function baselineThroughput(
  rep: number,
  template: Db,
  steps: readonly TrafficStep[],
  ch: ConfirmChannel,
  worker: ChannelModel,
): Promise<ThroughputRun> {
  const n = names(`o_tp${rep}`);
  created.queues.add(n.queue);
  const db = await freshReadModel(n.db, template);
  const baseline = await startBaseline(n, db, worker);
  try {
    const t0 = performance.now();
    const publishMs = await publishAll(ch, n.exchange, steps);
    const budget = Math.max(0, params.baselineSeconds * 1000 - (performance.now() - t0));
    const w = await waitCount(() => baseline.counts.processed, steps.length, budget, 20);
    const ms = w.at - t0;
    await baseline.stop();
    const c: BaselineCounts = { ...baseline.counts };
    const updates = c.updates + c.statsUpdates;
    const updatesInDb = await db.collection('updates').countDocuments({});
    return {
      system: 'baseline',
      events: steps.length,
      processed: c.processed,
      reached: c.processed >= steps.length,
      ms,
      publishMs,
      eventsPerSecond: (c.processed / ms) * 1000,
      updates,
      updatesPerSecond: (updates / ms) * 1000,
      updatesInDb,
      detail: { ...c },
    };
  } finally {
    await baseline.stop();
    await dropDb(n.db);
    await dropBroker([n.queue], [n.exchange]);
  }
}

// ---------------------------------------------------------------------------------------------------
// Latency

interface LatencyRun {
  system: 'builder' | 'baseline';
  offeredRate: number;
  sent: number;
  processed: number;
  keptUp: boolean;
  /** After the traffic stopped, how long until the last event was processed. */
  tailMs: number;
  updates: number;
  /** Update.createdAt − event createdAt (ms). */
  latency: Summary;
  /** Update.createdAt − the moment the event was handed to the broker (ms). */
  fromPublish: Summary;
  /** Builder only: batches written and their median duration (ms). */
  batches?: number;
  batchMsMedian?: number;
}

function simulation() {
  return createSimulation({ seed: params.seed, users: params.users, dialogs: params.dialogs, now: Date.now });
}

async function measureLatency(system: 'builder' | 'baseline', rep: number, rate: number, ch: ConfirmChannel, worker: ChannelModel) {
  const n = names(`${system === 'builder' ? 'b' : 'o'}_lat${rep}`);
  const db = mongo!.db(n.db);
  const sim = simulation();
  await ensureReadModelIndexes(db);
  await writeReadModel(db, sim.seedWrites());
  let processed: () => Promise<number> | number;
  let stop: () => Promise<void>;
  let cleanupBroker: () => Promise<void>;
  let batches: number[] | undefined;
  if (system === 'builder') {
    const b = await startBuilder(n, `lat${rep}`);
    batches = b.batchSeconds;
    processed = () => processedBy(b.metrics);
    stop = b.stop;
    cleanupBroker = b.dropTopology;
  } else {
    created.queues.add(n.queue);
    const w = await startBaseline(n, db, worker);
    processed = () => w.counts.processed;
    stop = w.stop;
    cleanupBroker = () => dropBroker([n.queue], [n.exchange]);
  }
  try {
    const times = publishTimes();
    const played = await playTraffic({
      db,
      channel: ch,
      exchange: n.exchange,
      steps: sim,
      rate,
      durationMs: params.latencySeconds * 1000,
      onPublish: times.record,
    });
    const trafficEnd = performance.now();
    const tailBudget = system === 'builder' ? 60_000 : Math.max(20_000, params.latencySeconds * 1000);
    const w = await waitCount(processed, played.events, tailBudget, 10);
    await stop();
    const docs = await db
      .collection('updates')
      .find({}, { projection: { _id: 0, createdAt: 1, eventCreatedAt: 1, eventId: 1 } })
      .toArray();
    const latency = docs.map((d) => (d.createdAt as number) - (d.eventCreatedAt as number));
    const fromPublish = docs
      .map((d) => {
        const at = times.of(d.eventId as string);
        return at === undefined ? Number.NaN : (d.createdAt as number) - at;
      })
      .filter(Number.isFinite);
    return {
      system,
      offeredRate: (played.events / played.elapsedMs) * 1000,
      sent: played.events,
      processed: w.count,
      keptUp: w.reached,
      tailMs: w.at - trafficEnd,
      updates: docs.length,
      latency: summarize(latency),
      fromPublish: summarize(fromPublish),
      ...(batches ? { batches: batches.length, batchMsMedian: median(batches) * 1000 } : {}),
    } satisfies LatencyRun;
  } finally {
    await stop();
    await dropDb(n.db);
    await cleanupBroker();
  }
}

// ---------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  if (!MONGODB_URI) throw new Error('MONGODB_URI is required (run through `pnpm bench:builder`, which starts the services)');
  const wallStart = performance.now();
  const command = commandLine('scripts/bench-builder.ts');

  mongo = newClient('chat3-builder-bench setup');
  await mongo.connect();
  created.dbs.add(PROBE_DB);
  await mongo
    .db(PROBE_DB)
    .collection('probe')
    .insertOne({ _id: 'probe' as never });
  probeReady = true;
  admin = await connectBroker(RABBITMQ_URL, `bench-builder admin ${RUN_ID}`);
  const publisherConn = await connectBroker(RABBITMQ_URL, `bench-builder publisher ${RUN_ID}`);
  const workerConn = await connectBroker(RABBITMQ_URL, `bench-builder baseline ${RUN_ID}`);
  const ch = await publisherConn.createConfirmChannel();
  ch.on('error', (err: Error) => fatal.set(err));
  try {
    const env = await describeEnvironment(mongo, publisherConn);
    const probe = loadBuilderConfig({ ...builderEnv, MONGODB_URI });
    log(`${env.mongo}; ${env.rabbitmq}; ${params.events} events, ${params.repeat}× repeat`);

    // Workload: one sequence of steps, the same for every throughput run of both systems.
    let t = performance.now();
    const sim = simulation();
    const seedWrites = sim.seedWrites();
    const steps = sim.take(params.events);
    const population = sim.population;
    const sizes = new Map<string, number>();
    for (const m of population.memberships) sizes.set(m.dialogId, (sizes.get(m.dialogId) ?? 0) + 1);
    const workload = {
      users: population.users.length,
      userTypes: countBy(population.users, (u) => u.type ?? 'user'),
      dialogs: population.dialogs.length,
      membersMedian: median([...sizes.values()]),
      membersMax: Math.max(0, ...sizes.values()),
      eventsByType: countBy(steps, (s) => s.event.eventType),
      stepWrites: steps.reduce((s, x) => s + x.writes.length, 0),
    };
    const templateName = names('template').db;
    const template = mongo.db(templateName);
    await ensureReadModelIndexes(template);
    await writeReadModel(template, seedWrites);
    await writeReadModel(
      template,
      steps.flatMap((s) => s.writes),
    );
    const templateMs = performance.now() - t;
    log(`read model: population + ${workload.stepWrites} step writes applied in ${fmt(templateMs)} ms`);

    // 1 + 2. Throughput, alternating so that drift hits both alike.
    const builderRuns: ThroughputRun[] = [];
    const baselineRuns: ThroughputRun[] = [];
    for (let i = 0; i < params.repeat; i++) {
      const b = await builderThroughput(i, template, steps, ch);
      log(
        `builder ${i + 1}/${params.repeat}: ${fmt(b.eventsPerSecond)} events/s, ${fmt(b.updatesPerSecond)} Updates/s` +
          `${b.reached ? '' : ` (ONLY ${b.processed}/${b.events})`}`,
      );
      builderRuns.push(b);
      const o = await baselineThroughput(i, template, steps, ch, workerConn);
      log(
        `baseline ${i + 1}/${params.repeat}: ${fmt(o.eventsPerSecond, 1)} events/s, ${fmt(o.updatesPerSecond, 1)} Updates/s ` +
          `(${o.processed}/${o.events} events in ${fmt(o.ms / 1000, 1)} s)`,
      );
      baselineRuns.push(o);
    }
    await dropDb(templateName);
    const builderRate = median(builderRuns.map((r) => r.eventsPerSecond));
    const baselineRate = median(baselineRuns.map((r) => r.eventsPerSecond));
    const ratio = builderRate / baselineRate;

    // 3. Latency at one offered rate, below the baseline's capacity.
    const rate = params.rate ?? Math.max(1, round(baselineRate / 2, 1));
    const latencyRuns: LatencyRun[] = [];
    for (let i = 0; i < params.repeat; i++) {
      for (const system of ['builder', 'baseline'] as const) {
        const r = await measureLatency(system, i, rate, ch, workerConn);
        log(
          `latency ${system} ${i + 1}/${params.repeat} at ${fmt(r.offeredRate, 1)} events/s: p50 ${fmt(r.latency.p50)} ms, ` +
            `p99 ${fmt(r.latency.p99)} ms${r.keptUp ? '' : ` (DID NOT KEEP UP: ${r.processed}/${r.sent})`}`,
        );
        latencyRuns.push(r);
      }
    }
    const lat = (system: 'builder' | 'baseline') => {
      const runs = latencyRuns.filter((r) => r.system === system);
      return {
        runs,
        offered: median(runs.map((r) => r.offeredRate)),
        p50: median(runs.map((r) => r.latency.p50)),
        p99: median(runs.map((r) => r.latency.p99)),
        max: median(runs.map((r) => r.latency.max)),
        pubP50: median(runs.map((r) => r.fromPublish.p50)),
        pubP99: median(runs.map((r) => r.fromPublish.p99)),
        keptUp: runs.every((r) => r.keptUp),
      };
    };
    const bLat = lat('builder');
    const oLat = lat('baseline');

    // -------------------------------------------------------------------------------------------------
    // Report
    const allSizes = builderRuns.flatMap((r) => r.batchSizes ?? []);
    const allSeconds = builderRuns.flatMap((r) => r.batchSeconds ?? []);
    const batchSizeMedian = median(allSizes);
    const batchMsMedian = median(allSeconds) * 1000;
    const mid = (runs: ThroughputRun[]) => [...runs].sort((a, b) => a.eventsPerSecond - b.eventsPerSecond)[Math.floor(runs.length / 2)]!;
    const bMid = mid(builderRuns);
    const oMid = mid(baselineRuns);
    const out = reportHeader('Builder benchmark', command, env);
    out.push(
      `builder   batch ${probe.BUILDER_BATCH_SIZE}, wait ${probe.BUILDER_BATCH_WAIT_MS} ms, ${probe.BUILDER_PARTITIONS} partitions, ` +
        `prefetch ${probe.BUILDER_PREFETCH}${Object.keys(builderEnv).length ? `; env ${JSON.stringify(builderEnv)}` : ''}`,
    );
    out.push(
      `workload  seed ${params.seed}: ${workload.users} users ${JSON.stringify(workload.userTypes)}, ${workload.dialogs} dialogs ` +
        `(members median ${workload.membersMedian}, max ${workload.membersMax}); ${params.events} events, ${workload.stepWrites} ` +
        `read-model writes (applied before timing, ${fmt(templateMs / 1000, 1)} s)`,
    );
    out.push(`events    ${JSON.stringify(workload.eventsByType)}`);
    out.push('');
    out.push(`## Throughput (medians of ${params.repeat}; events published as fast as confirms allow, timed until all processed)`);
    out.push('');
    out.push(
      table(
        ['system', 'events/s', 'Updates/s', 'runs (events/s)', 'detail (median run)'],
        [
          [
            'builder',
            fmt(builderRate),
            fmt(median(builderRuns.map((r) => r.updatesPerSecond))),
            builderRuns.map((r) => fmt(r.eventsPerSecond)).join(', '),
            `${bMid.processed}/${bMid.events} events in ${fmt(bMid.ms)} ms (publishing took ${fmt(bMid.publishMs)} ms); ` +
              `built ${bMid.detail.built}, ignored ${bMid.detail.ignored}, dead-lettered ${bMid.detail.deadLettered}; ` +
              `${bMid.updates} Updates (${bMid.updatesInDb} in DB); ${bMid.detail.batches} batches; retries ${bMid.detail.retries}`,
          ],
          [
            'baseline',
            fmt(baselineRate, 1),
            fmt(median(baselineRuns.map((r) => r.updatesPerSecond)), 1),
            baselineRuns.map((r) => fmt(r.eventsPerSecond, 1)).join(', '),
            `${oMid.processed}/${oMid.events} events in ${fmt(oMid.ms / 1000, 1)} s` +
              `${oMid.reached ? '' : ` (bounded at ${params.baselineSeconds} s)`}; built ${oMid.detail.built}, ignored ` +
              `${oMid.detail.ignored}, unbuildable ${oMid.detail.unbuildable}; ${oMid.updates} Updates (${oMid.updatesInDb} in DB, ` +
              `stats ${oMid.detail.statsUpdates}); ${fmt((oMid.detail.queries ?? 0) / Math.max(1, oMid.processed), 1)} queries/event; ` +
              `errors ${oMid.detail.errors}`,
          ],
        ],
      ),
    );
    out.push('');
    out.push(
      `builder batches: size median ${fmt(batchSizeMedian)} (max ${fmt(Math.max(0, ...allSizes))}), duration median ` +
        `${fmt(batchMsMedian)} ms (max ${fmt(Math.max(0, ...allSeconds) * 1000)} ms), over ${allSizes.length} batches`,
    );
    out.push('');
    out.push(`### Where the builder's time goes (median run; database commands timed by the driver, concurrent ones overlap)`);
    out.push('');
    out.push(
      table(
        ['command', 'calls', 'total ms', 'mean ms', 'max ms', 'total / wall'],
        (bMid.db ?? []).map((c) => [
          c.key,
          String(c.calls),
          fmt(c.totalMs),
          fmt(c.meanMs, 1),
          fmt(c.maxMs),
          `${fmt((c.totalMs / bMid.ms) * 100, 1)} %`,
        ]),
      ),
    );
    out.push('');
    out.push(
      `## Latency event → Update (Update.createdAt − eventCreatedAt, ms; live traffic at ${fmt(rate, 1)} events/s offered ` +
        `${params.rate === null ? '= 50 % of the baseline median' : '(--rate)'}, ${params.latencySeconds} s per run, medians of ${params.repeat})`,
    );
    out.push('');
    out.push(
      table(
        ['system', 'offered ev/s', 'p50', 'p99', 'max', 'from publish p50 / p99', 'events', 'Updates', 'kept up'],
        [bLat, oLat].map((l, i) => [
          i === 0 ? 'builder' : 'baseline',
          fmt(l.offered, 1),
          fmt(l.p50),
          fmt(l.p99),
          fmt(l.max),
          `${fmt(l.pubP50)} / ${fmt(l.pubP99)}`,
          l.runs.map((r) => `${r.processed}/${r.sent}`).join(', '),
          l.runs.map((r) => String(r.updates)).join(', '),
          l.keptUp ? 'yes' : `NO (tail ${l.runs.map((r) => fmt(r.tailMs / 1000, 1)).join('/')} s)`,
        ]),
      ),
    );
    out.push(
      'eventCreatedAt is stamped when the simulator generates the step, before its read-model writes are applied; ' +
        '"from publish" starts when the event is handed to the broker.',
    );
    out.push(
      `builder at this rate: ${bLat.runs.map((r) => `${r.batches ?? 0} batches`).join(', ')}, batch duration median ` +
        `${bLat.runs.map((r) => `${fmt(r.batchMsMedian ?? Number.NaN)} ms`).join(', ')}`,
    );
    out.push('');
    out.push('## Goals');
    out.push('');
    const goals = [{ goal: 'builder ≥ 10× the baseline (events/s)', value: `${fmt(ratio, 1)}×`, met: ratio >= 10 }];
    out.push(
      table(
        ['goal', 'measured', 'status'],
        goals.map((g) => [g.goal, g.value, status(g.met)]),
      ),
    );
    out.push('');
    const totalSeconds = (performance.now() - wallStart) / 1000;
    out.push(`total run time ${fmt(totalSeconds, 1)} s`);
    process.stdout.write(`${out.join('\n')}\n`);

    const stripThroughput = (r: ThroughputRun) => ({
      ...roundAll({ ...r, batchSizes: undefined, batchSeconds: undefined, detail: undefined, db: undefined }),
      detail: roundAll(r.detail),
      db: (r.db ?? []).map((c) => roundAll(c, 1)),
    });
    const json = {
      bench: 'builder',
      command,
      params,
      env: { ...env, mongoUri: redactUrl(MONGODB_URI), builderEnv },
      builderConfig: {
        batchSize: probe.BUILDER_BATCH_SIZE,
        batchWaitMs: probe.BUILDER_BATCH_WAIT_MS,
        partitions: probe.BUILDER_PARTITIONS,
        prefetch: probe.BUILDER_PREFETCH,
      },
      workload: { ...workload, readModelApplyMs: round(templateMs) },
      throughput: {
        builder: {
          eventsPerSecond: round(builderRate),
          updatesPerSecond: round(median(builderRuns.map((r) => r.updatesPerSecond))),
          batchSizeMedian: round(batchSizeMedian),
          batchDurationMsMedian: round(batchMsMedian),
          runs: builderRuns.map(stripThroughput),
        },
        baseline: {
          eventsPerSecond: round(baselineRate, 2),
          updatesPerSecond: round(median(baselineRuns.map((r) => r.updatesPerSecond)), 2),
          stats: params.baselineStats,
          runs: baselineRuns.map(stripThroughput),
        },
        ratio: round(ratio, 2),
      },
      latency: {
        offeredRate: round(rate, 2),
        builder: {
          p50: round(bLat.p50),
          p99: round(bLat.p99),
          fromPublishP50: round(bLat.pubP50),
          fromPublishP99: round(bLat.pubP99),
          keptUp: bLat.keptUp,
        },
        baseline: {
          p50: round(oLat.p50),
          p99: round(oLat.p99),
          fromPublishP50: round(oLat.pubP50),
          fromPublishP99: round(oLat.pubP99),
          keptUp: oLat.keptUp,
        },
        runs: latencyRuns.map((r) => ({ ...roundAll(r), latency: roundAll(r.latency), fromPublish: roundAll(r.fromPublish) })),
      },
      goals: goals.map((g) => ({ goal: g.goal, value: g.value, status: status(g.met) })),
      totalSeconds: round(totalSeconds),
    };
    process.stdout.write(`${JSON.stringify(json)}\n`);
  } finally {
    probeReady = false;
    await created.cleanupAll(dropDb, admin, log);
    for (const c of [publisherConn, workerConn, admin]) await c.close().catch(() => undefined);
    await mongo.close().catch(() => undefined);
  }
}

/** Ends a run that cannot go on: broker objects are removed, databases (the server is not answering) named. */
let aborting = false;
async function abortRun(reason: string): Promise<void> {
  if (aborting) return;
  aborting = true;
  log(`${reason}; cleaning up the broker and exiting`);
  setTimeout(() => process.exit(1), 30_000).unref();
  if (admin) await created.deleteAllBroker(admin, () => undefined);
  if (created.dbs.size > 0) log(`left behind (drop them once the server answers): ${[...created.dbs].join(', ')}`);
  process.exit(1);
}
setInterval(() => void probeDatabase(), 5_000).unref();

// A wedged server (FerretDB has been seen to stop answering) must not hang the run forever.
const watchdogMs = Math.max(
  10 * 60_000,
  3 * params.repeat * (params.baselineSeconds * 1000 + 2 * params.latencySeconds * 1000 + 120_000) + params.events * 100,
);
setTimeout(() => {
  void abortRun(`watchdog: no result after ${Math.round(watchdogMs / 60_000)} min`);
}, watchdogMs).unref();

exitWhenDone(main(), fatal, log);
