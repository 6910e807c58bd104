/**
 * An in-memory replay of read-model writes: what MongoDB would hold after `applyWrites`, without a
 * server. Unit tests and the builder benchmark use it to check the simulator against core's mapping.
 *
 * Stateful: rows change as writes are applied, in order; rows are stored as copies, so later changes
 * to a write's objects never leak in. An insert of a key that exists is skipped, as `applyWrites`
 * skips MongoDB's duplicate-key error.
 */
import { ReadModelView } from '@chat3/core';
import type { Document } from 'mongodb';
import { COLLECTION_KEYS, keyString, type CollectionKey, type ReadModelWrite, type RowOf } from './read-model-writes';

export class MemoryReadModel {
  private readonly tables = new Map<CollectionKey, Map<string, Document>>(COLLECTION_KEYS.map((c) => [c, new Map()]));

  apply(writes: Iterable<ReadModelWrite>): this {
    for (const write of writes) this.applyOne(write);
    return this;
  }

  /** Rows in insertion order. */
  rows<C extends CollectionKey>(collection: C): RowOf[C][] {
    return [...this.table(collection).values()] as unknown as RowOf[C][];
  }

  /** A builder's view over everything written so far. */
  view(): ReadModelView {
    return new ReadModelView()
      .addUsers(this.rows('users'))
      .addDialogs(this.rows('dialogs'))
      .addMembers(this.rows('dialogMembers'))
      .addMessages(this.rows('messages'))
      .addStatuses(this.rows('messageStatuses'));
  }

  private table(collection: CollectionKey): Map<string, Document> {
    return this.tables.get(collection) as Map<string, Document>;
  }

  private applyOne(write: ReadModelWrite): void {
    switch (write.op) {
      case 'insert': {
        const table = this.table(write.collection);
        const k = keyString(write.key);
        if (!table.has(k)) table.set(k, structuredClone(write.row));
        return;
      }
      case 'set': {
        const row = this.table(write.collection).get(keyString(write.key));
        if (row) Object.assign(row, structuredClone(write.fields));
        return;
      }
      case 'delete':
        this.table(write.collection).delete(keyString(write.key));
        return;
    }
  }
}
