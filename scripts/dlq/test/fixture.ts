/**
 * A dead-letter queue of its own for each test: the builder's topology under unique names, letters
 * written exactly as the builder writes them (its own `deadLetterOptions`), `pnpm dlq` run in-process
 * against it, and a destructive read-back to compare the queue with what was put in.
 */
import type { Message } from 'amqplib';
import { assertBuilderTopology, builderTopology } from '@chat3/builder';
import { createBrokerHelper, testEnv, uniqueName, waitFor, type BrokerHelper } from '@chat3/testkit';
import { deadLetterOptions, type DeadLetterStage } from '../../../packages/builder/src/broker/dead-letter';
import { runDlq } from '../run';

export interface LetterSpec {
  reason: string;
  stage?: DeadLetterStage;
  routingKey?: string;
  body?: string;
  headers?: Record<string, unknown>;
  messageId?: string;
}

export interface StoredMessage {
  content: string;
  routingKey: string;
  headers: Record<string, unknown>;
  properties: Record<string, unknown>;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function createDlqFixture() {
  const env = testEnv();
  const broker: BrokerHelper = await createBrokerHelper(env.rabbitUrl);
  const exchange = uniqueName('dlq-events');
  const queue = uniqueName('dlq-builder');
  const topology = builderTopology(exchange, queue, 1);
  await assertBuilderTopology(broker.channel, topology);
  const extraExchanges: string[] = [];
  const extraQueues: string[] = [];
  let seq = 0;

  /** Publishes letters to the DLX as the builder would and waits until the DLQ holds them all. */
  async function seed(specs: LetterSpec[]): Promise<void> {
    const before = (await broker.channel.checkQueue(topology.deadLetterQueue)).messageCount;
    // Published back to back on one channel (so in order), confirms awaited together.
    const confirms: Array<Promise<void>> = [];
    for (const spec of specs) {
      seq += 1;
      const content = Buffer.from(spec.body ?? JSON.stringify({ eventId: `evt_${seq}`, tenantId: 'tnt_test', n: seq }));
      const original = {
        content,
        fields: { routingKey: spec.routingKey ?? `dialog.update.tnt_${seq}` },
        properties: {
          contentType: 'application/json',
          messageId: spec.messageId ?? `m-${seq}`,
          timestamp: 1_764_000_000 + seq,
          headers: spec.headers ?? {},
        },
      } as unknown as Message;
      const options = deadLetterOptions(
        original,
        { reason: spec.reason, detail: `detail of ${seq}`, stage: spec.stage ?? 'router' },
        Date.now(),
      );
      confirms.push(
        new Promise<void>((resolve, reject) =>
          broker.channel.publish(topology.deadLetterExchange, '', content, options, (err) => (err ? reject(err) : resolve())),
        ),
      );
    }
    await Promise.all(confirms);
    await waitFor(async () => (await broker.channel.checkQueue(topology.deadLetterQueue)).messageCount === before + specs.length, {
      timeoutMs: 30_000,
      message: `${specs.length} letters in ${topology.deadLetterQueue}`,
    });
  }

  /**
   * Takes every message out of a queue, oldest first: a consumer without acks until the count the queue
   * held (one `basic.get` + ack per message is ~50 ms each on the busy CI machine).
   */
  async function drain(name: string): Promise<StoredMessage[]> {
    const ch = await broker.connection.createChannel();
    const out: StoredMessage[] = [];
    try {
      const { messageCount } = await ch.checkQueue(name);
      if (messageCount === 0) return out;
      const { consumerTag } = await ch.consume(
        name,
        (msg) => {
          if (!msg) return;
          const { headers, ...properties } = msg.properties;
          out.push({ content: msg.content.toString('utf8'), routingKey: msg.fields.routingKey, headers: { ...headers }, properties });
        },
        { noAck: true },
      );
      await waitFor(() => out.length >= messageCount, {
        timeoutMs: 30_000,
        message: `${messageCount} messages from ${name} (have ${out.length})`,
      });
      await ch.cancel(consumerTag);
    } finally {
      await ch.close();
    }
    return out;
  }

  async function depth(name: string): Promise<number> {
    return (await broker.channel.checkQueue(name)).messageCount;
  }

  async function run(argv: string[], extraEnv: Record<string, string> = {}): Promise<RunResult> {
    let stdout = '';
    let stderr = '';
    const code = await runDlq(argv, {
      env: { RABBITMQ_URL: env.rabbitUrl, RABBITMQ_EVENTS_EXCHANGE: exchange, BUILDER_QUEUE: queue, ...extraEnv },
      stdout: { write: (s: string) => ((stdout += s), true) },
      stderr: { write: (s: string) => ((stderr += s), true) },
    });
    return { code, stdout, stderr };
  }

  /** An exchange of this test's own, deleted at clean-up. */
  async function declareExchange(prefix: string): Promise<string> {
    const name = uniqueName(prefix);
    await broker.channel.assertExchange(name, 'topic', { durable: false, autoDelete: false });
    extraExchanges.push(name);
    return name;
  }

  async function declareQueue(prefix: string, exchangeName: string, args: Record<string, unknown> = {}): Promise<string> {
    const name = uniqueName(prefix);
    await broker.channel.assertQueue(name, { durable: false, arguments: args });
    await broker.channel.bindQueue(name, exchangeName, '#');
    extraQueues.push(name);
    return name;
  }

  async function cleanUp(): Promise<void> {
    for (const q of [topology.intakeQueue, ...topology.partitionQueues, topology.deadLetterQueue, ...extraQueues]) {
      await broker.channel.deleteQueue(q).catch(() => undefined);
    }
    for (const x of [exchange, topology.partitionExchange, topology.deadLetterExchange, ...extraExchanges]) {
      await broker.channel.deleteExchange(x).catch(() => undefined);
    }
    await broker.close();
  }

  return {
    broker,
    exchange,
    queue,
    topology,
    dlq: topology.deadLetterQueue,
    seed,
    drain,
    depth,
    run,
    declareExchange,
    declareQueue,
    cleanUp,
  };
}

export type DlqFixture = Awaited<ReturnType<typeof createDlqFixture>>;
