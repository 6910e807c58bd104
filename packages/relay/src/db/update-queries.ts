/**
 * The relay's queries on `updates`. `published: false` is the source of truth: work is found by it,
 * and marking is conditional on it, so a duplicate mark is a no-op.
 */
import { bucketRanges, type UpdateDocument } from '@chat3/core';
import type { Collection, Filter, ObjectId } from 'mongodb';

export type StoredUpdate = UpdateDocument<ObjectId>;

/** Unpublished, not parked, in the buckets of the given relay partitions, older than `before` if given. */
export function unpublishedFilter(held: readonly number[], partitions: number, before?: number): Filter<StoredUpdate> {
  const ranges = bucketRanges(held, partitions).map(({ from, to }) => ({ partition: { $gte: from, $lt: to } }));
  const filter: Filter<StoredUpdate> = { published: false, parked: { $exists: false } };
  if (ranges.length === 1) Object.assign(filter, ranges[0]);
  else filter.$or = ranges;
  if (before !== undefined) filter.createdAt = { $lt: before };
  return filter;
}

export const OLDEST_FIRST = { createdAt: 1, _id: 1 } as const;

export async function fetchUnpublished(
  col: Collection<StoredUpdate>,
  held: readonly number[],
  partitions: number,
  limit: number,
  before?: number,
): Promise<StoredUpdate[]> {
  return col
    .find(unpublishedFilter(held, partitions, before))
    .sort(OLDEST_FIRST)
    .limit(limit)
    .toArray();
}

/** Of these ids, the ones still unpublished (a change event may describe an Update already sent). */
export async function stillUnpublished(col: Collection<StoredUpdate>, ids: ObjectId[]): Promise<Set<string>> {
  const rows = await col.find({ _id: { $in: ids }, published: false, parked: { $exists: false } }, { projection: { _id: 1 } }).toArray();
  return new Set(rows.map((r) => r._id.toHexString()));
}

export async function markPublished(col: Collection<StoredUpdate>, ids: ObjectId[], publishedAt: number): Promise<number> {
  if (ids.length === 0) return 0;
  const r = await col.updateMany({ _id: { $in: ids }, published: false }, { $set: { published: true, publishedAt } });
  return r.modifiedCount;
}

/** Counts a broker rejection; parks the Update once it has been rejected `maxAttempts` times. */
export async function recordRejection(
  col: Collection<StoredUpdate>,
  id: ObjectId,
  reason: string,
  maxAttempts: number,
  at: number,
): Promise<boolean> {
  const doc = await col.findOneAndUpdate(
    { _id: id, published: false },
    { $inc: { publishAttempts: 1 } },
    { returnDocument: 'after', projection: { publishAttempts: 1 } },
  );
  const attempts = doc?.publishAttempts ?? 0;
  if (attempts < maxAttempts) return false;
  await park(col, id, reason, attempts, at);
  return true;
}

export async function park(col: Collection<StoredUpdate>, id: ObjectId, reason: string, attempts: number, at: number): Promise<void> {
  await col.updateOne({ _id: id, published: false }, { $set: { parked: { reason, at, attempts } } });
}

export interface BacklogSample {
  backlog: number;
  oldestCreatedAt: number | null;
  parked: number;
}

export async function sampleBacklog(col: Collection<StoredUpdate>): Promise<BacklogSample> {
  const [backlog, oldest, parked] = await Promise.all([
    col.countDocuments({ published: false, parked: { $exists: false } }),
    // findOne, not find().next(): a cursor left open pins a server connection (FerretDB never times it out).
    col.findOne({ published: false, parked: { $exists: false } }, { projection: { createdAt: 1 }, sort: OLDEST_FIRST }),
    col.countDocuments({ published: false, parked: { $exists: true } }),
  ]);
  return { backlog, oldestCreatedAt: oldest?.createdAt ?? null, parked };
}
