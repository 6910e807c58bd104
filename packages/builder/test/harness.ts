/**
 * Shared set-up for the builder's integration tests: a database and exchange of their own, a small
 * read model written the way Chat3 writes it, event bodies, and builder processes to start and kill.
 */
import { randomBytes } from 'node:crypto';
import type { Channel, ChannelModel } from 'amqplib';
import { assertBuilderTopology, builderTopology, type QueueType } from '../src/index';
import { createBrokerHelper, createTestDatabase, spawnService, testEnv, uniqueName, waitFor, type ManagedProcess } from '@chat3/testkit';

export function eventId(): string {
  return `evt_${randomBytes(16).toString('hex')}`;
}

export interface EventBody {
  eventId: string;
  tenantId: string;
  eventType: string;
  entityType: string;
  entityId: string;
  actorId: string | null;
  actorType: string;
  data: Record<string, unknown>;
  createdAt: number;
}

let tick = 0;
export function event(eventType: string, entityId: string, data: Record<string, unknown> = {}, actorId: string | null = 'carl'): EventBody {
  return {
    eventId: eventId(),
    tenantId: 'tnt_test',
    eventType,
    entityType: eventType.split('.')[0]!,
    entityId,
    actorId,
    actorType: 'user',
    data,
    createdAt: Date.now() + (tick++ % 1000) / 1000,
  };
}

/** Everything a builder declares for this exchange and queue (at most 8 partitions); absent objects are fine. */
export async function deleteBuilderTopology(channel: Channel, exchange: string, queue: string): Promise<void> {
  const t = builderTopology(exchange, queue, 8);
  for (const q of [t.intakeQueue, ...t.partitionQueues, t.deadLetterQueue]) await channel.deleteQueue(q).catch(() => undefined);
  for (const x of [exchange, t.partitionExchange, t.deadLetterExchange]) await channel.deleteExchange(x).catch(() => undefined);
}

/**
 * A queue's type, asked of the broker without the management API: re-declaring it as a quorum queue
 * (with the arguments it was declared with) succeeds only when it is one; a classic queue refuses with
 * 406 PRECONDITION_FAILED, which closes the throwaway channel.
 */
export async function queueTypeOf(connection: ChannelModel, queue: string, args: Record<string, unknown> = {}): Promise<QueueType> {
  const ch = await connection.createChannel();
  ch.on('error', () => {});
  try {
    await ch.assertQueue(queue, { durable: true, arguments: { ...args, 'x-queue-type': 'quorum' } });
    await ch.close();
    return 'quorum';
  } catch (err) {
    if ((err as { code?: number }).code !== 406) throw err;
    return 'classic';
  }
}

export async function createBuilderFixture(prefix: string, options: { queueType?: QueueType } = {}) {
  const queueType = options.queueType ?? 'classic';
  const env = testEnv();
  const database = await createTestDatabase(prefix);
  const broker = await createBrokerHelper(env.rabbitUrl);
  const exchange = uniqueName('events');
  const queue = uniqueName('builder');
  await broker.channel.assertExchange(exchange, 'topic', { durable: true });
  const processes: ManagedProcess[] = [];

  function startBuilder(extra: Record<string, string> = {}): ManagedProcess {
    const proc = spawnService({
      name: `builder-${processes.length + 1}`,
      entry: 'packages/builder/src/main.ts',
      env: {
        MONGODB_URI: env.mongoUri,
        MONGODB_DB: database.name,
        RABBITMQ_URL: env.rabbitUrl,
        RABBITMQ_EVENTS_EXCHANGE: exchange,
        BUILDER_QUEUE: queue,
        BUILDER_PARTITIONS: '4',
        BUILDER_QUEUE_TYPE: queueType,
        LEASE_TTL_MS: '3000',
        METRICS_PORT: '0',
        LOG_LEVEL: 'info',
        ...extra,
      },
    });
    processes.push(proc);
    return proc;
  }

  async function started(proc: ManagedProcess): Promise<void> {
    await proc.waitForLog((e) => e.msg === 'builder started', 60_000);
  }

  /** The builder's queues as it declares them (4 partitions), so events can queue up before it starts. */
  async function declareIntake(): Promise<void> {
    await assertBuilderTopology(broker.channel, builderTopology(exchange, queue, 4, queueType));
  }

  async function publish(
    body: unknown,
    routingKey = 'test.event.tnt_test',
    options?: { headers?: Record<string, unknown> },
  ): Promise<void> {
    await broker.publishJson(exchange, routingKey, body, options);
  }

  async function publishRaw(content: Buffer | string, routingKey = 'test.event.tnt_test'): Promise<void> {
    await new Promise<void>((resolve, reject) =>
      broker.channel.publish(exchange, routingKey, Buffer.from(content), { persistent: true }, (err) => (err ? reject(err) : resolve())),
    );
  }

  const updates = database.db.collection('updates');

  /** A dialog with members (all active unless listed in `inactive`), as Chat3 writes it. */
  async function seedDialog(dialogId: string, members: string[], inactive: string[] = []): Promise<void> {
    await database.db.collection('dialogs').insertOne({
      tenantId: 'tnt_test',
      dialogId,
      name: `Dialog ${dialogId}`,
      createdBy: members[0],
      createdAt: Date.now(),
      updatedAt: Date.now(),
      meta: {},
    });
    await database.db.collection('dialogmembers').insertMany(
      [...members, ...inactive].map((userId) => ({
        tenantId: 'tnt_test',
        dialogId,
        userId,
        meta: {},
        unreadCount: 0,
        lastSeenAt: null,
        lastMessageAt: null,
        isActive: !inactive.includes(userId),
        createdAt: Date.now(),
      })),
    );
  }

  async function seedUsers(users: Array<{ userId: string; type?: string }>): Promise<void> {
    await database.db.collection('users').insertMany(
      users.map((u) => ({
        tenantId: 'tnt_test',
        userId: u.userId,
        type: u.type ?? 'user',
        name: u.userId,
        meta: {},
        createdAt: Date.now(),
      })),
    );
  }

  /** Waits until the Updates of `eventIds` number `count`. */
  async function waitForUpdates(filter: Record<string, unknown>, count: number, timeoutMs = 60_000) {
    return waitFor(
      async () => {
        const n = await updates.countDocuments(filter);
        return n >= count ? n : undefined;
      },
      { timeoutMs, message: `${count} Updates matching ${JSON.stringify(filter).slice(0, 200)}` },
    );
  }

  async function cleanUp(): Promise<void> {
    await Promise.all(processes.map((p) => p.stop(10_000)));
    await deleteBuilderTopology(broker.channel, exchange, queue);
    await broker.close();
    await database.drop();
  }

  return {
    queueType,
    env,
    database,
    broker,
    exchange,
    queue,
    updates,
    startBuilder,
    started,
    declareIntake,
    publish,
    publishRaw,
    seedDialog,
    seedUsers,
    waitForUpdates,
    cleanUp,
  };
}

export type BuilderFixture = Awaited<ReturnType<typeof createBuilderFixture>>;
