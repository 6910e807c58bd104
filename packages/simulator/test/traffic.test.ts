/**
 * The simulator against the real MongoDB-compatible server and RabbitMQ: the read model it writes is
 * exactly its in-memory replay, and the events arrive on the exchange in order, routed and shaped as
 * Chat3 publishes them.
 */
import type { ConfirmChannel } from 'amqplib';
import type { Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  COLLECTION_KEYS,
  DEFAULT_COLLECTION_NAMES,
  MemoryReadModel,
  applyWrites,
  assertEventsExchange,
  createSimulation,
  eventIdOf,
  ensureReadModelIndexes,
  runTraffic,
  type SimulationOptions,
  type TrafficStats,
} from '../src/index';
import {
  createBrokerHelper,
  createTestDatabase,
  testEnv,
  uniqueName,
  type BrokerHelper,
  type Collector,
  type TestDatabase,
} from '@chat3/testkit';

const OPTIONS: SimulationOptions = { seed: 'integration', users: 60, dialogs: 25, dangerousUserIds: true };
const COUNT = 300;

let database: TestDatabase;
let broker: BrokerHelper;
let channel: ConfirmChannel;
let collector: Collector;
const exchange = uniqueName('sim_events');

beforeAll(async () => {
  database = await createTestDatabase('simulator');
  broker = await createBrokerHelper(testEnv().rabbitUrl);
  channel = await broker.connection.createConfirmChannel();
  await assertEventsExchange(channel, exchange);
  collector = await broker.declareCollector(exchange, ['#'], undefined, { assertExchange: false });
});

afterAll(async () => {
  await collector?.close();
  await channel?.deleteExchange(exchange).catch(() => undefined);
  await channel?.close().catch(() => undefined);
  await broker?.close();
  await database?.drop();
});

/** Rows without `_id`, in a stable order, for comparing the server with the replay. */
function normalise(rows: Document[]): string[] {
  return rows.map(({ _id, ...row }) => JSON.stringify(row, Object.keys(row).sort())).sort();
}

describe('runTraffic', () => {
  let stats: TrafficStats;
  const expected = createSimulation(OPTIONS).take(COUNT);

  it('writes the population, then every step, exactly as the in-memory replay has it', async () => {
    const sim = createSimulation(OPTIONS);
    await ensureReadModelIndexes(database.db);
    await applyWrites(database.db, sim.seedWrites());
    stats = await runTraffic({ db: database.db, channel, exchange, simulation: sim, count: COUNT, rate: 'max', maxBatch: 64 });
    expect(stats.events).toBe(COUNT);
    expect(stats.writes).toBeGreaterThan(COUNT);

    const replay = new MemoryReadModel().apply(sim.seedWrites());
    for (const step of expected) replay.apply(step.writes);
    for (const key of COLLECTION_KEYS) {
      const stored = await database.db.collection(DEFAULT_COLLECTION_NAMES[key]).find({}).toArray();
      expect(normalise(stored), key).toEqual(normalise(replay.rows(key) as unknown as Document[]));
    }
  });

  it('publishes every event in order, persistent JSON, routed {entityType}.{action}.{tenantId}', async () => {
    const messages = await collector.waitForCount(COUNT, 30_000);
    expect(messages.map((m) => m.routingKey)).toEqual(expected.map((s) => s.routingKey));
    expect(messages.map((m) => m.body)).toEqual(expected.map((s) => s.event));
    for (const [i, m] of messages.entries()) {
      expect(m.properties).toMatchObject({ contentType: 'application/json', deliveryMode: 2, messageId: eventIdOf(expected[i]!.event) });
    }
    const counted = Object.values(stats.eventsByType).reduce((a, b) => a + b, 0);
    expect(counted).toBe(COUNT);
  });

  it('skips rows that already exist when the same population is written again', async () => {
    const sim = createSimulation(OPTIONS);
    const users = await database.db.collection('users').countDocuments();
    await expect(applyWrites(database.db, sim.seedWrites().slice(0, 20))).resolves.toBeDefined();
    expect(await database.db.collection('users').countDocuments()).toBe(users);
  });

  it('paces to the requested rate', async () => {
    const sim = createSimulation({ ...OPTIONS, seed: 'paced' });
    await applyWrites(database.db, sim.seedWrites());
    const before = collector.messages.length;
    const paced = await runTraffic({ db: database.db, channel, exchange, simulation: sim, count: 20, rate: 40 });
    expect(paced.events).toBe(20);
    // The 20th event is due 19/40 s after the first.
    expect(paced.elapsedMs).toBeGreaterThanOrEqual(470);
    await collector.waitForCount(before + 20, 30_000);
  });
});
