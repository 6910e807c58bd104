/**
 * Retention of published Updates on MongoDB (the `RetentionStore` port of retention.ts).
 *
 * The relay stamps `publishedDate` (a BSON Date) in the same update that sets `published: true`; a
 * replay removes it. MongoDB deletes by a TTL index on it (`published_expiry`, `expireAfterSeconds` =
 * UPDATES_RETENTION): unpublished, parked and put-back Updates have no such field, so the TTL monitor
 * never touches them. Where the server has no TTL indexes (FerretDB answers 238) the same index is
 * created without expiry, for the relay's deleter to find expired Updates by.
 *
 * Index specs, commands and filters are pure functions, unit-tested without a server.
 */
import type { Logger } from '@chat3/runtime';
import type { Collection, Db, Document, Filter, ObjectId } from 'mongodb';
import type { StoredUpdate } from '../ports';
import type { RetentionEnforcement, RetentionStore } from '../retention';

const NOT_IMPLEMENTED = 238;
const NAMESPACE_NOT_FOUND = 26;

export const RETENTION_INDEX_NAME = 'published_expiry';

/** The `$set` that marks Updates published: `publishedDate` goes with `published: true`, never alone. */
export function publishedSet(publishedAt: number): { published: true; publishedAt: number; publishedDate: Date } {
  return { published: true, publishedAt, publishedDate: new Date(publishedAt) };
}

export interface RetentionIndexSpec {
  name: string;
  key: { publishedDate: 1 };
  expireAfterSeconds: number;
}

/** The TTL index MongoDB needs: a single-field ascending index on the Date field, with the retention. */
export function retentionIndexSpec(retentionSeconds: number): RetentionIndexSpec {
  return { name: RETENTION_INDEX_NAME, key: { publishedDate: 1 }, expireAfterSeconds: retentionSeconds };
}

/**
 * Changes the retention of the existing index in place (no rebuild); on MongoDB 5.1+ it also turns a
 * plain index on the field into a TTL index. The index is named by its key pattern, which every
 * MongoDB version accepts.
 */
export function retentionCollMod(collection: string, retentionSeconds: number): Document {
  return { collMod: collection, index: { keyPattern: retentionIndexSpec(retentionSeconds).key, expireAfterSeconds: retentionSeconds } };
}

/** Published before `cutoff`. A missing field never matches `$lt`, so nothing unpublished does. */
export function expiredFilter(cutoff: Date): Filter<StoredUpdate> {
  return { publishedDate: { $lt: cutoff } };
}

/** The deleter's delete: these ids, and only while still expired (a replay may have put one back since). */
export function deleteExpiredFilter(ids: readonly ObjectId[], cutoff: Date): Filter<StoredUpdate> {
  return { _id: { $in: [...ids] }, ...expiredFilter(cutoff) };
}

/** Every Update carrying a `publishedDate` (index bounds stay tight: a missing field sorts as null). */
export const RETAINED_FILTER: Filter<StoredUpdate> = { publishedDate: { $gte: new Date(0) } };
export const OLDEST_PUBLISHED = { publishedDate: 1 } as const;

/** What ensureRetentionIndex needs of the driver. */
export interface RetentionIndexTarget {
  collection: Pick<Collection<StoredUpdate>, 'collectionName' | 'createIndex' | 'dropIndex' | 'listIndexes'>;
  db: Pick<Db, 'command'>;
}

/**
 * Makes the index match `retentionSeconds`: created with it, changed with `collMod` when it holds
 * another value, dropped at 0. Resolves how retention is enforced: `ttl` when the server reports the
 * expiry back, `deleter` when it has no TTL indexes (the index is then created without expiry), `off`.
 */
export async function ensureRetentionIndex(
  { collection, db }: RetentionIndexTarget,
  retentionSeconds: number,
  logger: Logger,
): Promise<RetentionEnforcement> {
  const spec = retentionIndexSpec(retentionSeconds);
  const existing = await findIndex(collection);
  if (retentionSeconds === 0) {
    if (existing) {
      logger.warn({ index: RETENTION_INDEX_NAME }, 'UPDATES_RETENTION=0: dropping the retention index; published Updates are kept');
      await collection.dropIndex(RETENTION_INDEX_NAME);
    }
    return 'off';
  }
  if (existing?.expireAfterSeconds === retentionSeconds) return 'ttl';
  try {
    if (existing) {
      logger.info({ from: existing.expireAfterSeconds ?? null, to: retentionSeconds }, 'changing the retention of the TTL index');
      await db.command(retentionCollMod(collection.collectionName, retentionSeconds));
    } else {
      await collection.createIndex(spec.key, { name: spec.name, expireAfterSeconds: spec.expireAfterSeconds });
    }
  } catch (err) {
    if ((err as { code?: number }).code !== NOT_IMPLEMENTED) throw err;
    if (!existing) await collection.createIndex(spec.key, { name: spec.name });
    logger.warn({ index: RETENTION_INDEX_NAME }, 'server has no TTL indexes; one relay at a time deletes expired Updates');
    return 'deleter';
  }
  // Accepted is not enough: a server may take the option and ignore it.
  if ((await findIndex(collection))?.expireAfterSeconds === retentionSeconds) return 'ttl';
  logger.warn({ index: RETENTION_INDEX_NAME }, 'server kept the index without its expiry; one relay at a time deletes expired Updates');
  return 'deleter';
}

async function findIndex(collection: RetentionIndexTarget['collection']): Promise<{ expireAfterSeconds?: number } | undefined> {
  try {
    const indexes = (await collection.listIndexes().toArray()) as Array<{ name?: string; expireAfterSeconds?: number }>;
    return indexes.find((index) => index.name === RETENTION_INDEX_NAME);
  } catch (err) {
    if ((err as { code?: number }).code === NAMESPACE_NOT_FOUND) return undefined; // no collection yet
    throw err;
  }
}

export function createMongoRetentionStore(col: Collection<StoredUpdate>, db: Db, logger: Logger): RetentionStore {
  return {
    ensureIndex: (retentionSeconds) => ensureRetentionIndex({ collection: col, db }, retentionSeconds, logger),

    async expiredIds(cutoff, limit) {
      const rows = await col.find(expiredFilter(cutoff), { projection: { _id: 1 }, sort: OLDEST_PUBLISHED, limit }).toArray();
      return rows.map((row) => row._id);
    },

    async deleteExpired(ids, cutoff) {
      if (ids.length === 0) return 0;
      const { deletedCount } = await col.deleteMany(deleteExpiredFilter(ids, cutoff));
      return deletedCount;
    },

    async oldestRetained() {
      // findOne, not find().next(): a cursor left open pins a server connection (FerretDB never times it out).
      const doc = await col.findOne(RETAINED_FILTER, { projection: { publishedDate: 1 }, sort: OLDEST_PUBLISHED });
      return doc?.publishedDate ?? null;
    },
  };
}
