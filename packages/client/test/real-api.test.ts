/**
 * The SDK against the real catch-up API process (`packages/api/src/main.ts`) over the MongoDB-compatible
 * server and the real RabbitMQ: Update documents numbered as the relay numbers them are stored; their
 * wire messages (core's `toWireMessage`) are published with one seq missing from the queue and with
 * duplicates; the client delivers 1..N in order, the missing one from the API. Then retention removes
 * the oldest Updates and a client resuming from before them resyncs.
 */
import { toWireMessage, type UpdateDocument } from '@chat3/core';
import { createBrokerHelper, testEnv, uniqueName, waitFor, type BrokerHelper } from '@chat3/testkit';
import type { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiFixture, makeUpdate, TOKEN_A, type ApiFixture } from '../../api/test/fixture';
import { createUpdatesClient, type ResyncInfo, type UpdatesClient } from '../src/index';

const env = testEnv();
const exchange = uniqueName('updates');
const TENANT = 'tnt_a'; // TOKEN_A's tenant
let fixture: ApiFixture;
let broker: BrokerHelper;
let baseUrl: string;
const clients: UpdatesClient[] = [];
const queues: string[] = [];

async function publish(doc: UpdateDocument<ObjectId>) {
  const m = toWireMessage(doc);
  await new Promise<void>((resolve, reject) =>
    broker.channel.publish(exchange, m.routingKey, m.body, m.options, (err) => (err ? reject(err) : resolve())),
  );
}

beforeAll(async () => {
  fixture = await createApiFixture('sdk');
  broker = await createBrokerHelper(env.rabbitUrl);
  await broker.channel.assertExchange(exchange, 'topic', { durable: true });
  const api = fixture.startProcess({ LOG_LEVEL: 'info' });
  const listening = await api.waitForLog((e) => e.msg === 'api listening', 60_000);
  baseUrl = `http://127.0.0.1:${listening.entry!.port as number}`;
}, 90_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.stop()));
  for (const q of queues) await broker?.channel.deleteQueue(q).catch(() => undefined);
  await broker?.channel.deleteExchange(exchange).catch(() => undefined);
  await broker?.close();
  await fixture?.cleanUp();
});

describe('the updates client with the real catch-up API', () => {
  it('fills a gap from the API process and drops duplicates', async () => {
    const user = uniqueName('carl').replace('.', '_');
    const received: Array<{ seq: number; source: string; id: string }> = [];
    const client = createUpdatesClient({
      rabbitUrl: env.rabbitUrl,
      exchange,
      tenantId: TENANT,
      userId: user,
      fromSeq: 0,
      api: { baseUrl, token: TOKEN_A },
      onUpdate: (u, info) => void received.push({ seq: u.seq, source: info.source, id: u._id }),
      onResync: () => {},
      backoff: { baseMs: 20, maxMs: 200 },
    });
    clients.push(client);
    queues.push(`user_${user}_updates`);
    await client.start();
    await waitFor(() => (client.status().mode === 'live' ? true : undefined), { timeoutMs: 20_000, message: 'live' });

    const docs = [1, 2, 3, 4, 5].map((seq) => makeUpdate(TENANT, user, seq));
    await fixture.insert(docs);
    await fixture.setCounter(TENANT, user, 5);
    // seq 3 is dropped from the queue; 2 and 5 arrive twice.
    for (const seq of [1, 2, 2, 4, 5, 5]) await publish(docs[seq - 1]!);

    await waitFor(() => (received.length >= 5 ? true : undefined), { timeoutMs: 30_000, message: 'five Updates' });
    expect(received.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(received[2]!.source).toBe('api');
    expect(received.map((r) => r.id)).toEqual(docs.map((d) => d._id.toHexString()));
    // A last Update through the queue: once it is delivered, every earlier copy was settled (FIFO).
    const last = makeUpdate(TENANT, user, 6);
    await fixture.insert([last]);
    await publish(last);
    await waitFor(() => (client.position === 6 ? true : undefined), { timeoutMs: 30_000, message: 'seq 6' });
    await client.stop();
    expect((await broker.channel.checkQueue(`user_${user}_updates`)).messageCount).toBe(0);
  });

  it('resyncs when the Updates after the stored position are gone', async () => {
    const user = uniqueName('dana').replace('.', '_');
    const docs = [1, 2, 3, 4, 5, 6].map((seq) => makeUpdate(TENANT, user, seq));
    await fixture.insert(docs.slice(3)); // 1..3 removed by retention
    await fixture.setCounter(TENANT, user, 6);
    const resyncs: ResyncInfo[] = [];
    const received: number[] = [];
    const client = createUpdatesClient({
      rabbitUrl: env.rabbitUrl,
      exchange,
      tenantId: TENANT,
      userId: user,
      fromSeq: 1,
      api: { baseUrl, token: TOKEN_A },
      onUpdate: (u) => void received.push(u.seq),
      onResync: (info) => void resyncs.push(info),
      backoff: { baseMs: 20, maxMs: 200 },
    });
    clients.push(client);
    queues.push(`user_${user}_updates`);
    await client.start();
    await waitFor(() => (resyncs.length === 1 ? true : undefined), { timeoutMs: 30_000, message: 'a resync' });
    expect(resyncs[0]).toEqual({ from: 1, oldestSeq: 4, seq: 6 });
    const next = makeUpdate(TENANT, user, 7);
    await fixture.insert([next]);
    await publish(next);
    await waitFor(() => (received.length >= 1 ? true : undefined), { timeoutMs: 30_000, message: 'seq 7' });
    expect(received).toEqual([7]);
  });
});
