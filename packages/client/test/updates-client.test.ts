/**
 * The SDK against the real RabbitMQ and a catch-up API over HTTP (test/test-api.ts until the real API
 * process is on this branch): wire messages built with core's `toWireMessage` are published to a test
 * exchange with a seq missing from the queue (present in the API), with duplicates, out of order,
 * malformed, for another tenant and without seq. Each test has its own user (and so its own queue).
 */
import { scopedRoutingKey, toWireMessage, type RoutingKeyScope, type UpdateDocument } from '@chat3/core';
import { createBrokerHelper, rabbitmqctl, testEnv, uniqueName, waitFor, type BrokerHelper } from '@chat3/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createUpdatesClient, type ClientError, type SequencedUpdate, type UpdatesClient, type UpdatesClientOptions } from '../src/index';
import { startTestApi, type TestApi } from './test-api';

const env = testEnv();
const exchange = uniqueName('updates');
const TENANT = 'tnt_sdk';
let broker: BrokerHelper;
let api: TestApi;
const clients: UpdatesClient[] = [];
const queues: string[] = [];

function doc(
  userId: string,
  seq: number | undefined,
  over: Partial<UpdateDocument<string>> = {},
  scope: RoutingKeyScope = 'seed',
): UpdateDocument<string> {
  const tenantId = over.tenantId ?? TENANT;
  return {
    _id: `${seq ?? 0}`.padStart(24, 'a'),
    tenantId,
    userId,
    userType: 'user',
    entityId: 'dlg_1',
    eventId: `evt_${seq}`,
    eventType: 'message.create',
    dialogId: 'dlg_1',
    updateType: 'MessageUpdate',
    routingKey: scopedRoutingKey(scope, 'MessageUpdate', { tenantId, userId, userType: 'user' }),
    partition: 0,
    data: { context: { eventType: 'message.create', entityId: 'dlg_1', includedSections: [] } },
    published: true,
    publishedAt: Date.now(),
    createdAt: 1_800_000_000_000 + (seq ?? 0),
    eventCreatedAt: 1_800_000_000_000,
    statsVersion: 0,
    ...(seq === undefined ? {} : { seq }),
    ...over,
  };
}

/** The API holds seqs `from..to` of `userId`, as wire bodies. */
function stored(userId: string, from: number, to: number) {
  const list = api.store.get(`${TENANT}/${userId}`) ?? [];
  for (let seq = from; seq <= to; seq++) list.push(JSON.parse(toWireMessage(doc(userId, seq)).body.toString()));
  api.store.set(`${TENANT}/${userId}`, list);
}

async function publish(document: UpdateDocument<string>) {
  const m = toWireMessage(document);
  await new Promise<void>((resolve, reject) =>
    broker.channel.publish(exchange, m.routingKey, m.body, m.options, (err) => (err ? reject(err) : resolve())),
  );
}

async function publishRaw(routingKey: string, body: string) {
  await new Promise<void>((resolve, reject) =>
    broker.channel.publish(exchange, routingKey, Buffer.from(body), {}, (err) => (err ? reject(err) : resolve())),
  );
}

function client(userId: string, over: Partial<UpdatesClientOptions> = {}) {
  const received: Array<{ seq: number; source: string }> = [];
  const errors: ClientError[] = [];
  const c = createUpdatesClient({
    rabbitUrl: env.rabbitUrl,
    exchange,
    tenantId: TENANT,
    userId,
    fromSeq: 0,
    api: { baseUrl: api.baseUrl, token: api.token },
    onUpdate: (u: SequencedUpdate, info) => void received.push({ seq: u.seq, source: info.source }),
    onResync: () => {},
    onError: (e) => void errors.push(e),
    backoff: { baseMs: 20, maxMs: 200 },
    ...over,
  });
  clients.push(c);
  queues.push(`user_${userId}_updates`);
  return { c, received, errors };
}

/**
 * Publishes seq `seq` (also stored in the API) last and waits until the client delivered it: the queue is
 * FIFO on one channel, and duplicates and unsequenced messages are settled before the next delivery, so
 * after this every message published earlier has been acked (or is held, if its turn has not come).
 */
async function settle(user: string, c: UpdatesClient, seq: number) {
  stored(user, seq, seq);
  await publish(doc(user, seq));
  await waitFor(() => (c.position >= seq ? true : undefined), { timeoutMs: 20_000, message: `position ${seq}` });
}

const seqs = (list: Array<{ seq: number }>) => list.map((r) => r.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
async function queueDepth(queue: string) {
  return (await broker.channel.checkQueue(queue)).messageCount;
}

beforeAll(async () => {
  broker = await createBrokerHelper(env.rabbitUrl);
  await broker.channel.assertExchange(exchange, 'topic', { durable: true });
  api = await startTestApi();
});

afterEach(async () => {
  api.failNext(0);
  await Promise.all(clients.splice(0).map((c) => c.stop()));
});

afterAll(async () => {
  for (const q of queues) await broker?.channel.deleteQueue(q).catch(() => undefined);
  await broker?.channel.deleteExchange(exchange).catch(() => undefined);
  await broker?.close();
  await api?.close();
});

describe('the updates client over RabbitMQ and the catch-up API', () => {
  it('fills a gap from the API and drops duplicates, delivering in seq order and acking everything', async () => {
    const user = uniqueName('gap').replace('.', '_');
    const { c, received } = client(user);
    await c.start();
    await waitFor(() => (c.status().mode === 'live' ? true : undefined), { timeoutMs: 20_000, message: 'caught up (nothing yet)' });
    stored(user, 1, 6);
    // seq 3 never reaches the queue; 2 and 4 come twice; 5 before 4's copy.
    for (const seq of [1, 2, 2, 4, 5, 4, 6]) await publish(doc(user, seq));
    await waitFor(() => (received.length >= 6 ? true : undefined), { timeoutMs: 20_000, message: 'six Updates delivered' });
    expect(seqs(received)).toEqual(range(1, 6));
    expect(received.find((r) => r.seq === 3)!.source).toBe('api');
    expect(received.find((r) => r.seq === 1)!.source).toBe('queue');
    expect(api.requests.some((r) => r.includes('/updates?after=2&'))).toBe(true);
    await settle(user, c, 7);
    expect(c.status().held).toBe(0);
    await c.stop();
    expect(await queueDepth(`user_${user}_updates`)).toBe(0); // every copy was acked
    expect(c.position).toBe(7);
  });

  it('resumes from a stored fromSeq through the API, holding and deduplicating what the queue brings meanwhile', async () => {
    const user = uniqueName('resume').replace('.', '_');
    stored(user, 1, 8);
    const { c, received } = client(user, { fromSeq: 3, pageSize: 2 });
    // The queue already holds 7 and 8 (and 2, older than the stored position) before the client starts.
    const { queue } = await broker.channel.assertQueue(`user_${user}_updates`, {
      durable: true,
      arguments: { 'x-message-ttl': 3_600_000 },
    });
    await broker.channel.bindQueue(queue, exchange, `update.*.user.${user}.*`);
    for (const seq of [2, 7, 8]) await publish(doc(user, seq));
    await c.start();
    await publish(doc(user, 9));
    await waitFor(() => (received.length >= 6 ? true : undefined), { timeoutMs: 20_000, message: 'seqs 4..9 delivered' });
    expect(seqs(received)).toEqual(range(4, 9));
    expect(received.find((r) => r.seq === 9)!.source).toBe('queue');
    // Paged by 2 from the stored position.
    expect(api.requests).toContain(`GET /v1/tenants/${TENANT}/users/${user}/updates?after=3&limit=2`);
    expect(api.requests).toContain(`GET /v1/tenants/${TENANT}/users/${user}/updates?after=5&limit=2`);
    await settle(user, c, 10);
    await c.stop();
    expect(await queueDepth(queue)).toBe(0);
  });

  it('starts after the latest seq with fromSeq latest, skipping the history', async () => {
    const user = uniqueName('latest').replace('.', '_');
    stored(user, 1, 5);
    const { c, received } = client(user, { fromSeq: 'latest' });
    await c.start();
    expect(c.position).toBe(5);
    await settle(user, c, 6);
    expect(seqs(received)).toEqual([6]);
  });

  it('calls onResync when the API answers tooLong and continues after the reloaded state', async () => {
    const user = uniqueName('resync').replace('.', '_');
    stored(user, 1, 10);
    api.retainFrom(6); // 1..5 are gone
    const resyncs: unknown[] = [];
    const { c, received } = client(user, { fromSeq: 2, onResync: (info) => void resyncs.push(info) });
    try {
      await c.start();
      await waitFor(() => (resyncs.length === 1 ? true : undefined), { timeoutMs: 20_000, message: 'a resync' });
      expect(resyncs).toEqual([{ from: 2, oldestSeq: 6, seq: 10 }]);
      await publish(doc(user, 10)); // covered by the reloaded state: a duplicate
      await publish(doc(user, 11));
      await waitFor(() => (received.length >= 1 ? true : undefined), { timeoutMs: 20_000, message: 'seq 11 delivered' });
      expect(seqs(received)).toEqual([11]);
      expect(c.position).toBe(11);
    } finally {
      api.retainFrom(1);
    }
  });

  it('reports malformed, foreign and unsequenced messages, acks them away and keeps going', async () => {
    const user = uniqueName('bad').replace('.', '_');
    stored(user, 1, 2);
    const unsequenced: string[] = [];
    const { c, received, errors } = client(user, { onUnsequenced: (u) => void unsequenced.push(u._id) });
    await c.start();
    const key = scopedRoutingKey('seed', 'MessageUpdate', { tenantId: TENANT, userId: user, userType: 'user' });
    await publish(doc(user, 1));
    await publishRaw(key, 'not json {');
    await publishRaw(key, JSON.stringify({ hello: 'world' }));
    await publish(doc(user, 1, { tenantId: 'tnt_other' })); // another tenant's user with the same id
    await publish(doc(user, undefined));
    await publish(doc(user, 2));
    await waitFor(() => (received.length >= 2 && unsequenced.length === 1 ? true : undefined), {
      timeoutMs: 20_000,
      message: 'both delivered',
    });
    expect(seqs(received)).toEqual([1, 2]);
    expect(errors.map((e) => e.kind).sort()).toEqual(['foreign', 'malformed', 'malformed']);
    expect(errors.find((e) => e.kind === 'foreign')!.message).toContain('tnt_other');
    await settle(user, c, 3);
    await c.stop();
    expect(await queueDepth(`user_${user}_updates`)).toBe(0);
  });

  it('drops an Update without seq with an error when no onUnsequenced handler is set', async () => {
    const user = uniqueName('noseq').replace('.', '_');
    const { c, errors } = client(user);
    await c.start();
    await publish(doc(user, undefined));
    await waitFor(() => (errors.length > 0 ? true : undefined), { timeoutMs: 20_000, message: 'an error' });
    expect(errors[0]!.kind).toBe('unsequenced');
    await settle(user, c, 1);
    await c.stop();
    expect(await queueDepth(`user_${user}_updates`)).toBe(0);
  });

  it('calls a throwing handler again for the same Update and acks only after it resolved', async () => {
    const user = uniqueName('retry').replace('.', '_');
    stored(user, 1, 2);
    const calls: number[] = [];
    let failuresLeft = 2;
    const { c } = client(user, {
      onUpdate: async (u) => {
        calls.push(u.seq);
        if (u.seq === 1 && failuresLeft-- > 0) throw new Error('handler down');
      },
    });
    await c.start();
    await publish(doc(user, 1));
    await publish(doc(user, 2));
    await waitFor(() => (c.position === 2 ? true : undefined), { timeoutMs: 20_000, message: 'position 2' });
    expect(calls).toEqual([1, 1, 1, 2]);
  });

  it('fails after handlerAttempts, leaving the unhandled message in the queue', async () => {
    const user = uniqueName('fail').replace('.', '_');
    const { c, errors } = client(user, {
      handlerAttempts: 2,
      onUpdate: () => {
        throw new Error('always');
      },
    });
    await c.start();
    await publish(doc(user, 1));
    await expect(c.done).rejects.toThrow(/onUpdate failed 2 times for seq 1/);
    expect(c.status().mode).toBe('failed');
    expect(errors.map((e) => e.kind)).toEqual(['handler', 'handler', 'fatal']);
    expect(await queueDepth(`user_${user}_updates`)).toBe(1);
    expect(c.position).toBe(0);
  });

  it('retries a failing API with backoff and never delivers past the gap meanwhile', async () => {
    const user = uniqueName('apifail').replace('.', '_');
    const { c, received, errors } = client(user);
    await c.start();
    await waitFor(() => (c.status().mode === 'live' ? true : undefined), { timeoutMs: 20_000, message: 'live' });
    stored(user, 1, 3);
    api.failNext(3);
    await publish(doc(user, 3));
    await waitFor(() => (received.length >= 3 ? true : undefined), { timeoutMs: 20_000, message: 'three delivered' });
    expect(seqs(received)).toEqual([1, 2, 3]);
    expect(received.map((r) => r.source)).toEqual(['api', 'api', 'api']);
    expect(errors.filter((e) => e.kind === 'api').length).toBe(3);
  });

  it('fails at once on a token the API refuses (401 does not heal)', async () => {
    const user = uniqueName('auth').replace('.', '_');
    const { c } = client(user, { api: { baseUrl: api.baseUrl, token: 'wrong' } });
    await c.start();
    await expect(c.done).rejects.toThrow(/HTTP 401/);
    await expect(c.done).rejects.not.toThrow(/wrong/); // the token is not in the message
  });

  it('subscribes with the tenant-scoped queue and binding in scope tenant, and receives only its tenant', async () => {
    const user = uniqueName('scoped').replace('.', '_');
    stored(user, 1, 2);
    const { c, received } = client(user, { scope: 'tenant' });
    queues.push(`tenant.${TENANT}.user.${user}.updates`);
    await c.start();
    expect(await queueDepth(`tenant.${TENANT}.user.${user}.updates`)).toBe(0); // declared under its scoped name
    await publish(doc(user, 1, { tenantId: 'tnt_other' }, 'tenant')); // routed elsewhere: never arrives
    await publish(doc(user, 1, {}, 'tenant'));
    await publish(doc(user, 2, {}, 'tenant'));
    await waitFor(() => (received.length >= 2 ? true : undefined), { timeoutMs: 20_000, message: 'two delivered' });
    expect(seqs(received)).toEqual([1, 2]);
    expect(c.status().lastError).toBeNull();
  });
});

describe('moving from scope seed to tenant', () => {
  it('receives both formats with alsoBindSeed, in one sequence, and drops the other tenant’s seed-format Updates', async () => {
    const user = uniqueName('migrate').replace('.', '_');
    const { c, received, errors } = client(user, { scope: 'tenant', alsoBindSeed: true });
    queues.push(`tenant.${TENANT}.user.${user}.updates`);
    await c.start();
    await publish(doc(user, 1)); // built before the switch: seed format
    await publish(doc(user, 1, { tenantId: 'tnt_other' })); // the seed binding lets another tenant's in
    await publish(doc(user, 2, {}, 'tenant')); // built after the switch
    await waitFor(() => (received.length >= 2 ? true : undefined), { timeoutMs: 20_000, message: 'two delivered' });
    expect(seqs(received)).toEqual([1, 2]);
    await waitFor(() => (errors.length > 0 ? true : undefined), { timeoutMs: 20_000, message: 'the foreign one reported' });
    expect(errors.map((e) => e.kind)).toEqual(['foreign']);
  });
});

/** Closes, from the broker's side, the connection with this client-provided name. Returns how many. */
async function closeConnectionNamed(name: string): Promise<number> {
  const rows = (await rabbitmqctl('list_connections', '--silent', 'pid', 'client_properties'))
    .split('\n')
    .map((line) => line.trim().split('\t'))
    .filter((cols): cols is [string, string] => cols.length === 2 && cols[1]!.includes(`"${name}"`));
  for (const [pid] of rows) await rabbitmqctl('close_connection', pid, 'closed by a chat3 SDK test');
  return rows.length;
}

describe('a connection closed by the broker', () => {
  it('reconnects, redelivers what was unacked, and still delivers each seq once and in order', async () => {
    const user = uniqueName('reconnect').replace('.', '_');
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const calls: number[] = [];
    const { c } = client(user, {
      onUpdate: async (u) => {
        calls.push(u.seq);
        if (u.seq === 2) await blocked; // seq 2 is in the handler when the connection goes
      },
    });
    try {
      await c.start();
      await waitFor(() => (c.status().mode === 'live' ? true : undefined), { timeoutMs: 20_000, message: 'live' });
      stored(user, 1, 3);
      for (const seq of [1, 2, 3]) await publish(doc(user, seq));
      // The held list keeps seq 2 until its handler resolves.
      await waitFor(() => (calls.includes(2) && c.status().held === 2 ? true : undefined), {
        timeoutMs: 20_000,
        message: 'seq 2 in the handler, 2 and 3 held',
      });
      expect(await closeConnectionNamed(`chat3-updates-client ${TENANT}/${user}`)).toBe(1);
      await waitFor(() => (c.status().held === 0 ? true : undefined), {
        timeoutMs: 20_000,
        message: 'the held messages forgotten with their channel',
      });
      release();
      await waitFor(() => (c.status().connected && c.position >= 2 ? true : undefined), { timeoutMs: 30_000, message: 'reconnected' });
      await settle(user, c, 4);
      expect(calls).toEqual([1, 2, 3, 4]);
    } finally {
      release(); // a handler that never returns would hold stop() too
    }
    await c.stop();
    expect(await queueDepth(`user_${user}_updates`)).toBe(0);
  });
});
