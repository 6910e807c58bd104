/** Writes Update documents: one unordered `insertMany` per batch, idempotent through the unique key. */
import type { UpdateDraft } from '@chat3/core';
import { isRetryable } from '@chat3/runtime';
import { MongoBulkWriteError, type Collection, type Document } from 'mongodb';

export interface InsertOutcome {
  inserted: number;
  /** Indexes of drafts that hit the idempotency key: written by an earlier delivery. */
  duplicates: Set<number>;
  /** Documents the server refused for good (too large, invalid), by index into the drafts. */
  rejected: Map<number, string>;
}

/**
 * Throws when the batch should be retried as a whole (network, primary change, write concern).
 * Duplicate keys are redeliveries and count as done.
 */
export async function insertUpdates(collection: Collection<Document>, drafts: UpdateDraft[]): Promise<InsertOutcome> {
  if (drafts.length === 0) return { inserted: 0, duplicates: new Set(), rejected: new Map() };
  try {
    const result = await collection.insertMany(drafts as Document[], { ordered: false });
    return { inserted: result.insertedCount, duplicates: new Set(), rejected: new Map() };
  } catch (err) {
    if (!(err instanceof MongoBulkWriteError) || err.writeConcernError) throw err;
    const writeErrors = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
    if (writeErrors.length === 0 || writeErrors.some((e) => e.code !== 11000 && isRetryable(e))) throw err;
    const rejected = new Map<number, string>();
    const duplicates = new Set<number>();
    for (const e of writeErrors) {
      if (e.code === 11000) duplicates.add(e.index);
      else rejected.set(e.index, `${e.code}: ${e.errmsg ?? 'write rejected'}`);
    }
    return { inserted: err.insertedCount, duplicates, rejected };
  }
}

/**
 * Epoch ms the oldest unpublished, unparked Update has waited since: its `createdAt`, or `republishedAt`
 * when a replay put it back (the relay's lag, measured the same way; both use the `unpublished_oldest`
 * and `unpublished_replays` indexes). Null when nothing waits.
 */
export async function oldestWaitingSince(collection: Collection<Document>): Promise<number | null> {
  const waiting = { published: false, parked: { $exists: false } };
  const [fresh, replayed] = await Promise.all([
    collection.findOne({ ...waiting, republishedAt: { $exists: false } }, { projection: { createdAt: 1 }, sort: { createdAt: 1, _id: 1 } }),
    collection.findOne({ ...waiting, republishedAt: { $exists: true } }, { projection: { republishedAt: 1 }, sort: { republishedAt: 1 } }),
  ]);
  const since = [fresh?.createdAt, replayed?.republishedAt].filter((t): t is number => typeof t === 'number');
  return since.length > 0 ? Math.min(...since) : null;
}
