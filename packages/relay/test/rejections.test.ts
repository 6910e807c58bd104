/**
 * Counting broker rejections and parking against the real MongoDB-compatible server: each write names
 * the Update by `_id` and its recipient (the shard key of a sharded `updates`), and only touches it
 * while it is unpublished.
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

async function setUp() {
  database = await createTestDatabase('rejections');
  const updates = database.db.collection<StoredUpdate>('updates');
  const store = createMongoUpdateStore(updates, database.db.collection('update_seqs'), createSilentLogger());
  return { updates, store };
}

describe('rejections and parking', () => {
  it('counts each rejection and parks the Update at the last allowed one', async () => {
    const { updates, store } = await setUp();
    const doc = makeUpdate('carl', 1) as StoredUpdate;
    await updates.insertOne(doc);
    expect(await store.recordRejection(doc, 'rejected by the broker', 3, 10)).toBe(false);
    expect(await store.recordRejection(doc, 'rejected by the broker', 3, 11)).toBe(false);
    expect(await store.recordRejection(doc, 'rejected by the broker', 3, 12)).toBe(true);
    expect(await updates.findOne({ _id: doc._id })).toMatchObject({
      publishAttempts: 3,
      parked: { reason: 'rejected by the broker', at: 12, attempts: 3 },
      published: false,
    });
    expect(await store.fetchUnpublished([{ from: 0, to: 1024 }], 10)).toEqual([]);
  });

  it('touches only the Update of that recipient, and only while it is unpublished', async () => {
    const { updates, store } = await setUp();
    const open = makeUpdate('carl', 1) as StoredUpdate;
    const sent = { ...(makeUpdate('carl', 2) as StoredUpdate), published: true, publishedAt: 5 };
    await updates.insertMany([open, sent]);
    const elsewhere = { _id: open._id, tenantId: open.tenantId, userId: 'dana' };

    expect(await store.recordRejection(elsewhere, 'rejected by the broker', 1, 10)).toBe(false);
    await store.park(elsewhere, 'too big', 0, 10);
    expect(await updates.findOne({ _id: open._id })).not.toHaveProperty('publishAttempts');
    expect(await updates.findOne({ _id: open._id })).not.toHaveProperty('parked');

    expect(await store.recordRejection(sent, 'rejected by the broker', 1, 10)).toBe(false);
    await store.park(sent, 'too big', 0, 10);
    expect(await updates.findOne({ _id: sent._id })).not.toHaveProperty('parked');

    await store.park(open, 'too big', 0, 11);
    expect((await updates.findOne({ _id: open._id }))?.parked).toEqual({ reason: 'too big', at: 11, attempts: 0 });
  });
});
