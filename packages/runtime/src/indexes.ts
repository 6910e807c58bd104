/**
 * Idempotent index creation. A server that rejects partial indexes (FerretDB answers 238, "not
 * implemented") gets the same index without the filter, and a warning says so: queries stay correct,
 * only the index is larger.
 */
import type { IndexSpec } from '@chat3/core';
import type { CreateIndexesOptions, IndexSpecification } from 'mongodb';
import type { Logger } from './logger';

const NOT_IMPLEMENTED = 238;

/** What index maintenance needs of a collection (any driver Collection, whatever its schema). */
export interface IndexedCollection {
  readonly collectionName: string;
  createIndex(spec: IndexSpecification, options?: CreateIndexesOptions): Promise<string>;
  listIndexes(): { toArray(): Promise<Array<{ name?: string }>> };
  dropIndex(name: string): Promise<unknown>;
}

/**
 * Creates `specs`, then drops the indexes named in `retired` (an earlier version's that are in the way).
 * Creating first means a replacement unique index is in force before the one it replaces goes.
 */

export async function ensureIndexes(
  collection: IndexedCollection,
  specs: readonly IndexSpec[],
  logger: Logger,
  retired: readonly string[] = [],
): Promise<void> {
  for (const spec of specs) {
    const { key, ...options } = spec;
    try {
      await collection.createIndex(key, options);
    } catch (err) {
      if ((err as { code?: number }).code !== NOT_IMPLEMENTED || !spec.partialFilterExpression) throw err;
      logger.warn(
        { collection: collection.collectionName, index: spec.name },
        'server does not support partial indexes; creating the index without its filter',
      );
      const { partialFilterExpression: _, ...full } = options;
      await collection.createIndex(key, full);
    }
  }
  if (retired.length === 0) return;
  const existing = new Set((await collection.listIndexes().toArray()).map((i) => i.name as string));
  for (const name of retired.filter((n) => existing.has(n))) {
    logger.warn({ collection: collection.collectionName, index: name }, 'dropping an index an earlier version created');
    await collection.dropIndex(name);
  }
}
