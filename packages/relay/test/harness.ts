/**
 * Shared set-up for the relay's integration tests: a database and an updates exchange of their own,
 * a collector queue bound to every routing key, Update documents as the builder writes them, and
 * relay processes to start and kill.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createMonotonicClock, partitionOf, routingKeyFor, type UpdateDraft } from '@chat3/core';
import {
  createBrokerHelper,
  createTestDatabase,
  repoRoot,
  spawnService,
  testEnv,
  uniqueName,
  waitFor,
  type ManagedProcess,
  type TestDatabase,
} from '@chat3/testkit';
import { MongoClient, ObjectId } from 'mongodb';
import { expect } from 'vitest';

const clock = createMonotonicClock();

/** An Update as the builder writes it, for `userId`, with `seq` in its data for order checks. */
export function makeUpdate(userId: string, seq: number, over: Partial<UpdateDraft> = {}): UpdateDraft & { _id: ObjectId } {
  const userType = over.userType ?? 'user';
  return {
    _id: new ObjectId(),
    tenantId: 'tnt_test',
    userId,
    userType,
    entityId: 'dlg_1',
    eventId: `evt_${seq.toString(16).padStart(32, '0')}`,
    eventType: 'message.create',
    dialogId: 'dlg_1',
    updateType: 'MessageUpdate',
    routingKey: routingKeyFor('MessageUpdate', userType, userId),
    partition: partitionOf('tnt_test', userId),
    data: {
      context: { eventType: 'message.create', dialogId: 'dlg_1', entityId: 'msg_1', includedSections: ['message'] },
      message: {
        messageId: `msg_${seq}`,
        dialogId: 'dlg_1',
        senderId: 'carl',
        type: 'internal.text',
        content: `#${seq}`,
        meta: { seq },
      } as never,
    },
    published: false,
    publishedAt: null,
    statsVersion: 0,
    createdAt: clock(),
    eventCreatedAt: Date.now(),
    ...over,
  };
}

export interface RelayFixtureOptions {
  /** Another server than the shared one (a private stand-in for restart tests). */
  mongoUri?: string;
}

export async function createRelayFixture(prefix: string, options: RelayFixtureOptions = {}) {
  const env = testEnv();
  const mongoUri = options.mongoUri ?? env.mongoUri;
  const database: TestDatabase = options.mongoUri ? await privateDatabase(options.mongoUri, prefix) : await createTestDatabase(prefix);
  const broker = await createBrokerHelper(env.rabbitUrl);
  const exchange = uniqueName('updates');
  const collector = await broker.declareCollector(exchange, ['update.#']);
  const updates = database.db.collection('updates');
  const processes: ManagedProcess[] = [];

  function startRelay(extra: Record<string, string> = {}): ManagedProcess {
    const proc = spawnService({
      name: `relay-${processes.length + 1}`,
      entry: 'packages/relay/src/main.ts',
      env: {
        MONGODB_URI: mongoUri,
        MONGODB_DB: database.name,
        RABBITMQ_URL: env.rabbitUrl,
        RABBITMQ_UPDATES_EXCHANGE: exchange,
        RELAY_PARTITIONS: '4',
        RELAY_POLL_INTERVAL_MS: '50',
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
    await proc.waitForLog((e) => e.msg === 'relay started', 60_000);
  }

  async function insert(docs: Array<UpdateDraft & { _id: ObjectId }>): Promise<void> {
    for (let i = 0; i < docs.length; i += 1_000) await updates.insertMany(docs.slice(i, i + 1_000), { ordered: false });
  }

  /** Every id in `ids` received at least once by the collector. */
  async function waitReceived(ids: Iterable<ObjectId>, timeoutMs: number): Promise<void> {
    const wanted = new Set([...ids].map((id) => id.toHexString()));
    await waitFor(
      () => {
        for (const m of collector.messages) wanted.delete(m.properties.messageId);
        return wanted.size === 0;
      },
      { timeoutMs, message: `all messages received (${wanted.size} missing)` },
    );
  }

  async function waitAllPublished(timeoutMs: number): Promise<void> {
    await waitFor(async () => (await updates.countDocuments({ published: false, parked: { $exists: false } })) === 0, {
      timeoutMs,
      message: 'every Update marked published',
    });
  }

  /** A metric's value from a relay's /metrics. */
  async function metric(proc: ManagedProcess, name: string): Promise<number> {
    const { entry } = await proc.waitForLog((e) => e.msg === 'ops server listening', 10_000);
    const text = await (await fetch(`http://127.0.0.1:${entry!.port}/metrics`)).text();
    return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text)?.[1] ?? NaN);
  }

  /** The sum of every series of a metric (all label values) from a relay's /metrics. */
  async function metricTotal(proc: ManagedProcess, name: string): Promise<number> {
    const { entry } = await proc.waitForLog((e) => e.msg === 'ops server listening', 10_000);
    const text = await (await fetch(`http://127.0.0.1:${entry!.port}/metrics`)).text();
    return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'gm'))].reduce((sum, m) => sum + Number(m[1]), 0);
  }

  /** A relay's /readyz (or /healthz): status and checks. */
  async function readyz(
    proc: ManagedProcess,
    path: '/readyz' | '/healthz' = '/readyz',
  ): Promise<{ status: number; body: { ok: boolean; checks: Record<string, unknown> } }> {
    const { entry } = await proc.waitForLog((e) => e.msg === 'ops server listening', 10_000);
    const res = await fetch(`http://127.0.0.1:${entry!.port}${path}`);
    return { status: res.status, body: (await res.json()) as { ok: boolean; checks: Record<string, unknown> } };
  }

  /** Runs `pnpm republish` (from the sources) with these arguments against the fixture's database; its stdout. */
  async function republish(args: string[]): Promise<string> {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/republish.ts', ...args], {
      cwd: repoRoot,
      env: { ...process.env, MONGODB_URI: database.uri, MONGODB_DB: database.name },
    });
    return stdout;
  }

  async function cleanUp(): Promise<void> {
    await Promise.all(processes.map((p) => p.stop(10_000)));
    await collector.close();
    await broker.channel.deleteExchange(exchange).catch(() => undefined);
    await broker.close();
    await database.drop();
  }

  return {
    env,
    database,
    broker,
    exchange,
    collector,
    updates,
    startRelay,
    started,
    insert,
    waitReceived,
    waitAllPublished,
    metric,
    metricTotal,
    readyz,
    republish,
    cleanUp,
  };
}

export type RelayFixture = Awaited<ReturnType<typeof createRelayFixture>>;

async function privateDatabase(uri: string, prefix: string): Promise<TestDatabase> {
  const client = await MongoClient.connect(uri, { serverSelectionTimeoutMS: 10_000 });
  const name = `t_${prefix}`;
  const db = client.db(name);
  return {
    client,
    db,
    name,
    uri,
    drop: async () => {
      await db.dropDatabase().catch(() => undefined);
      await client.close();
    },
    close: () => client.close(),
  };
}

/** Message ids in arrival order, per recipient (first arrival only). */
export function firstArrivalsByUser(messages: Array<{ body: { userId: string; createdAt: number }; properties: { messageId: string } }>) {
  const seen = new Set<string>();
  const byUser = new Map<string, number[]>();
  for (const m of messages) {
    if (seen.has(m.properties.messageId)) continue;
    seen.add(m.properties.messageId);
    byUser.set(m.body.userId, [...(byUser.get(m.body.userId) ?? []), m.body.createdAt]);
  }
  return byUser;
}

/**
 * The seq contract over what a test's relays did: per recipient, the numbered Updates hold 1..N (no
 * gap, none twice); every published or parked Update is numbered; every message collected carries its
 * Update's seq in the body and the `x-chat3-seq` header; and each recipient's first arrivals come in
 * seq order. Returns the recipients' last seqs.
 */
export async function expectGaplessSeqs(f: Pick<RelayFixture, 'updates' | 'collector'>): Promise<Map<string, number>> {
  const docs = await f.updates.find({}, { projection: { tenantId: 1, userId: 1, seq: 1, published: 1, parked: 1 } }).toArray();
  const recipient = (d: Record<string, unknown>) => `${String(d.tenantId)}/${String(d.userId)}`;
  const seqOf = new Map(docs.map((d) => [d._id.toHexString(), d.seq as number | undefined]));
  const unnumbered = docs.filter((d) => d.seq === undefined && (d.published || d.parked)).map((d) => d._id.toHexString());
  expect(unnumbered, 'published or parked Updates without a seq').toEqual([]);
  const byRecipient = new Map<string, number[]>();
  for (const d of docs) if (d.seq !== undefined) byRecipient.set(recipient(d), [...(byRecipient.get(recipient(d)) ?? []), d.seq as number]);
  const last = new Map<string, number>();
  for (const [r, seqs] of byRecipient) {
    seqs.sort((a, b) => a - b);
    expect(seqs, `seqs of ${r}`).toEqual(seqs.map((_, i) => i + 1));
    last.set(r, seqs.length);
  }
  const wrong = f.collector.messages.filter((m) => {
    const seq = seqOf.get(m.properties.messageId);
    return m.body.seq !== seq || m.properties.headers?.['x-chat3-seq'] !== seq;
  });
  expect(wrong.length, `messages whose seq is not their Update's, e.g. ${wrong[0]?.properties.messageId}`).toBe(0);
  const seen = new Set<string>();
  const arrivals = new Map<string, number[]>();
  for (const m of f.collector.messages) {
    if (seen.has(m.properties.messageId)) continue;
    seen.add(m.properties.messageId);
    const r = recipient(m.body);
    arrivals.set(r, [...(arrivals.get(r) ?? []), m.body.seq]);
  }
  for (const [r, seqs] of arrivals) expect(seqs, `first arrivals of ${r}`).toEqual([...seqs].sort((a, b) => a - b));
  return last;
}
