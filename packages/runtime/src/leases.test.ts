import { describe, expect, it } from 'vitest';
import { fairShare } from './leases';

describe('fairShare', () => {
  it('splits partitions so shares differ by at most one and add up', () => {
    for (const partitions of [1, 7, 8, 16, 64]) {
      for (let members = 1; members <= 10; members++) {
        const shares = Array.from({ length: members }, (_, rank) => fairShare(partitions, members, rank));
        expect(shares.reduce((a, b) => a + b, 0)).toBe(partitions);
        expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(1);
      }
    }
  });
});
