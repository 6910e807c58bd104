/**
 * The clock events and read-model rows are stamped with. Time is kept as integer microseconds so that
 * arithmetic is exact and every reading is an epoch-ms float with a microsecond fraction
 * (`1763551369397.648`), like Chat3's `createdAt`.
 *
 * Stateful: `advance()` moves simulated time forward by a random gap; readings strictly increase. In
 * wall mode the gaps come from the real clock instead (non-reproducible timestamps, meaningful lag).
 */
import type { Random } from './prng';

export interface SimClock {
  /** The current reading, epoch ms with µs fraction. */
  now(): number;
  /** Moves to the next arrival: a random gap with the configured mean (simulated) or the wall clock. */
  advance(meanGapMs: number): number;
}

/** 2025-11-19T11:22:49.397Z, the timestamp of the seed document's examples. */
export const DEFAULT_START_TIME = 1763551369397;

const toMs = (micros: number) => micros / 1000;

export function createSimulatedClock(startTime: number, random: Random): SimClock {
  let micros = Math.round(startTime * 1000);
  return {
    now: () => toMs(micros),
    advance(meanGapMs) {
      micros += 1 + Math.floor(random.exponential(meanGapMs * 1000));
      return toMs(micros);
    },
  };
}

export function createWallClock(read: () => number): SimClock {
  let micros = Math.round(read() * 1000);
  const tick = () => {
    const t = Math.round(read() * 1000);
    micros = t > micros ? t : micros + 1;
    return toMs(micros);
  };
  return { now: () => toMs(micros), advance: () => tick() };
}
