/**
 * Polling mode: sweep every held partition every `intervalMs`, measured start to start, so an Update
 * waits at most one interval plus one sweep (sooner when woken by a newly acquired partition). A sweep
 * that found work is followed at once by the next one when it took longer than the interval; an empty
 * one that was slow (a loaded server) pauses at least as long as it took, so idle polling never holds
 * the database more than half the time. After a sweep that could not finish (the broker is away) the
 * pause backs off, so an outage never turns into a hot loop. `stop()` interrupts a sweep between pages.
 *
 * States: idle (nothing held) → sweeping → pausing → … → stopped.
 */
import { backoffDelay, type Logger, type LoopTracker } from '@chat3/runtime';
import type { Sweeper } from './sweeper';
import { createWakeableSleep } from './wakeable-sleep';

export interface PollerOptions {
  sweeper: Sweeper;
  held: () => number[];
  intervalMs: number;
  /** Each sweep is a step; each page of it is progress (/healthz). */
  loop: LoopTracker;
  logger: Logger;
}

export function createPoller(options: PollerOptions) {
  const pause = createWakeableSleep();
  const stopping = new AbortController();
  let loop: Promise<void> | undefined;

  async function run(): Promise<void> {
    let failures = 0;
    while (!stopping.signal.aborted) {
      const held = options.held();
      const started = performance.now();
      const outcome =
        held.length === 0
          ? { complete: true, dispatched: 0 }
          : await options.loop.step(() => options.sweeper.sweep(held, { signal: stopping.signal, loop: options.loop }));
      if (stopping.signal.aborted) break;
      failures = outcome.complete ? 0 : failures + 1;
      await pause.sleep(
        outcome.complete
          ? pollPause(options.intervalMs, performance.now() - started, outcome.dispatched > 0)
          : backoffDelay(failures, { baseMs: options.intervalMs, maxMs: 5_000 }),
      );
    }
  }

  return {
    start(): void {
      options.logger.info({ intervalMs: options.intervalMs }, 'polling for unpublished updates');
      loop ??= run();
    },
    /** Sweep again now (a partition was acquired). */
    wake(): void {
      pause.wake();
    },
    async stop(): Promise<void> {
      stopping.abort();
      pause.wake();
      await loop;
    },
  };
}

/** The pause after a complete sweep that took `elapsedMs`; see the header. */
export function pollPause(intervalMs: number, elapsedMs: number, foundWork: boolean): number {
  const rest = Math.max(0, intervalMs - elapsedMs);
  return foundWork ? rest : Math.max(rest, elapsedMs);
}
