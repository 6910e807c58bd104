import { ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import type { StoredUpdate } from '@chat3/relay';
import { createMemoryLeaseStores, createMemoryUpdateStore } from './memory-stores';

const ALL = [{ from: 0, to: 1024 }];

function update(createdAt: number, partition = 0): StoredUpdate {
  return { _id: new ObjectId(), createdAt, partition, published: false } as unknown as StoredUpdate;
}

describe('memory update store', () => {
  it('returns unpublished Updates oldest first, within the ranges and before the cut-off, as copies', async () => {
    const store = createMemoryUpdateStore();
    const [a, b, c, d] = [update(30, 5), update(10, 700), update(20, 5), update(40, 5)];
    store.insert([a!, b!, c!, d!]);
    expect((await store.fetchUnpublished(ALL, 10)).map((u) => u.createdAt)).toEqual([10, 20, 30, 40]);
    expect((await store.fetchUnpublished([{ from: 0, to: 512 }], 2)).map((u) => u.createdAt)).toEqual([20, 30]);
    expect((await store.fetchUnpublished(ALL, 10, 30)).map((u) => u.createdAt)).toEqual([10, 20]);
    const [first] = await store.fetchUnpublished(ALL, 1);
    first!.published = true;
    expect((await store.fetchUnpublished(ALL, 1))[0]!.published).toBe(false);
  });

  it('marks only what is unpublished, and resolves drained() with the last mark', async () => {
    const store = createMemoryUpdateStore();
    const docs = [update(1), update(2), update(3)];
    store.insert(docs);
    const drained = store.drained();
    await store.markPublished([docs[0]!._id, docs[1]!._id], 100);
    await store.markPublished([docs[0]!._id], 200); // a repeat is a no-op
    expect(store.open).toBe(1);
    expect((await store.fetchUnpublished(ALL, 10)).map((u) => u.createdAt)).toEqual([3]);
    expect(await store.stillUnpublished(docs.map((d) => d._id))).toEqual(
      new Map([[docs[2]!._id.toHexString(), { seq: null, replayId: null }]]),
    );
    await store.markPublished([docs[2]!._id], 300);
    expect(await drained).toBe(store.stats.lastMarkAt);
    expect(store.stats).toMatchObject({ fetches: 1, marks: 3 });
  });

  it('parks an Update after the last allowed rejection and leaves it out of the work', async () => {
    const store = createMemoryUpdateStore();
    const doc = update(1);
    store.insert([doc]);
    expect(await store.recordRejection(doc, 'nack', 2, 5)).toBe(false);
    expect(await store.recordRejection(doc, 'nack', 2, 6)).toBe(true);
    expect(await store.fetchUnpublished(ALL, 10)).toEqual([]);
    expect(await store.sampleBacklog()).toEqual({ backlog: 0, oldestWaitingSince: null, parked: 1 });
    expect(await store.supportsChangeStreams()).toBe(false);
  });
});

describe('memory lease stores', () => {
  it('gives a free lease to one owner at a time, with a new fence each time', async () => {
    const { leases } = createMemoryLeaseStores();
    await leases.ensureLeases('g', 2);
    const fence = await leases.acquire('g', 0, 'a', 1000, 2000);
    expect(fence).toBe(1);
    expect(await leases.acquire('g', 0, 'b', 1500, 2500)).toBeNull();
    expect(await leases.freePartitions('g', 2, 1500)).toEqual([1]);
    expect(await leases.renew('g', 0, 'a', 1, 1600, 2600)).toBe(true);
    expect(await leases.acquire('g', 0, 'b', 2700, 3700)).toBe(2); // expired
    expect(await leases.renew('g', 0, 'a', 1, 2800, 3800)).toBe(false);
  });

  it('keeps the layout, retires older layouts and returns the oldest saved resume token', async () => {
    const { leases, layouts, resumeTokens } = createMemoryLeaseStores();
    expect(await layouts.current(4)).toEqual({ version: 1, partitions: 4 });
    expect(await layouts.declare(8)).toEqual({ version: 2, partitions: 8 });
    await leases.ensureLeases('relay', 1);
    await leases.acquire('relay', 0, 'a', 0, 10_000);
    expect(await layouts.olderLeasesLive(2, 5)).toBe(true);
    await layouts.retireOlder(2);
    expect(await leases.renew('relay', 0, 'a', 1, 5, 10_000)).toBe(false);

    await leases.ensureLeases('relay@v2', 2);
    await leases.acquire('relay@v2', 0, 'a', 0, 10_000);
    await leases.acquire('relay@v2', 1, 'a', 0, 10_000);
    const tokens = resumeTokens('relay@v2', 'a');
    expect(await tokens.load([0, 1])).toBeNull();
    await tokens.save([0], 'older', 1);
    await tokens.save([1], 'newer', 2);
    expect(await tokens.load([0, 1])).toBe('older');
  });
});
