import { ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { assignSeqOps, isStray, raiseCounterOps, straysFilter } from './update-seqs';

const carl = { tenantId: 'tnt_a', userId: 'carl' };
const dana = { tenantId: 'tnt_b', userId: 'dana' };

describe('assignSeqOps', () => {
  it('upserts each seq by _id, the recipient (the shard key) and "no seq yet", in the order asked', () => {
    const [a, b] = [new ObjectId(), new ObjectId()];
    expect(
      assignSeqOps([
        { id: a, recipient: carl, seq: 4 },
        { id: b, recipient: dana, seq: 1 },
      ]),
    ).toEqual([
      {
        updateOne: {
          filter: { _id: a, tenantId: 'tnt_a', userId: 'carl', seq: { $exists: false } },
          update: { $set: { seq: 4 } },
          upsert: true,
        },
      },
      {
        updateOne: {
          filter: { _id: b, tenantId: 'tnt_b', userId: 'dana', seq: { $exists: false } },
          update: { $set: { seq: 1 } },
          upsert: true,
        },
      },
    ]);
  });
});

describe('strays', () => {
  it('are told apart by the eventId the upsert never sets, although they carry the recipient', () => {
    // What an upsert inserts for a deleted Update: the filter's equalities and the seq.
    expect(isStray({ _id: new ObjectId(), ...carl, seq: 3 } as never)).toBe(true);
    expect(isStray({ eventId: 'evt_1' })).toBe(false);
    const ids = [new ObjectId(), new ObjectId()];
    expect(straysFilter(ids)).toEqual({ _id: { $in: ids }, eventId: { $exists: false } });
  });
});

describe('raiseCounterOps', () => {
  it('raises each counter with $max and sets the recipient only when it creates one', () => {
    expect(raiseCounterOps([{ recipient: carl, lastSeq: 7 }])).toEqual([
      {
        updateOne: {
          filter: { _id: '["tnt_a","carl"]' },
          update: { $max: { lastSeq: 7 }, $setOnInsert: carl },
          upsert: true,
        },
      },
    ]);
  });
});
