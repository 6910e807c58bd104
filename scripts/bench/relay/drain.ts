/**
 * The real relay, in-process, draining a backlog it finds when it starts: once over MongoDB (or the
 * stand-in), wired by createMongoRelay exactly as main.ts wires it, and once over the in-memory stores
 * (createRelay with memory-stores.ts), where the database costs nothing. Both publish to the real
 * RabbitMQ through the relay's own publisher.
 */
import { createRelay, createMongoRelay, createRelayMetrics, type RelayMetrics, type StoredUpdate } from '@chat3/relay';
import { createSilentLogger } from '@chat3/runtime';
import { MongoClient } from 'mongodb';
import { queueDepth } from '../broker';
import { sleep, within } from '../common';
import { monitorCommands } from '../db-timing';
import { startInProcess } from '../lifecycle';
import { freshUpdates, relayConfig, withMeasurement, type RelayBenchContext } from './context';
import { createMemoryLeaseStores, createMemoryUpdateStore } from './memory-stores';
import type { MemoryDrainRun, MongoDrainRun } from './results';

type Counter = { get(): Promise<{ values: Array<{ value: number }> }> };

export async function counterTotal(c: Counter): Promise<number> {
  return (await c.get()).values.reduce((sum, v) => sum + v.value, 0);
}

async function histogramMean(h: RelayMetrics['confirmLatency']): Promise<number> {
  const values = (await h.get()).values;
  const sum = values.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0;
  const count = values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
  return count ? (sum / count) * 1000 : Number.NaN;
}

/** The relay on MongoDB, as main.ts starts it, with the driver's command monitoring on its client. */
export async function startMongoRelay(ctx: RelayBenchContext, db: string, exchange: string, label: string) {
  const config = relayConfig(ctx, db, exchange, label);
  const client = new MongoClient(ctx.mongoUri, {
    appName: 'chat3-relay-bench',
    serverSelectionTimeoutMS: 5_000,
    connectTimeoutMS: 5_000,
    maxPoolSize: 32,
    ignoreUndefined: true,
    monitorCommands: true,
  });
  await client.connect();
  const monitor = monitorCommands(client);
  const metrics = createRelayMetrics({ defaultMetrics: false });
  const { t0, startMs, stop } = await startInProcess(client, ctx.fatal, (deps) => createMongoRelay({ config, metrics, ...deps }));
  return { config, metrics, monitor, t0, startMs, stop };
}

export type MongoRelay = Awaited<ReturnType<typeof startMongoRelay>>;

/** Watches the `published` counter until it reaches `target`; never a count query (a full scan on FerretDB). */
export async function waitPublished(ctx: RelayBenchContext, metrics: RelayMetrics, target: number, timeoutMs: number) {
  const deadline = performance.now() + timeoutMs;
  let firstAt: number | undefined;
  for (;;) {
    ctx.fatal.check();
    const n = await counterTotal(metrics.published);
    const now = performance.now();
    if (n > 0 && firstAt === undefined) firstAt = now;
    if (n >= target || now > deadline) return { reached: n >= target, published: n, firstAt: firstAt ?? now, doneAt: now };
    await sleep(5);
  }
}

async function relayOutcome(metrics: RelayMetrics) {
  return {
    confirmMeanMs: await histogramMean(metrics.confirmLatency),
    failures: await counterTotal(metrics.publishFailures),
    unroutable: await counterTotal(metrics.unroutable),
  };
}

function rates(published: number, t0: number, startMs: number, doneAt: number) {
  return {
    rate: (published / (doneAt - t0)) * 1000,
    ms: doneAt - t0,
    startMs,
    rateAfterStart: (published / (doneAt - t0 - startMs)) * 1000,
  };
}

/** The relay on the configured server draining `docs`, timed from start() until all are published. */
export async function measureDrain(ctx: RelayBenchContext, docs: readonly StoredUpdate[], rep: number): Promise<MongoDrainRun> {
  return withMeasurement(ctx, `drain${rep}`, {}, async (n) => {
    const col = await freshUpdates(ctx, n.db, docs);
    const relay = await startMongoRelay(ctx, n.db, n.exchange, `drain${rep}`);
    try {
      const w = await waitPublished(ctx, relay.metrics, docs.length, 60_000 + docs.length * 20);
      const db = relay.monitor.snapshot();
      const updatesBusyMs = relay.monitor.updatesBusyMs();
      const outcome = await relayOutcome(relay.metrics);
      await relay.stop();
      return {
        ...rates(w.published, relay.t0, relay.startMs, w.doneAt),
        firstPublishMs: w.firstAt - relay.t0,
        reached: w.reached,
        published: w.published,
        queueDepth: await queueDepth(ctx.admin, n.queue),
        unpublishedLeft: await col.countDocuments({ published: false }),
        ...outcome,
        db,
        updatesBusyMs,
      } satisfies MongoDrainRun;
    } finally {
      await relay.stop();
    }
  });
}

/**
 * The relay over the in-memory stores draining `docs`: createRelay with the same configuration, the real
 * publisher and RabbitMQ. Timed from start() until the store saw the last Update marked.
 */
export async function measureMemoryDrain(ctx: RelayBenchContext, docs: readonly StoredUpdate[], rep: number): Promise<MemoryDrainRun> {
  return withMeasurement(ctx, `memory${rep}`, { database: false }, async (n) => {
    const store = createMemoryUpdateStore();
    store.insert(docs);
    const metrics = createRelayMetrics({ defaultMetrics: false });
    const relay = createRelay({
      config: relayConfig(ctx, n.db, n.exchange, `memory${rep}`),
      store,
      ...createMemoryLeaseStores(),
      metrics,
      logger: createSilentLogger(),
      onFatal: (err) => ctx.fatal.set(err),
    });
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    try {
      await relay.start();
      const startMs = performance.now() - t0;
      const doneAt = await within(store.drained(), 60_000 + docs.length * 5, 'in-memory drain').catch(() => performance.now());
      const used = process.cpuUsage(cpu);
      ctx.fatal.check();
      const published = await counterTotal(metrics.published);
      const stats = store.stats;
      const outcome = await relayOutcome(metrics);
      await relay.stop();
      return {
        ...rates(published, t0, startMs, doneAt),
        firstFetchMs: (stats.firstFetchAt ?? doneAt) - t0,
        reached: store.open === 0,
        published,
        queueDepth: await queueDepth(ctx.admin, n.queue),
        unpublishedLeft: store.open,
        ...outcome,
        fetches: stats.fetches,
        marks: stats.marks,
        storeBusyMs: stats.busyMs,
        cpuUsPerMsg: (used.user + used.system) / Math.max(1, published),
      } satisfies MemoryDrainRun;
    } finally {
      await relay.stop();
    }
  });
}
