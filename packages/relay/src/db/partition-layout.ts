/**
 * The relay partition layout on MongoDB, in the leases collection: one document
 * `{ _id: 'relay:layout', kind: 'layout', version, partitions }`, changed only by single-document
 * atomic updates. The leases of layout v live in the lease group `layoutGroup(v)`: `relay` for the
 * first (the group relays used before layouts existed), `relay@v<v>` after it. Retiring a layout's
 * leases turns them into `kind: 'retired'` and bumps their fence, so their owners' renewals fail and no
 * one can acquire them again, while their `owner` and `expiresAt` still say until when they might be in
 * use.
 */
import { isDuplicateKey, type LeaseDoc } from '@chat3/runtime';
import type { Collection } from 'mongodb';
import type { LayoutStore, PartitionLayout } from '../ports';

const LAYOUT_ID = 'relay:layout';

export function layoutGroup(version: number): string {
  return version <= 1 ? 'relay' : `relay@v${version}`;
}

/** The lease groups of every layout before `version`. */
export function olderLayoutGroups(version: number): string[] {
  return Array.from({ length: Math.max(0, version - 1) }, (_, i) => layoutGroup(i + 1));
}

export interface LayoutDoc {
  _id: string;
  kind: 'layout';
  version: number;
  partitions: number;
}

/** `layouts` and `leases` are the same collection, typed for the two kinds of document. */
export function createMongoLayoutStore(layouts: Collection<LayoutDoc>, leases: Collection<LeaseDoc>): LayoutStore {
  const plain = (d: LayoutDoc): PartitionLayout => ({ version: d.version, partitions: d.partitions });

  async function current(partitions: number): Promise<PartitionLayout> {
    const upsert = () =>
      layouts.findOneAndUpdate(
        { _id: LAYOUT_ID },
        { $setOnInsert: { kind: 'layout', version: 1, partitions } },
        { upsert: true, returnDocument: 'after' },
      );
    // Relays starting together race on the insert, and MongoDB does not retry every such upsert
    // (SERVER-14322): the loser gets a duplicate key, and the document is there to read.
    const doc = await upsert().catch((err: unknown) => {
      if (isDuplicateKey(err)) return upsert();
      throw err;
    });
    return plain(doc!);
  }

  return {
    current,

    async declare(partitions) {
      const changed = await layouts.findOneAndUpdate(
        { _id: LAYOUT_ID, partitions: { $ne: partitions } },
        { $set: { partitions }, $inc: { version: 1 } },
        { returnDocument: 'after' },
      );
      return changed ? plain(changed) : current(partitions);
    },

    async retireOlder(version) {
      const groups = olderLayoutGroups(version);
      if (groups.length === 0) return;
      await leases.updateMany({ group: { $in: groups }, kind: 'lease' }, { $set: { kind: 'retired' }, $inc: { fence: 1 } });
    },

    async olderLeasesLive(version, now) {
      const groups = olderLayoutGroups(version);
      if (groups.length === 0) return false;
      return (await leases.countDocuments({ group: { $in: groups }, owner: { $ne: null }, expiresAt: { $gt: now } }, { limit: 1 })) > 0;
    },
  };
}
