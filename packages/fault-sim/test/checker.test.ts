/**
 * The checker must be able to fail. Whole runs with a deliberately broken AMQP client in the relay
 * (one that drops, one that duplicates, one that reorders) must each be caught; the same run with an
 * honest client must pass. Hand-made records cover the other properties.
 */
import { ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { check, covered, type RunRecord } from '../src/checker';
import { runScenario } from '../src/run';
import { namedScenario, type Scenario } from '../src/scenarios';

const clean: Scenario = {
  name: 'clean',
  about: 'one relay, steady traffic, no faults',
  mode: 'polling',
  relays: 1,
  builders: 0,
  traffic: { kind: 'updates', recipients: 2, dialogs: 1, perSecond: 200 },
  durationMs: 3_000,
  faults: [],
};

describe('the checker against broken parts', () => {
  it('passes an honest run', async () => {
    const report = await runScenario(clean, '1');
    expect(report.violations).toEqual([]);
    expect(report.summary.delivered).toBeGreaterThan(400);
  });

  it.each([
    ['drop', 'lost'],
    ['duplicate', 'duplicates'],
    ['reorder', 'order'],
  ] as const)('catches a relay client that %ss messages (%s)', async (sabotage, kind) => {
    const report = await runScenario(clean, '1', { sabotage });
    expect(report.violations.map((v) => v.kind)).toContain(kind);
  });

  it('catches a seq given twice when MongoDB lacks the recipient_seq index (a takeover with lagging counters)', async () => {
    const scenario = namedScenario('seq-takeover-lagging-counters')!;
    const broken = await runScenario(scenario, '1', { seqIndex: false });
    expect(broken.violations.filter((v) => v.kind === 'seq').map((v) => v.detail)).toEqual([expect.stringContaining('given twice')]);
    expect((await runScenario(scenario, '1')).violations).toEqual([]);
  });
});

function record(over: Partial<RunRecord> = {}): RunRecord {
  return {
    traffic: 'updates',
    produced: { updates: [], events: [], members: new Map() },
    committed: [],
    deliveries: [],
    republished: [],
    nacked: new Set(),
    deadLettered: new Set(),
    windows: [],
    otherIncidents: 0,
    startAt: 0,
    endAt: 10_000,
    stallLimitMs: 1_000,
    window: 10,
    leaseTtlMs: 2_000,
    exits: [],
    spinning: [],
    stops: [],
    ...over,
  };
}

function doc(i: number, createdAt: number, userId = 'u1', seq: number | null = i) {
  return {
    ...(seq === null ? {} : { seq }),
    _id: new ObjectId(i.toString(16).padStart(24, '0')),
    tenantId: 't',
    userId,
    userType: 'user',
    entityId: 'e',
    eventId: `evt_${i}`,
    eventType: 'message.create',
    dialogId: 'd1',
    updateType: 'MessageUpdate' as const,
    routingKey: `update.dialog.user.${userId}.messageupdate`,
    partition: 1,
    data: { context: { eventType: 'message.create', entityId: 'e', includedSections: [] } },
    published: true,
    publishedAt: createdAt + 1,
    statsVersion: 0,
    createdAt,
    eventCreatedAt: createdAt,
  };
}

const delivery = (d: ReturnType<typeof doc>, at: number, publisher = 'chat3-relay r1') => ({
  at,
  queue: `user_${d.userId}_updates`,
  messageId: d._id.toHexString(),
  routingKey: d.routingKey,
  content: Buffer.from(JSON.stringify({ seq: d.seq })),
  headers: { tenantId: d.tenantId, userId: d.userId, eventId: d.eventId, 'x-chat3-seq': d.seq },
  publisher,
  durableAt: at,
  sentAt: at,
});

describe('the checker on hand-made records', () => {
  const a = doc(1, 100);
  const b = doc(2, 200);
  const produced = {
    updates: [a, b].map((d, index) => ({ key: `t\u0000${d.eventId}\u0000u1\u0000MessageUpdate`, userId: 'u1', dialogId: 'd1', index })),
    events: [],
    members: new Map(),
  };

  it('accepts a run delivered in order, in time', () => {
    const { violations } = check(record({ produced, committed: [a, b], deliveries: [delivery(a, 150), delivery(b, 250)] }));
    expect(violations).toEqual([]);
  });

  it('reports a wait outside fault windows, but not inside one', () => {
    const late = record({ produced, committed: [a, b], deliveries: [delivery(a, 150), delivery(b, 5_000)] });
    expect(check(late).violations.map((v) => v.kind)).toEqual(['stall']);
    const excused = { ...late, windows: [{ from: 300, to: 4_900, kind: 'broker-down' as const }] };
    expect(check(excused).violations).toEqual([]);
  });

  it('exempts an Update the broker nacked from the order check', () => {
    const run = record({ produced, committed: [a, b], deliveries: [delivery(b, 250), delivery(a, 260)] });
    expect(check(run).violations.map((v) => v.kind)).toEqual(['order', 'seq']);
    expect(check({ ...run, nacked: new Set([a._id.toHexString()]) }).violations).toEqual([]);
  });

  describe('seq', () => {
    const kinds = (committed: Array<ReturnType<typeof doc>>, deliveries = committed.map((d, i) => delivery(d, 150 + i))) =>
      check(record({ produced, committed, deliveries }))
        .violations.filter((v) => v.kind === 'seq')
        .map((v) => v.detail);

    it('reports a seq given twice and a gap', () => {
      expect(kinds([a, { ...b, seq: 1 }])).toEqual([expect.stringContaining('seq 1 given twice')]);
      expect(kinds([a, { ...b, seq: 3 }])).toEqual([expect.stringContaining('a gap, seq 2 of 1..3')]);
    });

    it('reports a delivered or parked Update without a seq', () => {
      expect(kinds([a, doc(2, 200, 'u1', null)])).toEqual([expect.stringContaining('1 delivered or parked Updates have no seq')]);
    });

    it('reports a message whose body or header seq differs from its Update', () => {
      const wrongHeader = { ...delivery(b, 250), headers: { ...delivery(b, 250).headers, 'x-chat3-seq': 3 } };
      expect(kinds([a, b], [delivery(a, 150), wrongHeader])).toEqual([expect.stringContaining('carried 2 (body) and 3 (header)')]);
    });

    it("reports first deliveries out of seq order across a recipient's dialogs, unless nacked", () => {
      const other = { ...doc(2, 200), dialogId: 'd2' };
      const run = record({ produced, committed: [a, other], deliveries: [delivery(other, 250), delivery(a, 260)] });
      expect(check(run).violations.map((v) => v.kind)).toEqual(['seq']);
      expect(check({ ...run, nacked: new Set([a._id.toHexString()]) }).violations).toEqual([]);
    });
  });

  it('reports an Update delivered and then rolled back', () => {
    const { violations } = check(record({ produced, committed: [a], deliveries: [delivery(a, 150), delivery(b, 250)] }));
    expect(violations.map((v) => v.kind)).toContain('phantom');
  });

  it('reports two relays taking turns on one recipient within a lease TTL', () => {
    const c = doc(3, 300);
    const run = record({
      produced: {
        ...produced,
        updates: [...produced.updates, { key: `t\u0000${c.eventId}\u0000u1\u0000MessageUpdate`, userId: 'u1', dialogId: 'd1', index: 2 }],
      },
      committed: [a, b, c],
      deliveries: [delivery(a, 150, 'chat3-relay r1'), delivery(b, 250, 'chat3-relay r2'), delivery(c, 350, 'chat3-relay r1')],
    });
    expect(check(run).violations.map((v) => v.kind)).toEqual(['exclusivity']);
  });

  it('reports a stale user stats emission', () => {
    const history = new Map([
      [
        'u1',
        [
          { at: 0, stats: { dialogCount: 1, unreadDialogsCount: 1 } },
          { at: 100, stats: { dialogCount: 1, unreadDialogsCount: 2 } },
        ],
      ],
    ]);
    const emitted = new Map([
      [
        'u1',
        [
          { at: 150, stats: { dialogCount: 1, unreadDialogsCount: 2 } },
          { at: 160, stats: { dialogCount: 1, unreadDialogsCount: 1 } },
        ],
      ],
    ]);
    expect(check(record({ stats: { history, emitted } })).violations.map((v) => v.kind)).toContain('stats');
  });

  it('reports exits, spins and slow stops', () => {
    const kinds = check(
      record({
        exits: [{ at: 1, process: 'r1', what: 'unhandled rejection: x' }],
        spinning: ['r1'],
        stops: [{ process: 'r1', ms: 6_000, timeoutMs: 5_000 }],
      }),
    ).violations.map((v) => v.kind);
    expect(kinds).toEqual(['exit', 'spin', 'shutdown']);
  });

  it('measures how much of an interval fault windows cover', () => {
    const w = (from: number, to: number) => ({ from, to, kind: 'alarm' as const });
    expect(covered([w(0, 10), w(5, 20), w(30, 40)], 0, 35)).toBe(25);
    expect(covered([], 0, 35)).toBe(0);
  });
});
