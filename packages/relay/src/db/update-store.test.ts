import { bucketRange, bucketRanges } from '@chat3/core';
import { isChangeStreamUnsupported } from '@chat3/runtime';
import { ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { changeStreamPipeline, unpublishedFilter, unpublishedUpdateFilter } from './update-store';

describe('changeStreamPipeline', () => {
  const replays = { operationType: 'update', 'updateDescription.updatedFields.replayId': { $exists: true } };

  it('matches inserts in the given bucket ranges, and every replay putting Updates back', () => {
    expect(changeStreamPipeline(bucketRanges([1, 0], 4))).toEqual([
      { $match: { $or: [{ operationType: 'insert', 'fullDocument.partition': { $gte: 0, $lt: 512 } }, replays] } },
    ]);
    const [stage] = changeStreamPipeline(bucketRanges([0, 2], 4));
    expect(stage).toEqual({
      $match: {
        $or: [
          {
            operationType: 'insert',
            $or: [
              { 'fullDocument.partition': { $gte: bucketRange(0, 4).from, $lt: bucketRange(0, 4).to } },
              { 'fullDocument.partition': { $gte: bucketRange(2, 4).from, $lt: bucketRange(2, 4).to } },
            ],
          },
          replays,
        ],
      },
    });
  });
});

describe('unpublishedFilter', () => {
  it('selects unpublished, unparked Updates of the ranges, older than a cut-off when given', () => {
    expect(unpublishedFilter([{ from: 0, to: 256 }], 5)).toEqual({
      published: false,
      parked: { $exists: false },
      partition: { $gte: 0, $lt: 256 },
      createdAt: { $lt: 5 },
    });
    expect(unpublishedFilter(bucketRanges([0, 2], 4))).toEqual({
      published: false,
      parked: { $exists: false },
      $or: [{ partition: { $gte: 0, $lt: 256 } }, { partition: { $gte: 512, $lt: 768 } }],
    });
  });
});

describe('unpublishedUpdateFilter', () => {
  it('names the Update by _id and its recipient (the shard key), while it is unpublished', () => {
    const _id = new ObjectId();
    expect(unpublishedUpdateFilter({ _id, tenantId: 'tnt_a', userId: 'carl' })).toEqual({
      _id,
      tenantId: 'tnt_a',
      userId: 'carl',
      published: false,
    });
  });
});

describe('isChangeStreamUnsupported', () => {
  it('recognises FerretDB, standalone servers and unknown commands', () => {
    for (const code of [238, 40573, 115]) expect(isChangeStreamUnsupported({ code })).toBe(true);
    expect(isChangeStreamUnsupported({ code: 286 })).toBe(false);
    expect(isChangeStreamUnsupported(new Error('x'))).toBe(false);
  });
});
