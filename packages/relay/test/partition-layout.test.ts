/**
 * The relay partition layout against the real MongoDB-compatible server. Relays starting together
 * all upsert the layout document; the ones that lose the insert race must read it, not crash.
 */
import type { LeaseDoc } from '@chat3/runtime';
import { createTestDatabase } from '@chat3/testkit';
import { describe, expect, it } from 'vitest';
import { createMongoLayoutStore, type LayoutDoc } from '../src/db/partition-layout';

describe('partition layout', () => {
  it('gives every relay starting at once the same first layout, with no duplicate-key error', async () => {
    for (let round = 0; round < 5; round++) {
      const database = await createTestDatabase('layout');
      try {
        const store = createMongoLayoutStore(database.db.collection<LayoutDoc>('leases'), database.db.collection<LeaseDoc>('leases'));
        const layouts = await Promise.all(Array.from({ length: 12 }, () => store.current(4)));
        expect(layouts).toEqual(Array.from({ length: 12 }, () => ({ version: 1, partitions: 4 })));
        expect(await database.db.collection('leases').countDocuments({ kind: 'layout' })).toBe(1);
      } finally {
        await database.drop();
      }
    }
  });
});
