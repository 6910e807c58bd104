/**
 * One page of the relay's work on the configured server, each step timed alone: fetch, encode, publish
 * and confirm, mark (the relay's own UpdateStore, as createMongoRelay opens it).
 */
import { toWireMessage } from '@chat3/core';
import { createMongoUpdateStore, type StoredUpdate } from '@chat3/relay';
import { createSilentLogger } from '@chat3/runtime';
import { publishWindowed } from '../broker';
import { median } from '../report';
import { freshUpdates, relayUpdates, withMeasurement, type RelayBenchContext } from './context';
import type { PageBreakdown } from './results';

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
    const store = createMongoUpdateStore(relayUpdates(ctx, n.db), createSilentLogger());
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
