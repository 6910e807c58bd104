/**
 * One page of the relay's work on the configured server, each step timed alone: fetch, encode, publish
 * and confirm, mark (the relay's own UpdateStore, as createMongoRelay opens it). And the mark itself,
 * two ways on the same collection: `updateMany({_id: {$in}, published: false})`, what the relay does,
 * against an unordered `bulkWrite` of one `updateOne({_id, published: false})` per Update.
 */
import { toWireMessage } from '@chat3/core';
import { createMongoUpdateStore, type StoredUpdate } from '@chat3/relay';
import { createSilentLogger } from '@chat3/runtime';
import type { AnyBulkWriteOperation, ObjectId } from 'mongodb';
import { publishWindowed } from '../broker';
import { median } from '../report';
import { freshUpdates, relayUpdates, withMeasurement, type RelayBenchContext } from './context';
import type { MarkComparison, MarkMethod, MarkRun, PageBreakdown } from './results';

/** Every page bucket there is: one relay holding every partition sweeps them all. */
const ALL_BUCKETS = [{ from: 0, to: 1024 }];

export async function measurePage(
  ctx: RelayBenchContext,
  docs: readonly StoredUpdate[],
  batchSize: number,
  window: number,
): Promise<PageBreakdown> {
  return withMeasurement(ctx, 'page', {}, async (n) => {
    await freshUpdates(ctx, n.db, docs);
    const store = createMongoUpdateStore(relayUpdates(ctx, n.db), ctx.mongo.db(n.db).collection('update_seqs'), createSilentLogger());
    const ch = await ctx.broker.createConfirmChannel();
    ch.on('error', () => undefined);
    const times = { fetchMs: [] as number[], encodeMs: [] as number[], publishMs: [] as number[], markMs: [] as number[] };
    let pageSize = 0;
    try {
      const pages = Math.min(3, Math.floor(docs.length / batchSize) || 1);
      for (let i = 0; i < pages; i++) {
        let t = performance.now();
        const page = await store.fetchUnpublished(ALL_BUCKETS, batchSize);
        times.fetchMs.push(performance.now() - t);
        pageSize = page.length;
        t = performance.now();
        const messages = page.map((d) => toWireMessage(d));
        times.encodeMs.push(performance.now() - t);
        times.publishMs.push((await publishWindowed(ch, n.exchange, messages, window)).ms);
        t = performance.now();
        await store.markPublished(
          page.map((d) => d._id),
          Date.now(),
        );
        times.markMs.push(performance.now() - t);
      }
    } finally {
      await ch.close().catch(() => undefined);
    }
    return {
      pageSize,
      collectionSize: docs.length,
      fetchMs: median(times.fetchMs),
      encodeMs: median(times.encodeMs),
      publishMs: median(times.publishMs),
      markMs: median(times.markMs),
    };
  });
}

/** The alternative mark: one `updateOne` by `_id` per Update, conditional on `published: false`. */
export function bulkMarkOperations(ids: readonly ObjectId[], publishedAt: number): AnyBulkWriteOperation<StoredUpdate>[] {
  return ids.map((_id) => ({
    updateOne: { filter: { _id, published: false }, update: { $set: { published: true, publishedAt } } },
  }));
}

/**
 * Marks pages of `pageSize` Updates of a fresh collection of `docs`, oldest first, alternating the two
 * methods (`pagesPerMethod` each), so that both see the same collection and the same drift.
 */
export async function measureMarks(
  ctx: RelayBenchContext,
  docs: readonly StoredUpdate[],
  pageSize: number,
  pagesPerMethod: number,
): Promise<MarkComparison> {
  return withMeasurement(ctx, `marks${docs.length}`, {}, async (n) => {
    await freshUpdates(ctx, n.db, docs);
    const col = relayUpdates(ctx, n.db);
    const store = createMongoUpdateStore(col, ctx.mongo.db(n.db).collection('update_seqs'), createSilentLogger());
    const pages = Math.min(2 * pagesPerMethod, Math.floor(docs.length / pageSize));
    const runs: MarkRun[] = [];
    for (let i = 0; i < pages; i++) {
      const ids = docs.slice(i * pageSize, (i + 1) * pageSize).map((d) => d._id);
      const method: MarkMethod = i % 2 === 0 ? 'updateMany' : 'bulkWrite';
      const t = performance.now();
      if (method === 'updateMany') await store.markPublished(ids, Date.now());
      else await col.bulkWrite(bulkMarkOperations(ids, Date.now()), { ordered: false });
      runs.push({ method, ms: performance.now() - t });
    }
    // Checked once at the end (the relay's markPublished returns nothing, and each count is a scan here).
    const marked = await col.countDocuments({ published: true });
    return { collectionSize: docs.length, pageSize, runs, marked };
  });
}
