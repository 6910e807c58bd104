/**
 * The builder's RabbitMQ topology:
 *
 *   chat3_events (topic) ──#──▶ <queue>            intake, single active consumer: the router
 *   <queue>.partitions (direct) ──"<p>"──▶ <queue>.p<p>   one per partition, single active consumer
 *   <queue>.dlx (fanout) ──▶ <queue>.dlq            dead letters, reason in headers
 *
 * The intake queue has one active consumer cluster-wide, so events leave it in publish order; the router
 * sends all events of one dialog to one partition queue; each partition queue is consumed by the one
 * builder holding its lease. Hence per-dialog order survives any number of builders.
 *
 * All three kinds of queue are classic or quorum (BUILDER_QUEUE_TYPE). Quorum queues are replicated on a
 * RabbitMQ cluster, so a node loss loses no events; single active consumer works on them, and messages a
 * closed channel leaves unacknowledged go back ahead of the rest, in order, as on classic queues
 * (checked against the broker by the builder tests, which run on both types).
 */
import type { AmqpChannel } from '@chat3/runtime';

export const QUEUE_TYPES = ['classic', 'quorum'] as const;
export type QueueType = (typeof QUEUE_TYPES)[number];

export interface BuilderTopology {
  queueType: QueueType;
  eventsExchange: string;
  intakeQueue: string;
  partitionExchange: string;
  partitionQueues: string[];
  deadLetterExchange: string;
  deadLetterQueue: string;
}

export function builderTopology(
  eventsExchange: string,
  queue: string,
  partitions: number,
  queueType: QueueType = 'classic',
): BuilderTopology {
  return {
    queueType,
    eventsExchange,
    intakeQueue: queue,
    partitionExchange: `${queue}.partitions`,
    partitionQueues: Array.from({ length: partitions }, (_, p) => `${queue}.p${p}`),
    deadLetterExchange: `${queue}.dlx`,
    deadLetterQueue: `${queue}.dlq`,
  };
}

export async function assertBuilderTopology(ch: AmqpChannel, t: BuilderTopology): Promise<void> {
  // Classic queues are declared as before this option existed (no x-queue-type), so a deployment's
  // existing queues still match their declaration.
  const typed: Record<string, unknown> = t.queueType === 'quorum' ? { 'x-queue-type': 'quorum' } : {};
  const singleActive = { ...typed, 'x-single-active-consumer': true };
  await ch.assertExchange(t.eventsExchange, 'topic', { durable: true });
  await ch.assertQueue(t.intakeQueue, { durable: true, arguments: singleActive });
  await ch.bindQueue(t.intakeQueue, t.eventsExchange, '#');
  await ch.assertExchange(t.partitionExchange, 'direct', { durable: true });
  for (const [p, queue] of t.partitionQueues.entries()) {
    await ch.assertQueue(queue, { durable: true, arguments: singleActive });
    await ch.bindQueue(queue, t.partitionExchange, String(p));
  }
  await ch.assertExchange(t.deadLetterExchange, 'fanout', { durable: true });
  await ch.assertQueue(t.deadLetterQueue, { durable: true, arguments: typed });
  await ch.bindQueue(t.deadLetterQueue, t.deadLetterExchange, '');
}
