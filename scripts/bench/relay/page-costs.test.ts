import { ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { bulkMarkOperations } from './page-costs';

describe('the bulk mark', () => {
  it('is one updateOne per Update, by _id and conditional on published: false, as the relay marks', () => {
    const ids = [new ObjectId(), new ObjectId()];
    expect(bulkMarkOperations(ids, 123)).toEqual(
      ids.map((_id) => ({ updateOne: { filter: { _id, published: false }, update: { $set: { published: true, publishedAt: 123 } } } })),
    );
  });
});
