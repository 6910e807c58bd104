/** The SDK's ordering core: order, duplicates, gaps, catch-up from fromSeq, resync, and what gets acked when. */
import { describe, expect, it } from 'vitest';
import { applyPage, delivered, forget, initialState, nextStep, receive, resynced, type SequencerState, type Step } from './sequencer';
import type { SequencedUpdate } from './update-body';

const update = (seq: number): SequencedUpdate =>
  ({
    _id: `id${seq}`,
    tenantId: 't',
    userId: 'u',
    userType: 'user',
    entityId: 'e',
    eventId: `evt${seq}`,
    eventType: 'message.create',
    dialogId: 'd',
    updateType: 'MessageUpdate',
    routingKey: 'update.dialog.user.u.messageupdate',
    data: { context: { eventType: 'message.create', entityId: 'e', includedSections: [] } },
    createdAt: seq,
    seq,
  }) as SequencedUpdate;

/** A queue message handle: its seq and a copy number, so duplicates are told apart in acks. */
type Msg = string;
const msg = (seq: number, copy = 0): Msg => `m${seq}.${copy}`;
const held = (seq: number, copy = 0) => ({ seq, update: update(seq), message: msg(seq, copy) });

/**
 * Runs the core to idle the way the driver does, against an API holding `api` (seqs) and answering
 * pages of `pageSize`; `tooLongBelow` makes the API answer tooLong for any `after` below it, and the
 * state it reports is `stateSeq`.
 */
function run(
  start: SequencerState<Msg>,
  api: { seqs: number[]; pageSize?: number; tooLongBelow?: number; stateSeq?: number },
  limitSteps = 10_000,
) {
  let state = start;
  const deliveries: Array<{ seq: number; source: string }> = [];
  const acks: Msg[] = [];
  const fetches: Array<Extract<Step<Msg>, { kind: 'fetch' }>> = [];
  const resyncs: number[] = [];
  let stalls = 0;
  for (let i = 0; i < limitSteps; i++) {
    const step = nextStep(state);
    if (step.kind === 'idle') return { state, deliveries, acks, fetches, resyncs, stalls };
    if (step.kind === 'ack') {
      acks.push(...step.messages);
      state = forget(state, (m) => step.messages.includes(m));
    } else if (step.kind === 'deliver') {
      deliveries.push({ seq: step.update.seq, source: step.source });
      state = delivered(state, step.update.seq);
      acks.push(...step.messages);
    } else {
      fetches.push(step);
      if (api.tooLongBelow !== undefined && step.after < api.tooLongBelow) {
        resyncs.push(api.stateSeq!);
        state = resynced(state, api.stateSeq!);
        continue;
      }
      const after = api.seqs.filter((s) => s > step.after).sort((a, b) => a - b);
      const page = after.slice(0, api.pageSize ?? 100);
      const result = applyPage(state, step.reason, { updates: page.map(update), hasMore: after.length > page.length });
      state = result.state;
      if (result.stalled) {
        stalls += 1;
        if (stalls > 3) return { state, deliveries, acks, fetches, resyncs, stalls };
      }
    }
  }
  throw new Error('the core did not settle');
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const live = (last: number): SequencerState<Msg> => ({ ...initialState<Msg>(last), mode: 'live' });

describe('in order from the queue', () => {
  it('delivers consecutive seqs as they arrive and acks each after its delivery', () => {
    let state = live(0);
    for (const s of [1, 2, 3]) state = receive(state, held(s));
    const r = run(state, { seqs: [] });
    expect(r.deliveries).toEqual([1, 2, 3].map((seq) => ({ seq, source: 'queue' })));
    expect(r.acks).toEqual([msg(1), msg(2), msg(3)]);
    expect(r.fetches).toEqual([]);
    expect(r.state.last).toBe(3);
  });

  it('is idle with nothing held', () => {
    expect(nextStep(live(7))).toEqual({ kind: 'idle' });
  });
});

describe('duplicates', () => {
  it('acks a message whose seq was delivered already and never delivers it again', () => {
    let state = live(5);
    state = receive(state, held(4));
    state = receive(state, held(5));
    expect(nextStep(state)).toEqual({ kind: 'ack', messages: [msg(4), msg(5)] });
    const r = run(state, { seqs: [] });
    expect(r.deliveries).toEqual([]);
    expect(r.acks).toEqual([msg(4), msg(5)]);
  });

  it('delivers two copies of one seq once and acks both after the delivery', () => {
    let state = live(0);
    state = receive(state, held(1, 0));
    state = receive(state, held(1, 1));
    const step = nextStep(state);
    expect(step).toMatchObject({ kind: 'deliver', source: 'queue', messages: [msg(1, 0), msg(1, 1)] });
    const r = run(state, { seqs: [] });
    expect(r.deliveries).toEqual([{ seq: 1, source: 'queue' }]);
    expect(r.acks).toEqual([msg(1, 0), msg(1, 1)]);
  });
});

describe('gaps', () => {
  it('fetches the missing range before delivering anything newer', () => {
    let state = live(3);
    state = receive(state, held(6));
    expect(nextStep(state)).toEqual({ kind: 'fetch', after: 3, reason: 'gap', until: 5 });
    const r = run(state, { seqs: range(1, 6) });
    expect(r.deliveries.map((d) => d.seq)).toEqual([4, 5, 6]);
    expect(r.deliveries.slice(0, 2).every((d) => d.source === 'api')).toBe(true);
    // seq 6 came in the same page; the queue copy is acked after it was delivered.
    expect(r.acks).toEqual([msg(6)]);
  });

  it('pages through a gap longer than a page', () => {
    let state = live(0);
    state = receive(state, held(10));
    const r = run(state, { seqs: range(1, 10), pageSize: 3 });
    expect(r.deliveries.map((d) => d.seq)).toEqual(range(1, 10));
    expect(r.fetches.map((f) => f.after)).toEqual([0, 3, 6]);
    expect(r.fetches.every((f) => f.reason === 'gap')).toBe(true);
    expect(r.acks).toEqual([msg(10)]);
  });

  it('holds and reorders messages that arrive out of order, asking the API only for what is missing', () => {
    let state = live(0);
    for (const s of [2, 3, 1]) state = receive(state, held(s));
    const r = run(state, { seqs: [] });
    expect(r.deliveries.map((d) => d.seq)).toEqual([1, 2, 3]);
    expect(r.fetches).toEqual([]);
  });

  it('reports a stall, and delivers nothing newer, when the API does not have the gap yet', () => {
    let state = live(3);
    state = receive(state, held(5));
    const r = run(state, { seqs: [1, 2, 3] });
    expect(r.deliveries).toEqual([]);
    expect(r.stalls).toBeGreaterThan(0);
    expect(r.state.held.map((h) => h.seq)).toEqual([5]);
    expect(applyPage(state, 'gap', { updates: [], hasMore: false }).stalled).toBe(true);
  });

  it('treats a page that skips a seq as a gap still open', () => {
    const { state } = applyPage(live(3), 'gap', { updates: [update(5)], hasMore: false });
    expect(nextStep(state)).toEqual({ kind: 'fetch', after: 3, reason: 'gap', until: 4 });
  });
});

describe('resuming from fromSeq', () => {
  it('catches up through the API first, holding what the queue delivers meanwhile', () => {
    let state = initialState<Msg>(10);
    expect(nextStep(state)).toEqual({ kind: 'fetch', after: 10, reason: 'catch-up' });
    // 14 and 15 arrive from the queue while the catch-up runs; 14 also comes from the API.
    state = receive(state, held(14));
    state = receive(state, held(15));
    const r = run(state, { seqs: range(1, 14), pageSize: 2 });
    expect(r.deliveries.map((d) => d.seq)).toEqual([11, 12, 13, 14, 15]);
    expect(r.deliveries.at(-1)!.source).toBe('queue');
    expect(r.acks).toEqual([msg(14), msg(15)]);
    expect(r.state.mode).toBe('live');
    expect(r.fetches.every((f) => f.reason === 'catch-up')).toBe(true);
  });

  it('stays catching up while pages say hasMore, and goes live after the last one', () => {
    const first = applyPage(initialState<Msg>(0), 'catch-up', { updates: [update(1)], hasMore: true });
    expect(first.state.mode).toBe('catching-up');
    expect(first.stalled).toBe(false);
    const last = applyPage(first.state, 'catch-up', { updates: [], hasMore: false });
    expect(last.state.mode).toBe('live');
    expect(last.stalled).toBe(false);
  });

  it('drops held messages at or below fromSeq as duplicates', () => {
    let state = initialState<Msg>(10);
    state = receive(state, held(9));
    state = receive(state, held(11));
    const r = run(state, { seqs: range(1, 11) });
    expect(r.deliveries.map((d) => d.seq)).toEqual([11]);
    expect(r.acks).toEqual([msg(9), msg(11)]);
  });

  it('refuses a negative or fractional fromSeq', () => {
    expect(() => initialState(-1)).toThrow(RangeError);
    expect(() => initialState(1.5)).toThrow(RangeError);
  });
});

describe('resync', () => {
  it('continues after the reloaded state when the API no longer has the gap', () => {
    let state = live(3);
    state = receive(state, held(19));
    state = receive(state, held(21));
    const r = run(state, { seqs: range(15, 21), tooLongBelow: 15, stateSeq: 20 });
    expect(r.resyncs).toEqual([20]);
    expect(r.deliveries).toEqual([{ seq: 21, source: 'queue' }]);
    expect(r.acks).toEqual([msg(19), msg(21)]);
  });

  it('discards fetched Updates the reloaded state covers', () => {
    const { state } = applyPage(live(3), 'gap', { updates: [update(5), update(6)], hasMore: false });
    expect(resynced(state, 5).fetched.map((u) => u.seq)).toEqual([6]);
  });
});

describe('a closed channel', () => {
  it('forgets the messages it held (the broker redelivers them) and keeps the position', () => {
    let state = live(1);
    state = receive(state, held(3));
    state = receive(state, held(4));
    state = forget(state, () => true);
    expect(state.held).toEqual([]);
    expect(state.last).toBe(1);
    expect(nextStep(state)).toEqual({ kind: 'idle' });
  });
});

describe('delivered', () => {
  it('refuses a seq out of order (a driver bug must not pass silently)', () => {
    expect(() => delivered(live(3), 5)).toThrow(/out of order/);
  });
});

describe('any arrival order, with copies and losses', () => {
  /** A deterministic PRNG so the property loop is reproducible. */
  function mulberry32(seed: number): () => number {
    let a = seed;
    return () => {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  it('delivers 1..N once each, in order, and acks every message once, after its seq', () => {
    const rand = mulberry32(0x5e90);
    for (let round = 0; round < 300; round++) {
      const n = 1 + Math.floor(rand() * 30);
      const fromSeq = Math.floor(rand() * 5);
      const arrivals: Array<{ seq: number; copy: number }> = [];
      for (let s = 1; s <= n; s++) {
        if (rand() < 0.2) continue; // lost from the queue
        arrivals.push({ seq: s, copy: 0 });
        if (rand() < 0.2) arrivals.push({ seq: s, copy: 1 }); // redelivered
      }
      arrivals.sort(() => rand() - 0.5);
      let state = initialState<Msg>(fromSeq);
      const deliveries: number[] = [];
      const acked: Msg[] = [];
      const deliveredBeforeAck = new Set<number>();
      let i = 0;
      for (let guard = 0; guard < 10_000; guard++) {
        // Interleave arrivals with steps, as the broker and the loop do.
        if (i < arrivals.length && rand() < 0.5) {
          const a = arrivals[i++]!;
          state = receive(state, held(a.seq, a.copy));
          continue;
        }
        const step = nextStep(state);
        if (step.kind === 'idle') {
          if (i >= arrivals.length) break;
          const a = arrivals[i++]!;
          state = receive(state, held(a.seq, a.copy));
        } else if (step.kind === 'ack') {
          // Only duplicates: seqs at or below fromSeq, or delivered already.
          for (const m of step.messages) {
            const seq = Number(m.slice(1).split('.')[0]);
            expect(seq <= fromSeq || deliveredBeforeAck.has(seq)).toBe(true);
          }
          acked.push(...step.messages);
          state = forget(state, (m) => step.messages.includes(m));
        } else if (step.kind === 'deliver') {
          deliveries.push(step.update.seq);
          deliveredBeforeAck.add(step.update.seq);
          state = delivered(state, step.update.seq);
          acked.push(...step.messages);
        } else {
          const after = range(step.after + 1, n);
          const page = after.slice(0, 4);
          state = applyPage(state, step.reason, { updates: page.map(update), hasMore: after.length > page.length }).state;
        }
      }
      expect(deliveries).toEqual(range(fromSeq + 1, n));
      expect([...acked].sort()).toEqual(arrivals.map((a) => msg(a.seq, a.copy)).sort());
    }
  });
});
