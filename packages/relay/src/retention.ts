/**
 * Retention of published Updates (UPDATES_RETENTION): they are deleted that long after they were
 * published. Unpublished, parked and put-back Updates carry no `publishedDate` and are never deleted.
 *
 * States: starting (ensuring the index; retried with backoff while the database is away) →
 *   - `ttl`: the server's TTL index deletes (MongoDB); the relay only samples the oldest retained age;
 *   - `standby` ⇄ `deleting`: the server has no TTL indexes. One relay at a time, holding the single
 *     lease of group `retention`, deletes in batches: up to RELAY_RETENTION_BATCH ids published before
 *     the cutoff, then `deleteMany` by those ids AND the same condition, so an Update put back meanwhile
 *     is never deleted. Batches start at most every RELAY_RETENTION_INTERVAL_MS (start to start); once a
 *     batch comes back short, the deleter sleeps until the oldest retained Update expires (at most a
 *     minute, like MongoDB's TTL monitor). It stops between batches on shutdown and on lease loss;
 *   - `off` (retention 0: the index is dropped, nothing is deleted or sampled)
 * → stopped.
 *
 * Failure: a database error is logged and retried after a backoff; nothing here throws out.
 */
import {
  backoffDelay,
  createLeaseManager,
  detachedLoop,
  errorMessage,
  type LeaseManager,
  type LeaseStore,
  type Logger,
  type LoopHealth,
} from '@chat3/runtime';
import type { ObjectId } from 'mongodb';
import type { Relay } from './relay';
import { createWakeableSleep } from './wakeable-sleep';

export type RetentionEnforcement = 'ttl' | 'deleter' | 'off';
export type RetentionState = 'starting' | 'ttl' | 'standby' | 'deleting' | 'off' | 'stopped';

export const RETENTION_LEASE_GROUP = 'retention';
const IDLE_MAX_MS = 60_000;
const RETRY = { baseMs: 1_000, maxMs: 60_000 };

export interface RetentionStore {
  /** Makes the server enforce `retentionSeconds` where it can; says how retention is enforced. */
  ensureIndex(retentionSeconds: number): Promise<RetentionEnforcement>;
  /** Up to `limit` ids of Updates published before `cutoff`, oldest first. */
  expiredIds(cutoff: Date, limit: number): Promise<ObjectId[]>;
  /** Deletes those of `ids` still published before `cutoff`; resolves how many. */
  deleteExpired(ids: readonly ObjectId[], cutoff: Date): Promise<number>;
  /** The `publishedDate` of the oldest published Update stored, or null. */
  oldestRetained(): Promise<Date | null>;
}

export interface RetentionMetrics {
  retentionDeleted: { inc(value?: number): void };
  oldestRetained: { set(value: number): void };
}

export interface RetentionOptions {
  store: RetentionStore;
  leases: LeaseStore;
  instanceId: string;
  leaseTtlMs: number;
  retentionSeconds: number;
  batchSize: number;
  intervalMs: number;
  /** How often the oldest retained age is sampled (less often when sampling is slow: at most a fifth of the time). */
  sampleIntervalMs: number;
  metrics: RetentionMetrics;
  /** Where the deleter, its lease heartbeats and the sampler record progress and errors (/healthz). */
  loops?: LoopHealth;
  logger: Logger;
  now?: () => number;
  /** Longest sleep of an idle deleter (default one minute). */
  idleMaxMs?: number;
}

export interface Retention {
  start(): void;
  stop(): Promise<void>;
  readonly state: RetentionState;
}

export function createRetention(options: RetentionOptions): Retention {
  const { store, logger, metrics, batchSize, intervalMs } = options;
  const now = options.now ?? Date.now;
  const retentionMs = options.retentionSeconds * 1000;
  const idleMaxMs = Math.max(intervalMs, options.idleMaxMs ?? IDLE_MAX_MS);
  const pause = createWakeableSleep();
  const samplerPause = createWakeableSleep();
  let state: RetentionState = 'starting';
  let stopped = false;
  let manager: LeaseManager | undefined;
  let starting: Promise<void> = Promise.resolve();
  let sampling: Promise<void> = Promise.resolve();
  let deleting: Promise<void> = Promise.resolve();
  let stopping: Promise<void> | undefined;
  const loop = (name: string) => options.loops?.loop(name) ?? detachedLoop(name);
  const deleter = loop('retention');
  const sampler = loop('retention-stats');

  /**
   * Runs `step` until it succeeds or the retention stops; false when stopped first. Not a step of the
   * deleter's loop (only its failures are recorded): building the index on a large collection takes as
   * long as it takes, and every relay would otherwise be called wedged at once.
   */
  async function untilDone(what: string, step: () => Promise<void>): Promise<boolean> {
    for (let attempt = 1; !stopped; attempt++) {
      try {
        await step();
        return true;
      } catch (err) {
        deleter.error(err);
        const delayMs = backoffDelay(attempt, RETRY);
        logger.warn({ err: errorMessage(err), delayMs }, `${what} failed; retrying`);
        await pause.sleep(delayMs);
      }
    }
    return false;
  }

  async function begin(): Promise<void> {
    let enforcement: RetentionEnforcement = 'off';
    const ensured = await untilDone('ensuring the retention index', async () => {
      enforcement = await store.ensureIndex(options.retentionSeconds);
    });
    if (!ensured) return;
    logger.info({ enforcement, retentionSeconds: options.retentionSeconds }, 'retention');
    if (enforcement === 'off') {
      state = 'off';
      return;
    }
    state = enforcement === 'ttl' ? 'ttl' : 'standby';
    sampling = sampleOldest();
    if (enforcement === 'deleter') {
      const leases = createLeaseManager({
        store: options.leases,
        group: RETENTION_LEASE_GROUP,
        partitions: 1,
        instanceId: options.instanceId,
        ttlMs: options.leaseTtlMs,
        loop: loop('retention-leases'),
        logger,
        onAcquire: async () => {
          if (stopped) return;
          state = 'deleting';
          deleting = deleteWhileHeld(leases);
        },
        onRelease: async () => {
          pause.wake();
          await deleting;
          if (state === 'deleting') state = 'standby';
        },
      });
      if (await untilDone('joining the retention lease group', () => leases.start())) manager = leases;
      else await leases.stop();
    }
  }

  async function deleteWhileHeld(leases: LeaseManager): Promise<void> {
    let failures = 0;
    while (!stopped && leases.holds(0)) {
      const startedAt = now();
      let waitMs = intervalMs;
      try {
        waitMs = await deleter.step(async () => {
          const cutoff = new Date(startedAt - retentionMs);
          const ids = await store.expiredIds(cutoff, batchSize);
          if (ids.length > 0 && !stopped && leases.holds(0)) {
            const deleted = await store.deleteExpired(ids, cutoff);
            metrics.retentionDeleted.inc(deleted);
            logger.debug({ found: ids.length, deleted }, 'retention batch deleted');
          }
          return ids.length < batchSize ? await idleWait(startedAt) : intervalMs;
        });
        failures = 0;
      } catch (err) {
        failures += 1;
        waitMs = Math.max(intervalMs, backoffDelay(failures, RETRY));
        logger.warn({ err: errorMessage(err), delayMs: waitMs }, 'retention batch failed; retrying');
      }
      if (stopped || !leases.holds(0)) break;
      await pause.sleep(Math.max(0, startedAt + waitMs - now()));
    }
  }

  /** Nothing expired is left: sleep until the oldest retained Update expires (within bounds). */
  async function idleWait(startedAt: number): Promise<number> {
    const oldest = await store.oldestRetained();
    // None stored: an Update published now expires one retention from now at the earliest.
    if (oldest === null) return Math.min(idleMaxMs, Math.max(intervalMs, retentionMs));
    return Math.min(idleMaxMs, Math.max(intervalMs, oldest.getTime() + retentionMs - startedAt + 1));
  }

  async function sampleOldest(): Promise<void> {
    // The first sample waits one interval, as the relay's other gauges do: a starting relay is busy.
    let delayMs = options.sampleIntervalMs;
    while (!stopped) {
      await samplerPause.sleep(delayMs);
      if (stopped) break;
      const sampledAt = performance.now();
      try {
        const oldest = await sampler.step(() => store.oldestRetained());
        metrics.oldestRetained.set(oldest === null ? 0 : Math.max(0, now() - oldest.getTime()) / 1000);
      } catch (err) {
        logger.warn({ err: errorMessage(err) }, 'sampling the oldest retained Update failed');
      }
      delayMs = Math.max(options.sampleIntervalMs, Math.round(4 * (performance.now() - sampledAt)));
    }
  }

  return {
    start() {
      starting = begin();
    },
    stop() {
      stopping ??= (async () => {
        stopped = true;
        pause.wake();
        samplerPause.wake();
        await starting;
        await manager?.stop();
        await Promise.all([deleting, sampling]);
        state = 'stopped';
      })();
      return stopping;
    },
    get state() {
      return state;
    },
  };
}

/** The relay with retention alongside: retention starts once the relay has, and stops with it. */
export function withRetention(relay: Relay, retention: Retention): Relay {
  return {
    async start() {
      await relay.start();
      retention.start();
    },
    async stop() {
      // Side by side: a deleter stuck on an unreachable database must not hold up the relay's hand-over.
      await Promise.all([retention.stop(), relay.stop()]);
    },
    get mode() {
      return relay.mode;
    },
    readiness: () => relay.readiness(),
  };
}
