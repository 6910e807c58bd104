/**
 * Drains the unpublished Updates of a set of relay partitions, oldest first, a page at a time, with up
 * to two pages in flight (the next page skips what is still in flight). One query covers all the
 * partitions asked for: order only matters per recipient, and a recipient lives in one partition.
 * Used for the backlog of a newly held partition, for polling, and for change-stream catch-up and the
 * safety net.
 *
 * A sweep is authoritative: before its first read it waits until nothing of its partitions is in
 * flight and clears their faults (see dispatcher.ts), so what it reads is the truth and goes out in
 * order. It stops early, incomplete, when publishing fails (the faulted partitions then wait for the
 * next sweep), when a partition is no longer held, when a read fails, or when `signal` aborts
 * (shutdown). Nothing is lost by stopping: the Updates stay unpublished.
 */
import { errorMessage, type Logger, type LoopTracker } from '@chat3/runtime';
import type { Dispatcher } from './dispatcher';
import type { StoredUpdate } from './ports';

export interface SweeperOptions {
  fetch: (partitions: readonly number[], limit: number, before?: number) => Promise<StoredUpdate[]>;
  dispatcher: Dispatcher;
  batchSize: number;
  mayPublish: (partition: number) => boolean;
  logger: Logger;
}

export interface SweepOutcome {
  dispatched: number;
  /** False when the sweep stopped before the partitions were empty (failures, lost leases, shutdown). */
  complete: boolean;
}

export interface SweepOptions {
  /** Only Updates created before this (the safety net leaves young ones to the stream). */
  before?: number;
  signal?: AbortSignal;
  /** The calling loop: each page read is its progress, a failed read its error (/healthz). */
  loop?: LoopTracker;
}

export function createSweeper(options: SweeperOptions) {
  const { dispatcher, batchSize, logger } = options;

  return {
    async sweep(partitions: readonly number[], { before, signal, loop }: SweepOptions = {}): Promise<SweepOutcome> {
      await dispatcher.settle(partitions);
      const stillHeld = () => partitions.filter(options.mayPublish);
      if (signal?.aborted || stillHeld().length < partitions.length) return { dispatched: 0, complete: false };
      dispatcher.clearFaults(partitions);

      const pending: Array<Promise<{ retry: number }>> = [];
      let dispatched = 0;
      let complete = true;
      try {
        for (;;) {
          if (signal?.aborted || stillHeld().length < partitions.length || dispatcher.faulted(partitions).length > 0) {
            complete = false;
            break;
          }
          const busy = dispatcher.inFlightIds();
          const page = (await options.fetch(partitions, batchSize + busy.size, before))
            .filter((d) => !busy.has(d._id.toHexString()))
            .slice(0, batchSize);
          loop?.progress();
          if (page.length === 0) break;
          pending.push(dispatcher.dispatch(page, { source: 'sweep' }));
          dispatched += page.length;
          if (pending.length >= 2 && (await pending.shift()!).retry > 0) {
            complete = false;
            break;
          }
          if (page.length < batchSize) break;
        }
      } catch (err) {
        complete = false;
        loop?.error(err);
        logger.warn({ partitions, err: errorMessage(err) }, 'sweep failed');
      }
      for (const result of await Promise.all(pending)) if (result.retry > 0) complete = false;
      if (dispatcher.faulted(partitions).length > 0) complete = false;
      return { dispatched, complete };
    },
  };
}

export type Sweeper = ReturnType<typeof createSweeper>;
