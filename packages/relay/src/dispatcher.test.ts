/**
 * The dispatcher's decisions with its I/O replaced by in-memory fakes (publisher confirms on demand,
 * store records calls). The real broker and database paths are covered by the integration tests.
 */
import { createMonotonicClock, partitionOf, type WireMessage } from '@chat3/core';
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
    createdAt,
    eventCreatedAt: createdAt,
    ...over,
  };
}

function harness(options: { outcome?: (m: WireMessage) => Error | null; owned?: (p: number) => boolean } = {}) {
  const sent: string[] = [];
  const marked: string[] = [];
  const parked: Array<{ id: string; reason: string }> = [];
  const rejected: string[] = [];
  let published = new Set<string>();
  const dispatcher = createDispatcher({
    store: {
      stillUnpublished: async (ids) => new Set(ids.map((i) => i.toHexString()).filter((i) => !published.has(i))),
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
      ready: async () => 1,
      send: async (m) => {
        sent.push(m.options.messageId);
        const err = options.outcome?.(m) ?? null;
        if (err) throw err;
        return { latency: 0.001 };
      },
      connected: true,
    },
    partitions: 4,
    mayPublish: options.owned ?? (() => true),
    maxMessageBytes: 10_000,
    clock: createMonotonicClock(),
    metrics: createRelayMetrics({ defaultMetrics: false }),
    logger: createSilentLogger(),
  });
  return {
    dispatcher,
    sent,
    marked,
    parked,
    rejected,
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

  it('publishes an Update found by two sources once', async () => {
    const a = update('carl', 1);
    const h = harness();
    await Promise.all([h.dispatcher.dispatch([a]), h.dispatcher.dispatch([a])]);
    await h.dispatcher.dispatch([a], { verify: true });
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
    await h.dispatcher.dispatch([a, b], { verify: true });
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

  it('never publishes a partition it does not hold', async () => {
    const a = update('carl', 1);
    const h = harness({ owned: () => false });
    await h.dispatcher.dispatch([a]);
    expect(h.sent).toEqual([]);
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
