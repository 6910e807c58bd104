/**
 * Applies read-model writes to MongoDB: one ordered bulkWrite per collection, the collections in
 * parallel (no write depends on another collection). Resolves only when the server acknowledged every
 * write, which is what lets the runner publish the events afterwards. No transactions: FerretDB, the
 * MongoDB stand-in, has none, and Chat3 does not use them for these writes either.
 *
 * An insert whose deterministic `_id` exists already (the same seed written twice) is skipped and the
 * rest of the group goes on in order. A dropped connection or an unreachable server (a restarting
 * stand-in) is retried with backoff for `retryForMs`; any other error rejects.
 */
import { READ_MODEL_INDEXES } from '@chat3/core';
import { backoffDelay, isRetryable, sleep } from '@chat3/runtime';
import { MongoBulkWriteError, type AnyBulkWriteOperation, type Collection, type Db, type Document, type WriteError } from 'mongodb';
import {
  DEFAULT_COLLECTION_NAMES,
  groupByCollection,
  toBulkOperation,
  type CollectionKey,
  type CollectionNames,
  type ReadModelWrite,
} from './read-model-writes';

/** MongoDB operations (documents written) per collection. */
export type WriteCounts = Partial<Record<CollectionKey, number>>;

const DUPLICATE_KEY = 11000;

export interface ApplyWritesOptions {
  collections?: Partial<CollectionNames>;
  /** How long a dropped connection or an unreachable server is retried before the error surfaces. */
  retryForMs?: number;
}

export async function applyWrites(db: Db, writes: readonly ReadModelWrite[], options: ApplyWritesOptions = {}): Promise<WriteCounts> {
  const resolved = { ...DEFAULT_COLLECTION_NAMES, ...options.collections };
  const deadline = Date.now() + (options.retryForMs ?? 60_000);
  const counts: WriteCounts = {};
  await Promise.all(
    [...groupByCollection(writes)].map(async ([key, group]) => {
      const collection = db.collection(resolved[key]);
      const operations = group.map(toBulkOperation);
      await bulkWriteInOrder(collection, operations, deadline);
      counts[key] = operations.length;
    }),
  );
  return counts;
}

/**
 * Ordered bulkWrite that steps over inserts of rows already there, and re-sends the rest after a
 * transient failure: every write is idempotent, so a half-applied bulk can be applied again.
 */
async function bulkWriteInOrder(
  collection: Collection<Document>,
  operations: AnyBulkWriteOperation<Document>[],
  deadline: number,
): Promise<void> {
  let from = 0;
  let attempt = 0;
  while (from < operations.length) {
    try {
      await collection.bulkWrite(from === 0 ? operations : operations.slice(from), { ordered: true });
      return;
    } catch (err) {
      const duplicate = duplicateInsertIndex(err, operations, from);
      if (duplicate !== null) {
        from = duplicate + 1;
        continue;
      }
      if (!isTransient(err) || Date.now() >= deadline) throw err;
      await sleep(backoffDelay(attempt++, { baseMs: 100, maxMs: 2_000 }));
    }
  }
}

function writeErrorsOf(err: MongoBulkWriteError): WriteError[] {
  const writeErrors = err.writeErrors as unknown as WriteError | WriteError[] | undefined;
  if (Array.isArray(writeErrors)) return writeErrors;
  return writeErrors ? [writeErrors] : [];
}

/** The absolute index of the insert that hit an existing `_id`, or null for any other failure. */
function duplicateInsertIndex(err: unknown, operations: AnyBulkWriteOperation<Document>[], from: number): number | null {
  if (!(err instanceof MongoBulkWriteError)) return null;
  const errors = writeErrorsOf(err);
  const first = errors[0];
  if (errors.length !== 1 || !first || first.code !== DUPLICATE_KEY) return null;
  const index = from + first.index;
  return operations[index] && 'insertOne' in (operations[index] as object) ? index : null;
}

/**
 * A lost connection or an unreachable server, not a rejected write. The driver wraps transport
 * failures of a bulk into MongoBulkWriteError without write errors, so those count too.
 */
export function isTransient(err: unknown): boolean {
  if (isRetryable(err)) return true;
  if (!(err instanceof MongoBulkWriteError) || writeErrorsOf(err).length > 0 || err.writeConcernError) return false;
  if (isRetryable(err.cause)) return true;
  if (['ResetPool', 'NetworkError', 'RetryableWriteError'].some((label) => err.hasErrorLabel(label))) return true;
  return /closed|timed out|ECONNRESET|ECONNREFUSED|EPIPE/i.test(err.message);
}

/**
 * The indexes the builder reads the read model by: exactly core's specs, so the builder ensuring the
 * same indexes later is a no-op rather than a name conflict. The simulator itself writes by `_id`.
 */
export async function ensureReadModelIndexes(db: Db, names: Partial<CollectionNames> = {}): Promise<void> {
  const resolved = { ...DEFAULT_COLLECTION_NAMES, ...names };
  for (const [key, specs] of Object.entries(READ_MODEL_INDEXES) as Array<[CollectionKey, (typeof READ_MODEL_INDEXES)[CollectionKey]]>) {
    for (const { key: fields, ...options } of specs) await db.collection(resolved[key]).createIndex(fields, options);
  }
}
