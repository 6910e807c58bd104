/**
 * Tenant isolation (issue #10 §4), end to end: the builder with `ROUTING_KEY_SCOPE=tenant` and the relay
 * as real processes, the real RabbitMQ. Two tenants share a userId; each tenant's queue (named and bound
 * with core's `queueNameFor` / `bindingKeyFor`) receives only its own tenant's Updates, and a client
 * subscribed the seed's way receives neither. The broker confirms a message only after routing it to
 * every bound durable queue, and the relay marks published only after the confirm, so once every Update
 * is marked the queues hold everything they will ever get: the checks need no wait for "nothing more".
 */
import { bindingKeyFor, queueNameFor, type RecipientAddress } from '@chat3/core';
import { createBrokerHelper, createTestDatabase, spawnService, testEnv, uniqueName, waitFor, type ManagedProcess } from '@chat3/testkit';
import type { Channel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const env = testEnv();
const suffix = uniqueName('tenant').split('.')[1]!;
const shared = `shared_${suffix}`;
const tenants = [`tnt_a_${suffix}`, `tnt_b_${suffix}`] as const;
const seedQueue = `user_${shared}_updates`;
const exchange = uniqueName('events');
const builderQueue = uniqueName('builder');
const UPDATES_EXCHANGE = 'chat3_updates';

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let broker: Awaited<ReturnType<typeof createBrokerHelper>>;
let channel: Channel;
const processes: ManagedProcess[] = [];
const tenantQueues: string[] = [];
let n = 0;

function userEvent(tenantId: string, eventType: string, version: number) {
  n += 1;
  return {
    eventId: `evt_${suffix.padEnd(24, '0').slice(0, 24)}${n.toString(16).padStart(8, '0')}`,
    tenantId,
    eventType,
    entityType: 'user',
    entityId: shared,
    actorId: shared,
    actorType: 'user',
    data: { user: { userId: shared, type: 'user', meta: { tenantId, version } } },
    createdAt: Date.now() + 0.5,
  };
}

/** Everything ready in a queue, taken with basic.get and acked. */
async function drain(queue: string): Promise<any[]> {
  const out: any[] = [];
  for (;;) {
    const msg = await channel.get(queue);
    if (!msg) return out;
    out.push({ routingKey: msg.fields.routingKey, body: JSON.parse(msg.content.toString()) });
    channel.ack(msg);
  }
}

beforeAll(async () => {
  database = await createTestDatabase('tenant');
  broker = await createBrokerHelper(env.rabbitUrl);
  channel = await broker.connection.createChannel();
  await broker.channel.assertExchange(exchange, 'topic', { durable: true });
  const common = {
    MONGODB_URI: env.mongoUri,
    MONGODB_DB: database.name,
    RABBITMQ_URL: env.rabbitUrl,
    METRICS_PORT: '0',
    LEASE_TTL_MS: '3000',
  };
  const builder = spawnService({
    name: 'builder',
    entry: 'packages/builder/src/main.ts',
    env: {
      ...common,
      RABBITMQ_EVENTS_EXCHANGE: exchange,
      BUILDER_QUEUE: builderQueue,
      BUILDER_PARTITIONS: '2',
      ROUTING_KEY_SCOPE: 'tenant',
    },
  });
  const relay = spawnService({ name: 'relay', entry: 'packages/relay/src/main.ts', env: { ...common, RELAY_POLL_INTERVAL_MS: '50' } });
  processes.push(builder, relay);
  await builder.waitForLog((e) => e.msg === 'builder started', 60_000);
  await relay.waitForLog((e) => e.msg === 'relay started', 60_000);

  // Each tenant's client, as the SDK subscribes in scope tenant; and a client of the seed's kind.
  for (const tenantId of tenants) {
    const to: RecipientAddress = { tenantId, userId: shared, userType: 'user' };
    const queue = queueNameFor('tenant', to);
    tenantQueues.push(queue);
    await channel.assertQueue(queue, { durable: true, arguments: { 'x-message-ttl': 3_600_000 } });
    await channel.bindQueue(queue, UPDATES_EXCHANGE, bindingKeyFor('tenant', to));
  }
  await channel.assertQueue(seedQueue, { durable: true, arguments: { 'x-message-ttl': 3_600_000 } });
  await channel.bindQueue(seedQueue, UPDATES_EXCHANGE, `update.*.user.${shared}.*`);
}, 120_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop(10_000)));
  for (const q of [...tenantQueues, seedQueue, builderQueue, `${builderQueue}.dlq`, `${builderQueue}.p0`, `${builderQueue}.p1`]) {
    await channel?.deleteQueue(q).catch(() => undefined);
  }
  for (const x of [exchange, `${builderQueue}.partitions`, `${builderQueue}.dlx`]) await channel?.deleteExchange(x).catch(() => undefined);
  await broker?.close();
  await database?.drop();
});

describe('ROUTING_KEY_SCOPE=tenant', () => {
  it('never delivers one tenant’s Updates to another tenant’s user with the same userId', async () => {
    // Interleaved: both tenants' Updates for the same userId are in flight together.
    for (const version of [1, 2, 3]) {
      for (const tenantId of tenants) {
        const e = userEvent(tenantId, version === 1 ? 'user.add' : 'user.update', version);
        await broker.publishJson(exchange, `user.${e.eventType.split('.')[1]}.${tenantId}`, e);
      }
    }
    const updates = database.db.collection('updates');
    await waitFor(async () => ((await updates.countDocuments({ userId: shared, published: true })) === 6 ? true : undefined), {
      timeoutMs: 60_000,
      message: 'six Updates for the shared userId published',
    });

    for (const [i, tenantId] of tenants.entries()) {
      const got = await drain(tenantQueues[i]!);
      expect(got.map((m) => m.body.tenantId)).toEqual([tenantId, tenantId, tenantId]);
      expect(got.map((m) => m.body.data.user.meta)).toEqual([1, 2, 3].map((version) => ({ tenantId, version })));
      for (const m of got) expect(m.routingKey).toBe(`update.user.${tenantId}.user.${shared}.userupdate`);
    }
    // The seed's binding has five words; tenant-scoped keys have six and never reach it.
    expect((await channel.checkQueue(seedQueue)).messageCount).toBe(0);
  });
});
