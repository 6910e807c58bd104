/**
 * The runtime's AMQP edge (connection with recovery, managed channel, confirm publisher) against the
 * broker and amqplib models, in virtual time: each way a publish can fail is classified as the
 * publisher's header says.
 */
import { connectAmqp, createConfirmPublisher, createSilentLogger, PublishError, type ConfirmPublisher } from '@chat3/runtime';
import { afterEach, describe, expect, it } from 'vitest';
import { simulatedConnect, type ClientHost } from '../src/models/amqplib';
import { RabbitMqModel } from '../src/models/rabbitmq';
import { installVirtualTime, type VirtualTime } from '../src/virtual-time';

let vt: VirtualTime | undefined;
afterEach(() => {
  vt?.uninstall();
  vt = undefined;
});

async function setUp(options: { confirmTimeoutMs?: number; window?: number } = {}) {
  vt = installVirtualTime('amqp-edge');
  const broker = new RabbitMqModel({ random: vt.random, netMs: () => 1, confirmMs: () => 5 });
  broker.addSink('sink', 'ex', ['#']);
  const host: ClientHost = { name: 'p', dead: false };
  const publisher = createConfirmPublisher({
    name: 'test',
    logger: createSilentLogger(),
    window: options.window ?? 100,
    confirmTimeoutMs: options.confirmTimeoutMs ?? 1_000,
    setup: async (ch) => void (await ch.assertExchange('ex', 'topic')),
  });
  const connecting = connectAmqp({
    url: 'amqp://sim',
    name: 'p',
    logger: createSilentLogger(),
    connect: simulatedConnect(broker, host, () => 1),
    onConnect: (model) => publisher.attach(model),
  });
  let connection: Awaited<typeof connecting> | undefined;
  void connecting.then((c) => (connection = c));
  await vt.runUntil(1_000, () => connection !== undefined && publisher.connected);
  return { broker, publisher, connection: connection! };
}

/** Publishes `n` messages and collects each outcome ('ok' or the failure kind). */
function publishMany(publisher: ConfirmPublisher, bodies: Buffer[]): string[] {
  const outcomes: string[] = [];
  bodies.forEach((body, i) => {
    outcomes[i] = 'pending';
    publisher.publish('ex', 'k', body, { messageId: `m${i}` }).then(
      () => (outcomes[i] = 'ok'),
      (err: PublishError) => (outcomes[i] = err.kind),
    );
  });
  return outcomes;
}

const bodies = (n: number, size = 10) => Array.from({ length: n }, () => Buffer.alloc(size));

describe('the confirm publisher against the broker model', () => {
  it('resolves every message once the broker confirms it', async () => {
    const { broker, publisher } = await setUp();
    const outcomes = publishMany(publisher, bodies(20));
    await vt!.runUntil(2_000, () => outcomes.every((o) => o !== 'pending'));
    expect(outcomes).toEqual(Array(20).fill('ok'));
    expect(broker.sinks).toHaveLength(20);
  });

  it('fails the unconfirmed messages as "closed" when the broker closes the connection, and reconnects', async () => {
    const { broker, publisher } = await setUp();
    const outcomes = publishMany(publisher, bodies(10));
    await vt!.runUntil(vt!.elapsed() + 2);
    broker.closeConnections();
    await vt!.runUntil(vt!.elapsed() + 2_000, () => outcomes.every((o) => o !== 'pending') && publisher.connected);
    expect(outcomes.filter((o) => o === 'closed').length).toBeGreaterThan(0);
    expect(outcomes.every((o) => o === 'ok' || o === 'closed')).toBe(true);
    expect(publisher.connected).toBe(true);
  });

  it('classifies the window as "refused" when the broker closes the channel with 406 for a message', async () => {
    const { broker, publisher } = await setUp();
    broker.maxMessageSize = 100;
    const outcomes = publishMany(publisher, [...bodies(3), Buffer.alloc(200), ...bodies(3)]);
    await vt!.runUntil(vt!.elapsed() + 2_000, () => outcomes.every((o) => o !== 'pending'));
    expect(outcomes[3]).toBe('refused');
    expect(outcomes.slice(4)).toEqual(['refused', 'refused', 'refused']);
    // the channel is reopened on the same connection
    await vt!.runUntil(vt!.elapsed() + 5_000, () => publisher.connected);
    const again = publishMany(publisher, bodies(2));
    await vt!.runUntil(vt!.elapsed() + 1_000, () => again.every((o) => o !== 'pending'));
    expect(again).toEqual(['ok', 'ok']);
  });

  it('reports a nack as "nack"', async () => {
    const { broker, publisher } = await setUp();
    broker.nackMatching((_, props) => props.messageId === 'm1');
    const outcomes = publishMany(publisher, bodies(3));
    await vt!.runUntil(vt!.elapsed() + 1_000, () => outcomes.every((o) => o !== 'pending'));
    expect(outcomes).toEqual(['ok', 'nack', 'ok']);
  });

  it('does not time out confirms while the broker blocks the connection, and gets them all after the alarm', async () => {
    const { broker, publisher, connection } = await setUp({ confirmTimeoutMs: 500 });
    broker.raiseAlarm(3_000);
    await vt!.runUntil(vt!.elapsed() + 10);
    expect(connection.blocked).toBe(true);
    const outcomes = publishMany(publisher, bodies(5));
    await vt!.runUntil(vt!.elapsed() + 2_500);
    expect(outcomes).toEqual(Array(5).fill('pending'));
    await vt!.runUntil(vt!.elapsed() + 2_000, () => outcomes.every((o) => o !== 'pending'));
    expect(outcomes).toEqual(Array(5).fill('ok'));
    expect(connection.blocked).toBe(false);
  });

  it('times a confirm out when the connection is silent but not blocked, and restarts the connection', async () => {
    const { broker, publisher } = await setUp({ confirmTimeoutMs: 500 });
    broker.severConnections(() => true, 60_000, 60_000); // a dead socket nobody has noticed yet
    const outcomes = publishMany(publisher, bodies(3));
    await vt!.runUntil(vt!.elapsed() + 1_000, () => outcomes.every((o) => o !== 'pending'));
    expect(outcomes[0]).toBe('timeout');
    await vt!.runUntil(vt!.elapsed() + 5_000, () => publisher.connected);
    expect(publisher.connected).toBe(true);
  });
});
