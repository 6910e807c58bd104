/**
 * The raw ceiling of the builder's own writes: the Update documents a builder run wrote, inserted again
 * with one unordered `insertMany` into a fresh `updates` collection that has the builder's indexes, with
 * the builder's write concern, on the same server. What the builder does besides (consuming, reading the
 * read model, user stats, acking, one insert per batch) is what separates it from this.
 */
import { DURABLE_WRITES } from '@chat3/runtime';
import type { Document } from 'mongodb';
import { dropDb, measurementNames, updateIndexes, type BuilderBenchContext } from './context';
import type { InsertCeilingRun } from './results';

export async function measureInsertCeiling(
  ctx: BuilderBenchContext,
  written: readonly Document[],
  events: number,
  rep: number,
): Promise<InsertCeilingRun> {
  const n = measurementNames(ctx, `insert${rep}`, { broker: false });
  try {
    const db = ctx.mongo.db(n.db);
    await updateIndexes(db);
    const docs = written.map((d) => ({ ...d })); // insertMany adds an _id to each
    const t = performance.now();
    await db.collection('updates', { writeConcern: DURABLE_WRITES }).insertMany(docs, { ordered: false });
    const ms = performance.now() - t;
    return {
      documents: docs.length,
      events,
      ms,
      updatesPerSecond: (docs.length / ms) * 1000,
      eventsPerSecond: (events / ms) * 1000,
    };
  } finally {
    await dropDb(ctx, n.db);
  }
}
