/** Recipient buckets and relay partition ranges. */
import { describe, expect, it } from 'vitest';
import { bucketRange, bucketRanges, hashKey, PARTITION_BUCKETS, partitionOf, relayPartitionOf } from './partition';

describe('hashKey', () => {
  it('is 32-bit FNV-1a over UTF-8 (standard test vectors)', () => {
    expect(hashKey([''])).toBe(0x811c9dc5);
    expect(hashKey(['a'])).toBe(0xe40c292c);
    expect(hashKey(['foobar'])).toBe(0xbf9cf968);
  });

  it('joins parts with a NUL so that part boundaries matter', () => {
    expect(hashKey(['ab', 'c'])).not.toBe(hashKey(['a', 'bc']));
  });
});

describe('partitionOf', () => {
  it('gives known, stable buckets (changing them would reorder in-flight Updates)', () => {
    expect(PARTITION_BUCKETS).toBe(1024);
    expect(hashKey(['tnt_default', 'carl'])).toBe(0xf4bec46f);
    expect(partitionOf('tnt_default', 'carl')).toBe(111);
    expect(partitionOf('tnt_default', 'bot_123')).toBe(21);
    expect(partitionOf('tnt_default', 'Юлия')).toBe(334);
  });

  it('depends on the tenant as well as the user', () => {
    const buckets = new Set(['t1', 't2', 't3', 't4', 't5', 't6', 't7', 't8'].map((t) => partitionOf(t, 'carl')));
    expect(buckets.size).toBeGreaterThan(1);
  });

  it('always lands in 0..1023 and spreads users over many buckets', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 20_000; i++) {
      const bucket = partitionOf('tnt_default', `user_${i}`);
      expect(Number.isInteger(bucket) && bucket >= 0 && bucket < PARTITION_BUCKETS).toBe(true);
      seen.add(bucket);
    }
    expect(seen.size).toBe(PARTITION_BUCKETS);
  });
});

describe('bucketRange', () => {
  it.each([1, 2, 3, 4, 5, 7, 8, 16, 100, 1000, 1023, 1024])(
    'covers every bucket exactly once, in order, with %i relay partitions',
    (count) => {
      const owners = new Array<number>(PARTITION_BUCKETS).fill(-1);
      let expectedFrom = 0;
      for (let index = 0; index < count; index++) {
        const { from, to } = bucketRange(index, count);
        expect(from).toBe(expectedFrom);
        expect(to).toBeGreaterThan(from);
        for (let b = from; b < to; b++) {
          expect(owners[b]).toBe(-1);
          owners[b] = index;
        }
        expectedFrom = to;
      }
      expect(expectedFrom).toBe(PARTITION_BUCKETS);
      expect(owners.every((o) => o >= 0)).toBe(true);
      // relayPartitionOf is the inverse of bucketRange.
      owners.forEach((owner, bucket) => expect(relayPartitionOf(bucket, count)).toBe(owner));
    },
  );

  it('gives partitions sizes that differ by at most one bucket', () => {
    for (const count of [3, 7, 100]) {
      const sizes = Array.from({ length: count }, (_, i) => {
        const r = bucketRange(i, count);
        return r.to - r.from;
      });
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
  });

  it('gives a single partition all buckets', () => {
    expect(bucketRange(0, 1)).toEqual({ from: 0, to: 1024 });
  });

  it.each([0, -1, 1.5, 1025, Number.NaN])('rejects the partition count %s', (count) => {
    expect(() => bucketRange(0, count)).toThrow(RangeError);
    expect(() => bucketRange(0, count)).toThrow(/partition count must be 1\.\.1024/);
  });

  it.each([
    [-1, 4],
    [4, 4],
    [1.5, 4],
    [Number.NaN, 4],
  ])('rejects the partition index %s of %s', (index, count) => {
    expect(() => bucketRange(index, count)).toThrow(RangeError);
    expect(() => bucketRange(index, count)).toThrow(/partition index must be 0\.\.3/);
  });
});

describe('bucketRanges', () => {
  it('merges adjacent partitions and keeps gaps apart, whatever order they are given in', () => {
    expect(bucketRanges([3, 0, 1], 4)).toEqual([
      { from: 0, to: 512 },
      { from: 768, to: 1024 },
    ]);
  });

  it('covers everything when given every partition', () => {
    expect(bucketRanges([0, 1, 2, 3, 4, 5, 6], 7)).toEqual([{ from: 0, to: 1024 }]);
  });

  it('is empty for no partitions', () => {
    expect(bucketRanges([], 4)).toEqual([]);
  });

  it('does not alter the caller’s array', () => {
    const partitions = [2, 0];
    bucketRanges(partitions, 4);
    expect(partitions).toEqual([2, 0]);
  });
});
