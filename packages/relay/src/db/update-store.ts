/**
 * The relay's queries on `updates`, on MongoDB (the `UpdateStore` port). `published: false` is the
 * source of truth: work is found by it, and marking is conditional on it, so a duplicate mark is a
 * no-op. Filters and pipelines are built by pure functions, unit-tested without a server.
 */
import { RETIRED_UPDATE_INDEXES, UPDATE_INDEXES } from '@chat3/core';
import { ensureIndexes, isChangeStreamUnsupported, type Logger } from '@chat3/runtime';
import type { ChangeStreamInsertDocument, ChangeStreamUpdateDocument, Collection, Document, Filter } from 'mongodb';
import type { BucketRanges, ChangeStreamPort, StoredUpdate, UpdateRef, UpdateStore } from '../ports';
import { publishedSet } from './retention-store';
import { createMongoSeqStore, type SeqCounterDoc } from './update-seqs';

export const OLDEST_FIRST = { createdAt: 1, _id: 1 } as const;

function rangeClauses(field: string, ranges: BucketRanges): Document[] {
  return ranges.map(({ from, to }) => ({ [field]: { $gte: from, $lt: to } }));
}

/** Unpublished, not parked, in these buckets, older than `before` if given. */
export function unpublishedFilter(ranges: BucketRanges, before?: number): Filter<StoredUpdate> {
  const clauses = rangeClauses('partition', ranges);
  const filter: Filter<StoredUpdate> = { published: false, parked: { $exists: false } };
  if (clauses.length === 1) Object.assign(filter, clauses[0]);
  else filter.$or = clauses;
  if (before !== undefined) filter.createdAt = { $lt: before };
  return filter;
}

/**
 * One Update while it is unpublished, named by `_id` and its recipient: with the shard key in it, a
 * write by it goes to the Update's shard only (a `findOneAndUpdate` without the shard key is refused
 * before MongoDB 7.0 on a sharded collection, and asks every shard after).
 */
export function unpublishedUpdateFilter(update: UpdateRef): Filter<StoredUpdate> {
  return { _id: update._id, tenantId: update.tenantId, userId: update.userId, published: false };
}

/**
 * `$match` for inserts into these buckets, and for a replay putting Updates back (an update that sets
 * `replayId`; nothing else does). A replay's events are not narrowed to the buckets: their documents are
 * not in the event (no `updateLookup`, which would cost a read for every Update the relays mark), and
 * one sweep of the held partitions per burst of them is what the relay does with them anyway.
 */
export function changeStreamPipeline(ranges: BucketRanges): Document[] {
  const clauses = rangeClauses('fullDocument.partition', ranges);
  const inserts = { operationType: 'insert', ...(clauses.length === 1 ? clauses[0] : { $or: clauses }) };
  const replays = { operationType: 'update', 'updateDescription.updatedFields.replayId': { $exists: true } };
  return [{ $match: { $or: [inserts, replays] } }];
}

export function createMongoUpdateStore(col: Collection<StoredUpdate>, seqs: Collection<SeqCounterDoc>, logger: Logger): UpdateStore {
  return {
    ...createMongoSeqStore(col, seqs),

    ensureIndexes: () => ensureIndexes(col, UPDATE_INDEXES, logger, RETIRED_UPDATE_INDEXES),

    fetchUnpublished(ranges, limit, before) {
      return col.find(unpublishedFilter(ranges, before)).sort(OLDEST_FIRST).limit(limit).toArray();
    },

    async stillUnpublished(ids) {
      const rows = await col
        .find({ _id: { $in: [...ids] }, published: false, parked: { $exists: false } }, { projection: { _id: 1, seq: 1, replayId: 1 } })
        .toArray();
      return new Map(rows.map((r) => [r._id.toHexString(), { seq: r.seq ?? null, replayId: r.replayId ?? null }]));
    },

    async markPublished(ids, publishedAt) {
      if (ids.length === 0) return;
      await col.updateMany({ _id: { $in: [...ids] }, published: false }, { $set: publishedSet(publishedAt) });
    },

    async recordRejection(update, reason, maxAttempts, at) {
      // No projection: FerretDB refuses one on findAndModify ("not implemented"), which lost every count there.
      const doc = await col.findOneAndUpdate(
        unpublishedUpdateFilter(update),
        { $inc: { publishAttempts: 1 } },
        { returnDocument: 'after' },
      );
      const attempts = doc?.publishAttempts ?? 0;
      if (attempts < maxAttempts) return false;
      await park(col, update, reason, attempts, at);
      return true;
    },

    park: (update, reason, attempts, at) => park(col, update, reason, attempts, at),

    async sampleBacklog() {
      const waiting = { published: false, parked: { $exists: false } };
      const [backlog, oldestFresh, oldestReplayed, parked] = await Promise.all([
        col.countDocuments(waiting),
        // findOne, not find().next(): a cursor left open pins a server connection (FerretDB never times it out).
        col.findOne({ ...waiting, republishedAt: { $exists: false } }, { projection: { createdAt: 1 }, sort: OLDEST_FIRST }),
        col.findOne({ ...waiting, republishedAt: { $exists: true } }, { projection: { republishedAt: 1 }, sort: { republishedAt: 1 } }),
        col.countDocuments({ published: false, parked: { $exists: true } }),
      ]);
      const since = [oldestFresh?.createdAt, oldestReplayed?.republishedAt].filter((t): t is number => typeof t === 'number');
      return { backlog, oldestWaitingSince: since.length > 0 ? Math.min(...since) : null, parked };
    },

    async supportsChangeStreams() {
      const probe = col.watch([], { maxAwaitTimeMS: 1 });
      try {
        await probe.tryNext();
        return true;
      } catch (err) {
        if (isChangeStreamUnsupported(err)) return false;
        throw err;
      } finally {
        await probe.close().catch(() => undefined);
      }
    },

    watchChanges({ ranges, startAfter, batchSize, maxAwaitTimeMS }): ChangeStreamPort {
      // The pipeline matches inserts and replays' updates only (and the server adds an invalidate).
      return col.watch<StoredUpdate, ChangeStreamInsertDocument<StoredUpdate> | ChangeStreamUpdateDocument<StoredUpdate>>(
        changeStreamPipeline(ranges),
        {
          maxAwaitTimeMS,
          batchSize,
          ...(startAfter ? { startAfter } : {}),
        },
      );
    },
  };
}

async function park(col: Collection<StoredUpdate>, update: UpdateRef, reason: string, attempts: number, at: number): Promise<void> {
  await col.updateOne(unpublishedUpdateFilter(update), { $set: { parked: { reason, at, attempts } } });
}
