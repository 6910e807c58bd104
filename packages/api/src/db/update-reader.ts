/**
 * The catch-up API's reads on MongoDB: numbered Updates from `updates` through the `recipient_seq`
 * index ({tenantId, userId, seq}), and the relay's counters from `update_seqs`. Filters, sorts and
 * projections are pure functions (tested without a server); the store only runs them.
 *
 * Every query carries a hint naming the index, so MongoDB never picks another plan (a recipient with a
 * long history would otherwise be a collection scan away from a slow page), and `maxTimeMS`, so a
 * stuck query fails the request instead of holding it.
 */
import { SEQ_STRAY_LACKS, toWireMessage, UPDATE_INDEXES, WIRE_OMITTED_FIELDS, type IndexSpec, type UpdateDocument } from '@chat3/core';
import type { Collection, Document, Filter, ObjectId } from 'mongodb';
import type { CatchUpStore, NumberedUpdate } from '../catch-up';
import type { Recipient } from '../request-params';

export const RECIPIENT_SEQ_INDEX: IndexSpec = UPDATE_INDEXES.find((i) => i.name === 'recipient_seq')!;

/** The relay's per-recipient counter (`update_seqs`), raised with `$max` after numbering. */
export interface SeqCounter {
  _id: string;
  tenantId: string;
  userId: string;
  lastSeq: number;
}

export function counterId(recipient: Recipient): string {
  return JSON.stringify([recipient.tenantId, recipient.userId]);
}

/**
 * Numbered Updates of one recipient after `after` (seq > after excludes Updates with no seq). The
 * stray a relay's numbering upsert inserts for an Update deleted meanwhile carries the recipient and a
 * seq but no `eventId` (`SEQ_STRAY_LACKS`): it is skipped during the moment before the relay deletes it.
 */
export function updatesAfterFilter(recipient: Recipient, after: number): Filter<Document> {
  return { tenantId: recipient.tenantId, userId: recipient.userId, seq: { $gt: after }, [SEQ_STRAY_LACKS]: { $exists: true } };
}

/** Fields the wire body leaves out are not read at all. */
export const WIRE_PROJECTION: Record<string, 0> = Object.fromEntries(WIRE_OMITTED_FIELDS.map((f) => [f, 0]));

export const SEQ_HINT = RECIPIENT_SEQ_INDEX.key;

export interface UpdateReaderOptions {
  updates: Collection<Document>;
  seqs: Collection<SeqCounter>;
  /** Per query; a slower one fails with MaxTimeMSExpired. */
  maxTimeMS: number;
}

export function createUpdateReader(options: UpdateReaderOptions): CatchUpStore {
  const { updates, seqs, maxTimeMS } = options;
  return {
    async updatesAfter(recipient, after, count): Promise<NumberedUpdate[]> {
      const docs = await updates
        .find(updatesAfterFilter(recipient, after), {
          projection: WIRE_PROJECTION,
          sort: { seq: 1 },
          limit: count,
          hint: SEQ_HINT,
          maxTimeMS,
        })
        .toArray();
      return docs.map((doc) => {
        const update = doc as unknown as UpdateDocument<ObjectId>;
        return { seq: update.seq!, body: toWireMessage(update).body.toString('utf8') };
      });
    },
    async topSeq(recipient) {
      const [top] = await updates
        .find(updatesAfterFilter(recipient, 0), { projection: { _id: 0, seq: 1 }, sort: { seq: -1 }, limit: 1, hint: SEQ_HINT, maxTimeMS })
        .toArray();
      return typeof top?.seq === 'number' ? top.seq : null;
    },
    async counterSeq(recipient) {
      const counter = await seqs.findOne(
        { _id: counterId(recipient), tenantId: recipient.tenantId, userId: recipient.userId },
        { projection: { lastSeq: 1 }, maxTimeMS },
      );
      return typeof counter?.lastSeq === 'number' ? counter.lastSeq : null;
    },
  };
}
