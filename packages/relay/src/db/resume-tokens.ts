/**
 * Change-stream resume tokens, kept on the relay's lease documents (`state.resumeToken`), written only
 * while the writer still owns the lease. A relay that takes a partition over can resume where the
 * previous owner's last confirmed batch ended.
 */
import { leaseId, type LeaseDoc } from '@chat3/runtime';
import type { Collection } from 'mongodb';
import type { ResumeTokenStore } from '../ports';

export function createMongoResumeTokenStore(leases: Collection<LeaseDoc>, group: string, owner: string): ResumeTokenStore {
  return {
    async save(partitions, token, at) {
      if (partitions.length === 0) return;
      await leases.updateMany(
        { _id: { $in: partitions.map((p) => leaseId(group, p)) }, owner },
        { $set: { 'state.resumeToken': token, 'state.savedAt': at } },
      );
    },

    async load(partitions) {
      if (partitions.length === 0) return null;
      const docs = await leases.find({ _id: { $in: partitions.map((p) => leaseId(group, p)) } }).toArray();
      if (docs.length < partitions.length || docs.some((d) => !d.state?.resumeToken)) return null;
      docs.sort((a, b) => Number(a.state!.savedAt) - Number(b.state!.savedAt));
      return docs[0]!.state!.resumeToken;
    },
  };
}
