/**
 * Live traffic's lag while a replay runs: the real relay (polling) publishes Updates inserted at a fixed
 * rate into a collection that also holds `history` published Updates an hour old; in the same
 * collection, a replay (`pnpm republish`'s runReplay) puts all of them back at `replayRate` per second,
 * or none when `replayRate` is null (the baseline). Live lag is publishedAt − createdAt of the live
 * Updates only.
 */
import { createMonotonicClock } from '@chat3/core';
import type { StoredUpdate } from '@chat3/relay';
import { sleep as abortableSleep } from '@chat3/runtime';
import { ObjectId } from 'mongodb';
import { runReplay, startReplay, type ReplayRecord } from '../../replay/replay';
import { sleep } from '../common';
import { summarize, type Summary } from '../report';
import { freshUpdates, withMeasurement, type RelayBenchContext } from './context';
import { startMongoRelay, waitPublished } from './drain';
import { createUpdateStream } from './workload';

export interface ReplayLagRun {
  label: string;
  history: number;
  /** Updates per second the replay was asked for; null: no replay (the baseline). */
  replayRate: number | null;
  replayed: number;
  replaySeconds: number | null;
  liveRate: number;
  liveSeconds: number;
  live: number;
  livePublished: number;
  liveLag: Summary;
  /** The relay's lag gauge at its highest while live traffic ran, s. */
  maxLagGauge: number;
}

export async function measureReplayLag(
  ctx: RelayBenchContext,
  o: { label: string; history: number; replayRate: number | null; liveRate: number; liveSeconds: number; seed: number },
): Promise<ReplayLagRun> {
  return withMeasurement(ctx, o.label, {}, async (n) => {
    const hourAgo = Date.now() - 3_600_000;
    const history = createUpdateStream({ seed: o.seed }, createMonotonicClock())
      .take(o.history)
      .map(
        (d, i) => ({ ...d, _id: new ObjectId(), createdAt: hourAgo + i, published: true, publishedAt: hourAgo + i + 5 }) as StoredUpdate,
      );
    const col = await freshUpdates(ctx, n.db, history);
    const relay = await startMongoRelay(ctx, n.db, n.exchange, o.label);
    const stop = new AbortController();
    let gaugeMax = 0;
    const gauge = setInterval(() => {
      void relay.metrics.publishedLag.get().then((m) => (gaugeMax = Math.max(gaugeMax, m.values[0]?.value ?? 0)));
    }, 250);
    try {
      await sleep(300); // let the first empty sweep pass
      const replays = ctx.mongo.db(n.db).collection<ReplayRecord>('replays');
      const updates = ctx.mongo.db(n.db).collection('updates'); // the replay's view: any document
      const replay =
        o.replayRate === null
          ? null
          : (async () => {
              const t = performance.now();
              const record = await startReplay(
                { updates, replays },
                { filter: { tenant: history[0]!.tenantId }, rate: o.replayRate!, operator: 'bench' },
              );
              const final = await runReplay({ updates, replays, sleep: abortableSleep, signal: stop.signal }, record);
              return { done: final.done, seconds: (performance.now() - t) / 1000 };
            })();

      const clock = createMonotonicClock();
      const live = createUpdateStream({ seed: o.seed + 1 }, clock).take(Math.max(1, Math.round(o.liveRate * o.liveSeconds)));
      const started = performance.now();
      let inserted = 0;
      while (inserted < live.length) {
        ctx.fatal.check();
        const due = Math.min(live.length, Math.floor((o.liveRate * (performance.now() - started)) / 1000) + 1);
        if (due > inserted) {
          await col.insertMany(
            live.slice(inserted, due).map((d) => ({ ...d, _id: new ObjectId(), createdAt: clock() }) as StoredUpdate),
            { ordered: false },
          );
          inserted = due;
        } else await sleep(10);
      }
      const replayed = replay ? await replay : null;
      await waitPublished(ctx, relay.metrics, inserted + (replayed?.done ?? 0), 600_000);
      const rows = await col
        .find(
          { replayId: { $exists: false }, createdAt: { $gt: hourAgo + o.history } },
          { projection: { _id: 0, createdAt: 1, publishedAt: 1 } },
        )
        .toArray();
      const lags = rows.filter((r) => typeof r.publishedAt === 'number').map((r) => (r.publishedAt as number) - r.createdAt);
      return {
        label: o.label,
        history: o.history,
        replayRate: o.replayRate,
        replayed: replayed?.done ?? 0,
        replaySeconds: replayed?.seconds ?? null,
        liveRate: o.liveRate,
        liveSeconds: o.liveSeconds,
        live: inserted,
        livePublished: lags.length,
        liveLag: summarize(lags),
        maxLagGauge: gaugeMax,
      };
    } finally {
      stop.abort();
      clearInterval(gauge);
      await relay.stop();
    }
  });
}
