/**
 * Consumes the partition queues this instance holds leases for, one channel per partition, so that a
 * partition can be given back on its own.
 *
 * Giving a partition back closes its channel. RabbitMQ then returns the channel's unacknowledged
 * deliveries to the queue, at their original position, in the same step that removes the consumer, so
 * the next single active consumer (the new lease holder) starts with them, in order. Cancelling the
 * consumer first would not do: the standby becomes active at once and receives the messages behind the
 * unacknowledged ones, which come back later, behind newer ones (shared/reference/semantics.md §4.4).
 *
 * Deliveries go to the batcher; `settle` acknowledges a flushed batch (one `ack(…, allUpTo)` per
 * channel: deliveries reach the batcher in tag order and batches flush in order, so everything up to
 * the last tag is done). A delivery whose channel has closed is no longer `live`: its message is back in
 * the queue (or with the next holder), so nothing more may be written for it.
 */
import {
  createManagedChannel,
  type AmqpChannel,
  type AmqpModel,
  type ConsumeMessage,
  type Logger,
  type ManagedChannel,
} from '@chat3/runtime';
import type { BuilderTopology } from './topology';

export interface Delivery {
  msg: ConsumeMessage;
  channel: AmqpChannel;
  partition: number;
  /** False once the delivery's channel has closed: the broker has taken the message back. */
  live(): boolean;
}

export interface PartitionConsumerOptions {
  topology: BuilderTopology;
  prefetch: number;
  logger: Logger;
  onDelivery: (delivery: Delivery) => void;
}

interface PartitionChannel {
  channel: ManagedChannel<AmqpChannel>;
  consumerTag?: string;
}

export function createPartitionConsumer(options: PartitionConsumerOptions) {
  const { topology, logger } = options;
  const partitions = new Map<number, PartitionChannel>();
  let model: AmqpModel | undefined;

  function open(p: number): PartitionChannel {
    const queue = topology.partitionQueues[p] as string;
    const entry: PartitionChannel = {
      channel: createManagedChannel<AmqpChannel>({
        name: `partition ${p}`,
        logger,
        open: (m) => m.createChannel(),
        async setup(ch) {
          await ch.prefetch(options.prefetch);
          const reply = await ch.consume(queue, (msg) => {
            if (!msg) return logger.warn({ queue }, 'partition consumer cancelled by the broker');
            options.onDelivery({ msg, channel: ch, partition: p, live: () => entry.channel.current === ch });
          });
          entry.consumerTag = reply.consumerTag;
        },
      }),
    };
    return entry;
  }

  return {
    async attach(next: AmqpModel): Promise<void> {
      model = next;
      await Promise.all([...partitions.values()].map((e) => e.channel.attach(next)));
    },

    /** Starts consuming the partition's queue on a channel of its own. */
    async hold(p: number): Promise<void> {
      if (partitions.has(p)) return;
      const entry = open(p);
      partitions.set(p, entry);
      // On a connection that is down this fails; the next connect attaches every held partition.
      if (model)
        await entry.channel.attach(model).catch((err: Error) => logger.warn({ err, partition: p }, 'could not consume the partition yet'));
    },

    /** Stops new deliveries of a partition; what arrived can still be written and acknowledged. */
    async stopDeliveries(p: number): Promise<void> {
      const entry = partitions.get(p);
      const ch = entry?.channel.current;
      if (!entry || !ch || !entry.consumerTag) return;
      await ch.cancel(entry.consumerTag).catch((err: Error) => logger.warn({ err, partition: p }, 'cancel failed'));
    },

    /** Closes the partition's channel: every unacknowledged delivery of it goes back to the queue. */
    async giveBack(p: number): Promise<void> {
      const entry = partitions.get(p);
      partitions.delete(p);
      await entry?.channel.stop();
    },

    /** Acknowledges every live delivery of a flushed batch. */
    settle(deliveries: readonly Delivery[]): void {
      const last = new Map<AmqpChannel, ConsumeMessage>();
      for (const d of deliveries) if (d.live()) last.set(d.channel, d.msg);
      for (const [ch, msg] of last) {
        try {
          ch.ack(msg, true);
        } catch {
          // Channel gone meanwhile: the broker redelivers, the idempotency key absorbs it.
        }
      }
    },

    /** Returns a batch that could not be settled to its queue, so no later `allUpTo` ack covers it. */
    requeue(deliveries: readonly Delivery[]): void {
      for (const d of deliveries) {
        if (!d.live()) continue;
        try {
          d.channel.nack(d.msg, false, true);
        } catch {
          // channel gone: requeued anyway
        }
      }
    },

    held: () => [...partitions.keys()],

    /** Closes every channel: whatever is still unacknowledged goes back to the queues. */
    async stop(): Promise<void> {
      const all = [...partitions.values()];
      partitions.clear();
      await Promise.all(all.map((e) => e.channel.stop()));
    },
  };
}

export type PartitionConsumer = ReturnType<typeof createPartitionConsumer>;
