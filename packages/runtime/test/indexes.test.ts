/**
 * Index maintenance against the real MongoDB-compatible server: the idempotency indexes of earlier
 * versions are replaced (the new one first, then the old one dropped), and the new one still refuses a
 * second copy of the same Update while it lets a user-stats emission have several versions.
 */
import { RETIRED_UPDATE_INDEXES, UPDATE_INDEXES } from '@chat3/core';
import { createTestDatabase, type TestDatabase } from '@chat3/testkit';
import type { Collection } from 'mongodb';
import { afterEach, describe, expect, it } from 'vitest';
import { createSilentLogger, ensureIndexes, type IndexedCollection } from '../src';

let database: TestDatabase | undefined;
afterEach(async () => {
  await database?.drop();
  database = undefined;
});

const key = { tenantId: 't', eventId: 'evt_1', userId: 'carl' };

describe('ensureIndexes', () => {
  it('replaces the old idempotency index and keeps Updates unique per event, recipient, type and stats version', async () => {
    database = await createTestDatabase('indexes');
    const updates = database.db.collection('updates');
    await updates.createIndex({ tenantId: 1, eventId: 1, userId: 1, updateType: 1 }, { unique: true, name: 'idempotency' });

    await ensureIndexes(updates, UPDATE_INDEXES, createSilentLogger(), RETIRED_UPDATE_INDEXES);
    const names = (await updates.listIndexes().toArray()).map((i) => i.name);
    expect(names).toContain('idempotency_v3');
    expect(names).not.toContain('idempotency');
    expect(names).not.toContain('idempotency_v2');

    await updates.insertOne({ ...key, updateType: 'MessageUpdate', statsVersion: 0 });
    await expect(updates.insertOne({ ...key, updateType: 'MessageUpdate', statsVersion: 0 })).rejects.toMatchObject({ code: 11000 });
    await updates.insertOne({ ...key, updateType: 'UserStatsUpdate', statsVersion: 1 });
    await updates.insertOne({ ...key, updateType: 'UserStatsUpdate', statsVersion: 2 });
    await expect(updates.insertOne({ ...key, updateType: 'UserStatsUpdate', statsVersion: 2 })).rejects.toMatchObject({ code: 11000 });

    // recipient_seq: a recipient's seq is taken once; Updates not numbered yet do not collide.
    const recipient = { tenantId: 'tnt_1', userId: 'usr_seq' };
    await updates.insertMany([
      { ...recipient, eventId: 'e1' },
      { ...recipient, eventId: 'e2' },
    ]);
    await updates.insertOne({ ...recipient, eventId: 'e3', seq: 1 });
    await updates.insertOne({ tenantId: 'tnt_2', userId: 'usr_seq', eventId: 'e3', seq: 1 }); // another tenant
    await expect(updates.insertOne({ ...recipient, eventId: 'e4', seq: 1 })).rejects.toMatchObject({ code: 11000 });

    // Idempotent: a second run changes nothing.
    await ensureIndexes(updates, UPDATE_INDEXES, createSilentLogger(), RETIRED_UPDATE_INDEXES);
  });

  it('creates idempotency_v3 before it drops idempotency_v2, so a unique key is in force throughout', async () => {
    database = await createTestDatabase('indexes');
    const updates = database.db.collection('updates');
    await updates.createIndex(
      { tenantId: 1, eventId: 1, userId: 1, updateType: 1, statsVersion: 1 },
      { unique: true, name: 'idempotency_v2' },
    );
    await updates.insertOne({ ...key, updateType: 'MessageUpdate', statsVersion: 0 });

    const steps: string[] = [];
    await ensureIndexes(recordSteps(updates, steps), UPDATE_INDEXES, createSilentLogger(), RETIRED_UPDATE_INDEXES);
    expect(steps.indexOf('create idempotency_v3')).toBeGreaterThanOrEqual(0);
    expect(steps.indexOf('create idempotency_v3')).toBeLessThan(steps.indexOf('drop idempotency_v2'));

    const indexes = await updates.listIndexes().toArray();
    expect(indexes.map((i) => i.name)).not.toContain('idempotency_v2');
    // The recipient first: the key a sharded `updates` ({tenantId, userId}) allows a unique index on.
    expect(indexes.find((i) => i.name === 'idempotency_v3')?.key).toEqual({
      tenantId: 1,
      userId: 1,
      eventId: 1,
      updateType: 1,
      statsVersion: 1,
    });
    // The same fields, so the same uniqueness: what v2 held is still refused.
    await expect(updates.insertOne({ ...key, updateType: 'MessageUpdate', statsVersion: 0 })).rejects.toMatchObject({ code: 11000 });
  });
});

/** The collection, with each index created or dropped recorded in `steps`, in order. */
function recordSteps(collection: Collection, steps: string[]): IndexedCollection {
  return {
    collectionName: collection.collectionName,
    async createIndex(spec, options) {
      const name = await collection.createIndex(spec, options);
      steps.push(`create ${options?.name ?? name}`);
      return name;
    },
    listIndexes: () => collection.listIndexes(),
    async dropIndex(name) {
      steps.push(`drop ${name}`);
      return collection.dropIndex(name);
    },
  };
}
