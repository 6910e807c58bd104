/**
 * Where partition leases live: the port the lease manager talks to, and its MongoDB implementation.
 *
 * Documents (one collection, `leases` by default):
 *   - lease  `{ _id: '<group>:<p>', kind: 'lease', group, partition, owner, fence, expiresAt }`;
 *   - member `{ _id: '<group>:member:<instanceId>', kind: 'member', group, owner, expiresAt }`.
 * A lease whose group is retired (the relay's old partition layouts) has `kind: 'retired'` and a bumped
 * fence: it can be neither renewed nor acquired. Every write is a single-document conditional update,
 * atomic on MongoDB.
 */
import type { Collection } from 'mongodb';

export interface LeaseDoc {
  _id: string;
  kind: 'lease' | 'member' | 'retired';
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

export interface LeaseStore {
  /** Creates the lease documents `0..partitions-1` of a group that do not exist yet. */
  ensureLeases(group: string, partitions: number): Promise<void>;
  /** Records that `instanceId` is alive until `expiresAt`. */
  heartbeat(group: string, instanceId: string, now: number, expiresAt: number): Promise<void>;
  /** Ids of the members alive at `now`. */
  liveMembers(group: string, now: number): Promise<string[]>;
  /** Extends a lease that `owner` still holds with `fence`; false when it does not. */
  renew(group: string, partition: number, owner: string, fence: number, now: number, expiresAt: number): Promise<boolean>;
  /** Partitions below `partitions` that are unowned or expired at `now`. */
  freePartitions(group: string, partitions: number, now: number): Promise<number[]>;
  /** Takes a free or expired lease; resolves with the new fence, or null if someone else has it. */
  acquire(group: string, partition: number, owner: string, now: number, expiresAt: number): Promise<number | null>;
  /** Gives a lease back, if `owner` still holds it with `fence`. */
  handBack(group: string, partition: number, owner: string, fence: number): Promise<void>;
  /** Removes the member document. */
  leave(group: string, instanceId: string): Promise<void>;
}

export function leaseId(group: string, partition: number): string {
  return `${group}:${partition}`;
}

export function memberId(group: string, instanceId: string): string {
  return `${group}:member:${instanceId}`;
}

export function createMongoLeaseStore(collection: Collection<LeaseDoc>): LeaseStore {
  return {
    async ensureLeases(group, partitions) {
      // Instances starting together race on the upserts: a duplicate key means done.
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
    },

    async heartbeat(group, instanceId, now, expiresAt) {
      await collection.updateOne(
        { _id: memberId(group, instanceId) },
        { $set: { kind: 'member', group, owner: instanceId, fence: 0, expiresAt, heartbeatAt: now } },
        { upsert: true },
      );
    },

    async liveMembers(group, now) {
      const docs = await collection.find({ group, kind: 'member', expiresAt: { $gt: now } }, { projection: { owner: 1 } }).toArray();
      return [...new Set(docs.map((m) => m.owner as string))];
    },

    async renew(group, partition, owner, fence, now, expiresAt) {
      const r = await collection.updateOne({ _id: leaseId(group, partition), owner, fence }, { $set: { expiresAt, heartbeatAt: now } });
      return r.matchedCount === 1;
    },

    async freePartitions(group, partitions, now) {
      const docs = await collection
        .find(
          { group, kind: 'lease', partition: { $lt: partitions }, $or: [{ owner: null }, { expiresAt: { $lt: now } }] },
          { projection: { partition: 1 } },
        )
        .toArray();
      return docs.map((d) => d.partition as number);
    },

    async acquire(group, partition, owner, now, expiresAt) {
      const doc = await collection.findOneAndUpdate(
        { _id: leaseId(group, partition), kind: 'lease', $or: [{ owner: null }, { expiresAt: { $lt: now } }] },
        { $set: { owner, expiresAt, heartbeatAt: now, acquiredAt: now }, $inc: { fence: 1 } },
        { returnDocument: 'after' },
      );
      return doc && doc.owner === owner ? doc.fence : null;
    },

    async handBack(group, partition, owner, fence) {
      await collection.updateOne({ _id: leaseId(group, partition), owner, fence }, { $set: { owner: null, expiresAt: 0 } });
    },

    async leave(group, instanceId) {
      await collection.deleteOne({ _id: memberId(group, instanceId) });
    },
  };
}
