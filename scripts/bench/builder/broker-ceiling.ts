/**
 * The broker alone on one queue type, no database: the run's events, published as in the builder's runs
 * (same publisher, as fast as confirms allow) through a topic exchange to one durable queue of that
 * type, consumed at the same time with the builder's prefetch and acked one by one. The clock stops at
 * the last ack. What separates the builder's throughput from this is the database and the builder's
 * own work, so the two types' ceilings show how much of a difference in the builder's figures the
 * queues themselves can explain. The queue and exchange are the measurement's own and are deleted after.
 */
import type { QueueType } from '@chat3/builder';
import type { TrafficStep } from '@chat3/simulator';
import { within } from '../common';
import type { BuilderBenchContext } from './context';
import type { BrokerCeilingRun } from './results';
import { publishAll } from './throughput';

export async function measureBrokerCeiling(
  ctx: BuilderBenchContext,
  steps: readonly TrafficStep[],
  queueType: QueueType,
  rep: number,
  prefetch: number,
): Promise<BrokerCeilingRun> {
  const base = `bench_builder_${ctx.runId}_q_${queueType}${rep}`;
  const exchange = `${base}.events`;
  const queue = `${base}.intake`;
  ctx.created.exchanges.add(exchange);
  ctx.created.queues.add(queue);
  const ch = await ctx.worker.createChannel();
  ch.on('error', (err: Error) => ctx.fatal.set(err));
  try {
    await ch.assertExchange(exchange, 'topic', { durable: true });
    await ch.assertQueue(queue, { durable: true, arguments: queueType === 'quorum' ? { 'x-queue-type': 'quorum' } : {} });
    await ch.bindQueue(queue, exchange, '#');
    await ch.prefetch(prefetch);
    let consumed = 0;
    let allConsumed!: () => void;
    const done = new Promise<void>((resolve) => (allConsumed = resolve));
    await ch.consume(queue, (m) => {
      if (!m) return;
      ch.ack(m);
      if (++consumed === steps.length) allConsumed();
    });
    const t0 = performance.now();
    const publishMs = await publishAll(ctx.publisher, exchange, steps);
    await within(done, 60_000 + steps.length * 10, `broker ceiling (${queueType}): consuming ${steps.length} events`);
    const ms = performance.now() - t0;
    return { queueType, events: steps.length, ms, publishMs, eventsPerSecond: (steps.length / ms) * 1000 };
  } finally {
    await ch.close().catch(() => undefined);
    await ctx.created.dropBroker(ctx.admin, [queue], [exchange]);
  }
}
