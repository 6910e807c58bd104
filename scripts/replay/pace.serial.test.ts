/**
 * The replay's pace against the real MongoDB-compatible server. Run alone (vitest.serial.config.ts): it
 * times the replay, and next to other test files' backlogs a busy FerretDB answers too slowly for any
 * pace to be the replay's own.
 */
import { createTestDatabase, type TestDatabase } from '@chat3/testkit';
import { sleep } from '@chat3/runtime';
import { ObjectId, type Collection } from 'mongodb';
import { afterEach, describe, expect, it } from 'vitest';
import { runReplay, startReplay, type ReplayRecord } from './replay';

let database: TestDatabase | undefined;
afterEach(async () => {
  await database?.drop();
  database = undefined;
});

/** `count` published Updates for `userId`, an hour old, one millisecond apart. */
async function seed(updates: Collection, userId: string, count: number) {
  const start = Date.now() - 3_600_000;
  await updates.insertMany(
    Array.from({ length: count }, (_, i) => ({
      _id: new ObjectId(),
      tenantId: 'tnt_r',
      userId,
      eventId: `evt_${userId}_${i}`,
      createdAt: start + i,
      published: true,
      publishedAt: start + i + 5,
    })),
  );
}

describe('replay pace', () => {
  it('puts Updates back at the rate asked for (within 10 %), oldest first, and records it', async () => {
    database = await createTestDatabase('replay');
    const updates = database.db.collection('updates');
    const replays = database.db.collection<ReplayRecord>('replays');
    await seed(updates, 'rita', 40);
    await seed(updates, 'other', 30);

    const rate = 10; // 40 Updates → 4 s, in chunks of 5 every half second
    const record = await startReplay({ updates, replays }, { filter: { user: 'rita' }, rate, operator: 'test' });
    const flips: number[] = [];
    const started = performance.now();
    const final = await runReplay(
      { updates, replays, sleep, signal: new AbortController().signal, onProgress: ({ done }) => flips.push(done) },
      record,
    );
    const seconds = (performance.now() - started) / 1000;

    expect(Math.abs(40 / seconds - rate) / rate, `${(40 / seconds).toFixed(1)} Updates/s`).toBeLessThan(0.1);
    expect(flips).toEqual([5, 10, 15, 20, 25, 30, 35, 40]);
    expect(final).toMatchObject({ status: 'done', done: 40, selected: 40, operator: 'test' });
    expect(await replays.findOne({ _id: record._id })).toMatchObject({ status: 'done', done: 40, finishedAt: expect.any(Number) });
    const back = await updates.find({ userId: 'rita' }).sort({ createdAt: 1 }).toArray();
    expect(back.every((d) => d.published === false && d.publishedAt === null && d.replayId === record._id)).toBe(true);
    const stamps = back.map((d) => d.republishedAt as number);
    expect(stamps).toEqual([...stamps].sort((a, b) => a - b)); // oldest first
    expect(await updates.countDocuments({ userId: 'other', published: true, replayId: { $exists: false } })).toBe(30);
  });
});
