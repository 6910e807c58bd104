/**
 * Partition leases, shared by every instance of one group (`builder:<queue>`, the relay's layouts),
 * kept in a LeaseStore (MongoDB: lease-store.ts).
 *
 * Every heartbeat (`heartbeatMs`, start to start) an instance renews its membership and its leases,
 * then balances: with n live members sorted by id, member k's share is floor(P/n) (+1 for the first
 * P mod n). An instance above its share releases partitions; one below it takes free or expired ones.
 * So a joining instance gets its share within a heartbeat or two, and the partitions of a killed one
 * are taken over within the lease TTL.
 *
 * Releasing never blocks the heartbeat:
 *   - a graceful release (`rebalance`, `shutdown`) stops the partition's work at once (`holds` turns
 *     false) and keeps renewing the lease while `onRelease` finishes or hands back the in-flight work,
 *     then gives the lease back; so nobody else can take the partition before that work is done;
 *   - a lease that is `lost` (a renewal found another owner) or `expired` (renewals kept failing past
 *     the safety margin) is dropped at once and `onRelease` runs in the background.
 * A partition is not acquired again while its previous release is still running. Expiry is also
 * checked on a timer of its own, so a heartbeat stuck on an unreachable database (server selection
 * can wait seconds) cannot keep an instance working past the safety margin.
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
import { detachedLoop, type LoopTracker } from './loop-health';

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
  /** Checked before acquiring anything (the relay waits for an older partition layout to drain). */
  canAcquire?: () => Promise<boolean>;
  /** Where each heartbeat is recorded, for /healthz. */
  loop?: LoopTracker;
  now?: () => number;
}

export interface LeaseManager {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** One heartbeat: renew, balance. Runs on a timer; exposed for tests. */
  tick(): Promise<void>;
  /** Partition → fence of every lease this instance holds, releases in progress included. */
  owned(): ReadonlyMap<number, number>;
  /** True while the lease is ours, not being released, and safely inside its TTL. */
  holds(partition: number, fence?: number): boolean;
  /** True while the lease is ours and safely inside its TTL (also while it is being released). */
  valid(partition: number): boolean;
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
  /** Graceful releases in progress: the lease is still renewed until they finish. */
  const handingBack = new Map<number, Promise<void>>();
  /** Every release still running (graceful or not); such a partition is not acquired again yet. */
  const releasing = new Map<number, Promise<void>>();
  let timer: NodeJS.Timeout | undefined;
  let watchdog: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  let stopping: Promise<void> | undefined;
  const loop = options.loop ?? detachedLoop(`leases:${group}`);

  async function renew(t: number): Promise<void> {
    await store.heartbeat(group, instanceId, t, t + ttlMs);
    const results = await Promise.all(
      [...fences].map(async ([p, fence]) => ({ p, fence, renewed: await store.renew(group, p, instanceId, fence, t, t + ttlMs) })),
    );
    for (const { p, fence, renewed } of results) {
      if (fences.get(p) !== fence) continue;
      if (renewed) validUntil.set(p, t + ttlMs);
      else drop(p, 'lost');
    }
  }

  async function balance(t: number): Promise<void> {
    const members = await store.liveMembers(group, t);
    if (!members.includes(instanceId)) members.push(instanceId);
    members.sort();
    const share = fairShare(partitions, members.length, members.indexOf(instanceId));
    const working = [...fences.keys()].filter((p) => !handingBack.has(p));

    if (working.length > share) {
      for (const p of working.sort((a, b) => b - a).slice(0, working.length - share)) handBack(p, 'rebalance');
      return;
    }
    if (fences.size >= share) return;
    if (options.canAcquire && !(await options.canAcquire())) return;
    const free = await store.freePartitions(group, partitions, t);
    for (const p of shuffle(free)) {
      if (fences.size >= share || stopped) break;
      if (fences.has(p) || releasing.has(p)) continue;
      await acquire(p);
    }
  }

  async function acquire(p: number): Promise<void> {
    const t = now();
    const fence = await store.acquire(group, p, instanceId, t, t + ttlMs);
    if (fence === null) return;
    fences.set(p, fence);
    validUntil.set(p, t + ttlMs);
    logger.info({ group, partition: p, fence }, 'lease acquired');
    try {
      await options.onAcquire(p, fence);
    } catch (err) {
      logger.error({ err, group, partition: p }, 'could not start work on an acquired partition; releasing it');
      handBack(p, 'rebalance');
    }
  }

  function track(p: number, work: Promise<void>): Promise<void> {
    const done = work.finally(() => {
      if (releasing.get(p) === done) releasing.delete(p);
    });
    releasing.set(p, done);
    return done;
  }

  async function runOnRelease(p: number, reason: ReleaseReason): Promise<void> {
    try {
      await options.onRelease(p, reason);
    } catch (err) {
      logger.error({ err, group, partition: p }, 'error while stopping work on a partition');
    }
  }

  /** Graceful: the lease stays ours (and renewed) until the work is handed back, then it is given back. */
  function handBack(p: number, reason: 'rebalance' | 'shutdown'): Promise<void> {
    const existing = handingBack.get(p);
    if (existing) return existing;
    const fence = fences.get(p);
    if (fence === undefined) return Promise.resolve();
    logger.info({ group, partition: p, fence, reason }, 'releasing lease');
    const work = (async () => {
      await runOnRelease(p, reason);
      if (fences.get(p) !== fence) return; // lost meanwhile
      fences.delete(p);
      validUntil.delete(p);
      await store
        .handBack(group, p, instanceId, fence)
        .catch((err) => logger.warn({ err, partition: p }, 'could not hand back lease; it will expire'));
      logger.info({ group, partition: p, fence, reason }, 'lease released');
    })().finally(() => handingBack.delete(p));
    handingBack.set(p, work);
    return track(p, work);
  }

  /** Lost or expired: the lease is not ours any more (or soon will not be); stop at once. */
  function drop(p: number, reason: 'lost' | 'expired'): void {
    const fence = fences.get(p);
    if (fence === undefined) return;
    fences.delete(p);
    validUntil.delete(p);
    logger.warn({ group, partition: p, fence, reason }, 'lease released');
    if (handingBack.has(p)) return; // its onRelease is running; `valid()` now tells it the lease is gone
    const previous = releasing.get(p) ?? Promise.resolve();
    void track(
      p,
      previous.then(() => runOnRelease(p, reason)),
    );
  }

  async function tick(): Promise<void> {
    const t = now();
    try {
      await loop.step(async () => {
        await renew(t);
        if (!stopped) await balance(t);
      });
    } catch (err) {
      logger.warn({ group, err: errorMessage(err) }, 'lease heartbeat failed');
    }
    dropExpired();
  }

  /** Cut off from MongoDB: stop before anyone else may take over. */
  function dropExpired(): void {
    for (const p of [...fences.keys()]) if (!valid(p)) drop(p, 'expired');
  }

  function valid(p: number): boolean {
    return fences.has(p) && now() < (validUntil.get(p) ?? 0) - margin;
  }

  function holds(p: number, fence?: number): boolean {
    const own = fences.get(p);
    if (own === undefined || (fence !== undefined && fence !== own) || handingBack.has(p)) return false;
    return valid(p);
  }

  /** Heartbeats start every `heartbeatMs` (start to start, never overlapping), with a little jitter. */
  function schedule(startedAt: number): void {
    if (stopped) return;
    const jitter = Math.floor(Math.random() * heartbeatMs * 0.2);
    const wait = Math.max(0, heartbeatMs - jitter - (now() - startedAt));
    timer = setTimeout(() => {
      const started = now();
      running = running.then(tick).finally(() => schedule(started));
    }, wait);
  }

  return {
    async start() {
      await store.ensureLeases(group, partitions);
      const started = now();
      running = tick();
      await running;
      schedule(started);
      watchdog = setInterval(dropExpired, Math.max(50, Math.floor(margin / 2)));
    },
    stop() {
      stopping ??= (async () => {
        stopped = true;
        clearTimeout(timer);
        clearInterval(watchdog);
        await running;
        for (const p of [...fences.keys()]) void handBack(p, 'shutdown');
        // Keep renewing while the work is handed back, so no one takes a partition mid-drain.
        const keepAlive = setInterval(() => void renew(now()).catch(() => undefined), heartbeatMs);
        try {
          await Promise.all([...releasing.values()]);
        } finally {
          clearInterval(keepAlive);
        }
        await store.leave(group, instanceId).catch(() => undefined);
      })();
      return stopping;
    },
    // For tests: one heartbeat, and the releases it started.
    tick: () => (running = running.then(tick).then(() => Promise.all([...releasing.values()]).then(() => undefined))),
    owned: () => fences,
    holds,
    valid,
  };
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}
