/**
 * Update `createdAt` is epoch milliseconds with a microsecond fraction (SPEC §4). Within one builder
 * process it is strictly increasing, so `createdAt` order matches build order even for the Updates of
 * one batch written in the same millisecond.
 */
export function createMonotonicClock(now: () => number = () => performance.timeOrigin + performance.now()): () => number {
  let last = 0;
  return () => {
    const t = Math.round(now() * 1000) / 1000;
    last = t > last ? t : Math.round((last + 0.001) * 1000) / 1000;
    return last;
  };
}
