/**
 * The dispatcher's decisions with its I/O replaced by in-memory fakes (publisher confirms on demand,
 * store records calls). The real broker and database paths are covered by the integration tests.
 */
import { createMonotonicClock, partitionOf, relayPartitionOf, type WireMessage } from '@chat3/core';
import { PublishError, createSilentLogger } from '@chat3/runtime';
import { ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import type { StoredUpdate } from './ports';
import { createDispatcher } from './dispatcher';
import { createRelayMetrics } from './metrics';

function update(userId: string, createdAt: number, over: Partial<StoredUpdate> = {}): StoredUpdate {
  return {
    _id: new ObjectId(),
    tenantId: 't1',
    userId,
    userType: 'user',
    entityId: 'dlg_1',
    eventId: 'evt_1',
    eventType: 'dialog.update',
    dialogId: 'dlg_1',
    updateType: 'DialogUpdate',
    routingKey: `update.dialog.user.${userId}.dialogupdate`,
    partition: partitionOf('t1', userId),
    data: { context: { eventType: 'dialog.update', entityId: 'dlg_1', includedSections: [] } },
    published: false,
    publishedAt: null,
    statsVersion: 0,
    createdAt,
    eventCreatedAt: createdAt,
    ...over,
  };
}

interface HarnessOptions {
  outcome?: (m: WireMessage) => Error | null;
  owned?: (p: number) => boolean;
  /** The channel generation `ready()` reports. */
  generation?: () => number;
  /** Confirms wait until `confirmAll()`. */
  deferred?: boolean;
  stillUnpublishedFails?: boolean;
}

function partitionOfUpdate(d: StoredUpdate): number {
  return relayPartitionOf(d.partition, 4);
}

function harness(options: HarnessOptions = {}) {
  const sent: string[] = [];
  let idleCalls = 0;
  const waiting: Array<() => void> = [];
  const marked: string[] = [];
  const parked: Array<{ id: string; reason: string }> = [];
  const rejected: string[] = [];
  let published = new Set<string>();
  const metrics = createRelayMetrics({ defaultMetrics: false });
  const dispatcher = createDispatcher({
    store: {
      stillUnpublished: async (ids) => {
        if (options.stillUnpublishedFails) throw Object.assign(new Error('reset'), { name: 'MongoNetworkError' });
        return new Set(ids.map((i) => i.toHexString()).filter((i) => !published.has(i)));
      },
      markPublished: async (ids) => {
        ids.forEach((i) => marked.push(i.toHexString()));
      },
      recordRejection: async (id) => {
        rejected.push(id.toHexString());
        return false;
      },
      park: async (id, reason) => void parked.push({ id: id.toHexString(), reason }),
    },
    publisher: {
      ready: async () => options.generation?.() ?? 1,
      send: async (m) => {
        sent.push(m.options.messageId);
        if (options.deferred) await new Promise<void>((resolve) => waiting.push(resolve));
        const err = options.outcome?.(m) ?? null;
        if (err) throw err;
        return { latency: 0.001 };
      },
      idle: async () => void idleCalls++,
      connected: true,
    },
    partitions: () => 4,
    mayPublish: options.owned ?? (() => true),
    maxMessageBytes: 10_000,
    clock: createMonotonicClock(),
    metrics,
    logger: createSilentLogger(),
  });
  return {
    dispatcher,
    metrics,
    sent,
    marked,
    parked,
    rejected,
    idleCalls: () => idleCalls,
    confirmAll: () => waiting.splice(0).forEach((wake) => wake()),
    setPublished: (ids: string[]) => (published = new Set(ids)),
  };
}

describe('dispatcher', () => {
  it('publishes in createdAt order and marks only what was confirmed', async () => {
    const a = update('carl', 2);
    const b = update('carl', 1);
    const c = update('dana', 3);
    const h = harness({ outcome: (m) => (m.options.messageId === c._id.toHexString() ? new PublishError('closed', 'gone') : null) });
    const result = await h.dispatcher.dispatch([a, b, c]);
    expect(h.sent).toEqual([b, a, c].map((d) => d._id.toHexString()));
    expect(h.marked.sort()).toEqual([a, b].map((d) => d._id.toHexString()).sort());
    expect(result).toEqual({ published: 2, retry: 1, parked: 0 });
  });

  it('measures publish latency of a re-published Update from republishedAt, not from its old createdAt', async () => {
    const hourAgo = Date.now() - 3_600_000;
    const latency = async (doc: StoredUpdate) => {
      const h = harness();
      await h.dispatcher.dispatch([doc]);
      return (await h.metrics.publishLatency.get()).values.find((v) => v.metricName?.endsWith('_sum'))!.value;
    };
    expect(await latency(update('carl', hourAgo, { republishedAt: Date.now() - 2_000, replayId: 'rpl_1' }))).toBeLessThan(60);
    expect(await latency(update('carl', hourAgo))).toBeGreaterThan(3_000); // the same Update, never replayed
  });

  it('publishes an Update found by two sources once', async () => {
    const a = update('carl', 1);
    const h = harness();
    await Promise.all([h.dispatcher.dispatch([a]), h.dispatcher.dispatch([a])]);
    await h.dispatcher.dispatch([a], { source: 'stream' });
    expect(h.sent).toEqual([a._id.toHexString()]);
  });

  it('publishes again what a sweep finds unpublished after it was published (republished by an operator)', async () => {
    const a = update('carl', 1);
    const h = harness();
    await h.dispatcher.dispatch([a]);
    await h.dispatcher.dispatch([a]);
    expect(h.sent).toEqual([a._id.toHexString(), a._id.toHexString()]);
  });

  it('skips change events whose Update is already published', async () => {
    const a = update('carl', 1);
    const b = update('dana', 2);
    const h = harness();
    h.setPublished([a._id.toHexString()]);
    await h.dispatcher.dispatch([a, b], { source: 'stream' });
    expect(h.sent).toEqual([b._id.toHexString()]);
  });

  it('parks what can never be published and counts broker rejections', async () => {
    const tooLong = update('x'.repeat(300), 1, { routingKey: `update.dialog.user.${'x'.repeat(300)}.dialogupdate` });
    const nacked = update('carl', 2);
    const h = harness({ outcome: (m) => (m.options.messageId === nacked._id.toHexString() ? new PublishError('nack', 'no') : null) });
    const result = await h.dispatcher.dispatch([tooLong, nacked]);
    expect(h.parked).toEqual([{ id: tooLong._id.toHexString(), reason: expect.stringContaining('routing key') }]);
    expect(h.rejected).toEqual([nacked._id.toHexString()]);
    expect(h.marked).toEqual([]);
    expect(result).toMatchObject({ published: 0, parked: 1 });
  });

  it('never publishes a partition it does not hold, and withholds (not drops) what it could not publish', async () => {
    const a = update('carl', 1);
    const h = harness({ owned: () => false });
    const result = await h.dispatcher.dispatch([a], { source: 'stream' });
    expect(h.sent).toEqual([]);
    expect(result.retry).toBe(1);
    expect(h.dispatcher.faulted([0, 1, 2, 3])).toEqual([partitionOfUpdate(a)]);
  });

  it('publishes nothing newer of a partition after a failure until a sweep clears the fault', async () => {
    const older = update('carl', 1);
    const newer = update('carl', 2);
    let fail = true;
    const h = harness({ outcome: () => (fail ? new PublishError('closed', 'connection lost') : null) });
    expect(await h.dispatcher.dispatch([older])).toMatchObject({ published: 0, retry: 1 });
    fail = false;
    expect(await h.dispatcher.dispatch([newer], { source: 'stream' })).toMatchObject({ published: 0, retry: 1 });
    expect(h.sent).toEqual([older._id.toHexString()]);
    const p = partitionOfUpdate(older);
    expect(h.dispatcher.faulted([0, 1, 2, 3])).toEqual([p]);
    await h.dispatcher.settle([p]);
    h.dispatcher.clearFaults([p]);
    expect(await h.dispatcher.dispatch([newer, older])).toMatchObject({ published: 2, retry: 0 });
    expect(h.sent.slice(1)).toEqual([older, newer].map((d) => d._id.toHexString()));
  });

  it('withholds a partition whose earlier messages are unsettled on a channel that has since closed', async () => {
    const older = update('carl', 1);
    const newer = update('carl', 2);
    let generation = 1;
    const h = harness({ generation: () => generation, deferred: true });
    const first = h.dispatcher.dispatch([older]);
    await new Promise((resolve) => setTimeout(resolve, 0));
    generation = 2; // the channel was replaced while `older` awaits its confirm
    const second = h.dispatcher.dispatch([newer]);
    await new Promise((resolve) => setTimeout(resolve, 0));
    h.confirmAll();
    expect(await second).toMatchObject({ published: 0, retry: 1 });
    await first;
    expect(h.sent).toEqual([older._id.toHexString()]);
  });

  it('never rejects when the database cannot check change events: the partitions wait for a sweep', async () => {
    const a = update('carl', 1);
    const h = harness({ stillUnpublishedFails: true });
    expect(await h.dispatcher.dispatch([a], { source: 'stream' })).toEqual({ published: 0, retry: 1, parked: 0 });
    expect(h.dispatcher.faulted([0, 1, 2, 3])).toEqual([partitionOfUpdate(a)]);
  });

  it('retries alone what was unconfirmed when the broker closed the channel with 406, and parks the culprit', async () => {
    // Three recipients in three different partitions (carl 0, hank 1, dana 3 of 4).
    const before = update('carl', 1);
    const culprit = update('dana', 2);
    const after = update('hank', 3);
    const refusals = new Map<string, number>();
    const h = harness({
      outcome: (m) => {
        const id = m.options.messageId;
        const n = (refusals.get(id) ?? 0) + 1;
        refusals.set(id, n);
        return id === culprit._id.toHexString() || n === 1 ? new PublishError('refused', 'message size 9 is larger than 8', 406) : null;
      },
    });
    expect(await h.dispatcher.dispatch([before, culprit, after])).toMatchObject({ published: 0, retry: 3 });
    const all = [0, 1, 2, 3];
    await h.dispatcher.settle(all);
    h.dispatcher.clearFaults(all);
    expect(await h.dispatcher.dispatch([before, culprit, after])).toMatchObject({ published: 2 });
    expect(h.idleCalls()).toBe(3); // each suspect went out alone
    expect(h.parked).toEqual([{ id: culprit._id.toHexString(), reason: expect.stringContaining('larger than') }]);
  });

  it('reports a partition idle once its in-flight messages are settled', async () => {
    const a = update('carl', 1);
    const h = harness();
    const pending = h.dispatcher.dispatch([a]);
    const p = [0, 1, 2, 3].find((i) => h.dispatcher.inFlightIds(i).size > 0)!;
    expect(p).toBeDefined();
    let idle = false;
    const waiting = h.dispatcher.waitIdle(p).then(() => (idle = true));
    expect(idle).toBe(false);
    await pending;
    await waiting;
    expect(idle).toBe(true);
    expect(h.dispatcher.inFlight).toBe(0);
  });
});
