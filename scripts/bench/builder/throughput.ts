/**
 * Throughput of the builder and of the baseline on the same events, each on a fresh copy of the read
 * model: the events are published as fast as confirms allow, and the clock stops when the system has
 * processed them all (the baseline: or when its time is up). The builder's run also hands back the
 * Update documents it wrote, for the insert ceiling (insert-ceiling.ts). Each builder run declares its
 * queues as one type (classic or quorum) under names of its own, and deletes them when it ends: a
 * queue's type cannot be changed once declared.
 */
import type { QueueType } from '@chat3/builder';
import type { TrafficStep } from '@chat3/simulator';
import { sendEvents } from '@chat3/simulator';
import type { ConfirmChannel } from 'amqplib';
import type { Db, Document } from 'mongodb';
import { sleep } from '../common';
import { dropDb, freshReadModel, measurementNames, type BuilderBenchContext } from './context';
import type { ThroughputRun } from './results';
import { metricTotal, processedBy, startBaseline, startBuilder } from './systems';

/** Publishes all steps' events, as fast as confirms allow; resolves when the broker confirmed them. */
export async function publishAll(ch: ConfirmChannel, exchange: string, steps: readonly TrafficStep[]): Promise<number> {
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

/** Polls `count()` until it reaches `target` or `timeoutMs` passes. */
export async function waitCount(
  ctx: BuilderBenchContext,
  count: () => Promise<number> | number,
  target: number,
  timeoutMs: number,
  everyMs = 5,
) {
  const started = performance.now();
  for (;;) {
    ctx.fatal.check();
    const n = await count();
    const now = performance.now();
    if (n >= target) return { reached: true, count: n, at: now };
    if (now - started > timeoutMs) return { reached: false, count: n, at: now };
    await sleep(everyMs);
  }
}

/** The Update documents of `db`, without `_id`, as the builder handed them to insertMany. */
async function writtenUpdates(db: Db): Promise<Document[]> {
  return db
    .collection('updates')
    .find({}, { projection: { _id: 0 } })
    .toArray();
}

export async function builderThroughput(
  ctx: BuilderBenchContext,
  rep: number,
  template: Db,
  steps: readonly TrafficStep[],
  queueType: QueueType,
): Promise<{ run: ThroughputRun; written: Document[] }> {
  const n = measurementNames(ctx, `b_${queueType}_tp${rep}`);
  const db = await freshReadModel(ctx, n.db, template);
  const b = await startBuilder(ctx, n, `${queueType}-tp${rep}`, queueType);
  try {
    b.timing.reset();
    const t0 = performance.now();
    const publishMs = await publishAll(ctx.publisher, n.exchange, steps);
    const w = await waitCount(ctx, () => processedBy(b.metrics), steps.length, 120_000 + steps.length * 50);
    const dbTiming = b.timing.snapshot();
    const ms = w.at - t0;
    const m = b.metrics;
    const updates = await metricTotal(m.updatesWritten);
    const detail = {
      built: await metricTotal(m.eventsBuilt),
      ignored: await metricTotal(m.eventsIgnored),
      deadLettered: await metricTotal(m.eventsDeadLettered),
      duplicates: await metricTotal(m.updatesDuplicate),
      retries: await metricTotal(m.batchRetries),
      batches: b.batchSizes.length,
      readyMs: b.readyMs,
    };
    await b.stop();
    const written = await writtenUpdates(db);
    const run: ThroughputRun = {
      system: 'builder',
      queueType,
      events: steps.length,
      processed: w.count,
      reached: w.reached,
      ms,
      publishMs,
      eventsPerSecond: (w.count / ms) * 1000,
      updates,
      updatesPerSecond: (updates / ms) * 1000,
      updatesInDb: written.length,
      detail,
      batchSizes: b.batchSizes,
      batchSeconds: b.batchSeconds,
      db: dbTiming,
    };
    return { run, written };
  } finally {
    await b.stop();
    await dropDb(ctx, n.db);
    await b.dropTopology();
  }
}

export async function baselineThroughput(
  ctx: BuilderBenchContext,
  rep: number,
  template: Db,
  steps: readonly TrafficStep[],
  options: { seconds: number; stats: boolean },
): Promise<ThroughputRun> {
  const n = measurementNames(ctx, `o_tp${rep}`);
  const db = await freshReadModel(ctx, n.db, template);
  const baseline = await startBaseline(ctx, n, db, options.stats);
  try {
    const t0 = performance.now();
    const publishMs = await publishAll(ctx.publisher, n.exchange, steps);
    const budget = Math.max(0, options.seconds * 1000 - (performance.now() - t0));
    const w = await waitCount(ctx, () => baseline.counts.processed, steps.length, budget, 20);
    const ms = w.at - t0;
    await baseline.stop();
    const c = { ...baseline.counts };
    const updates = c.updates + c.statsUpdates;
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
      updatesInDb: await db.collection('updates').countDocuments({}),
      detail: { ...c },
    };
  } finally {
    await baseline.stop();
    await dropDb(ctx, n.db);
    await baseline.dropTopology();
  }
}
