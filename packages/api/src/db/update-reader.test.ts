import { toWireMessage, type UpdateDocument } from '@chat3/core';
import type { Collection, Document } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { counterId, createUpdateReader, SEQ_HINT, updatesAfterFilter, WIRE_PROJECTION, type SeqCounter } from './update-reader';

const carl = { tenantId: 'tnt_a', userId: 'carl' };

/** Records each find/findOne and answers with `docs`. */
function recording(docs: Document[]) {
  const calls: Array<{ op: string; filter: unknown; options: unknown }> = [];
  const collection = {
    find(filter: unknown, options: unknown) {
      calls.push({ op: 'find', filter, options });
      return { toArray: async () => docs };
    },
    async findOne(filter: unknown, options: unknown) {
      calls.push({ op: 'findOne', filter, options });
      return docs[0] ?? null;
    },
  };
  return { calls, collection: collection as unknown as Collection<Document> & Collection<SeqCounter> };
}

describe('update reader queries', () => {
  it('reads a page by recipient and seq > after, sorted by seq, through the recipient_seq index', async () => {
    const doc: UpdateDocument<string> = {
      _id: '65a1b2c3d4e5f60718293a4b',
      tenantId: 'tnt_a',
      userId: 'carl',
      userType: 'user',
      entityId: 'dlg_1',
      eventId: 'evt_1',
      eventType: 'message.create',
      dialogId: 'dlg_1',
      updateType: 'MessageUpdate',
      routingKey: 'update.dialog.user.carl.messageupdate',
      partition: 3,
      data: { context: { eventType: 'message.create', entityId: 'msg_1', includedSections: [] } },
      published: true,
      publishedAt: 1,
      statsVersion: 0,
      createdAt: 1763551369397.6482,
      eventCreatedAt: 1,
      seq: 4,
    };
    const updates = recording([doc]);
    const seqs = recording([]);
    const reader = createUpdateReader({ updates: updates.collection, seqs: seqs.collection, maxTimeMS: 1234 });
    expect(await reader.updatesAfter(carl, 3, 11)).toEqual([{ seq: 4, body: toWireMessage(doc).body.toString('utf8') }]);
    expect(updates.calls).toEqual([
      {
        op: 'find',
        filter: { tenantId: 'tnt_a', userId: 'carl', seq: { $gt: 3 }, eventId: { $exists: true } },
        options: { projection: WIRE_PROJECTION, sort: { seq: 1 }, limit: 11, hint: { tenantId: 1, userId: 1, seq: 1 }, maxTimeMS: 1234 },
      },
    ]);
  });

  it('reads the top seq the other way along the same index, and the counter by recipient', async () => {
    const updates = recording([{ seq: 9 }]);
    const seqs = recording([{ lastSeq: 12 }]);
    const reader = createUpdateReader({ updates: updates.collection, seqs: seqs.collection, maxTimeMS: 50 });
    expect(await reader.topSeq(carl)).toBe(9);
    expect(await reader.counterSeq(carl)).toBe(12);
    expect(updates.calls[0]).toMatchObject({
      filter: { tenantId: 'tnt_a', userId: 'carl', seq: { $gt: 0 }, eventId: { $exists: true } },
      options: { sort: { seq: -1 }, limit: 1, hint: SEQ_HINT },
    });
    expect(seqs.calls[0]).toMatchObject({ filter: { _id: '["tnt_a","carl"]', tenantId: 'tnt_a', userId: 'carl' } });
  });

  it('builds filters and ids from the recipient only, skipping a numbering stray (no eventId)', () => {
    expect(updatesAfterFilter(carl, 0)).toEqual({ tenantId: 'tnt_a', userId: 'carl', seq: { $gt: 0 }, eventId: { $exists: true } });
    expect(counterId({ tenantId: 'a"b', userId: 'c,d' })).toBe('["a\\"b","c,d"]');
    expect(Object.keys(WIRE_PROJECTION).sort()).toEqual([
      'eventCreatedAt',
      'parked',
      'partition',
      'publishAttempts',
      'published',
      'publishedAt',
      'publishedDate',
      'replayId',
      'republishedAt',
      'traceparent',
    ]);
  });
});
