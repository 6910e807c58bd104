import { describe, expect, it } from 'vitest';
import { gaplessPrefix, readPage, readState, type CatchUpStore } from './catch-up';
import { createMemoryCatchUpStore } from './memory-store';

const carl = { tenantId: 'tnt_a', userId: 'carl' };
const seqsOf = (result: Awaited<ReturnType<typeof readPage>>) => (result.kind === 'page' ? result.updates.map((u) => u.seq) : result);

function storeWith(seqs: number[], counter?: number) {
  const store = createMemoryCatchUpStore();
  for (const seq of seqs) store.put(carl, seq);
  if (counter !== undefined) store.setCounter(carl, counter);
  return store;
}

describe('readPage', () => {
  it('pages through the Updates after `after` in seq order, with nextAfter and hasMore', async () => {
    const store = storeWith([1, 2, 3, 4, 5]);
    expect(await readPage(store, carl, { after: 0, limit: 2 })).toMatchObject({ nextAfter: 2, hasMore: true });
    expect(seqsOf(await readPage(store, carl, { after: 2, limit: 2 }))).toEqual([3, 4]);
    expect(await readPage(store, carl, { after: 4, limit: 2 })).toMatchObject({ nextAfter: 5, hasMore: false });
    expect(await readPage(store, carl, { after: 3, limit: 2 })).toMatchObject({ nextAfter: 5, hasMore: false });
  });

  it('answers an empty page at the head, nextAfter = after', async () => {
    expect(await readPage(storeWith([1, 2], 2), carl, { after: 2, limit: 10 })).toEqual({
      kind: 'page',
      updates: [],
      nextAfter: 2,
      hasMore: false,
    });
    expect(await readPage(storeWith([]), carl, { after: 0, limit: 10 })).toMatchObject({ updates: [], nextAfter: 0, hasMore: false });
  });

  it('answers tooLong when retention removed the Updates after `after`, with the oldest stored seq', async () => {
    expect(await readPage(storeWith([4, 5, 6]), carl, { after: 1, limit: 10 })).toEqual({ kind: 'too-long', oldestSeq: 4 });
    expect(await readPage(storeWith([4, 5, 6]), carl, { after: 0, limit: 10 })).toEqual({ kind: 'too-long', oldestSeq: 4 });
    // The oldest one still stored is after+1: served.
    expect(seqsOf(await readPage(storeWith([4, 5, 6]), carl, { after: 3, limit: 10 }))).toEqual([4, 5, 6]);
  });

  it('answers tooLong with state + 1 when nothing after `after` is stored but the counter is ahead', async () => {
    expect(await readPage(storeWith([], 7), carl, { after: 3, limit: 10 })).toEqual({ kind: 'too-long', oldestSeq: 8 });
    expect(await readPage(storeWith([1, 2, 3], 7), carl, { after: 3, limit: 10 })).toEqual({ kind: 'too-long', oldestSeq: 8 });
  });

  it('ends a page before a missing seq, and says there is more', async () => {
    const store = storeWith([1, 2, 3, 5, 6]);
    expect(await readPage(store, carl, { after: 0, limit: 10 })).toMatchObject({ nextAfter: 3, hasMore: true });
    expect(seqsOf(await readPage(store, carl, { after: 0, limit: 10 }))).toEqual([1, 2, 3]);
  });

  it('reads again when seq after+1 is missing, and serves it if it landed meanwhile', async () => {
    const store = storeWith([2, 3]);
    let reads = 0;
    const racing: CatchUpStore = {
      ...store,
      async updatesAfter(r, after, count) {
        reads += 1;
        if (reads === 2) store.put(carl, 1); // a numbering write lands between the two reads
        return store.updatesAfter(r, after, count);
      },
    };
    expect(seqsOf(await readPage(racing, carl, { after: 0, limit: 10 }))).toEqual([1, 2, 3]);
    expect(reads).toBe(2);
  });

  it('answers tooLong for a seq missing in the middle of the stored history', async () => {
    expect(await readPage(storeWith([1, 2, 3, 5, 6]), carl, { after: 3, limit: 10 })).toEqual({ kind: 'too-long', oldestSeq: 5 });
  });

  it('never returns another recipient’s Updates', async () => {
    const store = storeWith([1, 2]);
    store.put({ tenantId: 'tnt_b', userId: 'carl' }, 3);
    store.put({ tenantId: 'tnt_a', userId: 'dora' }, 3);
    expect(await readPage(store, carl, { after: 0, limit: 10 })).toMatchObject({ nextAfter: 2, hasMore: false });
  });
});

describe('readState', () => {
  it('is the higher of the counter and the top stored seq, 0 when neither exists', async () => {
    expect(await readState(storeWith([]), carl)).toBe(0);
    expect(await readState(storeWith([1, 2, 3]), carl)).toBe(3);
    expect(await readState(storeWith([1, 2, 3], 2), carl)).toBe(3);
    expect(await readState(storeWith([1, 2], 9), carl)).toBe(9);
  });
});

describe('gaplessPrefix', () => {
  it('keeps the run after+1, after+2, … at the head', () => {
    const u = (seq: number) => ({ seq, body: '{}' });
    expect(gaplessPrefix([u(5), u(6), u(8)], 4).map((x) => x.seq)).toEqual([5, 6]);
    expect(gaplessPrefix([u(6)], 4)).toEqual([]);
    expect(gaplessPrefix([], 4)).toEqual([]);
  });
});
