/**
 * The relay's backlog sample against the real MongoDB-compatible server: a replay of old Updates counts
 * from when it put them back, so the lag gauge does not jump to their age.
 */
import { createSilentLogger } from '@chat3/runtime';
import { createTestDatabase, type TestDatabase } from '@chat3/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { createMongoUpdateStore } from '../src/db/update-store';
import type { StoredUpdate } from '../src/ports';
import { makeUpdate } from './harness';

let database: TestDatabase | undefined;
afterEach(async () => {
  await database?.drop();
  database = undefined;
});

describe('backlog sample', () => {
  it('takes the oldest waiting time from republishedAt for replayed Updates and from createdAt for the rest', async () => {
    database = await createTestDatabase('backlog');
    const updates = database.db.collection<StoredUpdate>('updates');
    const store = createMongoUpdateStore(updates, database.db.collection('update_seqs'), createSilentLogger());
    const now = Date.now();
    const hourAgo = now - 3_600_000;
    await updates.insertMany([
      // Replayed a few seconds ago: an hour old, waiting since then.
      { ...makeUpdate('rita', 1), createdAt: hourAgo, republishedAt: now - 5_000, replayId: 'rpl_1' },
      { ...makeUpdate('rita', 2), createdAt: hourAgo + 1, republishedAt: now - 4_000, replayId: 'rpl_1' },
      // Published long ago and parked: neither counts.
      { ...makeUpdate('sam', 1), createdAt: hourAgo - 5, published: true, publishedAt: hourAgo },
      { ...makeUpdate('sam', 2), createdAt: hourAgo - 4, parked: { reason: 'too big', at: hourAgo, attempts: 1 } },
    ] as StoredUpdate[]);
    expect(await store.sampleBacklog()).toEqual({ backlog: 2, oldestWaitingSince: now - 5_000, parked: 1 });

    await updates.insertOne({ ...makeUpdate('tom', 1), createdAt: now - 9_000 } as StoredUpdate); // live, waiting longer
    expect(await store.sampleBacklog()).toEqual({ backlog: 3, oldestWaitingSince: now - 9_000, parked: 1 });

    await updates.deleteMany({});
    expect(await store.sampleBacklog()).toEqual({ backlog: 0, oldestWaitingSince: null, parked: 0 });
  });
});
