/**
 * The checker must be able to fail. Whole runs with a deliberately broken AMQP client in the relay
 * (one that drops, one that duplicates, one that reorders, one that drops replay copies) must each be
 * caught, and so must change streams that miss replays; the same runs with honest parts must pass.
 * Hand-made records cover the other properties.
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

  describe('replays', () => {
    const replayed = (mode: Scenario['mode']): Scenario => ({
      ...clean,
      name: `clean-replay-${mode}`,
      mode,
      faults: [{ at: 1_500, fault: { kind: 'replay', select: { user: 'u0' }, rate: 200 } }],
    });

    it.each(['polling', 'change-stream'] as const)('passes an honest %s run with a replay', async (mode) => {
      const report = await runScenario(replayed(mode), '1');
      expect(report.violations).toEqual([]);
      expect(report.summary.replayed).toBeGreaterThan(100);
      expect(report.summary.duplicates).toBe(0);
    });

    it('catches a relay client that drops every replay copy (never delivered again)', async () => {
      const report = await runScenario(replayed('polling'), '1', { sabotage: 'drop-replays' });
      expect(report.violations.filter((v) => v.kind === 'replay').map((v) => v.detail)).toEqual([
        expect.stringMatching(/^\d+ Updates put back by a replay were not sent again with a replay id/),
      ]);
    });

    it("catches change streams that miss a replay's updates (the copies wait for the safety net)", async () => {
      const report = await runScenario(replayed('change-stream'), '1', { matchReplays: false });
      expect(report.violations.map((v) => v.detail)).toEqual([
        expect.stringContaining('after a replay put it back, outside fault windows'),
      ]);
    });
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
    replays: [],
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

  describe('replays', () => {
    const replayCopy = (d: ReturnType<typeof doc>, at: number, replayId = 'rpl_1') => {
      const r = delivery(d, at);
      return { ...r, headers: { ...r.headers, 'x-chat3-replay': replayId } };
    };
    const replays = [
      { replayId: 'rpl_1', id: a._id.toHexString(), at: 300 },
      { replayId: 'rpl_1', id: b._id.toHexString(), at: 300 },
    ];
    const run = (deliveries: ReturnType<typeof delivery>[], over: Partial<RunRecord> = {}) =>
      check(record({ produced, committed: [a, b], replays, deliveries: [delivery(a, 150), delivery(b, 250), ...deliveries], ...over }));

    it('accepts copies with the replay id, in order, in time, and counts them as no duplicates', () => {
      const { violations, summary } = run([replayCopy(a, 350), replayCopy(b, 360)]);
      expect(violations).toEqual([]);
      expect(summary).toMatchObject({ duplicates: 0, replayed: 2, maxReplayWaitMs: 60 });
    });

    it('reports an Update put back and never sent again with a replay id', () => {
      const kinds = (r: ReturnType<typeof run>) => r.violations.map((v) => `${v.kind}: ${v.detail}`);
      expect(kinds(run([replayCopy(a, 350)]))).toEqual([
        expect.stringMatching(/^replay: 1 Updates put back by a replay were not sent again with a replay id, e.g. MessageUpdate 0+2 /),
      ]);
      // Sent again, but without the header (a stale copy of the document) or before the put-back.
      expect(kinds(run([replayCopy(a, 350), delivery(b, 360)]))[0]).toMatch(/^replay: 1 Updates put back/);
      expect(kinds(run([replayCopy(a, 350), { ...replayCopy(b, 290), sentAt: 290 }]))[0]).toMatch(/^replay: 1 Updates put back/);
      // Parked since: nothing more to send.
      expect(
        check(
          record({
            produced,
            committed: [a, { ...b, parked: { reason: 'x', at: 0, attempts: 5 } }],
            replays,
            deliveries: [delivery(a, 150), delivery(b, 250), replayCopy(a, 350)],
          }),
        ).violations,
      ).toEqual([]);
    });

    it('accepts one copy for two put-backs of the same Update, if it went out after both', () => {
      const again = [...replays, { replayId: 'rpl_2', id: b._id.toHexString(), at: 320 }];
      expect(run([replayCopy(a, 350), replayCopy(b, 360, 'rpl_2')], { replays: again }).violations).toEqual([]);
      expect(run([replayCopy(a, 350), replayCopy(b, 360, 'rpl_1')], { replays: again }).violations).toEqual([]);
      expect(run([replayCopy(a, 350), { ...replayCopy(b, 310), sentAt: 310 }], { replays: again }).violations.map((v) => v.detail)).toEqual(
        [expect.stringContaining('put back by rpl_2 at +320 ms')],
      );
    });

    it("reports a recipient's copies out of order, unless nacked", () => {
      const outOfOrder = [replayCopy(b, 350), replayCopy(a, 360)];
      expect(run(outOfOrder).violations.map((v) => v.detail)).toEqual([
        expect.stringMatching(
          /^1 replay copies came after a newer one of the same recipient; e.g. rpl_1: MessageUpdate 0+1 .* \(seq 1\) came after the newer MessageUpdate 0+2 .* \(seq 2\)/,
        ),
      ]);
      expect(run(outOfOrder, { nacked: new Set([a._id.toHexString()]) }).violations).toEqual([]);
    });

    it('reports a copy that went out long after the put-back, outside fault windows', () => {
      const late = [replayCopy(a, 350), replayCopy(b, 2_000)];
      expect(run(late).violations.map((v) => `${v.kind}: ${v.detail}`)).toEqual([
        expect.stringMatching(/^stall: MessageUpdate 0+2 .* \(rpl_1\) went out again 1700 ms after a replay put it back/),
      ]);
      expect(run(late, { windows: [{ from: 400, to: 1_900, kind: 'kill' }] }).violations).toEqual([]);
    });

    it('counts a second copy of a replay as a duplicate', () => {
      const { summary } = run([replayCopy(a, 350), replayCopy(b, 360), replayCopy(b, 370)]);
      expect(summary.duplicates).toBe(1);
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
