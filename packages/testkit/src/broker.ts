/**
 * A RabbitMQ connection for tests: publish with confirms, and collect what services publish through
 * temporary exclusive queues. Each collector has its own channel, so a failed bind in one test cannot
 * close the channel another collector uses.
 */
import amqplib, { type ChannelModel, type ConfirmChannel, type Options } from 'amqplib';
import { uniqueName } from './names';
import { waitFor } from './wait';

export interface CollectedMessage {
  exchange: string;
  routingKey: string;
  /** The parsed JSON body, or the raw text when it is not JSON. */
  body: any;
  properties: any;
  redelivered: boolean;
}

export interface Collector {
  queue: string;
  messages: CollectedMessage[];
  /** Resolves with the messages once at least `count` arrived. */
  waitForCount(count: number, timeoutMs: number): Promise<CollectedMessage[]>;
  close(): Promise<void>;
}

export interface CollectorOptions {
  /** Declare the exchange first (topic, durable by default) — off when the service under test owns it. */
  assertExchange?: boolean;
  exchangeType?: string;
  exchangeOptions?: Options.AssertExchange;
}

export interface BrokerHelper {
  connection: ChannelModel;
  channel: ConfirmChannel;
  /** Publishes a persistent JSON message and waits for the broker's confirm. */
  publishJson(exchange: string, routingKey: string, body: unknown, options?: Options.Publish): Promise<void>;
  declareCollector(
    exchange: string,
    patterns: string[],
    queueArgs?: Record<string, unknown>,
    options?: CollectorOptions,
  ): Promise<Collector>;
  close(): Promise<void>;
}

export async function createBrokerHelper(url: string): Promise<BrokerHelper> {
  const connection = await amqplib.connect(url, { clientProperties: { connection_name: uniqueName('chat3-testkit') } });
  // A test that breaks the connection on purpose should fail its own assertions, not crash the worker.
  connection.on('error', () => {});
  const channel = await connection.createConfirmChannel();
  channel.on('error', () => {});
  const collectors = new Set<Collector>();

  async function publishJson(exchange: string, routingKey: string, body: unknown, options?: Options.Publish) {
    const content = Buffer.from(JSON.stringify(body));
    await new Promise<void>((resolve, reject) => {
      channel.publish(exchange, routingKey, content, { persistent: true, contentType: 'application/json', ...options }, (err) =>
        err ? reject(err instanceof Error ? err : new Error(`publish to ${exchange} was nacked`)) : resolve(),
      );
    });
  }

  async function declareCollector(
    exchange: string,
    patterns: string[],
    queueArgs?: Record<string, unknown>,
    options: CollectorOptions = {},
  ): Promise<Collector> {
    const collectorChannel = await connection.createChannel();
    collectorChannel.on('error', () => {});
    if (options.assertExchange !== false) {
      await collectorChannel.assertExchange(exchange, options.exchangeType ?? 'topic', { durable: true, ...options.exchangeOptions });
    }
    const { queue } = await collectorChannel.assertQueue(uniqueName('collector'), {
      exclusive: true,
      autoDelete: true,
      durable: false,
      ...(queueArgs ? { arguments: queueArgs } : {}),
    });
    for (const pattern of patterns) await collectorChannel.bindQueue(queue, exchange, pattern);
    const messages: CollectedMessage[] = [];
    await collectorChannel.consume(
      queue,
      (msg) => {
        if (!msg) return;
        const text = msg.content.toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // Kept as text: a test may be checking exactly that a body is not JSON.
        }
        messages.push({
          exchange: msg.fields.exchange,
          routingKey: msg.fields.routingKey,
          body,
          properties: msg.properties,
          redelivered: msg.fields.redelivered,
        });
      },
      { noAck: true },
    );
    let closing: Promise<void> | undefined;
    const collector: Collector = {
      queue,
      messages,
      waitForCount: (count, timeoutMs) =>
        waitFor(() => (messages.length >= count ? messages : undefined), {
          timeoutMs,
          message: `${count} message(s) on ${exchange} [${patterns.join(', ')}] (have ${messages.length})`,
        }),
      close: () =>
        (closing ??= (async () => {
          collectors.delete(collector);
          await collectorChannel.deleteQueue(queue).catch(() => {});
          await collectorChannel.close().catch(() => {});
        })()),
    };
    collectors.add(collector);
    return collector;
  }

  let closing: Promise<void> | undefined;
  return {
    connection,
    channel,
    publishJson,
    declareCollector,
    close: () =>
      (closing ??= (async () => {
        await Promise.all([...collectors].map((c) => c.close()));
        await channel.close().catch(() => {});
        await connection.close().catch(() => {});
      })()),
  };
}
