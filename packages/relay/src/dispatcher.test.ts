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
import { createMemorySeqStore } from './memory-seq-store';
import { createRelayMetrics } from './metrics';
import { createSeqNumbering, type SeqStore } from './seq-numbering';

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
  /** Wraps the in-memory seq store (to make its calls fail). */
  seqStore?: (store: SeqStore) => SeqStore;
}

function partitionOfUpdate(d: StoredUpdate): number {
  return relayPartitionOf(d.partition, 4);
}

function harness(options: HarnessOptions = {}) {
  const sent: string[] = [];
  const messages: WireMessage[] = [];
  /** The "database": a copy of each Update dispatched (seqs are set here by the store). */
  const db = new Map<string, StoredUpdate>();
  const seqs = createMemorySeqStore((id) => db.get(id));
  const metrics = createRelayMetrics({ defaultMetrics: false });
  let idleCalls = 0;
  const waiting: Array<() => void> = [];
  const marked: string[] = [];
  const parked: Array<{ id: string; reason: string }> = [];
  const rejected: string[] = [];
  let published = new Set<string>();
  const dispatcher = createDispatcher({
    store: {
      stillUnpublished: async (ids) => {
        if (options.stillUnpublishedFails) throw Object.assign(new Error('reset'), { name: 'MongoNetworkError' });
        return new Map(
          ids
            .map((i) => i.toHexString())
            .filter((i) => !published.has(i))
            .map((i) => [i, { seq: db.get(i)?.seq ?? null, replayId: db.get(i)?.replayId ?? null }]),
        );
      },
      markPublished: async (ids) => {
        ids.forEach((i) => marked.push(i.toHexString()));
      },
      recordRejection: async (update) => {
        rejected.push(update._id.toHexString());
        return false;
      },
      park: async (update, reason) => void parked.push({ id: update._id.toHexString(), reason }),
    },
    publisher: {
      ready: async () => options.generation?.() ?? 1,
      send: async (m) => {
        sent.push(m.options.messageId);
        messages.push(m);
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
    numbering: createSeqNumbering({ store: options.seqStore?.(seqs) ?? seqs, metrics, logger: createSilentLogger() }),
  });
  // Every Update dispatched is "in the database" first, as a copy (the store numbers the copy).
  const dispatch = dispatcher.dispatch.bind(dispatcher);
  dispatcher.dispatch = (docs, opts) => {
    for (const d of docs) {
      if (db.has(d._id.toHexString())) continue;
      db.set(d._id.toHexString(), { ...d });
      seqs.index(d);
    }
    return dispatch(docs, opts);
  };
  return {
    dispatcher,
    db,
    seqs,
    metrics,
    messages,
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

  it("withholds a change event's copy of an Update a replay has put back since, faulting its partition for the sweep", async () => {
    const a = update('carl', 1);
    const b = update('dana', 2);
    const h = harness();
    // The stream read again from an older position: `a` as inserted, though a replay put it back meanwhile.
    h.db.set(a._id.toHexString(), { ...a, replayId: 'rpl_1', republishedAt: 1_800_000_000_000 });
    const result = await h.dispatcher.dispatch([a, b], { source: 'stream' });
    expect(h.sent).toEqual([b._id.toHexString()]);
    expect(result).toMatchObject({ published: 1, retry: 1 });
    expect(h.dispatcher.faulted([0, 1, 2, 3])).toEqual([relayPartitionOf(a.partition, 4)]);
    // The sweep reads it as it is now and sends the replay's copy, with its header.
    h.dispatcher.clearFaults([0, 1, 2, 3]);
    await h.dispatcher.dispatch([{ ...h.db.get(a._id.toHexString())! }]);
    expect(h.messages.at(-1)?.options.headers?.['x-chat3-replay']).toBe('rpl_1');
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

  it('on close, finishes what is in flight, and withholds what it was numbering and what waits for its turn', async () => {
    const [sent, numbering, waiting] = [update('carl', 1), update('dana', 2), update('hank', 3)];
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let gated = false;
    const h = harness({
      deferred: true,
      seqStore: (store) => ({ ...store, assignSeqs: async (x) => (gated && (await gate), store.assignSeqs(x)) }),
    });
    const first = h.dispatcher.dispatch([sent]); // published, awaiting its confirm when the stop comes
    await new Promise((resolve) => setTimeout(resolve, 0));
    gated = true;
    const second = h.dispatcher.dispatch([numbering]); // being numbered when the stop comes
    const third = h.dispatcher.dispatch([waiting]); // waiting for its turn
    await new Promise((resolve) => setTimeout(resolve, 0));
    h.dispatcher.close();
    open();
    await new Promise((resolve) => setTimeout(resolve, 0));
    h.confirmAll();
    expect(await first).toMatchObject({ published: 1 });
    expect(await second).toEqual({ published: 0, retry: 1, parked: 0 });
    expect(await third).toEqual({ published: 0, retry: 1, parked: 0 });
    expect(h.sent).toEqual([sent._id.toHexString()]);
    expect(h.db.get(numbering._id.toHexString())!.seq).toBe(1); // numbered: the next holder sends it with this seq
    expect(h.db.get(waiting._id.toHexString())!.seq).toBeUndefined();
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

describe('dispatcher: sequence numbers', () => {
  const seqOf = (m: WireMessage) => (JSON.parse(m.body.toString()) as { seq?: number }).seq;
  const key = (userId: string) => JSON.stringify(['t1', userId]);

  it('numbers each recipient 1, 2, 3… in createdAt order, in the body and the x-chat3-seq header, and raises its counter', async () => {
    const [a, b, c, d] = [update('carl', 3), update('carl', 1), update('dana', 2), update('carl', 4)];
    const h = harness();
    await h.dispatcher.dispatch([a, b, c]);
    await h.dispatcher.dispatch([d]);
    expect(h.messages.map((m) => [m.options.headers.userId, seqOf(m), m.options.headers['x-chat3-seq']])).toEqual([
      ['carl', 1, 1],
      ['dana', 1, 1],
      ['carl', 2, 2],
      ['carl', 3, 3],
    ]);
    expect([a, b, c, d].map((x) => h.db.get(x._id.toHexString())!.seq)).toEqual([2, 1, 1, 3]);
    expect(h.seqs.counters).toEqual(
      new Map([
        [key('carl'), 3],
        [key('dana'), 1],
      ]),
    );
  });

  it('keeps the seq of an Update published again, and publishes each recipient in seq order', async () => {
    const old = update('carl', 1);
    const h = harness();
    await h.dispatcher.dispatch([old]);
    const fresh = update('carl', 0); // older by createdAt, but numbered after `old`
    await h.dispatcher.dispatch([fresh, { ...old }]);
    expect(h.messages.map(seqOf)).toEqual([1, 1, 2]);
    expect(h.db.get(old._id.toHexString())!.seq).toBe(1);
    expect(h.db.get(fresh._id.toHexString())!.seq).toBe(2);
  });

  it('numbers an Update before parking it, so its seq is taken (the client fetches it)', async () => {
    const tooLong = update('carl', 1, { data: { context: { eventType: 'x', entityId: 'x'.repeat(20_000), includedSections: [] } } });
    const next = update('carl', 2);
    const h = harness();
    await h.dispatcher.dispatch([tooLong, next]);
    expect(h.parked.map((p) => p.id)).toEqual([tooLong._id.toHexString()]);
    expect(h.db.get(tooLong._id.toHexString())!.seq).toBe(1);
    expect(h.messages.map(seqOf)).toEqual([2]);
  });

  it('takes the seq the database holds for a change event (numbered since it was inserted)', async () => {
    const a = update('carl', 1);
    const h = harness();
    h.db.set(a._id.toHexString(), { ...a, seq: 7 });
    h.seqs.index({ ...a, seq: 7 });
    await h.dispatcher.dispatch([a], { source: 'stream' });
    expect(h.messages.map(seqOf)).toEqual([7]);
  });

  it('withholds a recipient whose seq is taken (lagging counters), repairs it, and numbers after the true last', async () => {
    // Another relay numbered carl 1..2 and died before raising the counter.
    const h = harness();
    for (const [i, seq] of [1, 2].entries()) {
      const done = update('carl', i, { published: true, seq });
      h.db.set(done._id.toHexString(), done);
      h.seqs.index(done);
    }
    const other = update('dana', 9);
    const a = update('carl', 10);
    expect(await h.dispatcher.dispatch([a, other])).toMatchObject({ published: 1, retry: 1 });
    expect(h.messages.map((m) => [m.options.headers.userId, seqOf(m)])).toEqual([['dana', 1]]);
    expect(await h.metrics.seqConflicts.get()).toMatchObject({ values: [{ value: 1 }] });
    const p = partitionOfUpdate(a);
    expect(h.dispatcher.faulted([0, 1, 2, 3])).toEqual([p]);
    await h.dispatcher.settle([p]);
    h.dispatcher.clearFaults([p]);
    expect(await h.dispatcher.dispatch([a])).toMatchObject({ published: 1, retry: 0 });
    expect(h.messages.map((m) => [m.options.headers.userId, seqOf(m)])).toEqual([
      ['dana', 1],
      ['carl', 3],
    ]);
  });

  it('stops numbering at the first conflict: nothing after it in the page is numbered or published', async () => {
    const h = harness();
    const taken = update('carl', 0, { published: true, seq: 1 });
    h.db.set(taken._id.toHexString(), taken);
    h.seqs.index(taken);
    const [a, b, c] = [update('dana', 1), update('carl', 2), update('hank', 3)];
    await h.dispatcher.dispatch([a, b, c]);
    expect(h.messages.map((m) => [m.options.headers.userId, seqOf(m)])).toEqual([['dana', 1]]);
    expect(h.db.get(c._id.toHexString())!.seq).toBeUndefined();
  });

  it('withholds everything it could not number when the numbering write fails, and repairs before numbering again', async () => {
    let fail = true;
    let repairs = 0;
    const h = harness({
      seqStore: (store) => ({
        ...store,
        assignSeqs: async (assignments) => {
          // Applied, but the answer is lost.
          const done = await store.assignSeqs(assignments);
          if (fail) throw Object.assign(new Error('reset'), { name: 'MongoNetworkError' });
          return done;
        },
        repairSeqs: (recipients) => {
          repairs++;
          return store.repairSeqs(recipients);
        },
      }),
    });
    const [a, b] = [update('carl', 1), update('carl', 2)];
    expect(await h.dispatcher.dispatch([a, b])).toMatchObject({ published: 0, retry: 2 });
    expect(h.db.get(a._id.toHexString())!.seq).toBe(1);
    fail = false;
    const all = [0, 1, 2, 3];
    await h.dispatcher.settle(all);
    h.dispatcher.clearFaults(all);
    // The next sweep reads them with their seqs from the database.
    const c = update('carl', 3);
    expect(await h.dispatcher.dispatch([{ ...h.db.get(a._id.toHexString())! }, { ...h.db.get(b._id.toHexString())! }, c])).toMatchObject({
      published: 3,
    });
    expect(h.messages.map(seqOf)).toEqual([1, 2, 3]);
    expect(repairs).toBe(1);
  });

  it('withholds the page when the last seqs cannot be read, and never rejects', async () => {
    const h = harness({
      seqStore: (store) => ({
        ...store,
        lastSeqs: async () => Promise.reject(Object.assign(new Error('reset'), { name: 'MongoNetworkError' })),
      }),
    });
    const a = update('carl', 1);
    expect(await h.dispatcher.dispatch([a])).toEqual({ published: 0, retry: 1, parked: 0 });
    expect(h.sent).toEqual([]);
  });

  it('reads the counters again after a partition is acquired (another relay may have numbered meanwhile)', async () => {
    const h = harness();
    await h.dispatcher.dispatch([update('carl', 1)]);
    // Another relay held carl's partition and numbered 2 and 3.
    h.seqs.counters.set(key('carl'), 3);
    h.dispatcher.requireSweep(partitionOf('t1', 'carl') % 4);
    const all = [0, 1, 2, 3];
    await h.dispatcher.settle(all);
    h.dispatcher.clearFaults(all);
    await h.dispatcher.dispatch([update('carl', 5)]);
    expect(h.messages.map(seqOf)).toEqual([1, 4]);
  });
});
