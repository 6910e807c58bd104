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
 */
import type { AmqpChannel } from '@chat3/runtime';

export interface BuilderTopology {
  eventsExchange: string;
  intakeQueue: string;
  partitionExchange: string;
  partitionQueues: string[];
  deadLetterExchange: string;
  deadLetterQueue: string;
}

export function builderTopology(eventsExchange: string, queue: string, partitions: number): BuilderTopology {
  return {
    eventsExchange,
    intakeQueue: queue,
    partitionExchange: `${queue}.partitions`,
    partitionQueues: Array.from({ length: partitions }, (_, p) => `${queue}.p${p}`),
    deadLetterExchange: `${queue}.dlx`,
    deadLetterQueue: `${queue}.dlq`,
  };
}

const singleActive = { 'x-single-active-consumer': true };

export async function assertBuilderTopology(ch: AmqpChannel, t: BuilderTopology): Promise<void> {
  await ch.assertExchange(t.eventsExchange, 'topic', { durable: true });
  await ch.assertQueue(t.intakeQueue, { durable: true, arguments: singleActive });
  await ch.bindQueue(t.intakeQueue, t.eventsExchange, '#');
  await ch.assertExchange(t.partitionExchange, 'direct', { durable: true });
  for (const [p, queue] of t.partitionQueues.entries()) {
    await ch.assertQueue(queue, { durable: true, arguments: singleActive });
    await ch.bindQueue(queue, t.partitionExchange, String(p));
  }
  await ch.assertExchange(t.deadLetterExchange, 'fanout', { durable: true });
  await ch.assertQueue(t.deadLetterQueue, { durable: true });
  await ch.bindQueue(t.deadLetterQueue, t.deadLetterExchange, '');
}
