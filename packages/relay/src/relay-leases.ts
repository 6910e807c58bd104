/**
 * The relay's partition leases, over the partition layout in force (db/partition-layout.ts).
 *
 * A relay makes its RELAY_PARTITIONS the layout when it starts (a new version when it differs), and
 * every relay follows the layout in force: when the version changes, it gives back every partition of
 * the old layout (finishing what is in flight) and joins the new one. So the count can change at any
 * restart, a rolling one included.
 *
 * Exclusivity across a change: the old layout's leases are retired (their owners' renewals fail, so
 * they stop within a heartbeat and can never acquire them again), and no relay acquires a partition of
 * the new layout while any lease of an older one might still be in use (owned and unexpired). So one
 * recipient is never published by two relays at once, however the old and new ranges overlap.
 *
 * States: starting → following (one lease manager for the current layout) → switching (the old
 * manager stopping, the new one starting) → following … → stopped.
 */
import {
  createLeaseManager,
  detachedLoop,
  errorMessage,
  type LeaseManager,
  type LeaseStore,
  type Logger,
  type LoopTracker,
  type ReleaseReason,
} from '@chat3/runtime';
import { layoutGroup } from './db/partition-layout';
import type { LayoutStore, PartitionLayout } from './ports';

export interface RelayLeasesOptions {
  layouts: LayoutStore;
  leases: LeaseStore;
  /** RELAY_PARTITIONS: what this relay declares when it starts. */
  configured: number;
  instanceId: string;
  ttlMs: number;
  logger: Logger;
  onAcquire: (partition: number) => Promise<void>;
  onRelease: (partition: number, reason: ReleaseReason) => Promise<void>;
  /** The layout changed (nothing is held at that moment). */
  onLayout?: (layout: PartitionLayout) => void;
  /** Where the lease heartbeats and the layout checks are recorded, for /healthz. */
  loop?: LoopTracker;
  layoutLoop?: LoopTracker;
}

export type RelayLeases = ReturnType<typeof createRelayLeases>;

export function createRelayLeases(options: RelayLeasesOptions) {
  const { layouts, logger } = options;
  const checkEveryMs = Math.max(200, Math.floor(options.ttlMs / 4));
  let layout: PartitionLayout = { version: 0, partitions: options.configured };
  let manager: LeaseManager | undefined;
  let watcher: NodeJS.Timeout | undefined;
  let checking: Promise<void> = Promise.resolve();
  let stopped = false;
  const layoutLoop = options.layoutLoop ?? detachedLoop('relay-layout');

  function managerFor(l: PartitionLayout): LeaseManager {
    let olderDrained = false;
    return createLeaseManager({
      store: options.leases,
      group: layoutGroup(l.version),
      partitions: l.partitions,
      instanceId: options.instanceId,
      ttlMs: options.ttlMs,
      logger,
      onAcquire: options.onAcquire,
      onRelease: options.onRelease,
      loop: options.loop,
      // Older leases never come back to life, so once drained always drained.
      canAcquire: async () => (olderDrained ||= !(await layouts.olderLeasesLive(l.version, Date.now()))),
    });
  }

  async function follow(next: PartitionLayout): Promise<void> {
    const old = manager;
    manager = undefined;
    if (old) {
      logger.warn({ from: layout, to: next }, 'relay partition layout changed; handing back the old partitions');
      await old.stop();
    }
    layout = next;
    options.onLayout?.(next);
    await layouts.retireOlder(next.version);
    const fresh = managerFor(next);
    manager = fresh; // partitions it acquires while starting are held already
    try {
      await fresh.start();
    } catch (err) {
      manager = undefined;
      await fresh.stop().catch(() => undefined);
      throw err;
    }
  }

  async function check(): Promise<void> {
    try {
      await layoutLoop.step(async () => {
        const inForce = await layouts.current(options.configured);
        // A newer layout, or this one's lease manager never came up (MongoDB was away): (re)join.
        if ((inForce.version > layout.version || !manager) && !stopped) await follow(inForce);
      });
    } catch (err) {
      logger.warn({ err: errorMessage(err) }, 'could not check the relay partition layout');
    }
  }

  return {
    async start(): Promise<void> {
      await follow(await layouts.declare(options.configured));
      if (layout.partitions !== options.configured) {
        logger.warn({ configured: options.configured, layout }, 'another relay changed the partition layout since; following it');
      }
      watcher = setInterval(() => {
        checking = checking.then(check);
      }, checkEveryMs);
    },

    async stop(): Promise<void> {
      stopped = true;
      clearInterval(watcher);
      await checking;
      await manager?.stop();
    },

    /** The partition count in force. */
    partitions: () => layout.partitions,
    /** The lease group of the layout in force (resume tokens live on its leases). */
    group: () => layoutGroup(layout.version),
    owned: (): ReadonlyMap<number, number> => manager?.owned() ?? new Map(),
    holds: (p: number) => manager?.holds(p) ?? false,
    valid: (p: number) => manager?.valid(p) ?? false,
    manager: () => manager,
  };
}
