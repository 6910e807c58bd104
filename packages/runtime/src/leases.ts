/**
 * Partition leases in MongoDB, shared by every instance of one group (`builder`, `relay`).
 *
 * Documents (one collection, `leases` by default):
 *   - lease  `{ _id: '<group>:<p>', owner, fence, expiresAt }`, one per partition;
 *   - member `{ _id: '<group>:member:<instanceId>', expiresAt }`, one per live instance.
 *
 * Every heartbeat an instance renews its membership and its leases, then balances: with n live members
 * sorted by id, member k's share is floor(P/n) (+1 for the first P mod n). An instance above its share
 * releases partitions (after `onRelease` has finished or handed back the in-flight work); one below it
 * takes free or expired leases. So a joining instance gets its share within a heartbeat or two, and the
 * partitions of a killed one are taken over within the lease TTL.
 *
 * Guarantees: acquiring is one conditional `findOneAndUpdate` that also increments `fence`, and renewing
 * is conditional on owner and fence, so on MongoDB (atomic single-document updates) a partition has at
 * most one owner whose renewals succeed. `holds()` turns false a safety margin before the lease could
 * expire, so an instance cut off from MongoDB stops working on a partition before anyone can take it.
 * Expiry uses the instances' wall clocks: keep clock skew well below the TTL. (FerretDB does not make
 * `findOneAndUpdate` atomic under concurrency; there two instances can briefly both believe they
 * acquired a lease, until the loser's next renewal fails.)
 */
import { errorMessage } from './errors';
import type { LeaseStore } from './lease-store';
import type { Logger } from './logger';

export type ReleaseReason = 'rebalance' | 'lost' | 'expired' | 'shutdown';

export interface LeaseManagerOptions {
  store: LeaseStore;
  group: string;
  partitions: number;
  instanceId: string;
  ttlMs: number;
  heartbeatMs?: number;
  logger: Logger;
  /** Start working on a partition. Throwing hands the lease straight back. */
  onAcquire: (partition: number, fence: number) => Promise<void>;
  /** Stop working on a partition; resolve only when its in-flight work is finished or handed back. */
  onRelease: (partition: number, reason: ReleaseReason) => Promise<void>;
  now?: () => number;
}

export interface LeaseManager {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** One heartbeat: renew, balance. Runs on a timer; exposed for tests. */
  tick(): Promise<void>;
  /** Partition → fence of every lease this instance holds. */
  owned(): ReadonlyMap<number, number>;
  /** True while the lease is ours and safely inside its TTL. */
  holds(partition: number, fence?: number): boolean;
}

/** Member k of n (sorted) owns this many of P partitions. */
export function fairShare(partitions: number, members: number, rank: number): number {
  return Math.floor(partitions / members) + (rank < partitions % members ? 1 : 0);
}

export function createLeaseManager(options: LeaseManagerOptions): LeaseManager {
  const { store, group, partitions, instanceId, ttlMs, logger } = options;
  const heartbeatMs = options.heartbeatMs ?? Math.max(200, Math.floor(ttlMs / 4));
  const margin = Math.min(heartbeatMs, Math.floor(ttlMs / 4));
  const now = options.now ?? Date.now;
  const fences = new Map<number, number>();
  const validUntil = new Map<number, number>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  let stopping: Promise<void> | undefined;

  async function renew(t: number): Promise<void> {
    await store.heartbeat(group, instanceId, t, t + ttlMs);
    const results = await Promise.all(
      [...fences].map(async ([p, fence]) => ({ p, renewed: await store.renew(group, p, instanceId, fence, t, t + ttlMs) })),
    );
    for (const { p, renewed } of results) {
      if (renewed) validUntil.set(p, t + ttlMs);
      else await release(p, 'lost');
    }
  }

  async function balance(t: number): Promise<void> {
    const members = await store.liveMembers(group, t);
    if (!members.includes(instanceId)) members.push(instanceId);
    members.sort();
    const share = fairShare(partitions, members.length, members.indexOf(instanceId));

    if (fences.size > share) {
      const extra = [...fences.keys()].sort((a, b) => b - a).slice(0, fences.size - share);
      for (const p of extra) await release(p, 'rebalance');
      return;
    }
    if (fences.size === share) return;
    const free = await store.freePartitions(group, partitions, t);
    for (const p of shuffle(free)) {
      if (fences.size >= share || stopped) break;
      await acquire(p, t);
    }
  }

  async function acquire(p: number, t: number): Promise<void> {
    const fence = await store.acquire(group, p, instanceId, t, t + ttlMs);
    if (fence === null) return;
    fences.set(p, fence);
    validUntil.set(p, t + ttlMs);
    logger.info({ group, partition: p, fence }, 'lease acquired');
    try {
      await options.onAcquire(p, fence);
    } catch (err) {
      logger.error({ err, group, partition: p }, 'could not start work on an acquired partition; releasing it');
      await release(p, 'rebalance');
    }
  }

  async function release(p: number, reason: ReleaseReason): Promise<void> {
    const fence = fences.get(p);
    if (fence === undefined) return;
    try {
      await options.onRelease(p, reason);
    } catch (err) {
      logger.error({ err, group, partition: p }, 'error while stopping work on a partition');
    }
    fences.delete(p);
    validUntil.delete(p);
    logger.info({ group, partition: p, fence, reason }, 'lease released');
    if (reason === 'lost' || reason === 'expired') return;
    await store
      .handBack(group, p, instanceId, fence)
      .catch((err) => logger.warn({ err, partition: p }, 'could not hand back lease; it will expire'));
  }

  async function tick(): Promise<void> {
    const t = now();
    try {
      await renew(t);
      if (!stopped) await balance(t);
    } catch (err) {
      logger.warn({ group, err: errorMessage(err) }, 'lease heartbeat failed');
    }
    // Cut off from MongoDB: stop before anyone else may take over.
    for (const p of [...fences.keys()]) if (!holds(p)) await release(p, 'expired');
  }

  function holds(p: number, fence?: number): boolean {
    const own = fences.get(p);
    if (own === undefined || (fence !== undefined && fence !== own)) return false;
    return now() < (validUntil.get(p) ?? 0) - margin;
  }

  function schedule(): void {
    if (stopped) return;
    const jitter = Math.floor(Math.random() * heartbeatMs * 0.2);
    timer = setTimeout(() => {
      running = running.then(tick).finally(schedule);
    }, heartbeatMs - jitter);
  }

  return {
    async start() {
      await store.ensureLeases(group, partitions);
      running = tick();
      await running;
      schedule();
    },
    stop() {
      stopping ??= (async () => {
        stopped = true;
        clearTimeout(timer);
        await running;
        for (const p of [...fences.keys()]) await release(p, 'shutdown');
        await store.leave(group, instanceId).catch(() => undefined);
      })();
      return stopping;
    },
    tick: () => (running = running.then(tick)),
    owned: () => fences,
    holds,
  };
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}
