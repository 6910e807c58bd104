/**
 * The DLQ tool's amqplib edge: one plain connection (no automatic recovery: a command that loses the
 * broker stops with a message, it does not retry for ever), a browse session over the dead-letter
 * queue, and a requeue publisher built on the runtime's confirm publisher.
 *
 * Browsing without losing or reordering anything: messages are taken one at a time with `basic.get`
 * and no ack, and nothing is acked or nacked while browsing. An unacked message is never delivered
 * twice on its channel, so each letter is seen once; closing the channel hands every unacked message
 * back, and RabbitMQ puts a requeued message of a classic queue (the builder declares the DLQ classic)
 * back at its original position, so the queue is exactly as before. If the tool dies half-way, the
 * broker does the same when the connection drops. A consumer is not used: with a prefetch limit it
 * stalls on the letters a filtered requeue keeps back, and without one the broker pushes the whole
 * queue to the client even for `--limit 1`. A `nack` with requeue while browsing is not used either: the
 * requeued message is ready again at once and would be fetched a second time. The browse stops after
 * the number of messages the queue held when it started, so letters arriving meanwhile are left alone.
 *
 * Caveats: a browsed message comes back with the `redelivered` flag set; letters held unacked by
 * another consumer at the same time are invisible to a browse; RabbitMQ's `consumer_timeout` (30 min by
 * default) closes a channel that keeps messages unacked longer, which hands them back (nothing lost).
 */
import amqplib, { type Channel, type ChannelModel, type GetMessage } from 'amqplib';
import { createConfirmPublisher, createSilentLogger, type ConfirmPublisher } from '@chat3/runtime';
import { UsageError } from '../cli/errors';
import { createReturnTracker, type RequeuePublisher } from './requeue';

export async function connectBroker(url: string): Promise<ChannelModel> {
  // noDelay: each letter is a small ack followed by a `basic.get`; with Nagle on, the get waits for the
  // server's delayed TCP ack of the ack (~40 ms a letter). Off, a requeue runs several times faster.
  const model = await amqplib.connect(url, { clientProperties: { connection_name: 'chat3-dlq' }, noDelay: true });
  // Errors surface through the operations that fail; an 'error' without a listener would crash.
  model.on('error', () => undefined);
  return model;
}

async function openChannel(model: ChannelModel): Promise<Channel> {
  const ch = await model.createChannel();
  ch.on('error', () => undefined);
  return ch;
}

function isNotFound(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 404;
}

/** Depth and consumers of a queue; a queue that does not exist is a usage error. */
export async function inspectQueue(model: ChannelModel, queue: string): Promise<{ messageCount: number; consumerCount: number }> {
  const ch = await openChannel(model);
  try {
    const { messageCount, consumerCount } = await ch.checkQueue(queue);
    return { messageCount, consumerCount };
  } catch (err) {
    if (isNotFound(err)) throw new UsageError(`queue ${queue} does not exist (check BUILDER_QUEUE; the builder declares it on start)`);
    throw err;
  } finally {
    await ch.close().catch(() => undefined);
  }
}

export async function assertExchangeExists(model: ChannelModel, exchange: string): Promise<void> {
  const ch = await openChannel(model);
  try {
    await ch.checkExchange(exchange);
  } catch (err) {
    if (isNotFound(err)) throw new UsageError(`exchange ${exchange} does not exist (check RABBITMQ_EVENTS_EXCHANGE)`);
    throw err;
  } finally {
    await ch.close().catch(() => undefined);
  }
}

export interface BrowseSession {
  /** Messages in the queue when the browse started: the most it will return. */
  readonly depth: number;
  readonly consumers: number;
  /** The next letter, oldest first; undefined when `depth` letters were returned or the queue is empty. */
  next(): Promise<GetMessage | undefined>;
  /** Removes a letter from the queue; false when its channel is gone (the broker kept the letter). */
  ack(msg: GetMessage): boolean;
  /** Hands every letter not acked back to the queue, in its original place. Safe to call twice. */
  close(): Promise<void>;
}

export async function openBrowse(model: ChannelModel, queue: string): Promise<BrowseSession> {
  const { messageCount, consumerCount } = await inspectQueue(model, queue);
  const ch = await openChannel(model);
  let open = true;
  ch.on('close', () => (open = false));
  let taken = 0;
  let closing: Promise<void> | undefined;
  return {
    depth: messageCount,
    consumers: consumerCount,
    async next() {
      if (taken >= messageCount) return undefined;
      if (!open) throw new Error(`the channel browsing ${queue} closed; every letter not requeued is back in the queue`);
      const msg = await ch.get(queue, { noAck: false });
      if (msg === false) return undefined;
      taken += 1;
      return msg;
    },
    ack(msg) {
      if (!open) return false;
      try {
        ch.ack(msg);
        return true;
      } catch {
        return false;
      }
    },
    close() {
      closing ??= open ? ch.close().catch(() => undefined) : Promise.resolve();
      return closing;
    },
  };
}

/** Requeues through one confirm channel; a requeue the broker returns (no queue bound) fails. */
export async function createBrokerRequeuePublisher(
  model: ChannelModel,
  exchange: string,
  confirmTimeoutMs: number,
): Promise<RequeuePublisher> {
  const returns = createReturnTracker();
  const publisher: ConfirmPublisher = createConfirmPublisher({
    name: 'dlq-requeue',
    logger: createSilentLogger(),
    window: 100,
    confirmTimeoutMs,
    onReturn: (msg) => returns.onReturn(msg),
  });
  await publisher.attach(model);
  return {
    async ready() {
      return (await publisher.ready()) !== null;
    },
    async publish(routingKey, content, options) {
      const entry = returns.track(routingKey, content, options.messageId);
      try {
        await publisher.publish(exchange, routingKey, content, options);
      } finally {
        returns.settle(entry);
      }
      if (entry.returned) throw new Error(`no queue is bound to ${exchange} for routing key ${routingKey} (the broker returned it)`);
    },
    stop: () => publisher.stop(),
  };
}

export async function purgeQueue(model: ChannelModel, queue: string): Promise<number> {
  const ch = await openChannel(model);
  try {
    return (await ch.purgeQueue(queue)).messageCount;
  } finally {
    await ch.close().catch(() => undefined);
  }
}
