/**
 * Retention against the real MongoDB-compatible server: the deleter's queries and loop (forced into
 * deleter mode, so they run on every server), its rate bound, one deleter at a time by lease, and a
 * real relay process stamping `publishedDate` and removing expired Updates (by its deleter on the
 * stand-in, by the TTL index on MongoDB). Creating and changing the TTL index is gated on the server.
 */
import { createLoopHealth, createMongoLeaseStore, createSilentLogger, sleep, type LeaseDoc } from '@chat3/runtime';
import { capabilities, createTestDatabase, gate, waitFor, type TestDatabase } from '@chat3/testkit';
import type { Collection } from 'mongodb';
import { afterEach, describe, expect, it } from 'vitest';
import { createMongoRetentionStore, RETENTION_INDEX_NAME } from '../src/db/retention-store';
import type { StoredUpdate } from '../src/ports';
import { createRetention, type Retention, type RetentionStore } from '../src/retention';
import { createRelayFixture, makeUpdate, type RelayFixture } from './harness';

const caps = await capabilities();
const HOUR = 3_600_000;

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

async function database(): Promise<TestDatabase> {
  const db = await createTestDatabase('retention');
  cleanup.push(() => db.drop());
  return db;
}

/** A published Update, published `ageMs` ago. */
function published(userId: string, i: number, ageMs: number) {
  const at = Date.now() - ageMs;
  return { ...makeUpdate(userId, i), published: true, publishedAt: at, publishedDate: new Date(at) };
}

function recordingMetrics() {
  const m = { deleted: 0, oldest: [] as number[] };
  return {
    m,
    metrics: { retentionDeleted: { inc: (n = 1) => void (m.deleted += n) }, oldestRetained: { set: (v: number) => void m.oldest.push(v) } },
  };
}

interface DeleterOptions {
  updates: Collection<StoredUpdate>;
  db: TestDatabase;
  instanceId?: string;
  batchSize?: number;
  intervalMs?: number;
  retentionSeconds?: number;
  /** Sees every call of the real store. */
  spy?: (call: 'expiredIds' | 'deleteExpired', phase: 'start' | 'end', result?: unknown) => void;
}

/** A retention in deleter mode (whatever the server can do), on the real store. */
function startDeleter(options: DeleterOptions) {
  const real = createMongoRetentionStore(options.updates, options.db.db, createSilentLogger());
  const spy = options.spy ?? (() => undefined);
  const store: RetentionStore = {
    ensureIndex: async () => 'deleter',
    async expiredIds(cutoff, limit) {
      spy('expiredIds', 'start');
      const ids = await real.expiredIds(cutoff, limit);
      spy('expiredIds', 'end', ids);
      return ids;
    },
    async deleteExpired(ids, cutoff) {
      spy('deleteExpired', 'start');
      const n = await real.deleteExpired(ids, cutoff);
      spy('deleteExpired', 'end', n);
      return n;
    },
    oldestRetained: () => real.oldestRetained(),
  };
  const { m, metrics } = recordingMetrics();
  const loops = createLoopHealth({ wedgedAfterMs: 60_000 });
  const retention: Retention = createRetention({
    store,
    leases: createMongoLeaseStore(options.db.db.collection<LeaseDoc>('leases')),
    instanceId: options.instanceId ?? 'solo',
    leaseTtlMs: 2_000,
    retentionSeconds: options.retentionSeconds ?? 3_600,
    batchSize: options.batchSize ?? 10,
    intervalMs: options.intervalMs ?? 20,
    sampleIntervalMs: 100,
    metrics,
    loops,
    logger: createSilentLogger(),
  });
  retention.start();
  cleanup.push(() => retention.stop());
  return { retention, m, loops };
}

describe('the retention deleter (servers without TTL indexes)', () => {
  it('started on an empty collection, deletes what is published later one retention after, not after its idle minute', async () => {
    const db = await database();
    const updates = db.db.collection<StoredUpdate>('updates');
    await db.db.createCollection('updates');
    const { m } = startDeleter({ updates, db, retentionSeconds: 1, intervalMs: 100 });
    await sleep(500); // its first round found nothing stored
    await updates.insertMany(Array.from({ length: 5 }, (_, i) => published('late', i, 0)));
    await waitFor(async () => (await updates.countDocuments({ userId: 'late' })) === 0, {
      timeoutMs: 15_000,
      message: 'Updates published after an empty round deleted about a second later',
    });
    expect(m.deleted).toBe(5);
  });

  it('deletes published Updates past the retention, and keeps recent, unpublished, parked and put-back ones', async () => {
    const db = await database();
    const updates = db.db.collection<StoredUpdate>('updates');
    const old = Array.from({ length: 25 }, (_, i) => published('old', i, 2 * HOUR));
    const recent = Array.from({ length: 5 }, (_, i) => published('recent', i, 10 * 60_000));
    // Created long ago, never published: no publishedDate.
    const unpublished = Array.from({ length: 5 }, (_, i) => makeUpdate('waiting', i, { createdAt: Date.now() - 3 * HOUR }));
    const parked = Array.from({ length: 3 }, (_, i) => ({
      ...makeUpdate('parked', i, { createdAt: Date.now() - 3 * HOUR }),
      parked: { reason: 'body too large', at: Date.now() - 2 * HOUR, attempts: 5 },
    }));
    // Published long ago, then put back by `pnpm republish` (which unsets publishedDate).
    const putBack = Array.from({ length: 3 }, (_, i) => ({
      ...makeUpdate('replayed', i, { createdAt: Date.now() - 3 * HOUR }),
      republishedAt: Date.now() - 2 * HOUR,
      replayId: 'rpl_test',
    }));
    await updates.insertMany([...old, ...recent, ...unpublished, ...parked, ...putBack] as StoredUpdate[]);

    const { m } = startDeleter({ updates, db, batchSize: 10 });
    await waitFor(async () => (await updates.countDocuments({ userId: 'old' })) === 0, {
      timeoutMs: 20_000,
      message: 'old Updates deleted',
    });
    expect(m.deleted).toBe(25);
    const left = await updates.find({}, { projection: { userId: 1 } }).toArray();
    expect(left.map((d) => String(d._id)).sort()).toEqual(
      [...recent, ...unpublished, ...parked, ...putBack].map((d) => String(d._id)).sort(),
    );
    // The gauge: the oldest retained is a recent one, ten minutes old.
    await waitFor(() => (m.oldest.at(-1) ?? 0) > 590 && (m.oldest.at(-1) ?? 0) < 620, {
      timeoutMs: 5_000,
      message: 'oldest retained ≈ 600 s',
    });
  });

  it('never deletes an Update put back between finding and deleting it', async () => {
    const db = await database();
    const updates = db.db.collection<StoredUpdate>('updates');
    const docs = Array.from({ length: 4 }, (_, i) => published('race', i, 2 * HOUR));
    await updates.insertMany(docs as StoredUpdate[]);
    const store = createMongoRetentionStore(updates, db.db, createSilentLogger());
    const cutoff = new Date(Date.now() - HOUR);
    const ids = await store.expiredIds(cutoff, 10);
    expect(ids).toHaveLength(4);
    await updates.updateOne({ _id: docs[0]!._id }, { $set: { published: false, publishedAt: null }, $unset: { publishedDate: '' } });
    expect(await store.deleteExpired(ids, cutoff)).toBe(3);
    expect(await updates.find({}).toArray()).toMatchObject([{ _id: docs[0]!._id, published: false }]);
  });

  it('starts a batch at most every RELAY_RETENTION_INTERVAL_MS, each at most RELAY_RETENTION_BATCH Updates', async () => {
    const db = await database();
    const updates = db.db.collection<StoredUpdate>('updates');
    await updates.insertMany(Array.from({ length: 50 }, (_, i) => published('many', i, 2 * HOUR)) as StoredUpdate[]);
    const starts: number[] = [];
    const sizes: number[] = [];
    const { m } = startDeleter({
      updates,
      db,
      batchSize: 10,
      intervalMs: 300,
      spy: (call, phase, result) => {
        if (call === 'expiredIds' && phase === 'start') starts.push(performance.now());
        if (call === 'deleteExpired' && phase === 'end') sizes.push(result as number);
      },
    });
    await waitFor(() => m.deleted === 50, { timeoutMs: 30_000, message: 'all 50 deleted' });
    expect(sizes).toEqual([10, 10, 10, 10, 10]);
    // Five full batches: the fifth starts at least four intervals after the first.
    const gaps = starts.slice(1, 5).map((t, i) => t - starts[i]!);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(295);
    expect(starts[4]! - starts[0]!).toBeGreaterThanOrEqual(4 * 295);
  });

  it('stops between batches on shutdown, without waiting out the interval', async () => {
    const db = await database();
    const updates = db.db.collection<StoredUpdate>('updates');
    await updates.insertMany(Array.from({ length: 30 }, (_, i) => published('slow', i, 2 * HOUR)) as StoredUpdate[]);
    let calls = 0;
    const { retention, m } = startDeleter({
      updates,
      db,
      batchSize: 10,
      intervalMs: 600_000,
      spy: (_c, phase) => void (phase === 'start' && calls++),
    });
    await waitFor(() => m.deleted === 10, { timeoutMs: 10_000, message: 'first batch deleted' });
    const stoppedAt = performance.now();
    await retention.stop();
    expect(performance.now() - stoppedAt).toBeLessThan(5_000);
    expect(retention.state).toBe('stopped');
    const callsAtStop = calls;
    expect(await updates.countDocuments()).toBe(20);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(calls).toBe(callsAtStop);
  });

  it('survives database errors: logs, backs off and tries again', async () => {
    const db = await database();
    const updates = db.db.collection<StoredUpdate>('updates');
    await updates.insertMany(Array.from({ length: 10 }, (_, i) => published('flaky', i, 2 * HOUR)) as StoredUpdate[]);
    let failures = 2;
    const { retention, m, loops } = startDeleter({
      updates,
      db,
      spy: (call, phase) => {
        if (call === 'expiredIds' && phase === 'start' && failures-- > 0)
          throw Object.assign(new Error('connection reset'), { code: 'ECONNRESET' });
      },
    });
    type LoopReport = { lastError: string | null; lastErrorAt: string | null; lastProgressAt: string | null };
    const deleterHealth = () => (loops.report().checks.loops as Record<string, LoopReport>).retention!;
    await waitFor(() => deleterHealth().lastError === 'connection reset', { timeoutMs: 10_000, message: 'the error recorded' });
    await waitFor(() => m.deleted === 10, { timeoutMs: 20_000, message: 'deleted after the errors' });
    expect(retention.state).toBe('deleting');
    // Its health shows it recovered: progress after the last error.
    expect(deleterHealth().lastProgressAt! >= deleterHealth().lastErrorAt!).toBe(true);
    expect(loops.report().ok).toBe(true);
  });

  it('runs on one relay at a time: the lease holder deletes, the other waits and takes over when it stops', async () => {
    const db = await database();
    const updates = db.db.collection<StoredUpdate>('updates');
    await updates.insertMany(Array.from({ length: 40 }, (_, i) => published('pair', i, 2 * HOUR)) as StoredUpdate[]);
    let active: string | null = null;
    let overlaps = 0;
    // Each deleter's calls are sequential; a call starting while the other's is running is an overlap.
    const spyFor = (id: string) => (_call: string, phase: string) => {
      if (phase === 'start') {
        if (active !== null && active !== id) overlaps += 1;
        active = id;
      } else if (active === id) active = null;
    };
    const a = startDeleter({ updates, db, instanceId: 'a', batchSize: 5, intervalMs: 100, spy: spyFor('a') });
    await waitFor(() => a.retention.state === 'deleting', { timeoutMs: 10_000, message: 'a holds the retention lease' });
    const b = startDeleter({ updates, db, instanceId: 'b', batchSize: 5, intervalMs: 100, spy: spyFor('b') });
    await waitFor(() => b.retention.state === 'standby', { timeoutMs: 10_000, message: 'b waits' });
    await waitFor(() => a.m.deleted === 40, { timeoutMs: 30_000, message: 'a deleted all 40' });
    expect(b.m.deleted).toBe(0);
    expect(b.retention.state).toBe('standby');

    await a.retention.stop();
    await updates.insertMany(Array.from({ length: 7 }, (_, i) => published('later', i, 2 * HOUR)) as StoredUpdate[]);
    await waitFor(() => b.m.deleted === 7, { timeoutMs: 20_000, message: 'b took over and deleted the 7 newer ones' });
    expect(b.retention.state).toBe('deleting');
    expect(overlaps).toBe(0);
  });
});

describe('a relay process', () => {
  let fixture: RelayFixture | undefined;
  afterEach(async () => {
    await fixture?.cleanUp();
    fixture = undefined;
  });

  it('stamps publishedDate when it marks published, and removes the Updates once past UPDATES_RETENTION', async () => {
    fixture = await createRelayFixture('retention');
    const { updates } = fixture;
    const docs = Array.from({ length: 20 }, (_, i) => makeUpdate('dora', i));
    const parked = { ...makeUpdate('pat', 1), parked: { reason: 'body too large', at: Date.now(), attempts: 5 } };
    await fixture.insert([...docs, parked]);
    const relay = fixture.startRelay({ UPDATES_RETENTION: '4s', RELAY_RETENTION_INTERVAL_MS: '100', RELAY_STATS_INTERVAL_MS: '200' });
    await fixture.started(relay);
    await fixture.waitAllPublished(30_000);
    const stamped = await updates.find({ published: true }).toArray();
    expect(stamped).toHaveLength(20);
    for (const d of stamped) expect(d.publishedDate).toEqual(new Date(d.publishedAt as number));
    expect(await updates.findOne({ userId: 'pat' })).not.toHaveProperty('publishedDate');

    // MongoDB's TTL monitor runs every 60 s; the stand-in's deleter sleeps until the oldest expires.
    await waitFor(async () => (await updates.countDocuments({ userId: 'dora' })) === 0, {
      timeoutMs: caps.ttlIndexes ? 150_000 : 30_000,
      message: 'published Updates removed after the retention',
    });
    expect(await updates.countDocuments({ userId: 'pat', published: false })).toBe(1);
    if (!caps.ttlIndexes) expect(await fixture.metric(relay, 'chat3_relay_retention_deleted_total')).toBe(20);
    expect(await fixture.metric(relay, 'chat3_relay_oldest_retained_seconds')).toBeGreaterThanOrEqual(0);
    await relay.stop(10_000);
    expect(await relay.exited).toEqual({ code: 0, signal: null });
    // The deleter's lease (stand-in) was handed back on shutdown, not left to expire.
    const leases = fixture.database.db.collection<LeaseDoc>('leases');
    expect(await leases.countDocuments({ group: 'retention', kind: 'lease', owner: { $ne: null } })).toBe(0);
    if (!caps.ttlIndexes) expect(await leases.countDocuments({ group: 'retention', kind: 'lease' })).toBe(1);
  }, 200_000);

  it.skipIf(gate(caps.ttlIndexes, 'ttlIndexes', 'the relay creating, changing (collMod) and dropping the TTL index on publishedDate'))(
    'ensures the TTL index: created with the retention, changed in place, dropped at 0',
    async () => {
      fixture = await createRelayFixture('retention_ttl');
      const retentionIndex = async () =>
        (await fixture!.updates.listIndexes().toArray()).find((index) => index.name === RETENTION_INDEX_NAME) as
          { key: unknown; expireAfterSeconds?: number } | undefined;
      for (const [setting, seconds] of [
        ['7d', 604_800],
        ['36h', 129_600],
      ] as const) {
        const relay = fixture.startRelay({ UPDATES_RETENTION: setting });
        await relay.waitForLog((e) => e.msg === 'retention', 60_000);
        expect(await retentionIndex()).toMatchObject({ key: { publishedDate: 1 }, expireAfterSeconds: seconds });
        await relay.stop(10_000);
      }
      const off = fixture.startRelay({ UPDATES_RETENTION: '0' });
      await off.waitForLog((e) => e.msg === 'retention' && e.enforcement === 'off', 60_000);
      expect(await retentionIndex()).toBeUndefined();
      await off.stop(10_000);
    },
    120_000,
  );
});

describe('ensuring the index on this server', () => {
  it('reports how retention is enforced: ttl where the server keeps the expiry, else the deleter with a plain index', async () => {
    const db = await database();
    await db.db.createCollection('updates');
    const store = createMongoRetentionStore(db.db.collection<StoredUpdate>('updates'), db.db, createSilentLogger());
    expect(await store.ensureIndex(3_600)).toBe(caps.ttlIndexes ? 'ttl' : 'deleter');
    const index = (await db.db.collection('updates').listIndexes().toArray()).find((i) => i.name === RETENTION_INDEX_NAME);
    expect(index).toMatchObject({ key: { publishedDate: 1 } });
    expect(index?.expireAfterSeconds).toBe(caps.ttlIndexes ? 3_600 : undefined);
    expect(await store.ensureIndex(7_200)).toBe(caps.ttlIndexes ? 'ttl' : 'deleter');
    expect(await store.ensureIndex(0)).toBe('off');
    expect((await db.db.collection('updates').listIndexes().toArray()).some((i) => i.name === RETENTION_INDEX_NAME)).toBe(false);
  });
});
