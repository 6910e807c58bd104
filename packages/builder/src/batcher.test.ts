import { describe, expect, it } from 'vitest';
import { createBatcher } from './batcher';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('createBatcher', () => {
  it('flushes as soon as a batch is full', async () => {
    const flushed: number[][] = [];
    const batcher = createBatcher<number>({ maxSize: 3, maxWaitMs: 60_000, flush: async (items) => void flushed.push(items) });
    [1, 2, 3].forEach((n) => batcher.add(n));
    await batcher.drain();
    expect(flushed).toEqual([[1, 2, 3]]);
  });

  it('flushes a partial batch once the oldest item has waited maxWaitMs', async () => {
    const flushed: number[][] = [];
    const done = deferred();
    const batcher = createBatcher<number>({
      maxSize: 100,
      maxWaitMs: 10,
      flush: async (items) => {
        flushed.push(items);
        done.resolve();
      },
    });
    batcher.add(1);
    batcher.add(2);
    expect(flushed).toEqual([]);
    await done.promise;
    expect(flushed).toEqual([[1, 2]]);
  });

  it('runs one flush at a time, in arrival order, and batches what queued meanwhile', async () => {
    const flushed: number[][] = [];
    const gate = deferred();
    let active = 0;
    let maxActive = 0;
    const batcher = createBatcher<number>({
      maxSize: 2,
      maxWaitMs: 0,
      flush: async (items) => {
        active += 1;
        maxActive = Math.max(maxActive, active);
        if (items[0] === 1) await gate.promise;
        flushed.push(items);
        active -= 1;
      },
    });
    batcher.add(1);
    [2, 3, 4, 5].forEach((n) => batcher.add(n));
    expect(batcher.flushing).toBe(true);
    gate.resolve();
    await batcher.drain();
    expect(flushed).toEqual([[1], [2, 3], [4, 5]]);
    expect(maxActive).toBe(1);
    expect(batcher.pending).toBe(0);
  });

  it('drain resolves immediately when idle', async () => {
    const batcher = createBatcher<number>({ maxSize: 2, maxWaitMs: 5, flush: async () => undefined });
    await batcher.drain();
    expect(batcher.flushing).toBe(false);
  });
});
