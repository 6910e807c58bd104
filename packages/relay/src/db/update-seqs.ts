/**
 * Sequence numbers on MongoDB (the seq part of the `UpdateStore` port). Two places hold them:
 *   - `seq` on each Update, written once, guarded by the unique index `recipient_seq`
 *     {tenantId, userId, seq}: no seq is ever given twice for one recipient;
 *   - a counter per recipient in `update_seqs` (`{_id: recipientKey, tenantId, userId, lastSeq}`),
 *     raised with `$max` after numbering, so it never goes down but can lag (a relay that dies between
 *     the two writes). It keeps the sequence going when old Updates are deleted, and is the cheap
 *     first guess of a recipient's last seq; the index is the arbiter.
 *
 * Numbering is one ordered bulk write of `updateOne({_id, tenantId, userId, seq: {$exists: false}},
 * {$set: {seq}}, {upsert: true})`. An Update that already has a seq does not match, so the upsert tries
 * to insert its `_id` again: a duplicate key, like a seq that is taken. Either stops the ordered write
 * there, so what was numbered is, per recipient, a prefix of what was asked: never a gap. The filter
 * names the recipient because `updates` may be sharded on `{tenantId, userId}`: an upsert must name the
 * whole shard key, and naming it sends the upsert to the Update's own shard, the only one that sees its
 * duplicate `_id` (`_id` is unique per shard only).
 *
 * An upsert that did insert (the Update was deleted meanwhile) leaves a stray `{_id, tenantId, userId,
 * seq}`, deleted at once and never counted as numbered. It is told from an Update by a field every
 * Update has and the upsert never sets (`eventId`, `SEQ_STRAY_LACKS` in core); the catch-up API skips
 * it the same way. One left by a relay that died before the delete holds its seq in `recipient_seq`
 * (the repair counts it, so that number is not given again); no sweep, retention or API read returns
 * it (it has no `published`, `publishedDate` or `eventId`).
 * Bulk operations and filters are built by pure functions (update-seqs.test.ts).
 */
import { SEQ_STRAY_LACKS } from '@chat3/core';
import { isDuplicateKey } from '@chat3/runtime';
import { MongoBulkWriteError, type AnyBulkWriteOperation, type Collection, type Filter, type ObjectId } from 'mongodb';
import { recipientKey, type Recipient, type SeqAssignment, type StoredUpdate } from '../ports';

export interface SeqCounterDoc {
  _id: string;
  tenantId: string;
  userId: string;
  lastSeq: number;
}

export function assignSeqOps(assignments: readonly SeqAssignment[]): AnyBulkWriteOperation<StoredUpdate>[] {
  return assignments.map(({ id, recipient, seq }) => ({
    updateOne: {
      filter: { _id: id, tenantId: recipient.tenantId, userId: recipient.userId, seq: { $exists: false } },
      update: { $set: { seq } },
      upsert: true,
    },
  }));
}

/**
 * The strays among these upserted ids: what an upsert of `assignSeqOps` inserts lacks `eventId`
 * (`SEQ_STRAY_LACKS`), which every Update has; it has the recipient, copied from the filter. Never
 * matches an Update, should one of the ids be one.
 */
export function straysFilter(ids: readonly ObjectId[]): Filter<StoredUpdate> {
  return { _id: { $in: [...ids] }, [SEQ_STRAY_LACKS]: { $exists: false } };
}

/** True for a document an upsert of `assignSeqOps` inserted (read with `SEQ_STRAY_LACKS` projected). */
export function isStray(doc: Partial<Pick<StoredUpdate, typeof SEQ_STRAY_LACKS>>): boolean {
  return doc[SEQ_STRAY_LACKS] === undefined;
}

export function raiseCounterOps(last: ReadonlyArray<{ recipient: Recipient; lastSeq: number }>): AnyBulkWriteOperation<SeqCounterDoc>[] {
  return last.map(({ recipient, lastSeq }) => ({
    updateOne: {
      filter: { _id: recipientKey(recipient) },
      update: { $max: { lastSeq }, $setOnInsert: { tenantId: recipient.tenantId, userId: recipient.userId } },
      upsert: true,
    },
  }));
}

export function createMongoSeqStore(updates: Collection<StoredUpdate>, counters: Collection<SeqCounterDoc>) {
  async function lastSeqs(recipients: readonly Recipient[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (recipients.length === 0) return out;
    const rows = await counters.find({ _id: { $in: recipients.map(recipientKey) } }, { projection: { lastSeq: 1 } }).toArray();
    for (const r of rows) out.set(r._id, r.lastSeq);
    return out;
  }

  /** The highest seq on the recipient's Updates (one index seek on recipient_seq), 0 for none. */
  async function topSeq(r: Recipient): Promise<number> {
    const top = await updates.findOne(
      { tenantId: r.tenantId, userId: r.userId, seq: { $exists: true } },
      { projection: { _id: 0, seq: 1 }, sort: { tenantId: 1, userId: 1, seq: -1 } },
    );
    return top?.seq ?? 0;
  }

  return {
    lastSeqs,

    async repairSeqs(recipients: readonly Recipient[]): Promise<Map<string, number>> {
      const [known, tops] = await Promise.all([lastSeqs(recipients), Promise.all(recipients.map(topSeq))]);
      return new Map(recipients.map((r, i) => [recipientKey(r), Math.max(known.get(recipientKey(r)) ?? 0, tops[i]!)]));
    },

    async assignSeqs(assignments: readonly SeqAssignment[]): Promise<Set<string>> {
      if (assignments.length === 0) return new Set();
      let strays: ObjectId[] = [];
      let stopped = false;
      try {
        const result = await updates.bulkWrite(assignSeqOps(assignments), { ordered: true });
        strays = Object.values(result.upsertedIds);
      } catch (err) {
        // The server answered: the ordered write stopped at its first error (a duplicate key: the seq is
        // taken, or the Update has one; FerretDB reports the index's as a plain error), nothing after it
        // was applied. Anything else (no answer): the outcome is unknown.
        if (!(err instanceof MongoBulkWriteError)) throw err;
        strays = Object.values(err.result?.upsertedIds ?? {});
        stopped = true;
      }
      if (strays.length > 0) await updates.deleteMany(straysFilter(strays));
      const strayIds = new Set(strays.map((id) => id.toHexString()));
      if (!stopped) return new Set(assignments.map((a) => a.id.toHexString()).filter((id) => !strayIds.has(id)));
      // Which of them hold the seq asked for (one may have held it already, from an attempt whose
      // answer was lost): read back rather than trust the error's index.
      const asked = new Map(assignments.map((a) => [a.id.toHexString(), a.seq]));
      const rows = await updates
        .find({ _id: { $in: assignments.map((a) => a.id) } }, { projection: { seq: 1, [SEQ_STRAY_LACKS]: 1 } })
        .toArray();
      // FerretDB reports no upserted ids when the write stopped: a stray it left is found here.
      const missed = rows.filter(isStray).map((r) => r._id);
      if (missed.length > 0) await updates.deleteMany(straysFilter(missed));
      return new Set(rows.filter((r) => !isStray(r) && r.seq === asked.get(r._id.toHexString())).map((r) => r._id.toHexString()));
    },

    async raiseSeqCounters(last: ReadonlyArray<{ recipient: Recipient; lastSeq: number }>): Promise<void> {
      if (last.length === 0) return;
      const write = () => counters.bulkWrite(raiseCounterOps(last), { ordered: false });
      // Two relays creating one counter together: the loser's upsert gets a duplicate key (MongoDB does
      // not retry every such upsert); the document is there now, so once more updates it.
      await write().catch((err: unknown) => {
        if (err instanceof MongoBulkWriteError && isDuplicateKey(firstWriteError(err))) return write();
        throw err;
      });
    },
  };
}

function firstWriteError(err: MongoBulkWriteError): unknown {
  return Array.isArray(err.writeErrors) ? err.writeErrors[0] : err.writeErrors;
}
