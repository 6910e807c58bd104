/**
 * Partition leases against the real MongoDB-compatible server: balancing, hand-over on shutdown,
 * take-over after expiry, fencing. Acquisition under true concurrency relies on an atomic
 * findOneAndUpdate, which FerretDB does not give; that test is gated.
 */
import { capabilities, createTestDatabase, gate, waitFor } from '@chat3/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { createLeaseManager, createMongoLeaseStore, createSilentLogger, leaseId, type LeaseDoc, type LeaseManager } from '../src';

const caps = await capabilities();
let cleanup: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

async function leaseCollection() {
  const database = await createTestDatabase('leases');
  cleanup.push(() => database.drop());
  return database.db.collection<LeaseDoc>('leases');
}

function manager(
  collection: Awaited<ReturnType<typeof leaseCollection>>,
  instanceId: string,
  log: string[],
  over: { ttlMs?: number; now?: () => number } = {},
) {
  const m = createLeaseManager({
    store: createMongoLeaseStore(collection),
    group: 'g',
    partitions: 6,
    instanceId,
    ttlMs: over.ttlMs ?? 60_000,
    heartbeatMs: 60_000, // the tests drive tick() themselves
    logger: createSilentLogger(),
    now: over.now,
    onAcquire: async (p) => void log.push(`${instanceId}+${p}`),
    onRelease: async (p, reason) => void log.push(`${instanceId}-${p}:${reason}`),
  });
  cleanup.push(() => m.stop());
  return m;
}

const owned = (m: LeaseManager) => [...m.owned().keys()].sort((a, b) => a - b);

describe('leases', () => {
  it('gives a lone instance every partition, and half to each once a second one joins', async () => {
    const col = await leaseCollection();
    const log: string[] = [];
    const a = manager(col, 'a', log);
    await a.start();
    expect(owned(a)).toEqual([0, 1, 2, 3, 4, 5]);

    const b = manager(col, 'b', log);
    await b.start(); // joins: nothing free yet
    await a.tick(); // a sees two members and hands three back
    await b.tick(); // b takes them
    expect(owned(a)).toHaveLength(3);
    expect(owned(b)).toHaveLength(3);
    expect(new Set([...owned(a), ...owned(b)]).size).toBe(6);
    expect(log.filter((l) => l.endsWith(':rebalance'))).toHaveLength(3);
  });

  it('hands its partitions back on stop, so another instance takes them at once', async () => {
    const col = await leaseCollection();
    const log: string[] = [];
    const a = manager(col, 'a', log);
    const b = manager(col, 'b', log);
    await a.start();
    await b.start();
    await a.tick();
    await b.tick();
    await a.stop();
    await b.tick();
    expect(owned(b)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(log.filter((l) => l.startsWith('a-') && l.endsWith(':shutdown'))).toHaveLength(3);
  });

  it('takes over the partitions of an instance that stopped heart-beating, once its leases expire', async () => {
    const col = await leaseCollection();
    let clock = Date.now();
    const now = () => clock;
    const log: string[] = [];
    const dead = manager(col, 'dead', log, { ttlMs: 5_000, now });
    await dead.start();
    const alive = manager(col, 'alive', log, { ttlMs: 5_000, now });
    await alive.start();
    expect(owned(alive)).toEqual([]);
    clock += 6_000; // `dead` never ticks again
    await alive.tick();
    expect(owned(alive)).toEqual([0, 1, 2, 3, 4, 5]);
    const fences = await col.find({ kind: 'lease', group: 'g' }).toArray();
    expect(fences.every((l) => l.fence === 2 && l.owner === 'alive')).toBe(true);
  });

  it('fences a stale owner: its renewal fails and it stops working on the partition', async () => {
    const col = await leaseCollection();
    const log: string[] = [];
    const a = manager(col, 'a', log);
    await a.start();
    // Someone else took partition 0 (as after an expiry): owner and fence moved on.
    await col.updateOne({ _id: leaseId('g', 0) }, { $set: { owner: 'z' }, $inc: { fence: 1 } });
    await a.tick();
    expect(owned(a)).not.toContain(0);
    expect(a.holds(0)).toBe(false);
    expect(log).toContain('a-0:lost');
  });

  it('stops holding a partition it cannot renew before the lease could expire', async () => {
    const col = await leaseCollection();
    let clock = Date.now();
    const a = manager(col, 'a', [], { ttlMs: 4_000, now: () => clock });
    await a.start();
    expect(a.holds(0)).toBe(true);
    clock += 3_500; // no heartbeat got through for most of the TTL
    expect(a.holds(0)).toBe(false);
  });

  it.skipIf(
    gate(caps.server === 'mongodb', 'an atomic findOneAndUpdate (MongoDB)', 'many instances racing for one free lease: exactly one wins'),
  )('lets exactly one of many racing instances acquire a free lease', async () => {
    const col = await leaseCollection();
    const managers = Array.from({ length: 8 }, (_, i) =>
      createLeaseManager({
        store: createMongoLeaseStore(col),
        group: 'race',
        partitions: 1,
        instanceId: `m${i}`,
        ttlMs: 60_000,
        heartbeatMs: 60_000,
        logger: createSilentLogger(),
        onAcquire: async () => undefined,
        onRelease: async () => undefined,
      }),
    );
    cleanup.push(async () => void (await Promise.all(managers.map((m) => m.stop()))));
    await Promise.all(managers.map((m) => m.start()));
    await waitFor(() => managers.some((m) => m.owned().size > 0), { timeoutMs: 5_000, message: 'someone acquired' });
    expect(managers.filter((m) => m.owned().size > 0)).toHaveLength(1);
  });
});
