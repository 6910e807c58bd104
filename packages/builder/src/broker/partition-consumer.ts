/**
 * Consumes the partition queues this instance holds leases for, on one channel. Deliveries go to the
 * batcher; `settle` acknowledges a flushed batch (one `ack(…, allUpTo)` per channel: deliveries reach
 * the batcher in tag order and batches flush in order, so everything up to the last tag is done).
 *
 * After a reconnect the held partitions are consumed again on the new channel; deliveries of the dead
 * channel that were still being processed cannot be acked any more and come back redelivered, which
 * the idempotency key absorbs.
 */
import { createManagedChannel, type AmqpChannel, type AmqpModel, type ConsumeMessage, type Logger } from '@chat3/runtime';
import type { BuilderTopology } from './topology';

export interface Delivery {
  msg: ConsumeMessage;
  channel: AmqpChannel;
  partition: number;
}

export interface PartitionConsumerOptions {
  topology: BuilderTopology;
  prefetch: number;
  logger: Logger;
  onDelivery: (delivery: Delivery) => void;
}

export function createPartitionConsumer(options: PartitionConsumerOptions) {
  const { topology, logger } = options;
  const held = new Set<number>();
  const tags = new Map<number, string>();

  async function consume(ch: AmqpChannel, p: number): Promise<void> {
    const queue = topology.partitionQueues[p] as string;
    const { consumerTag } = await ch.consume(queue, (msg) => {
      if (msg) options.onDelivery({ msg, channel: ch, partition: p });
      else logger.warn({ queue }, 'partition consumer cancelled by the broker');
    });
    tags.set(p, consumerTag);
  }

  const channel = createManagedChannel<AmqpChannel>({
    name: 'partitions',
    logger,
    open: (model) => model.createChannel(),
    async setup(ch) {
      await ch.prefetch(options.prefetch);
      tags.clear();
      for (const p of held) await consume(ch, p);
    },
    onClose: () => tags.clear(),
  });

  return {
    attach: (model: AmqpModel) => channel.attach(model),

    async hold(p: number): Promise<void> {
      held.add(p);
      const ch = channel.current;
      if (ch && !tags.has(p)) await consume(ch, p);
    },

    /** Stops deliveries of a partition; the caller then drains the batcher to finish what arrived. */
    async release(p: number): Promise<void> {
      held.delete(p);
      const tag = tags.get(p);
      tags.delete(p);
      const ch = channel.current;
      if (ch && tag) await ch.cancel(tag).catch((err: Error) => logger.warn({ err, partition: p }, 'cancel failed'));
    },

    /** Acknowledges every delivery of a flushed batch. */
    settle(deliveries: readonly Delivery[]): void {
      const last = new Map<AmqpChannel, ConsumeMessage>();
      for (const d of deliveries) last.set(d.channel, d.msg);
      for (const [ch, msg] of last) {
        try {
          ch.ack(msg, true);
        } catch {
          // Channel gone: the broker redelivers, the idempotency key absorbs it.
        }
      }
    },

    held: () => [...held],

    /** Closes the channel: whatever is still unacknowledged goes back to the queues. */
    stop: () => channel.stop(),
  };
}

export type PartitionConsumer = ReturnType<typeof createPartitionConsumer>;
