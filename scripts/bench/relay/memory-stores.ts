/**
 * The relay's ports in memory: a database that costs nothing, so that the benchmark can run the real
 * relay (createRelay) against the real RabbitMQ and see what the relay itself can do. One process, one
 * relay; nothing is persisted.
 *
 * Semantics follow the MongoDB implementations (relay/src/db/update-store.ts, partition-layout.ts,
 * resume-tokens.ts, runtime/src/lease-store.ts): work is found by `published: false` (not parked), oldest
 * first by (createdAt, _id); marking and parking are conditional on `published: false`, so repeating
 * them is a no-op; reads return copies, as the driver does. There are no change streams
 * (`supportsChangeStreams()` is false), so the relay polls.
 */
import { waitingSince } from '@chat3/core';
import type { LeaseDoc, LeaseStore } from '@chat3/runtime';
import { leaseId, memberId } from '@chat3/runtime';
import {
  createMemorySeqStore,
  olderLayoutGroups,
  recipientKey,
  type BucketRanges,
  type LayoutStore,
  type PartitionLayout,
  type ResumeTokenStore,
  type StoredUpdate,
  type UpdateStore,
} from '@chat3/relay';

/** What the memory store saw, for the report (times are performance.now()). */
export interface MemoryStoreStats {
  fetches: number;
  marks: number;
  firstFetchAt: number | null;
  lastMarkAt: number | null;
  /** Time spent inside the store's own calls (the cost of this "database"). */
  busyMs: number;
}

export interface MemoryUpdateStore extends UpdateStore {
  /** Adds Updates (copied); they must not be in the store yet. */
  insert(docs: readonly StoredUpdate[]): void;
  /** Unpublished, unparked Updates. */
  readonly open: number;
  /** Resolves with the time (performance.now()) the store last had no open Update left after a mark. */
  drained(): Promise<number>;
  readonly stats: MemoryStoreStats;
}

const inRanges = (bucket: number, ranges: BucketRanges) => ranges.some((r) => bucket >= r.from && bucket < r.to);

const oldestFirst = (a: StoredUpdate, b: StoredUpdate) =>
  a.createdAt - b.createdAt || (a._id.toHexString() < b._id.toHexString() ? -1 : a._id.equals(b._id) ? 0 : 1);

export function createMemoryUpdateStore(): MemoryUpdateStore {
  /** Every Update, oldest first; `start` skips the published prefix. */
  let docs: StoredUpdate[] = [];
  let start = 0;
  const byId = new Map<string, StoredUpdate>();
  let open = 0;
  const waiters: Array<(at: number) => void> = [];
  const stats: MemoryStoreStats = { fetches: 0, marks: 0, firstFetchAt: null, lastMarkAt: null, busyMs: 0 };

  const isOpen = (d: StoredUpdate) => !d.published && d.parked === undefined;
  const timed = <T>(fn: () => T): T => {
    const t = performance.now();
    try {
      return fn();
    } finally {
      stats.busyMs += performance.now() - t;
    }
  };
  const close = (d: StoredUpdate) => {
    if (isOpen(d)) open -= 1;
  };

  const seqs = createMemorySeqStore((id) => byId.get(id));

  const store: MemoryUpdateStore = {
    ...seqs,

    insert(added) {
      for (const d of added) {
        const id = d._id.toHexString();
        if (byId.has(id)) throw new Error(`duplicate _id ${id}`);
        const copy = { ...d };
        byId.set(id, copy);
        seqs.index(copy);
        if (isOpen(copy)) open += 1;
      }
      docs = [...docs.slice(start), ...added.map((d) => byId.get(d._id.toHexString())!)].sort(oldestFirst);
      start = 0;
    },

    get open() {
      return open;
    },

    drained() {
      return open === 0 ? Promise.resolve(performance.now()) : new Promise((resolve) => waiters.push(resolve));
    },

    get stats() {
      return { ...stats };
    },

    ensureIndexes: async () => undefined,

    async fetchUnpublished(ranges, limit, before) {
      return timed(() => {
        stats.fetches += 1;
        stats.firstFetchAt ??= performance.now();
        while (start < docs.length && docs[start]!.published) start += 1;
        const page: StoredUpdate[] = [];
        for (let i = start; i < docs.length && page.length < limit; i++) {
          const d = docs[i]!;
          if (before !== undefined && d.createdAt >= before) break;
          if (isOpen(d) && inRanges(d.partition, ranges)) page.push({ ...d });
        }
        return page;
      });
    },

    async stillUnpublished(ids) {
      return timed(
        () =>
          new Map(
            ids
              .map((id) => byId.get(id.toHexString()))
              .filter((d): d is StoredUpdate => d !== undefined && isOpen(d))
              .map((d) => [d._id.toHexString(), { seq: d.seq ?? null, replayId: d.replayId ?? null }]),
          ),
      );
    },

    async markPublished(ids, publishedAt) {
      timed(() => {
        stats.marks += 1;
        for (const id of ids) {
          const d = byId.get(id.toHexString());
          if (!d || d.published) continue;
          close(d);
          d.published = true;
          d.publishedAt = publishedAt;
        }
        stats.lastMarkAt = performance.now();
      });
      if (open === 0) for (const wake of waiters.splice(0)) wake(stats.lastMarkAt!);
    },

    async recordRejection(update, reason, maxAttempts, at) {
      const d = byId.get(update._id.toHexString());
      if (!d || d.published || recipientKey(d) !== recipientKey(update)) return false;
      d.publishAttempts = (d.publishAttempts ?? 0) + 1;
      if (d.publishAttempts < maxAttempts) return false;
      await store.park(update, reason, d.publishAttempts, at);
      return true;
    },

    async park(update, reason, attempts, at) {
      const d = byId.get(update._id.toHexString());
      if (!d || d.published || recipientKey(d) !== recipientKey(update)) return;
      close(d);
      d.parked = { reason, at, attempts };
    },

    async sampleBacklog() {
      return timed(() => {
        let oldest: number | null = null;
        let parked = 0;
        for (const d of docs) {
          if (d.published) continue;
          if (d.parked !== undefined) parked += 1;
          else oldest = Math.min(oldest ?? Infinity, waitingSince(d));
        }
        return { backlog: open, oldestWaitingSince: oldest, parked };
      });
    },

    supportsChangeStreams: async () => false,

    watchChanges() {
      throw new Error('the memory store has no change streams (the relay polls)');
    },
  };
  return store;
}

/** Leases, the partition layout and resume tokens in one map of lease documents, as in the `leases` collection. */
export function createMemoryLeaseStores(): {
  leases: LeaseStore;
  layouts: LayoutStore;
  resumeTokens: (group: string, owner: string) => ResumeTokenStore;
} {
  const docs = new Map<string, LeaseDoc>();
  let layout: PartitionLayout | undefined;

  const leases: LeaseStore = {
    async ensureLeases(group, partitions) {
      for (let p = 0; p < partitions; p++) {
        const id = leaseId(group, p);
        if (!docs.has(id)) docs.set(id, { _id: id, kind: 'lease', group, partition: p, owner: null, fence: 0, expiresAt: 0 });
      }
    },
    async heartbeat(group, instanceId, now, expiresAt) {
      const id = memberId(group, instanceId);
      docs.set(id, { _id: id, kind: 'member', group, owner: instanceId, fence: 0, expiresAt, heartbeatAt: now });
    },
    async liveMembers(group, now) {
      const live = [...docs.values()].filter((d) => d.group === group && d.kind === 'member' && d.expiresAt > now);
      return [...new Set(live.map((d) => d.owner as string))];
    },
    async renew(group, partition, owner, fence, now, expiresAt) {
      const d = docs.get(leaseId(group, partition));
      if (!d || d.kind !== 'lease' || d.owner !== owner || d.fence !== fence) return false;
      Object.assign(d, { expiresAt, heartbeatAt: now });
      return true;
    },
    async freePartitions(group, partitions, now) {
      return [...docs.values()]
        .filter((d) => d.group === group && d.kind === 'lease' && d.partition! < partitions && (d.owner === null || d.expiresAt < now))
        .map((d) => d.partition!);
    },
    async acquire(group, partition, owner, now, expiresAt) {
      const d = docs.get(leaseId(group, partition));
      if (!d || d.kind !== 'lease' || (d.owner !== null && d.expiresAt >= now)) return null;
      Object.assign(d, { owner, expiresAt, heartbeatAt: now, acquiredAt: now, fence: d.fence + 1 });
      return d.fence;
    },
    async handBack(group, partition, owner, fence) {
      const d = docs.get(leaseId(group, partition));
      if (d && d.owner === owner && d.fence === fence) Object.assign(d, { owner: null, expiresAt: 0 });
    },
    async leave(group, instanceId) {
      docs.delete(memberId(group, instanceId));
    },
  };

  const current = async (partitions: number): Promise<PartitionLayout> => ({ ...(layout ??= { version: 1, partitions }) });
  const layouts: LayoutStore = {
    current,
    async declare(partitions) {
      if (layout && layout.partitions !== partitions) layout = { version: layout.version + 1, partitions };
      return current(partitions);
    },
    async retireOlder(version) {
      const groups = new Set(olderLayoutGroups(version));
      for (const d of docs.values())
        if (groups.has(d.group) && d.kind === 'lease') Object.assign(d, { kind: 'retired', fence: d.fence + 1 });
    },
    async olderLeasesLive(version, now) {
      const groups = new Set(olderLayoutGroups(version));
      return [...docs.values()].some((d) => groups.has(d.group) && d.owner !== null && d.expiresAt > now);
    },
  };

  const resumeTokens = (group: string, owner: string): ResumeTokenStore => ({
    async save(partitions, token, at) {
      for (const p of partitions) {
        const d = docs.get(leaseId(group, p));
        if (d && d.owner === owner) d.state = { ...(d.state ?? {}), resumeToken: token, savedAt: at };
      }
    },
    async load(partitions) {
      const found = partitions.map((p) => docs.get(leaseId(group, p)));
      if (found.some((d) => !d?.state?.resumeToken)) return null;
      found.sort((a, b) => Number(a!.state!.savedAt) - Number(b!.state!.savedAt));
      return found[0]!.state!.resumeToken;
    },
  });

  return { leases, layouts, resumeTokens };
}
