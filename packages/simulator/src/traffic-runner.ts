/**
 * Plays simulated traffic against MongoDB and RabbitMQ, the way Chat3 does it: the read-model writes
 * of a batch of steps are applied and acknowledged, then the batch's events are published in order on
 * one confirm channel. While a batch waits for its confirms the next one is already being written (at
 * most `maxUnconfirmedBatches` in flight), which never lets an event overtake its own writes.
 *
 * Ends when `count` steps are sent, `durationMs` has passed, the source runs dry or `signal` aborts;
 * then waits for every outstanding confirm. A failed write or a nack rejects the run: a step that was
 * written but not confirmed is not retried (the simulator is a load source, not a producer of record).
 */
import type { ConfirmChannel } from 'amqplib';
import type { Db } from 'mongodb';
import { applyWrites } from './apply-writes';
import { normalizeRate, planBatch } from './pacing';
import { sendEvents } from './publisher';
import type { CollectionNames } from './read-model-writes';
import type { TrafficStep } from './simulation';

export interface TrafficStats {
  events: number;
  /** By the event type as published (aliases such as `message.status.changed` counted as sent). */
  eventsByType: Record<string, number>;
  /** MongoDB operations (documents inserted, updated or deleted). */
  writes: number;
  writesByCollection: Record<string, number>;
  batches: number;
  elapsedMs: number;
  eventsPerSecond: number;
}

export interface RunTrafficOptions {
  db: Db;
  channel: ConfirmChannel;
  exchange: string;
  /** A simulation (never runs dry) or pre-generated steps. */
  simulation: Iterable<TrafficStep>;
  /** Events per second; 0 or 'max' (default) = as fast as the servers allow. */
  rate?: number | 'max';
  durationMs?: number;
  count?: number;
  collections?: Partial<CollectionNames>;
  /** Upper bound on steps per bulk write / publish batch. */
  maxBatch?: number;
  maxUnconfirmedBatches?: number;
  signal?: AbortSignal;
  onProgress?: (stats: TrafficStats) => void;
  progressIntervalMs?: number;
}

export async function runTraffic(options: RunTrafficOptions): Promise<TrafficStats> {
  const rate = normalizeRate(options.rate);
  const maxBatch = options.maxBatch ?? 500;
  const maxUnconfirmed = options.maxUnconfirmedBatches ?? 4;
  const count = options.count ?? Infinity;
  const durationMs = options.durationMs ?? Infinity;
  if (count === Infinity && durationMs === Infinity && !options.signal && !isBounded(options.simulation)) {
    throw new Error('runTraffic needs count, durationMs, a signal or a finite list of steps');
  }
  const pull = puller(options.simulation);
  const stats: TrafficStats = {
    events: 0,
    eventsByType: {},
    writes: 0,
    writesByCollection: {},
    batches: 0,
    elapsedMs: 0,
    eventsPerSecond: 0,
  };
  const inFlight: Array<Promise<void>> = [];
  const start = performance.now();
  const elapsed = () => performance.now() - start;
  let lastProgress = 0;
  let exhausted = false;

  while (!exhausted && !options.signal?.aborted && stats.events < count && elapsed() < durationMs) {
    const plan = planBatch(elapsed(), stats.events, rate, Math.min(maxBatch, count - stats.events));
    if (plan.take === 0) {
      await delay(Math.min(plan.waitMs, durationMs - elapsed()), options.signal);
      continue;
    }
    const batch = pull(plan.take);
    exhausted = batch.length < plan.take;
    if (batch.length === 0) break;

    const writes = batch.flatMap((s) => s.writes);
    if (writes.length > 0) {
      const counts = await applyWrites(options.db, writes, options.collections ? { collections: options.collections } : {});
      for (const [collection, n] of Object.entries(counts)) {
        add(stats.writesByCollection, collection, n);
        stats.writes += n;
      }
    }
    const { confirmed } = await sendEvents(options.channel, options.exchange, batch);
    inFlight.push(confirmed);
    if (inFlight.length > maxUnconfirmed) await inFlight.shift();

    stats.batches += 1;
    stats.events += batch.length;
    for (const step of batch) add(stats.eventsByType, step.event.eventType, 1);
    if (options.onProgress && elapsed() - lastProgress >= (options.progressIntervalMs ?? 1000)) {
      lastProgress = elapsed();
      options.onProgress(snapshot(stats, lastProgress));
    }
  }
  await Promise.all(inFlight);
  return snapshot(stats, elapsed());
}

function puller(source: Iterable<TrafficStep>): (n: number) => TrafficStep[] {
  const iterator = source[Symbol.iterator]();
  return (n) => {
    const out: TrafficStep[] = [];
    for (let i = 0; i < n; i++) {
      const r = iterator.next();
      if (r.done) break;
      out.push(r.value);
    }
    return out;
  };
}

const isBounded = (source: Iterable<TrafficStep>) => Array.isArray(source);

function add(counts: Record<string, number>, key: string, n: number): void {
  counts[key] = (counts[key] ?? 0) + n;
}

function snapshot(stats: TrafficStats, elapsedMs: number): TrafficStats {
  return {
    ...stats,
    eventsByType: { ...stats.eventsByType },
    writesByCollection: { ...stats.writesByCollection },
    elapsedMs: Math.round(elapsedMs),
    eventsPerSecond: elapsedMs > 0 ? Math.round((stats.events * 1000) / elapsedMs) : 0,
  };
}

function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || !(ms > 0)) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
