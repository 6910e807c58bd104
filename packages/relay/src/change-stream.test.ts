import { bucketRange } from '@chat3/core';
import { describe, expect, it } from 'vitest';
import { changeStreamPipeline, isChangeStreamUnsupported } from './change-stream';

describe('changeStreamPipeline', () => {
  it('matches inserts in the buckets of the held partitions, merging adjacent ranges', () => {
    expect(changeStreamPipeline([1, 0], 4)).toEqual([
      { $match: { operationType: 'insert', 'fullDocument.partition': { $gte: 0, $lt: 512 } } },
    ]);
    const [stage] = changeStreamPipeline([0, 2], 4);
    expect(stage).toEqual({
      $match: {
        operationType: 'insert',
        $or: [
          { 'fullDocument.partition': { $gte: bucketRange(0, 4).from, $lt: bucketRange(0, 4).to } },
          { 'fullDocument.partition': { $gte: bucketRange(2, 4).from, $lt: bucketRange(2, 4).to } },
        ],
      },
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
