/**
 * The models presented as the services' ports: the relay's UpdateStore (with its change stream) and
 * the builder's BuilderStore (read model, Update inserts, user stats). One adapter per process, so each
 * carries that process's host (dead, partitioned).
 */
import {
  ReadModelView,
  type ChatEvent,
  type DialogMemberRow,
  type DialogRow,
  type UpdateDraft,
  type UserRow,
  type UserStats,
  type EmittedStats,
} from '@chat3/core';
import type { BuilderStore } from '@chat3/builder';
import { recipientKey, type UpdateStore } from '@chat3/relay';
import { ChangeStreamModel } from './change-stream';
import type { MongoHost, MongoModel } from './mongo';

export function simulatedUpdateStore(
  mongo: MongoModel,
  host: MongoHost,
  options: {
    changeStreams: boolean;
    /** False: change streams miss replays' updates (checker self-test). */
    matchReplays?: boolean;
    onStream: (stream: ChangeStreamModel) => void;
    onSpin: (stream: ChangeStreamModel) => void;
  },
): UpdateStore {
  const ops = mongo.ops;
  return {
    ensureIndexes: () => mongo.op(host, 'createIndexes', () => ({ value: undefined })),
    fetchUnpublished: (ranges, limit, before) => mongo.op(host, 'find', () => ops.fetchUnpublished(ranges, limit, before)),
    stillUnpublished: (ids) => mongo.op(host, 'findIds', () => ops.stillUnpublished(ids)),
    markPublished: (ids, at) => mongo.op(host, 'markPublished', () => ops.markPublished(ids, at)),
    async recordRejection(update, reason, maxAttempts, at) {
      const attempts = await mongo.op(host, 'recordRejection', () => ops.recordRejection(update));
      if (attempts < maxAttempts) return false;
      await mongo.op(host, 'park', () => ops.park(update, reason, attempts, at));
      return true;
    },
    park: (update, reason, attempts, at) => mongo.op(host, 'park', () => ops.park(update, reason, attempts, at)),
    sampleBacklog: () => mongo.op(host, 'sampleBacklog', () => ops.sampleBacklog()),
    lastSeqs: (recipients) => mongo.op(host, 'lastSeqs', () => ops.lastSeqs(recipients.map(recipientKey))),
    async repairSeqs(recipients) {
      const keys = recipients.map(recipientKey);
      const [counters, tops] = await Promise.all([
        mongo.op(host, 'lastSeqs', () => ops.lastSeqs(keys)),
        mongo.op(host, 'topSeqs', () => ops.topSeqs(keys)),
      ]);
      return new Map(keys.map((k) => [k, Math.max(counters.get(k) ?? 0, tops.get(k) ?? 0)]));
    },
    async assignSeqs(assignments) {
      if (assignments.length === 0) return new Set();
      const { applied, stopped } = await mongo.op(host, 'assignSeqs', () => ops.assignSeqs(assignments));
      if (!stopped) return applied;
      return mongo.op(host, 'findIds', () => ops.holdingSeqs(assignments));
    },
    raiseSeqCounters: (last) =>
      mongo.op(host, 'raiseSeqCounters', () =>
        ops.raiseSeqCounters(last.map((l) => ({ key: recipientKey(l.recipient), lastSeq: l.lastSeq }))),
      ),
    async supportsChangeStreams() {
      await mongo.op(host, 'aggregate', () => ({ value: undefined }));
      return options.changeStreams;
    },
    watchChanges(watch) {
      const stream = new ChangeStreamModel(mongo, host, watch, options.onSpin, options.matchReplays);
      options.onStream(stream);
      return stream;
    },
  };
}

/** The Chat3 read model the builder reads (written by the simulated Chat3 before each event). */
export class ReadModelState {
  readonly dialogs: DialogRow[] = [];
  readonly users: UserRow[] = [];
  private readonly members = new Map<string, DialogMemberRow>();
  /** Every value a user's stats took, and when (the checker's oracle for stats emissions). */
  readonly statsHistory = new Map<string, Array<{ at: number; stats: UserStats }>>();

  setMember(row: DialogMemberRow): void {
    this.members.set(`${row.tenantId}\u0000${row.dialogId}\u0000${row.userId}`, { ...row });
    const stats = this.stats(row.tenantId, row.userId);
    const history = this.statsHistory.get(row.userId) ?? [];
    const last = history.at(-1)?.stats;
    if (!last || last.dialogCount !== stats.dialogCount || last.unreadDialogsCount !== stats.unreadDialogsCount) {
      history.push({ at: Date.now(), stats });
      this.statsHistory.set(row.userId, history);
    }
  }

  /** A view of the rows as they are now: later Chat3 writes do not change a view already loaded. */
  snapshot(): ReadModelView {
    return new ReadModelView()
      .addDialogs(this.dialogs.map((d) => ({ ...d })))
      .addUsers(this.users.map((u) => ({ ...u })))
      .addMembers([...this.members.values()].map((m) => ({ ...m })));
  }

  stats(tenantId: string, userId: string): UserStats {
    let dialogCount = 0;
    let unreadDialogsCount = 0;
    for (const m of this.members.values()) {
      if (m.tenantId !== tenantId || m.userId !== userId || m.isActive === false) continue;
      dialogCount++;
      if ((m.unreadCount ?? 0) > 0) unreadDialogsCount++;
    }
    return { dialogCount, unreadDialogsCount };
  }
}

/** Last stats emitted per user (`userstats`), with MongoDB's atomic single-document compare-and-set. */
export class UserStatsModel {
  readonly records = new Map<string, EmittedStats>();
}

export function simulatedBuilderStore(
  mongo: MongoModel,
  host: MongoHost,
  readModel: ReadModelState,
  userStats: UserStatsModel,
): BuilderStore {
  const key = (tenantId: string, userId: string) => `${tenantId}\u0000${userId}`;
  return {
    ensureIndexes: () => mongo.op(host, 'createIndexes', () => ({ value: undefined })),
    // The read model is shared state the builder reads at the time the query runs.
    loadReadModel: (_events: readonly ChatEvent[]) => mongo.op(host, 'readModel', () => ({ value: readModel.snapshot() })),
    async insertUpdates(drafts: UpdateDraft[]) {
      const duplicates = await mongo.op(host, 'insertMany', () => mongo.ops.insertMany(drafts));
      return { inserted: drafts.length - duplicates.size, duplicates, rejected: new Map() };
    },
    computeStats: (tenantId, userIds) =>
      mongo.op(host, 'computeStats', () => ({ value: new Map(userIds.map((u) => [u, readModel.stats(tenantId, u)])) })),
    loadEmitted: (tenantId, userIds) =>
      mongo.op(host, 'loadEmitted', () => ({
        value: new Map(
          userIds.flatMap((u) => {
            const r = userStats.records.get(key(tenantId, u));
            return r ? [[u, structuredClone(r)] as const] : [];
          }),
        ),
      })),
    claimEmission: (previous, next) =>
      mongo.op(host, 'claimEmission', () => {
        const k = key(next.tenantId, next.userId);
        const current = userStats.records.get(k);
        if (!previous) {
          if (current) return { value: false, majorityAt: Date.now() };
          userStats.records.set(k, structuredClone(next));
          return { value: true, majorityAt: Date.now() };
        }
        const same =
          current &&
          current.eventId === previous.eventId &&
          current.version === previous.version &&
          current.stats.dialogCount === previous.stats.dialogCount &&
          current.stats.unreadDialogsCount === previous.stats.unreadDialogsCount;
        if (!same) return { value: false, majorityAt: Date.now() };
        userStats.records.set(k, structuredClone(next));
        return { value: true, majorityAt: Date.now() };
      }),
    findDialogIdOfMessage: async () => null,
  };
}
