/**
 * What the relay is compared with, in the same run: the raw broker ceiling (the relay's own wire
 * messages on a confirm channel, no database) and the naive outbox relay (naive-relay.ts).
 */
import { createMonotonicClock, type WireMessage } from '@chat3/core';
import type { StoredUpdate } from '@chat3/relay';
import { publishWindowed, queueDepth } from '../broker';
import { freshUpdates, withMeasurement, type RelayBenchContext } from './context';
import { runNaiveRelay } from './naive-relay';
import type { CeilingRun, NaiveRun } from './results';

export async function measureCeiling(
  ctx: RelayBenchContext,
  messages: readonly WireMessage[],
  window: number,
  rep: number,
): Promise<CeilingRun> {
  return withMeasurement(ctx, `ceiling${rep}`, { database: false }, async (n) => {
    const ch = await ctx.broker.createConfirmChannel();
    ch.on('error', () => undefined);
    try {
      const cpu = process.cpuUsage();
      const run = await publishWindowed(ch, n.exchange, messages, window);
      const used = process.cpuUsage(cpu);
      return {
        rate: (messages.length / run.ms) * 1000,
        ms: run.ms,
        nacks: run.nacks,
        queueDepth: await queueDepth(ctx.admin, n.queue),
        cpuUsPerMsg: (used.user + used.system) / messages.length,
      };
    } finally {
      await ch.close().catch(() => undefined);
    }
  });
}

export async function measureNaive(ctx: RelayBenchContext, docs: readonly StoredUpdate[], seconds: number): Promise<NaiveRun> {
  return withMeasurement(ctx, 'naive', {}, async (n) => {
    const col = await freshUpdates(ctx, n.db, docs);
    const ch = await ctx.broker.createConfirmChannel();
    ch.on('error', () => undefined);
    try {
      const r = await runNaiveRelay({
        collection: col,
        channel: ch,
        exchange: n.exchange,
        clock: createMonotonicClock(),
        maxMs: seconds * 1000,
        total: docs.length,
      });
      return { ...r, rate: (r.published / r.ms) * 1000 };
    } finally {
      await ch.close().catch(() => undefined);
    }
  });
}
