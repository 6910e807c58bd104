/**
 * Writes the simulator's read-model changes to MongoDB without multi-statement update commands.
 *
 * Why not the simulator's `applyWrites`: it sends up to 64 updates per `update` command, several
 * collections at once. FerretDB 1.24 on PostgreSQL takes one pool connection per statement while the
 * command holds its own, and `scripts/ferretdb.sh` caps that pool at 20: once the statements in flight
 * reach ~20 (one command of 20, or 3 commands of 8 at once), the server deadlocks and every later
 * request hangs. Single-statement commands never do, so changes go one per command, several at once.
 *
 * Order: per collection, writes keep their order. Inserts in a row go as one `insertMany`; changes in
 * a row run concurrently as long as they touch distinct rows (a second change to the same row waits for
 * the first). Collections are independent and run in parallel, as in `applyWrites`.
 */
import { COLLECTION_KEYS, DEFAULT_COLLECTION_NAMES, toBulkOperation, type CollectionKey, type ReadModelWrite } from '@chat3/simulator';
import type { AnyBulkWriteOperation, Collection, Db, Document } from 'mongodb';

const CONCURRENCY = 4;
const INSERT_CHUNK = 1_000;

export async function writeReadModel(db: Db, writes: readonly ReadModelWrite[]): Promise<number> {
  const groups = new Map<CollectionKey, AnyBulkWriteOperation<Document>[]>();
  for (const w of writes) {
    const op = toBulkOperation(w);
    const group = groups.get(w.collection);
    if (group) group.push(op);
    else groups.set(w.collection, [op]);
  }
  let total = 0;
  await Promise.all(
    [...groups].map(async ([key, ops]) => {
      await writeInOrder(db.collection(DEFAULT_COLLECTION_NAMES[key]), ops);
      total += ops.length;
    }),
  );
  return total;
}

async function writeInOrder(col: Collection<Document>, ops: readonly AnyBulkWriteOperation<Document>[]): Promise<void> {
  let i = 0;
  while (i < ops.length) {
    const op = ops[i] as AnyBulkWriteOperation<Document>;
    if ('insertOne' in op) {
      const docs: Document[] = [];
      while (i < ops.length && 'insertOne' in (ops[i] as object) && docs.length < INSERT_CHUNK) {
        docs.push((ops[i] as { insertOne: { document: Document } }).insertOne.document);
        i += 1;
      }
      await col.insertMany(docs, { ordered: true });
      continue;
    }
    const run: AnyBulkWriteOperation<Document>[] = [];
    const touched = new Set<string>();
    while (i < ops.length && !('insertOne' in (ops[i] as object)) && run.length < CONCURRENCY) {
      const id = targetId(ops[i] as AnyBulkWriteOperation<Document>);
      if (touched.has(id)) break;
      touched.add(id);
      run.push(ops[i] as AnyBulkWriteOperation<Document>);
      i += 1;
    }
    await Promise.all(run.map((change) => applyOne(col, change)));
  }
}

function targetId(op: AnyBulkWriteOperation<Document>): string {
  if ('updateOne' in op) return String(op.updateOne.filter._id);
  if ('deleteOne' in op) return String(op.deleteOne.filter._id);
  throw new Error(`unexpected read-model operation ${Object.keys(op).join(',')}`);
}

async function applyOne(col: Collection<Document>, op: AnyBulkWriteOperation<Document>): Promise<void> {
  if ('updateOne' in op) await col.updateOne(op.updateOne.filter, op.updateOne.update as Document);
  else if ('deleteOne' in op) await col.deleteOne(op.deleteOne.filter);
}

/** Copies the read model of one database into another (same `_id`s): far cheaper than replaying changes. */
export async function copyReadModel(from: Db, to: Db): Promise<number> {
  let total = 0;
  await Promise.all(
    COLLECTION_KEYS.map(async (key) => {
      const name = DEFAULT_COLLECTION_NAMES[key];
      const rows = await from.collection(name).find({}).toArray();
      for (let i = 0; i < rows.length; i += INSERT_CHUNK)
        await to.collection(name).insertMany(rows.slice(i, i + INSERT_CHUNK), { ordered: false });
      total += rows.length;
    }),
  );
  return total;
}
