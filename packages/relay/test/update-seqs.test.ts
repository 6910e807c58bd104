/**
 * The seq queries against the real MongoDB-compatible server: the ordered numbering write and what
 * stops it, the repair, the counters. The relay's correctness rests on these semantics.
 */
import { UPDATE_INDEXES } from '@chat3/core';
import { createSilentLogger, ensureIndexes } from '@chat3/runtime';
import { createTestDatabase, testEnv, type TestDatabase } from '@chat3/testkit';
import { ObjectId } from 'mongodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assignSeqOps, createMongoSeqStore, isStray, straysFilter, type SeqCounterDoc } from '../src/db/update-seqs';
import { recipientKey, type StoredUpdate } from '../src/ports';
import { makeUpdate } from './harness';

const carl = { tenantId: 'tnt_test', userId: 'carl' };
const dana = { tenantId: 'tnt_test', userId: 'dana' };

describe('update seqs on the server', () => {
  let database: TestDatabase;
  let store: ReturnType<typeof createMongoSeqStore>;
  const updates = () => database.db.collection<StoredUpdate>('updates');
  const counters = () => database.db.collection<SeqCounterDoc>('update_seqs');
  const seqOf = async (id: ObjectId) => (await updates().findOne({ _id: id }))?.seq;

  beforeEach(async () => {
    database = await createTestDatabase('seqs');
    await ensureIndexes(updates(), UPDATE_INDEXES, createSilentLogger());
    store = createMongoSeqStore(updates(), counters());
  });
  afterEach(async () => {
    await database.drop();
  });

  it('numbers Updates in one write', async () => {
    const [a, b, c] = [makeUpdate('carl', 1), makeUpdate('carl', 2), makeUpdate('dana', 3)];
    await updates().insertMany([a, b, c] as StoredUpdate[]);
    const done = await store.assignSeqs([
      { id: a._id, recipient: carl, seq: 1 },
      { id: b._id, recipient: carl, seq: 2 },
      { id: c._id, recipient: dana, seq: 1 },
    ]);
    expect(done).toEqual(new Set([a, b, c].map((d) => d._id.toHexString())));
    expect([await seqOf(a._id), await seqOf(b._id), await seqOf(c._id)]).toEqual([1, 2, 1]);
  });

  it('stops at a seq already taken for the recipient: nothing after it is numbered', async () => {
    const taken = makeUpdate('carl', 1);
    const [a, b, c] = [makeUpdate('dana', 2), makeUpdate('carl', 3), makeUpdate('dana', 4)];
    await updates().insertMany([{ ...taken, seq: 1 }, a, b, c] as StoredUpdate[]);
    const done = await store.assignSeqs([
      { id: a._id, recipient: dana, seq: 1 },
      { id: b._id, recipient: carl, seq: 1 },
      { id: c._id, recipient: dana, seq: 2 },
    ]);
    expect(done).toEqual(new Set([a._id.toHexString()]));
    expect([await seqOf(a._id), await seqOf(b._id), await seqOf(c._id)]).toEqual([1, undefined, undefined]);
  });

  it('keeps the seq an Update has, stops there, and counts it done only when it is the one asked for', async () => {
    const [a, b] = [makeUpdate('carl', 1), makeUpdate('carl', 2)];
    await updates().insertMany([{ ...a, seq: 4 }, b] as StoredUpdate[]);
    expect(
      await store.assignSeqs([
        { id: a._id, recipient: carl, seq: 5 },
        { id: b._id, recipient: carl, seq: 6 },
      ]),
    ).toEqual(new Set());
    expect([await seqOf(a._id), await seqOf(b._id)]).toEqual([4, undefined]);
    // The answer of an earlier write was lost: asked again for the seq it holds, it is done.
    expect(
      await store.assignSeqs([
        { id: a._id, recipient: carl, seq: 4 },
        { id: b._id, recipient: carl, seq: 5 },
      ]),
    ).toEqual(new Set([a._id.toHexString()]));
    expect(await updates().countDocuments({})).toBe(2);
  });

  it('deletes the stray an upsert leaves for an Update deleted meanwhile, and does not count it', async () => {
    const a = makeUpdate('carl', 1);
    const gone = new ObjectId();
    await updates().insertOne(a as StoredUpdate);
    const done = await store.assignSeqs([
      { id: gone, recipient: carl, seq: 1 },
      { id: a._id, recipient: carl, seq: 2 },
    ]);
    expect(done).toEqual(new Set([a._id.toHexString()]));
    expect(await updates().countDocuments({ _id: gone })).toBe(0);
  });

  it('upserts with the recipient, so a stray carries it, and still tells the stray from an Update and deletes only it', async () => {
    const a = makeUpdate('carl', 1);
    const gone = new ObjectId();
    await updates().insertOne(a as StoredUpdate);
    // The write as assignSeqs sends it, without the delete that follows: the stray it leaves.
    const result = await updates().bulkWrite(
      assignSeqOps([
        { id: gone, recipient: carl, seq: 1 },
        { id: a._id, recipient: carl, seq: 2 },
      ]),
      { ordered: true },
    );
    expect(Object.values(result.upsertedIds)).toEqual([gone]);
    const stray = (await updates().findOne({ _id: gone }))!;
    expect(stray).toEqual({ _id: gone, ...carl, seq: 1 });
    expect(isStray(stray)).toBe(true);
    expect(isStray((await updates().findOne({ _id: a._id }))!)).toBe(false);
    await updates().deleteMany(straysFilter([gone, a._id]));
    expect(
      await updates()
        .find({}, { projection: { seq: 1 } })
        .toArray(),
    ).toEqual([{ _id: a._id, seq: 2 }]);
  });

  it('deletes a stray made before the write stopped, and counts neither it nor what came after', async () => {
    const [taken, b] = [makeUpdate('carl', 1), makeUpdate('carl', 2)];
    const gone = new ObjectId();
    await updates().insertMany([{ ...taken, seq: 2 }, b] as StoredUpdate[]);
    const done = await store.assignSeqs([
      { id: gone, recipient: carl, seq: 1 },
      { id: b._id, recipient: carl, seq: 2 },
    ]);
    expect(done).toEqual(new Set());
    expect(await updates().countDocuments({ _id: gone })).toBe(0);
    expect(await seqOf(b._id)).toBeUndefined();
  });

  it('numbers an Update only under its own recipient: another one in the filter stops the write', async () => {
    const [a, b] = [makeUpdate('carl', 1), makeUpdate('dana', 2)];
    await updates().insertMany([a, b] as StoredUpdate[]);
    const done = await store.assignSeqs([
      { id: a._id, recipient: dana, seq: 1 },
      { id: b._id, recipient: dana, seq: 1 },
    ]);
    expect(done).toEqual(new Set());
    expect([await seqOf(a._id), await seqOf(b._id)]).toEqual([undefined, undefined]);
    expect(await updates().countDocuments({})).toBe(2);
  });

  it('repairs to the larger of the counter and the highest seq on the Updates', async () => {
    await updates().insertMany([
      { ...makeUpdate('carl', 1), seq: 1 },
      { ...makeUpdate('carl', 2), seq: 7 },
      { ...makeUpdate('dana', 3), seq: 2 },
    ] as StoredUpdate[]);
    await store.raiseSeqCounters([
      { recipient: carl, lastSeq: 3 },
      { recipient: dana, lastSeq: 9 },
    ]);
    const erin = { tenantId: 'tnt_test', userId: 'erin' };
    const other = { tenantId: 'tnt_other', userId: 'carl' };
    expect(await store.repairSeqs([carl, dana, erin, other])).toEqual(
      new Map([
        [recipientKey(carl), 7],
        [recipientKey(dana), 9],
        [recipientKey(erin), 0],
        [recipientKey(other), 0],
      ]),
    );
    expect(await store.lastSeqs([carl, dana, erin])).toEqual(
      new Map([
        [recipientKey(carl), 3],
        [recipientKey(dana), 9],
      ]),
    );
  });

  it('raises counters with $max: never lowers one', async () => {
    await store.raiseSeqCounters([{ recipient: carl, lastSeq: 5 }]);
    await store.raiseSeqCounters([
      { recipient: carl, lastSeq: 2 },
      { recipient: dana, lastSeq: 1 },
    ]);
    await store.raiseSeqCounters([{ recipient: dana, lastSeq: 3 }]);
    expect(await counters().find({}).sort({ _id: 1 }).toArray()).toEqual([
      { _id: recipientKey(carl), ...carl, lastSeq: 5 },
      { _id: recipientKey(dana), ...dana, lastSeq: 3 },
    ]);
  });

  it('lets relays that create one counter together all succeed', async () => {
    await Promise.all(Array.from({ length: 8 }, (_, i) => store.raiseSeqCounters([{ recipient: carl, lastSeq: i + 1 }])));
    const { lastSeq } = (await counters().findOne({ _id: recipientKey(carl) }))!;
    // MongoDB applies $max atomically; FerretDB's updates are read-modify-write, so a concurrent raise
    // can be lost there (a lagging counter, which the relay tolerates: the index arbitrates).
    if (testEnv().mongoKind === 'ferretdb') expect(lastSeq).toBeGreaterThanOrEqual(1);
    else expect(lastSeq).toBe(8);
  });
});
