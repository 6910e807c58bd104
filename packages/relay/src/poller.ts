/**
 * Polling mode: sweep every held partition, then pause `intervalMs` (or less, when woken by a newly
 * acquired partition). After a sweep that could not finish (the broker is away) the pause backs off,
 * so an outage never turns into a hot loop.
 */
import { backoffDelay, type Logger } from '@chat3/runtime';
import type { Sweeper } from './sweeper';
import { createWakeableSleep } from './wakeable-sleep';

export interface PollerOptions {
  sweeper: Sweeper;
  held: () => number[];
  intervalMs: number;
  logger: Logger;
}

export function createPoller(options: PollerOptions) {
  const pause = createWakeableSleep();
  let stopped = false;
  let loop: Promise<void> | undefined;

  async function run(): Promise<void> {
    let failures = 0;
    while (!stopped) {
      const held = options.held();
      const complete = held.length === 0 || (await options.sweeper.sweep(held)).complete;
      failures = complete ? 0 : failures + 1;
      await pause.sleep(complete ? options.intervalMs : backoffDelay(failures, { baseMs: options.intervalMs, maxMs: 5_000 }));
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
      stopped = true;
      pause.wake();
      await loop;
    },
  };
}
