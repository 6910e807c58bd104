/**
 * Idempotent index creation. A server that rejects partial indexes (FerretDB answers 238, "not
 * implemented") gets the same index without the filter, and a warning says so: queries stay correct,
 * only the index is larger.
 */
import type { IndexSpec } from '@chat3/core';
import type { Collection, Document } from 'mongodb';
import type { Logger } from './logger';

const NOT_IMPLEMENTED = 238;

export async function ensureIndexes(collection: Collection<Document>, specs: readonly IndexSpec[], logger: Logger): Promise<void> {
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
}
