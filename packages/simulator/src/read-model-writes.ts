/**
 * Read-model writes as plain data (SPEC §3). The simulation produces them, `applyWrites` turns them into
 * MongoDB bulk operations and `MemoryReadModel` replays them in memory, so both sides agree on one small
 * vocabulary instead of a general query language.
 *
 * Every row has a deterministic ObjectId `_id` derived from its Chat3 key, and every change is addressed
 * by that `_id`: new rows are inserts, changes are `$set` of absolute values on one row (a new message
 * sets each recipient's new unread count rather than `$inc`-ing it). So every write is idempotent and a
 * batch cut off by a dropped connection can simply be applied again. One row per statement is also the
 * only shape FerretDB, the MongoDB stand-in, executes quickly: there a multi-row update is far slower
 * than the same rows updated one by one.
 */
import { createHash } from 'node:crypto';
import type { DialogMemberRow, DialogRow, MessageRow, MessageStatusRow, UserRow } from '@chat3/core';
import { ObjectId, type AnyBulkWriteOperation, type Document } from 'mongodb';

export type CollectionKey = 'users' | 'dialogs' | 'dialogMembers' | 'messages' | 'messageStatuses';

export type CollectionNames = Record<CollectionKey, string>;

/** Mongoose's default names, as Chat3 has them. */
export const DEFAULT_COLLECTION_NAMES: CollectionNames = {
  users: 'users',
  dialogs: 'dialogs',
  dialogMembers: 'dialogmembers',
  messages: 'messages',
  messageStatuses: 'messagestatuses',
};

export const COLLECTION_KEYS = Object.keys(DEFAULT_COLLECTION_NAMES) as CollectionKey[];

export interface RowOf {
  users: UserRow;
  dialogs: DialogRow;
  dialogMembers: DialogMemberRow;
  messages: MessageRow;
  messageStatuses: MessageStatusRow;
}

/** The row's identity within its collection, always including `tenantId`. */
export type RowKey = Readonly<Record<string, string>>;

export type ReadModelWrite =
  /** A new row (status history rows are keyed by user, status and time). */
  | { op: 'insert'; collection: CollectionKey; key: RowKey; row: Document }
  /** `$set` top-level fields of one row. */
  | { op: 'set'; collection: CollectionKey; key: RowKey; fields: Document }
  | { op: 'delete'; collection: CollectionKey; key: RowKey };

export const userKey = (r: { tenantId: string; userId: string }): RowKey => ({ tenantId: r.tenantId, userId: r.userId });
export const dialogKey = (r: { tenantId: string; dialogId: string }): RowKey => ({ tenantId: r.tenantId, dialogId: r.dialogId });
export const memberKey = (r: { tenantId: string; dialogId: string; userId: string }): RowKey => ({
  tenantId: r.tenantId,
  dialogId: r.dialogId,
  userId: r.userId,
});
export const messageKey = (r: { tenantId: string; messageId: string }): RowKey => ({ tenantId: r.tenantId, messageId: r.messageId });
export const statusKey = (r: MessageStatusRow): RowKey => ({
  tenantId: r.tenantId,
  messageId: r.messageId,
  userId: r.userId,
  status: r.status,
  createdAt: String(r.createdAt),
});

const KEY_OF = {
  users: (row: Document) => userKey(row as UserRow),
  dialogs: (row: Document) => dialogKey(row as DialogRow),
  dialogMembers: (row: Document) => memberKey(row as DialogMemberRow),
  messages: (row: Document) => messageKey(row as MessageRow),
  messageStatuses: (row: Document) => statusKey(row as MessageStatusRow),
} satisfies Record<CollectionKey, (row: Document) => RowKey>;

export function insertRow<C extends CollectionKey>(collection: C, row: RowOf[C]): ReadModelWrite {
  return { op: 'insert', collection, key: KEY_OF[collection](row as Document), row: { ...row } };
}

export const setFields = (collection: CollectionKey, key: RowKey, fields: Document): ReadModelWrite => ({
  op: 'set',
  collection,
  key,
  fields: { ...fields },
});

export const deleteRow = (collection: CollectionKey, key: RowKey): ReadModelWrite => ({ op: 'delete', collection, key });

/** Canonical text of a key: field order never matters. */
export function keyString(key: RowKey): string {
  return Object.keys(key)
    .sort()
    .map((field) => `${field}=${key[field]}`)
    .join('\u0000');
}

/** The row's `_id`: 12 bytes of a hash of collection and key, so every run writes the same ids. */
export function rowObjectId(collection: CollectionKey, key: RowKey): ObjectId {
  return new ObjectId(
    createHash('sha1')
      .update(`${collection}\u0000${keyString(key)}`)
      .digest('hex')
      .slice(0, 24),
  );
}

/** The MongoDB bulk operation for one write. Documents are copied: the driver mutates what it is given. */
export function toBulkOperation(write: ReadModelWrite): AnyBulkWriteOperation<Document> {
  const _id = rowObjectId(write.collection, write.key);
  switch (write.op) {
    case 'insert':
      return { insertOne: { document: { _id, ...write.row } } };
    case 'set':
      return { updateOne: { filter: { _id }, update: { $set: { ...write.fields } } } };
    case 'delete':
      return { deleteOne: { filter: { _id } } };
  }
}

/**
 * Writes grouped by collection, each group in its original order. Writes to different collections never
 * depend on each other, so the groups may run in parallel; within a group order matters (a member row
 * is inserted before a message sets its unread count).
 */
export function groupByCollection(writes: readonly ReadModelWrite[]): Map<CollectionKey, ReadModelWrite[]> {
  const groups = new Map<CollectionKey, ReadModelWrite[]>();
  for (const write of writes) {
    const group = groups.get(write.collection);
    if (group) group.push(write);
    else groups.set(write.collection, [write]);
  }
  return groups;
}
