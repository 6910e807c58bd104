/**
 * Plays simulated Chat3 traffic at a fixed rate, as the simulator's `runTraffic` does (read-model
 * writes of a batch acknowledged, then its events published on a confirm channel, at most a few
 * batches unconfirmed), but writes the read model with `writeReadModel` (no multi-statement update
 * commands, see read-model-writes.ts) and reports when each event was handed to the broker, so
 * latency can be measured from the publish as well as from the event's `createdAt`.
 */
import type { ConfirmChannel } from 'amqplib';
import type { Db } from 'mongodb';
import { eventIdOf, planBatch, sendEvents, type TrafficStep } from '@chat3/simulator';
import { writeReadModel } from './read-model-writes';

export interface PlayOptions {
  db: Db;
  channel: ConfirmChannel;
  exchange: string;
  steps: Iterable<TrafficStep>;
  /** Events per second; 0 = as fast as possible. */
  rate: number;
  durationMs?: number;
  count?: number;
  signal?: AbortSignal;
  maxBatch?: number;
  /** Called with each batch right before it is published (wall clock, epoch ms). */
  onPublish?: (steps: readonly TrafficStep[], at: number) => void;
}

export interface PlayStats {
  events: number;
  eventsByType: Record<string, number>;
  writes: number;
  elapsedMs: number;
}

export async function playTraffic(options: PlayOptions): Promise<PlayStats> {
  const count = options.count ?? Infinity;
  const durationMs = options.durationMs ?? Infinity;
  const maxBatch = options.maxBatch ?? 500;
  const iterator = options.steps[Symbol.iterator]();
  const stats: PlayStats = { events: 0, eventsByType: {}, writes: 0, elapsedMs: 0 };
  const inFlight: Array<Promise<void>> = [];
  const start = performance.now();
  const elapsed = () => performance.now() - start;
  let exhausted = false;
  while (!exhausted && !options.signal?.aborted && stats.events < count && elapsed() < durationMs) {
    const plan = planBatch(elapsed(), stats.events, options.rate, Math.min(maxBatch, count - stats.events));
    if (plan.take === 0) {
      await sleep(Math.min(plan.waitMs, durationMs - elapsed()));
      continue;
    }
    const batch: TrafficStep[] = [];
    for (let i = 0; i < plan.take; i++) {
      const r = iterator.next();
      if (r.done) {
        exhausted = true;
        break;
      }
      batch.push(r.value);
    }
    if (batch.length === 0) break;
    stats.writes += await writeReadModel(
      options.db,
      batch.flatMap((s) => s.writes),
    );
    options.onPublish?.(batch, Date.now());
    const { confirmed } = await sendEvents(options.channel, options.exchange, batch);
    inFlight.push(confirmed);
    if (inFlight.length > 4) await inFlight.shift();
    stats.events += batch.length;
    for (const s of batch) stats.eventsByType[s.event.eventType] = (stats.eventsByType[s.event.eventType] ?? 0) + 1;
  }
  await Promise.all(inFlight);
  stats.elapsedMs = elapsed();
  return stats;
}

/** eventId → wall-clock publish time, filled through `onPublish`. */
export function publishTimes(): {
  record: (steps: readonly TrafficStep[], at: number) => void;
  of: (eventId: string) => number | undefined;
} {
  const times = new Map<string, number>();
  return {
    record: (steps, at) => {
      for (const s of steps) times.set(eventIdOf(s.event), at);
    },
    of: (eventId) => times.get(eventId),
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));
