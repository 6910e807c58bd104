/** RabbitMQ helpers for the builder benchmark and the demo: connections, versions, clean-up. */
import amqplib, { type Channel, type ChannelModel } from 'amqplib';

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
export async function withChannel<T>(model: ChannelModel, fn: (ch: Channel) => Promise<T>): Promise<T> {
  const ch = await model.createChannel();
  ch.on('error', () => undefined);
  try {
    return await fn(ch);
  } finally {
    await ch.close().catch(() => undefined);
  }
}

export async function deleteQueue(model: ChannelModel, queue: string): Promise<void> {
  await withChannel(model, async (ch) => void (await ch.deleteQueue(queue)));
}

export async function deleteExchange(model: ChannelModel, exchange: string): Promise<void> {
  await withChannel(model, async (ch) => void (await ch.deleteExchange(exchange)));
}

/** Messages waiting in a queue, or null when it does not exist. */
export async function queueDepth(model: ChannelModel, queue: string): Promise<number | null> {
  return withChannel(model, async (ch) => (await ch.checkQueue(queue)).messageCount).catch(() => null);
}

/** A topic exchange and one queue bound `#`: the baseline worker's intake. */
export async function createIntake(model: ChannelModel, exchange: string, queue: string): Promise<void> {
  await withChannel(model, async (ch) => {
    await ch.assertExchange(exchange, 'topic', { durable: true });
    await ch.assertQueue(queue, { durable: true });
    await ch.bindQueue(queue, exchange, '#');
  });
}
