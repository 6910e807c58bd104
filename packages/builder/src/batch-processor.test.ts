/**
 * The batch processor's user-stats claim, against a scripted store: the compare-and-set race between two
 * builders (issue #7 §1.5). The store plays the other builder.
 */
import { eventBody, standardView, TENANT, DIALOG } from '@chat3/core/test-fixtures';
import type { EmittedStats, UpdateDraft, UserStats } from '@chat3/core';
import { createSilentLogger } from '@chat3/runtime';
import { describe, expect, it } from 'vitest';
import { createBatchProcessor, type BatchStore } from './batch-processor';
import { createBuilderMetrics } from './metrics';

const stats = (unread: number): UserStats => ({ dialogCount: 1, unreadDialogsCount: unread });

function emitted(eventId: string, unread: number, createdAt: number): EmittedStats {
  return { tenantId: TENANT, userId: 'carl', stats: stats(unread), eventId, updatedFields: ['user.stats.unreadDialogsCount'], createdAt };
}

/**
 * `carl` goes from 1 to 2 unread dialogs. This builder read the last emission (unread 0) and then the
 * counts while they still said 1; before its claim, the other builder read 2 and emitted it.
 */
function racingStore(): { store: BatchStore; written: UpdateDraft[]; calls: string[] } {
  let record: EmittedStats | null = emitted('evt_old', 0, 1_000);
  let counts = stats(1);
  const written: UpdateDraft[] = [];
  const calls: string[] = [];
  const store: BatchStore = {
    loadReadModel: async () => standardView(),
    insertUpdates: async (drafts) => {
      written.push(...drafts);
      return { inserted: drafts.length, duplicates: new Set(), rejected: new Map() };
    },
    loadEmitted: async () => {
      calls.push('loadEmitted');
      return new Map(record ? [['carl', structuredClone(record)]] : []);
    },
    computeStats: async (_tenant, userIds) => {
      calls.push('computeStats');
      const answer = new Map(userIds.map((u) => [u, { ...counts }]));
      if (calls.filter((c) => c === 'computeStats').length === 1) {
        // The other builder, right after our read of the counts:
        counts = stats(2);
        record = emitted('evt_other', 2, 5_000);
      }
      return answer;
    },
    claimEmission: async (previous, next) => {
      calls.push('claim');
      if (JSON.stringify(previous) !== JSON.stringify(record)) return false;
      record = next;
      return true;
    },
  };
  return { store, written, calls };
}

function processor(store: BatchStore) {
  return createBatchProcessor({
    store,
    clock: () => 2_000,
    maxEventBytes: 1_000_000,
    metrics: createBuilderMetrics({ defaultMetrics: false }),
    logger: createSilentLogger(),
  });
}

const memberUpdate = () =>
  Buffer.from(
    JSON.stringify(
      eventBody('dialog.member.update', {
        data: { context: { dialogId: DIALOG, userId: 'carl' }, member: { userId: 'carl', state: { unreadCount: 2 } } },
      }),
    ),
  );

describe('user stats claims', () => {
  it('after losing the claim, reads the emission and the counts again instead of emitting the stale counts', async () => {
    const { store, written, calls } = racingStore();
    await processor(store).processBatch([{ body: memberUpdate(), live: () => true }]);
    const emittedStats = written.filter((d) => d.updateType === 'UserStatsUpdate').map((d) => d.data.user?.stats);
    // The other builder's emission (2) is the truth; emitting 1 now would put a stale value last.
    expect(emittedStats).toEqual([]);
    expect(calls).toEqual(['loadEmitted', 'computeStats', 'claim', 'loadEmitted', 'computeStats']);
  });

  it('reads the last emission before the counts, and takes a createdAt after the previous emission', async () => {
    const calls: string[] = [];
    const store: BatchStore = {
      ...racingStore().store,
      loadEmitted: async () => {
        calls.push('loadEmitted');
        return new Map([['carl', emitted('evt_old', 0, 9_000)]]);
      },
      computeStats: async (_t, userIds) => {
        calls.push('computeStats');
        return new Map(userIds.map((u) => [u, stats(1)]));
      },
      claimEmission: async () => true,
    };
    const written: UpdateDraft[] = [];
    store.insertUpdates = async (drafts) => {
      written.push(...drafts);
      return { inserted: drafts.length, duplicates: new Set(), rejected: new Map() };
    };
    await processor(store).processBatch([{ body: memberUpdate(), live: () => true }]);
    expect(calls).toEqual(['loadEmitted', 'computeStats']);
    const statsUpdate = written.find((d) => d.updateType === 'UserStatsUpdate')!;
    // This builder's clock says 2 000; the previous emission (another builder) was at 9 000.
    expect(statsUpdate.createdAt).toBeGreaterThan(9_000);
  });

  it('numbers each emission, so an event redelivered after newer emissions can emit again under a new key', async () => {
    // evt_e emitted long ago (its stats Update exists); since then another event emitted version 5 (3/1).
    // Redelivered now, with the counts at 3/3, it must emit version 6, not collide with its old Update.
    const store: BatchStore = {
      ...racingStore().store,
      loadEmitted: async () =>
        new Map([['carl', { ...emitted('evt_f', 1, 9_000), stats: { dialogCount: 3, unreadDialogsCount: 1 }, version: 5 }]]),
      computeStats: async (_t, userIds) => new Map(userIds.map((u) => [u, { dialogCount: 3, unreadDialogsCount: 3 }])),
      claimEmission: async () => true,
    };
    const written: UpdateDraft[] = [];
    store.insertUpdates = async (drafts) => {
      written.push(...drafts);
      return { inserted: drafts.length, duplicates: new Set(), rejected: new Map() };
    };
    await processor(store).processBatch([{ body: memberUpdate(), live: () => true }]);
    const statsUpdate = written.find((d) => d.updateType === 'UserStatsUpdate')!;
    expect(statsUpdate).toMatchObject({ statsVersion: 6, data: { user: { stats: { dialogCount: 3, unreadDialogsCount: 3 } } } });
    expect(written.filter((d) => d.updateType !== 'UserStatsUpdate').every((d) => d.statsVersion === 0)).toBe(true);
  });

  it('writes nothing for events whose delivery is no longer live', async () => {
    const { store, written } = racingStore();
    await processor(store).processBatch([{ body: memberUpdate(), live: () => false }]);
    expect(written).toEqual([]);
  });
});

describe('trace context', () => {
  /** Builds freely: no earlier stats emission, the claim always wins. */
  function openStore(): { store: BatchStore; written: UpdateDraft[] } {
    const written: UpdateDraft[] = [];
    const store: BatchStore = {
      loadReadModel: async () => standardView(),
      insertUpdates: async (drafts) => {
        written.push(...drafts);
        return { inserted: drafts.length, duplicates: new Set(), rejected: new Map() };
      },
      loadEmitted: async () => new Map(),
      computeStats: async (_tenant, userIds) => new Map(userIds.map((u) => [u, stats(2)])),
      claimEmission: async () => true,
    };
    return { store, written };
  }

  it('gives every Update of an event, its stats Update included, the event’s traceparent, and none to an event without', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const traced = openStore();
    await processor(traced.store).processBatch([{ body: memberUpdate(), traceparent, live: () => true }]);
    expect(traced.written.map((d) => d.updateType).sort()).toEqual(['DialogMemberUpdate', 'UserStatsUpdate']);
    expect(traced.written.every((d) => d.traceparent === traceparent)).toBe(true);

    const plain = openStore();
    await processor(plain.store).processBatch([{ body: memberUpdate(), live: () => true }]);
    expect(plain.written).toHaveLength(2);
    expect(plain.written.every((d) => !('traceparent' in d))).toBe(true);
  });
});
