/**
 * Consumes the partition queues this instance holds leases for, on one channel. Deliveries go to the
 * batcher; `settle` acknowledges a flushed batch (one `ack(…, allUpTo)` per channel: deliveries reach
 * the batcher in tag order and batches flush in order, so everything up to the last tag is done).
 *
 * After a reconnect the held partitions are consumed again on the new channel; deliveries of the dead
 * channel that were still being processed cannot be acked any more and come back redelivered, which
 * the idempotency key absorbs.
 */
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { restartConnection, type Logger } from '@chat3/runtime';
import type { BuilderTopology } from './topology';

export interface Delivery {
  msg: ConsumeMessage;
  channel: Channel;
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
  let channel: Channel | undefined;
  let stopped = false;

  async function consume(ch: Channel, p: number): Promise<void> {
    const queue = topology.partitionQueues[p] as string;
    const { consumerTag } = await ch.consume(queue, (msg) => {
      if (msg) options.onDelivery({ msg, channel: ch, partition: p });
      else logger.warn({ queue }, 'partition consumer cancelled by the broker');
    });
    tags.set(p, consumerTag);
  }

  return {
    async attach(model: ChannelModel): Promise<void> {
      const ch = await model.createChannel();
      await ch.prefetch(options.prefetch);
      ch.on('error', (err: Error) => logger.warn({ err }, 'partition channel error'));
      ch.on('close', () => {
        if (channel !== ch) return;
        channel = undefined;
        tags.clear();
        if (!stopped) restartConnection(model, logger, 'partition channel closed');
      });
      channel = ch;
      tags.clear();
      for (const p of held) await consume(ch, p);
    },

    async hold(p: number): Promise<void> {
      held.add(p);
      if (channel && !tags.has(p)) await consume(channel, p);
    },

    /** Stops deliveries of a partition; the caller then drains the batcher to finish what arrived. */
    async release(p: number): Promise<void> {
      held.delete(p);
      const tag = tags.get(p);
      tags.delete(p);
      if (channel && tag) await channel.cancel(tag).catch((err: Error) => logger.warn({ err, partition: p }, 'cancel failed'));
    },

    /** Acknowledges every delivery of a flushed batch. */
    settle(deliveries: readonly Delivery[]): void {
      const last = new Map<Channel, ConsumeMessage>();
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

    /** Called before the connection closes on shutdown, so closing channels are not "failures". */
    stop(): void {
      stopped = true;
    },
  };
}

export type PartitionConsumer = ReturnType<typeof createPartitionConsumer>;
