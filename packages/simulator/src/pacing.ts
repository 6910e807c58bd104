/**
 * Pacing as a schedule, not a sleep per event: step i is due `i / rate` seconds after the start. A run
 * that falls behind catches up in larger batches (bounded by `maxBatch`), so the average rate holds and
 * high rates turn into bulk writes. Pure; the runner owns the timers.
 */

export interface BatchPlan {
  /** Steps to send now (0: wait first). */
  take: number;
  /** How long until the next step is due, when `take` is 0. */
  waitMs: number;
}

/** `rate` in events/s; 0 or Infinity means as fast as possible. */
export function planBatch(elapsedMs: number, sent: number, rate: number, maxBatch: number): BatchPlan {
  if (!(rate > 0) || rate === Infinity) return { take: maxBatch, waitMs: 0 };
  const due = Math.floor((elapsedMs * rate) / 1000) + 1;
  if (due > sent) return { take: Math.min(due - sent, maxBatch), waitMs: 0 };
  return { take: 0, waitMs: Math.max(0, (sent * 1000) / rate - elapsedMs) };
}

/** `'max'`, 0 and Infinity all mean unpaced. */
export function normalizeRate(rate: number | 'max' | undefined): number {
  if (rate === undefined || rate === 'max' || rate === Infinity) return 0;
  if (!Number.isFinite(rate) || rate < 0) throw new Error(`rate must be a number >= 0 or 'max', got ${rate}`);
  return rate;
}
