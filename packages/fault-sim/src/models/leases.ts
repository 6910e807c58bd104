/**
 * The `leases` collection in the Mongo model: the runtime's LeaseStore and the relay's resume tokens,
 * with MongoDB's guarantee that each single-document conditional update is atomic. Calls go through
 * the Mongo model's operations, so they share its latency, outages and failovers, and a process's
 * partition or death (its host) applies to them too.
 */
import { leaseId, memberId, type LeaseDoc, type LeaseStore } from '@chat3/runtime';
import { olderLayoutGroups, type LayoutStore, type PartitionLayout, type ResumeTokenStore } from '@chat3/relay';
import type { MongoHost, MongoModel } from './mongo';

export class LeaseModel {
  readonly docs = new Map<string, LeaseDoc>();
  private layout: PartitionLayout | undefined;

  constructor(private readonly mongo: MongoModel) {}

  store(host: MongoHost): LeaseStore {
    const op = <T>(name: string, body: () => T) => this.mongo.op(host, `leases.${name}`, () => ({ value: body(), majorityAt: Date.now() }));
    const docs = this.docs;
    return {
      ensureLeases: (group, partitions) =>
        op('ensure', () => {
          for (let p = 0; p < partitions; p++) {
            const id = leaseId(group, p);
            if (!docs.has(id)) docs.set(id, { _id: id, kind: 'lease', group, partition: p, owner: null, fence: 0, expiresAt: 0 });
          }
        }),
      heartbeat: (group, instanceId, now, expiresAt) =>
        op('heartbeat', () => {
          const id = memberId(group, instanceId);
          docs.set(id, { _id: id, kind: 'member', group, owner: instanceId, fence: 0, expiresAt, heartbeatAt: now });
        }),
      liveMembers: (group, now) =>
        op('members', () => [
          ...new Set(
            [...docs.values()].filter((d) => d.group === group && d.kind === 'member' && d.expiresAt > now).map((d) => d.owner as string),
          ),
        ]),
      renew: (group, partition, owner, fence, now, expiresAt) =>
        op('renew', () => {
          const d = docs.get(leaseId(group, partition));
          if (!d || d.kind !== 'lease' || d.owner !== owner || d.fence !== fence) return false;
          d.expiresAt = expiresAt;
          d.heartbeatAt = now;
          return true;
        }),
      freePartitions: (group, partitions, now) =>
        op('free', () =>
          [...docs.values()]
            .filter(
              (d) =>
                d.group === group && d.kind === 'lease' && (d.partition as number) < partitions && (d.owner === null || d.expiresAt < now),
            )
            .map((d) => d.partition as number),
        ),
      acquire: (group, partition, owner, now, expiresAt) =>
        op('acquire', () => {
          const d = docs.get(leaseId(group, partition));
          if (!d || d.kind !== 'lease' || (d.owner !== null && d.expiresAt >= now)) return null;
          Object.assign(d, { owner, expiresAt, heartbeatAt: now, acquiredAt: now, fence: d.fence + 1 });
          return d.fence;
        }),
      handBack: (group, partition, owner, fence) =>
        op('handBack', () => {
          const d = docs.get(leaseId(group, partition));
          if (d && d.owner === owner && d.fence === fence) Object.assign(d, { owner: null, expiresAt: 0 });
        }),
      leave: (group, instanceId) => op('leave', () => void docs.delete(memberId(group, instanceId))),
    };
  }

  /** The relay partition layout (relay/src/db/partition-layout.ts), in the same documents. */
  layouts(host: MongoHost): LayoutStore {
    const op = <T>(name: string, body: () => T) => this.mongo.op(host, `leases.${name}`, () => ({ value: body(), majorityAt: Date.now() }));
    const current = (partitions: number) =>
      op('layout', () => {
        this.layout ??= { version: 1, partitions };
        return { ...this.layout };
      });
    return {
      current,
      declare: async (partitions) => {
        const changed = await op('declareLayout', () => {
          if (!this.layout || this.layout.partitions === partitions) return null;
          this.layout = { version: this.layout.version + 1, partitions };
          return { ...this.layout };
        });
        return changed ?? current(partitions);
      },
      retireOlder: (version) =>
        op('retireLayouts', () => {
          const groups = new Set(olderLayoutGroups(version));
          for (const d of this.docs.values()) {
            if (groups.has(d.group) && d.kind === 'lease') Object.assign(d, { kind: 'retired', fence: d.fence + 1 });
          }
        }),
      olderLeasesLive: (version, now) =>
        op('olderLeasesLive', () => {
          const groups = new Set(olderLayoutGroups(version));
          return [...this.docs.values()].some((d) => groups.has(d.group) && d.owner !== null && d.expiresAt > now);
        }),
    };
  }

  resumeTokens(host: MongoHost, group: string, owner: string): ResumeTokenStore {
    const op = <T>(name: string, body: () => T) => this.mongo.op(host, `leases.${name}`, () => ({ value: body(), majorityAt: Date.now() }));
    return {
      save: (partitions, token, at) =>
        op('saveToken', () => {
          for (const p of partitions) {
            const d = this.docs.get(leaseId(group, p));
            if (d && d.owner === owner) d.state = { ...(d.state ?? {}), resumeToken: token, savedAt: at };
          }
        }),
      load: (partitions) =>
        op('loadToken', () => {
          const found = partitions.map((p) => this.docs.get(leaseId(group, p)));
          if (found.some((d) => !d?.state?.resumeToken)) return null;
          found.sort((a, b) => Number(a!.state!.savedAt) - Number(b!.state!.savedAt));
          return found[0]!.state!.resumeToken;
        }),
    };
  }
}
