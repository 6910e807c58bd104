/**
 * The runtime's lease manager against the lease model, in virtual time: releases never block the
 * heartbeat, a graceful release keeps its lease until the work is handed back, and a heartbeat stuck
 * on an unreachable database cannot keep an instance working past the safety margin.
 */
import { createLeaseManager, createSilentLogger, type LeaseManager, type ReleaseReason } from '@chat3/runtime';
import { createRandom } from '@chat3/simulator';
import { afterEach, describe, expect, it } from 'vitest';
import { LeaseModel } from '../src/models/leases';
import { MongoModel, type MongoHost } from '../src/models/mongo';
import { installVirtualTime, type VirtualTime } from '../src/virtual-time';

let vt: VirtualTime | undefined;
afterEach(() => {
  vt?.uninstall();
  vt = undefined;
});

function setUp() {
  vt = installVirtualTime('leases');
  const mongo = new MongoModel({
    random: createRandom('leases'),
    opMs: () => 1,
    majorityLagMs: () => 1,
    durability: { writes: 'majority', reads: 'majority' },
  });
  return { mongo, leases: new LeaseModel(mongo) };
}

function manager(
  leases: LeaseModel,
  host: MongoHost,
  onRelease: (p: number, reason: ReleaseReason) => Promise<void> = async () => undefined,
  onAcquire: (p: number) => Promise<void> = async () => undefined,
): LeaseManager {
  return createLeaseManager({
    store: leases.store(host),
    group: 'g',
    partitions: 2,
    instanceId: host.name,
    ttlMs: 2_000,
    logger: createSilentLogger(),
    onAcquire,
    onRelease,
  });
}

const host = (name: string): MongoHost => ({ name, dead: false, partitionedUntil: 0 });

describe('leases', () => {
  it('keeps renewing its other leases while a graceful release takes long, and holds the released one until it is done', async () => {
    const { leases } = setUp();
    let finishRelease!: () => void;
    const slow = new Promise<void>((resolve) => (finishRelease = resolve));
    const a = manager(leases, host('a'), (p, reason) => (reason === 'rebalance' ? slow : Promise.resolve()));
    await Promise.all([a.start(), vt!.runUntil(100)]);
    expect([...a.owned().keys()].sort()).toEqual([0, 1]);

    const acquiredByB: number[] = [];
    const b = manager(leases, host('b'), undefined, async (p) => void acquiredByB.push(p));
    void b.start();
    await vt!.runUntil(8_000); // many heartbeats: a hands one partition back, but its release hangs
    const releasing = [0, 1].find((p) => a.owned().has(p) && !a.holds(p))!;
    expect(releasing).toBeDefined();
    expect(a.valid(releasing)).toBe(true); // still renewed, so nobody may take it
    expect(acquiredByB).toEqual([]);
    const kept = 1 - releasing;
    expect(a.holds(kept)).toBe(true); // the heartbeat went on for the rest

    finishRelease();
    await vt!.runUntil(12_000);
    expect(acquiredByB).toEqual([releasing]);
    await Promise.all([a.stop(), b.stop(), vt!.runUntil(20_000)]);
  });

  it('stops working on a partition within the safety margin when its heartbeat hangs on an unreachable database', async () => {
    const { leases } = setUp();
    const released: string[] = [];
    const h = host('a');
    const a = manager(leases, h, async (p, reason) => void released.push(`${p}:${reason}`));
    await Promise.all([a.start(), vt!.runUntil(100)]);
    h.partitionedUntil = Date.now() + 60_000; // every call waits for server selection, then fails
    await vt!.runUntil(2_200);
    // The lease TTL is 2 s and the margin 0.5 s: work stops before anyone else could take over.
    expect(a.holds(0)).toBe(false);
    expect(released.sort()).toEqual(['0:expired', '1:expired']);
  });
});
