/**
 * Steady-state lag (publishedAt − createdAt) of the real relay, polling, while Updates are inserted at a
 * fixed rate into a fresh, initially empty collection for a few seconds.
 */
import { createMonotonicClock } from '@chat3/core';
import type { StoredUpdate } from '@chat3/relay';
import { ObjectId } from 'mongodb';
import { queueDepth } from '../broker';
import { sleep } from '../common';
import { summarize } from '../report';
import { freshUpdates, withMeasurement, type RelayBenchContext } from './context';
import { startMongoRelay, waitPublished } from './drain';
import type { LagRun } from './results';
import { createUpdateStream } from './workload';

export async function measureLag(ctx: RelayBenchContext, loadPct: number, rate: number, seconds: number, seed: number): Promise<LagRun> {
  return withMeasurement(ctx, `lag${loadPct}`, {}, async (n) => {
    const col = await freshUpdates(ctx, n.db, []);
    const total = Math.max(1, Math.round(rate * seconds));
    const drafts = createUpdateStream({ seed }, createMonotonicClock()).take(total);
    const relay = await startMongoRelay(ctx, n.db, n.exchange, `lag${loadPct}`);
    const clock = createMonotonicClock();
    const stamped = (from: number, to?: number) =>
      drafts.slice(from, to).map((d) => ({ ...d, _id: new ObjectId(), createdAt: clock() }) as StoredUpdate);
    const insertMs: number[] = [];
    try {
      await sleep(300); // let the first empty sweep pass
      const started = performance.now();
      const durationMs = seconds * 1000;
      let inserted = 0;
      while (inserted < total) {
        ctx.fatal.check();
        const elapsed = performance.now() - started;
        const due = Math.min(total, Math.floor((rate * Math.min(elapsed, durationMs)) / 1000));
        if (due > inserted) {
          const batch = stamped(inserted, due);
          const t = performance.now();
          await col.insertMany(batch, { ordered: false });
          insertMs.push(performance.now() - t);
          inserted = due;
        } else {
          await sleep(10);
        }
        if (elapsed >= durationMs && inserted < total) {
          // The last fraction of a message; send the remainder so the planned total goes out.
          await col.insertMany(stamped(inserted), { ordered: false });
          inserted = total;
        }
      }
      const producedMs = performance.now() - started;
      const w = await waitPublished(ctx, relay.metrics, inserted, seconds * 2000 + 30_000);
      const timings = relay.monitor.snapshot();
      await relay.stop();
      const rows = await col.find({}, { projection: { _id: 0, createdAt: 1, publishedAt: 1, published: 1 } }).toArray();
      const lags = rows.filter((r) => r.published && typeof r.publishedAt === 'number').map((r) => (r.publishedAt as number) - r.createdAt);
      const find = timings.find((t) => t.key === 'find updates');
      const update = timings.find((t) => t.key === 'update updates');
      return {
        loadPct,
        targetRate: rate,
        offeredRate: (inserted / producedMs) * 1000,
        inserted,
        published: lags.length,
        drained: w.reached && lags.length === inserted,
        drainTailMs: w.doneAt - (started + producedMs),
        lag: summarize(lags),
        insertMs: summarize(insertMs),
        queueDepth: await queueDepth(ctx.admin, n.queue),
        sweeps: find?.calls ?? 0,
        marks: update?.calls ?? 0,
        markMeanMs: update?.meanMs ?? Number.NaN,
        findMeanMs: find?.meanMs ?? Number.NaN,
        pollIntervalMs: relay.config.RELAY_POLL_INTERVAL_MS,
      };
    } finally {
      await relay.stop();
    }
  });
}
