import { partitionOf } from '@chat3/core';
import { ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import type { StoredUpdate } from './ports';
import { inSeqOrder } from './seq-numbering';

function doc(userId: string, seq: number | undefined): StoredUpdate {
  return {
    _id: new ObjectId(),
    tenantId: 't1',
    userId,
    userType: 'user',
    entityId: 'e',
    eventId: 'evt',
    eventType: 'dialog.update',
    dialogId: 'd',
    updateType: 'DialogUpdate',
    routingKey: `update.dialog.user.${userId}.dialogupdate`,
    partition: partitionOf('t1', userId),
    data: { context: { eventType: 'dialog.update', entityId: 'e', includedSections: [] } },
    published: false,
    publishedAt: null,
    statsVersion: 0,
    createdAt: 1,
    eventCreatedAt: 1,
    ...(seq === undefined ? {} : { seq }),
  };
}

describe('inSeqOrder', () => {
  it("puts each recipient's Updates in seq order in the places they had, keeping the order across recipients", () => {
    const [c5, d1, c4, d2, c6] = [doc('carl', 5), doc('dana', 1), doc('carl', 4), doc('dana', 2), doc('carl', 6)];
    expect(inSeqOrder([c5, d1, c4, d2, c6])).toEqual([c4, d1, c5, d2, c6]);
  });

  it('keeps recipients apart by tenant too', () => {
    const a = { ...doc('carl', 2), tenantId: 't2' };
    const b = doc('carl', 1);
    expect(inSeqOrder([a, b])).toEqual([a, b]);
  });
});
