/**
 * RabbitMQ helpers for the benchmarks and the demo: connections, versions, the per-measurement topologies
 * and their clean-up, and the relay benchmark's raw-publish ceiling (confirm channel, a window of
 * unconfirmed messages, confirms batched by the broker's `multiple` acks), with no database involved.
 */
import { once } from 'node:events';
import amqplib, { type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import type { WireMessage } from '@chat3/core';

/** A named connection; its 'error' events are swallowed (the 'close' that follows fails what is using it). */
export async function connectBroker(url: string, name: string): Promise<ChannelModel> {
  const model = await amqplib.connect(url, { clientProperties: { connection_name: name } });
  model.on('error', () => undefined);
  return model;
}

export function brokerVersion(model: ChannelModel): string {
  const props = model.connection.serverProperties as Record<string, unknown>;
  return `${String(props.product ?? 'unknown')} ${String(props.version ?? '?')}`;
}

/** Each call on its own channel, so a failed operation (404, 406) cannot poison the next one. */
async function withChannel<T>(model: ChannelModel, fn: (ch: Channel) => Promise<T>): Promise<T> {
  const ch = await model.createChannel();
  ch.on('error', () => undefined);
  try {
    return await fn(ch);
  } finally {
    await ch.close().catch(() => undefined);
  }
}

/** A topic exchange and one queue bound `#`: the baseline worker's intake. */
export async function createIntake(model: ChannelModel, exchange: string, queue: string): Promise<void> {
  await withChannel(model, async (ch) => {
    await ch.assertExchange(exchange, 'topic', { durable: true });
    await ch.assertQueue(queue, { durable: true });
    await ch.bindQueue(queue, exchange, '#');
  });
}

/**
 * The relay benchmark's topology: a topic exchange plus one non-durable queue bound with `update.#`, so
 * every measurement makes the broker route and enqueue the same way.
 */
export async function createTopology(model: ChannelModel, exchange: string, queue: string): Promise<void> {
  await withChannel(model, async (ch) => {
    await ch.assertExchange(exchange, 'topic', { durable: true });
    await ch.assertQueue(queue, { durable: false, autoDelete: false });
    await ch.bindQueue(queue, exchange, 'update.#');
  });
}

/** Messages waiting in a queue; rejects when it does not exist. */
export async function queueDepth(model: ChannelModel, queue: string): Promise<number> {
  return withChannel(model, async (ch) => (await ch.checkQueue(queue)).messageCount);
}

export async function deleteQueue(model: ChannelModel, queue: string): Promise<void> {
  await withChannel(model, async (ch) => void (await ch.deleteQueue(queue)));
}

export async function deleteExchange(model: ChannelModel, exchange: string): Promise<void> {
  await withChannel(model, async (ch) => void (await ch.deleteExchange(exchange)));
}

export interface PublishRun {
  ms: number;
  nacks: number;
}

/**
 * Publishes every message, keeping at most `window` unconfirmed and honouring `drain`; resolves when the
 * last confirm arrived. The same envelope (routing key, body, properties) as the relay's.
 */
export async function publishWindowed(
  ch: ConfirmChannel,
  exchange: string,
  messages: readonly WireMessage[],
  window: number,
): Promise<PublishRun> {
  const started = performance.now();
  if (messages.length === 0) return { ms: 0, nacks: 0 };
  let unconfirmed = 0;
  let settled = 0;
  let nacks = 0;
  let slot: (() => void) | undefined;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const onConfirm = (err: unknown) => {
    unconfirmed -= 1;
    settled += 1;
    if (err) nacks += 1;
    if (settled === messages.length) done();
    const wake = slot;
    slot = undefined;
    wake?.();
  };
  const closed = once(ch, 'close').then(() => {
    throw new Error('confirm channel closed during the ceiling run');
  });
  closed.catch(() => undefined);
  for (const m of messages) {
    while (unconfirmed >= window) await Promise.race([new Promise<void>((resolve) => (slot = resolve)), closed]);
    unconfirmed += 1;
    if (!ch.publish(exchange, m.routingKey, m.body, m.options, onConfirm)) await Promise.race([once(ch, 'drain'), closed]);
  }
  await Promise.race([finished, closed]);
  return { ms: performance.now() - started, nacks };
}

/** Publishes one message and waits for its confirm (the naive relay's way). */
export function publishAndConfirm(ch: ConfirmChannel, exchange: string, m: WireMessage): Promise<void> {
  return new Promise((resolve, reject) => {
    ch.publish(exchange, m.routingKey, m.body, m.options, (err: unknown) => (err ? reject(new Error('nacked')) : resolve()));
  });
}
