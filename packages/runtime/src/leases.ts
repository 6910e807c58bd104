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
import type { Collection } from 'mongodb';
import type { Logger } from './logger';
import { errorMessage } from './errors';

export interface LeaseDoc {
  _id: string;
  kind: 'lease' | 'member';
  group: string;
  partition?: number;
  owner: string | null;
  fence: number;
  expiresAt: number;
  heartbeatAt?: number;
  acquiredAt?: number;
  /** Per-partition state a group may keep with its lease (the relay keeps its resume token here). */
  state?: Record<string, unknown>;
}

export type ReleaseReason = 'rebalance' | 'lost' | 'expired' | 'shutdown';

export interface LeaseManagerOptions {
  collection: Collection<LeaseDoc>;
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

export function leaseId(group: string, partition: number): string {
  return `${group}:${partition}`;
}

/** Member k of n (sorted) owns this many of P partitions. */
export function fairShare(partitions: number, members: number, rank: number): number {
  return Math.floor(partitions / members) + (rank < partitions % members ? 1 : 0);
}

export function createLeaseManager(options: LeaseManagerOptions): LeaseManager {
  const { collection, group, partitions, instanceId, ttlMs, logger } = options;
  const heartbeatMs = options.heartbeatMs ?? Math.max(200, Math.floor(ttlMs / 4));
  const margin = Math.min(heartbeatMs, Math.floor(ttlMs / 4));
  const now = options.now ?? Date.now;
  const memberId = `${group}:member:${instanceId}`;
  const fences = new Map<number, number>();
  const validUntil = new Map<number, number>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  let stopping: Promise<void> | undefined;

  /** Creates missing lease documents. Instances starting together race on the upserts: a duplicate key means done. */
  async function ensureLeaseDocs(): Promise<void> {
    await collection
      .bulkWrite(
        Array.from({ length: partitions }, (_, p) => ({
          updateOne: {
            filter: { _id: leaseId(group, p) },
            update: { $setOnInsert: { kind: 'lease' as const, group, partition: p, owner: null, fence: 0, expiresAt: 0 } },
            upsert: true,
          },
        })),
        { ordered: false },
      )
      .catch((err: unknown) => {
        const writeErrors = (err as { writeErrors?: Array<{ code: number }> | { code: number } }).writeErrors;
        const all = Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : [];
        if (all.length === 0 || !all.every((e) => e.code === 11000)) throw err;
      });
  }

  async function renew(t: number): Promise<void> {
    await collection.updateOne(
      { _id: memberId },
      { $set: { kind: 'member', group, owner: instanceId, fence: 0, expiresAt: t + ttlMs, heartbeatAt: t } },
      { upsert: true },
    );
    const results = await Promise.all(
      [...fences].map(async ([p, fence]) => {
        const r = await collection.updateOne(
          { _id: leaseId(group, p), owner: instanceId, fence },
          { $set: { expiresAt: t + ttlMs, heartbeatAt: t } },
        );
        return { p, renewed: r.matchedCount === 1 };
      }),
    );
    for (const { p, renewed } of results) {
      if (renewed) validUntil.set(p, t + ttlMs);
      else await release(p, 'lost');
    }
  }

  async function balance(t: number): Promise<void> {
    const members = (await collection.find({ group, kind: 'member', expiresAt: { $gt: t } }, { projection: { owner: 1 } }).toArray())
      .map((m) => m.owner as string)
      .filter((id, i, all) => all.indexOf(id) === i);
    if (!members.includes(instanceId)) members.push(instanceId);
    members.sort();
    const share = fairShare(partitions, members.length, members.indexOf(instanceId));

    if (fences.size > share) {
      const extra = [...fences.keys()].sort((a, b) => b - a).slice(0, fences.size - share);
      for (const p of extra) await release(p, 'rebalance');
      return;
    }
    if (fences.size === share) return;
    const free = await collection
      .find(
        { group, kind: 'lease', partition: { $lt: partitions }, $or: [{ owner: null }, { expiresAt: { $lt: t } }] },
        { projection: { partition: 1 } },
      )
      .toArray();
    for (const doc of shuffle(free)) {
      if (fences.size >= share || stopped) break;
      await acquire(doc.partition as number, t);
    }
  }

  async function acquire(p: number, t: number): Promise<void> {
    const doc = await collection.findOneAndUpdate(
      { _id: leaseId(group, p), $or: [{ owner: null }, { expiresAt: { $lt: t } }] },
      { $set: { owner: instanceId, expiresAt: t + ttlMs, heartbeatAt: t, acquiredAt: t }, $inc: { fence: 1 } },
      { returnDocument: 'after' },
    );
    if (!doc || doc.owner !== instanceId) return;
    fences.set(p, doc.fence);
    validUntil.set(p, t + ttlMs);
    logger.info({ group, partition: p, fence: doc.fence }, 'lease acquired');
    try {
      await options.onAcquire(p, doc.fence);
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
    await collection
      .updateOne({ _id: leaseId(group, p), owner: instanceId, fence }, { $set: { owner: null, expiresAt: 0 } })
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
      await ensureLeaseDocs();
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
        await collection.deleteOne({ _id: memberId }).catch(() => undefined);
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
