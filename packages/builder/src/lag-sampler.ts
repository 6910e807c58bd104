/**
 * Samples the published lag (how long the oldest unpublished Update has waited) into the builder's
 * `chat3_builder_published_lag_seconds`. The relay measures the same thing; the builder does too so
 * that the lag stays visible, and its alert can fire, while no relay runs at all.
 *
 * States: idle → sampling (start) → stopped. A failed sample keeps the last value, is logged and is
 * tried again next interval; the loop never throws out. Like the relay's sampler, it waits at least
 * four times as long as the last sample took, so counting never crowds out the builder's own queries.
 */
import { detachedLoop, errorMessage, sleep, type Logger, type LoopTracker } from '@chat3/runtime';

export interface LagSamplerDeps {
  /** Epoch ms the oldest unpublished Update has waited since (`createdAt`, or `republishedAt` for a replayed one); null when none. */
  oldestWaitingSince: () => Promise<number | null>;
  setLagSeconds: (seconds: number) => void;
  intervalMs: number;
  /** Each sample is a step (/healthz). */
  loop?: LoopTracker;
  logger: Logger;
  now?: () => number;
}

export interface LagSampler {
  start(): void;
  stop(): Promise<void>;
}

export function lagSeconds(oldestWaitingSince: number | null, now: number): number {
  return oldestWaitingSince === null ? 0 : Math.max(0, now - oldestWaitingSince) / 1000;
}

export function createLagSampler(deps: LagSamplerDeps): LagSampler {
  const now = deps.now ?? Date.now;
  const stopping = new AbortController();
  const tracker = deps.loop ?? detachedLoop('builder-stats');
  let loop: Promise<void> | undefined;

  async function run(): Promise<void> {
    while (!stopping.signal.aborted) {
      const startedAt = performance.now();
      try {
        const since = await tracker.step(() => deps.oldestWaitingSince());
        if (stopping.signal.aborted) break;
        deps.setLagSeconds(lagSeconds(since, now()));
      } catch (err) {
        deps.logger.warn({ err: errorMessage(err) }, 'lag sampling failed');
      }
      await sleep(Math.max(deps.intervalMs, Math.round(4 * (performance.now() - startedAt))), stopping.signal);
    }
  }

  return {
    start() {
      loop ??= run();
    },
    async stop() {
      stopping.abort();
      await loop;
    },
  };
}
