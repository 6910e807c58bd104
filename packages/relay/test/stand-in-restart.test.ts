/**
 * Both processes survive the database going away: a private FerretDB (so parallel test files keep
 * theirs) is killed and restarted while events flow; every event is built and every Update published.
 * Meanwhile each says so on its ops port: /readyz 503 with MongoDB down, then 200 again, while
 * /healthz stays 200 (an outage is not a wedged loop: the loops fail, report it and go on).
 */
import {
  createBrokerHelper,
  ferretdbBinary,
  gate,
  spawnService,
  startPrivateStandIn,
  testEnv,
  uniqueName,
  waitFor,
  type ManagedProcess,
} from '@chat3/testkit';
import { MongoClient } from 'mongodb';
import { describe, expect, it } from 'vitest';

const binary = await ferretdbBinary();

async function opsPort(proc: ManagedProcess): Promise<number> {
  const { entry } = await proc.waitForLog((e) => e.msg === 'ops server listening', 60_000);
  return Number(entry!.port);
}

async function probe(port: number, path: '/readyz' | '/healthz'): Promise<{ status: number; checks: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, checks: ((await res.json()) as { checks: Record<string, unknown> }).checks };
}

describe.skipIf(gate(binary !== null, 'a FerretDB binary (Go toolchain)', 'restarting the database under a running builder and relay'))(
  'database restart',
  () => {
    it('the builder and the relay recover and lose nothing', async () => {
      const env = testEnv();
      const standIn = await startPrivateStandIn();
      const broker = await createBrokerHelper(env.rabbitUrl);
      const client = await MongoClient.connect(standIn.uri, { serverSelectionTimeoutMS: 30_000 });
      const exchange = uniqueName('events');
      const updatesExchange = uniqueName('updates');
      const queue = uniqueName('builder');
      const db = client.db('t_restart');
      const common = {
        MONGODB_URI: standIn.uri,
        MONGODB_DB: 't_restart',
        RABBITMQ_URL: env.rabbitUrl,
        METRICS_PORT: '0',
        LEASE_TTL_MS: '3000',
        READY_INTERVAL_MS: '200',
        HEALTH_WEDGED_MS: '15000',
      };
      const builder = spawnService({
        name: 'builder',
        entry: 'packages/builder/src/main.ts',
        env: { ...common, RABBITMQ_EVENTS_EXCHANGE: exchange, BUILDER_QUEUE: queue, BUILDER_PARTITIONS: '2' },
      });
      const relay = spawnService({
        name: 'relay',
        entry: 'packages/relay/src/main.ts',
        env: { ...common, RABBITMQ_UPDATES_EXCHANGE: updatesExchange, RELAY_POLL_INTERVAL_MS: '50' },
      });
      try {
        await broker.channel.assertExchange(exchange, 'topic', { durable: true });
        const collector = await broker.declareCollector(updatesExchange, ['update.#']);
        await db.collection('dialogs').insertOne({ tenantId: 't', dialogId: 'dlg_r', name: 'r', createdBy: 'a', meta: {} });
        await db
          .collection('dialogmembers')
          .insertMany(
            ['a', 'b', 'c'].map((userId) => ({ tenantId: 't', dialogId: 'dlg_r', userId, isActive: true, unreadCount: 0, meta: {} })),
          );
        await builder.waitForLog((e) => e.msg === 'builder started', 60_000);
        await relay.waitForLog((e) => e.msg === 'relay started', 60_000);

        const send = async (i: number) =>
          broker.publishJson(exchange, 'dialog.update.t', {
            eventId: `evt_${i.toString(16).padStart(32, '0')}`,
            tenantId: 't',
            eventType: 'dialog.update',
            entityType: 'dialog',
            entityId: 'dlg_r',
            actorId: 'a',
            data: {},
            createdAt: Date.now(),
          });
        for (let i = 0; i < 50; i++) await send(i);
        await collector.waitForCount(30, 60_000);

        const ports = [await opsPort(builder), await opsPort(relay)];
        for (const port of ports) {
          await waitFor(async () => (await probe(port, '/readyz')).status === 200, { timeoutMs: 30_000, message: 'ready before' });
        }
        const restarted = standIn.restart({ hard: true, downMs: 4_000 });
        const healthDuringOutage: number[] = [];
        await Promise.all(
          ports.map((port) =>
            waitFor(
              async () => {
                healthDuringOutage.push((await probe(port, '/healthz')).status);
                const ready = await probe(port, '/readyz');
                return ready.status === 503 && ready.checks.mongodb === 'down';
              },
              { timeoutMs: 4_000, message: '/readyz 503 with MongoDB down' },
            ),
          ),
        );
        await restarted;
        for (const port of ports) {
          await waitFor(async () => (await probe(port, '/readyz')).status === 200, { timeoutMs: 60_000, message: 'ready after' });
          healthDuringOutage.push((await probe(port, '/healthz')).status);
        }
        expect(new Set(healthDuringOutage)).toEqual(new Set([200]));
        for (let i = 50; i < 100; i++) await send(i);

        // 100 events × 3 members, each Update delivered at least once and marked published.
        await waitFor(() => new Set(collector.messages.map((m) => m.properties.messageId)).size >= 300, {
          timeoutMs: 120_000,
          message: 'all 300 Updates delivered after the restart',
        });
        expect(await db.collection('updates').countDocuments({})).toBe(300);
        await waitFor(async () => (await db.collection('updates').countDocuments({ published: false })) === 0, {
          timeoutMs: 60_000,
          message: 'all marked published',
        });
        expect(builder.logs().join('\n')).not.toMatch(/"level":60/);
        expect(relay.logs().join('\n')).not.toMatch(/"level":60/);
        await collector.close();
      } finally {
        await Promise.all([builder.stop(10_000), relay.stop(10_000)]);
        for (const q of [queue, `${queue}.dlq`, `${queue}.p0`, `${queue}.p1`]) await broker.channel.deleteQueue(q).catch(() => undefined);
        for (const x of [exchange, updatesExchange, `${queue}.partitions`, `${queue}.dlx`])
          await broker.channel.deleteExchange(x).catch(() => undefined);
        await broker.close();
        await client.close();
        await standIn.stop();
      }
    });
  },
);
