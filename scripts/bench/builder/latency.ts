/**
 * Latency event → Update (Update.createdAt − eventCreatedAt) of the builder or the baseline at one
 * offered rate: live simulated traffic (read-model writes, then events) on a fresh database seeded with
 * the population, for a few seconds; then every Update written is read back. The builder declares its
 * queues as the type it is given (the run's primary queue type).
 */
import type { QueueType } from '@chat3/builder';
import { createSimulation, ensureReadModelIndexes } from '@chat3/simulator';
import { median, summarize } from '../report';
import { writeReadModel } from '../read-model-writes';
import { playTraffic, publishTimes } from '../traffic-player';
import { dropDb, measurementNames, type BuilderBenchContext } from './context';
import type { BuilderSystem, LatencyRun } from './results';
import { processedBy, startBaseline, startBuilder } from './systems';
import { waitCount } from './throughput';

export interface SimulationOptions {
  seed: number;
  users: number;
  dialogs: number;
}

export function simulation(o: SimulationOptions) {
  return createSimulation({ seed: o.seed, users: o.users, dialogs: o.dialogs, now: Date.now });
}

export async function measureLatency(
  ctx: BuilderBenchContext,
  system: BuilderSystem,
  rep: number,
  options: SimulationOptions & { rate: number; seconds: number; baselineStats: boolean; queueType: QueueType },
): Promise<LatencyRun> {
  const n = measurementNames(ctx, `${system === 'builder' ? 'b' : 'o'}_lat${rep}`);
  const db = ctx.mongo.db(n.db);
  const sim = simulation(options);
  await ensureReadModelIndexes(db);
  await writeReadModel(db, sim.seedWrites());
  let processed: () => Promise<number> | number;
  let stop: () => Promise<void>;
  let cleanupBroker: () => Promise<void>;
  let batches: number[] | undefined;
  if (system === 'builder') {
    const b = await startBuilder(ctx, n, `lat${rep}`, options.queueType);
    batches = b.batchSeconds;
    processed = () => processedBy(b.metrics);
    stop = b.stop;
    cleanupBroker = b.dropTopology;
  } else {
    const w = await startBaseline(ctx, n, db, options.baselineStats);
    processed = () => w.counts.processed;
    stop = w.stop;
    cleanupBroker = w.dropTopology;
  }
  try {
    const times = publishTimes();
    const played = await playTraffic({
      db,
      channel: ctx.publisher,
      exchange: n.exchange,
      steps: sim,
      rate: options.rate,
      durationMs: options.seconds * 1000,
      onPublish: times.record,
    });
    const trafficEnd = performance.now();
    const tailBudget = system === 'builder' ? 60_000 : Math.max(20_000, options.seconds * 1000);
    const w = await waitCount(ctx, processed, played.events, tailBudget, 10);
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
    };
  } finally {
    await stop();
    await dropDb(ctx, n.db);
    await cleanupBroker();
  }
}
