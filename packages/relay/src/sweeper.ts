/**
 * Drains the unpublished Updates of a set of relay partitions, oldest first, a page at a time, with up
 * to two pages in flight (the next page skips what is still in flight). One query covers all the
 * partitions asked for: order only matters per recipient, and a recipient lives in one partition.
 * Used for the start-up backlog, for polling, and for the safety-net sweep. A sweep stops early when
 * publishing fails (the connection is gone): the Updates stay unpublished and the next sweep takes them.
 */
import { errorMessage, type Logger } from '@chat3/runtime';
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
  /** False when the sweep stopped before the partitions were empty (failures, lost leases). */
  complete: boolean;
}

export function createSweeper(options: SweeperOptions) {
  const { dispatcher, batchSize, logger } = options;

  return {
    async sweep(partitions: readonly number[], before?: number): Promise<SweepOutcome> {
      const pending: Array<Promise<{ retry: number }>> = [];
      const stillHeld = () => partitions.filter(options.mayPublish);
      let dispatched = 0;
      let complete = true;
      try {
        for (let held = stillHeld(); held.length > 0 && dispatcher.canPublish; held = stillHeld()) {
          const busy = dispatcher.inFlightIds();
          const page = (await options.fetch(held, batchSize + busy.size, before))
            .filter((d) => !busy.has(d._id.toHexString()))
            .slice(0, batchSize);
          if (page.length === 0) break;
          pending.push(dispatcher.dispatch(page));
          dispatched += page.length;
          if (pending.length >= 2 && (await pending.shift()!).retry > 0) {
            complete = false;
            break;
          }
          if (page.length < batchSize) break;
        }
        if (stillHeld().length < partitions.length || !dispatcher.canPublish) complete = false;
      } catch (err) {
        complete = false;
        logger.warn({ partitions, err: errorMessage(err) }, 'sweep failed');
      }
      for (const result of await Promise.allSettled(pending)) {
        if (result.status === 'rejected' || result.value.retry > 0) complete = false;
      }
      return { dispatched, complete };
    },
  };
}

export type Sweeper = ReturnType<typeof createSweeper>;
