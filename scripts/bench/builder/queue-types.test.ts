import { describe, expect, it } from 'vitest';
import { compareQueueTypes, parseQueueTypes, queueTypeOrder, runsOfType } from './queue-types';
import type { BrokerCeilingRun, ThroughputRun } from './results';

const run = (eventsPerSecond: number, queueType?: 'classic' | 'quorum'): ThroughputRun => ({
  system: 'builder',
  ...(queueType ? { queueType } : {}),
  events: 3000,
  processed: 3000,
  reached: true,
  ms: (3000 / eventsPerSecond) * 1000,
  publishMs: 300,
  eventsPerSecond,
  updates: 15_000,
  updatesPerSecond: eventsPerSecond * 5,
  updatesInDb: 15_000,
  detail: {},
});

const broker = (eventsPerSecond: number, queueType: 'classic' | 'quorum'): BrokerCeilingRun => ({
  queueType,
  events: 3000,
  ms: 500,
  publishMs: 300,
  eventsPerSecond,
});

describe('builder benchmark queue types', () => {
  it('parses a comma-separated list in the order given, the first being the primary type', () => {
    expect(parseQueueTypes('classic,quorum')).toEqual(['classic', 'quorum']);
    expect(parseQueueTypes(' quorum , classic ')).toEqual(['quorum', 'classic']);
    expect(parseQueueTypes('quorum')).toEqual(['quorum']);
  });

  it('refuses an unknown type, a repeated one and an empty list, naming where the list came from', () => {
    expect(() => parseQueueTypes('classic,stream')).toThrow('--queue-types: unknown queue type "stream"');
    expect(() => parseQueueTypes('quorum,quorum')).toThrow('--queue-types: quorum named twice');
    expect(() => parseQueueTypes(' , ')).toThrow('--queue-types needs at least one of classic, quorum');
    expect(() => parseQueueTypes('Quorum', 'BUILDER_QUEUE_TYPE')).toThrow('BUILDER_QUEUE_TYPE: unknown queue type "Quorum"');
  });

  it('lets the types take turns going first, repetition by repetition', () => {
    expect([0, 1, 2, 3].map((rep) => queueTypeOrder(['classic', 'quorum'], rep))).toEqual([
      ['classic', 'quorum'],
      ['quorum', 'classic'],
      ['classic', 'quorum'],
      ['quorum', 'classic'],
    ]);
    expect(queueTypeOrder(['quorum'], 1)).toEqual(['quorum']);
  });

  it('counts a run without a type as classic, the default', () => {
    expect(runsOfType([run(1), run(2, 'quorum'), run(3, 'classic')], 'classic').map((r) => r.eventsPerSecond)).toEqual([1, 3]);
  });

  it('takes each type’s median and the quorum/classic ratio of the medians and within each repetition', () => {
    const runs = [
      run(300, 'classic'),
      run(240, 'quorum'),
      run(200, 'quorum'),
      run(250, 'classic'),
      run(330, 'classic'),
      run(270, 'quorum'),
    ];
    const c = compareQueueTypes(runs, ['classic', 'quorum']);
    expect(c.byType.map((t) => [t.queueType, t.eventsPerSecond, t.updatesPerSecond, t.runs.length])).toEqual([
      ['classic', 300, 1500, 3],
      ['quorum', 240, 1200, 3],
    ]);
    expect(c.quorumOverClassic).toBeCloseTo(0.8);
    expect(c.quorumOverClassicByRepeat.map((x) => Number(x.toFixed(3)))).toEqual([0.8, 0.8, 0.818]);
  });

  it('compares the broker alone the same way, per type and per repetition', () => {
    const c = compareQueueTypes(
      [run(300, 'classic'), run(240, 'quorum')],
      ['classic', 'quorum'],
      [broker(4000, 'classic'), broker(6000, 'quorum'), broker(5000, 'classic'), broker(5000, 'quorum')],
    );
    expect(c.byType.map((t) => [t.queueType, t.brokerEventsPerSecond, t.brokerRuns.length])).toEqual([
      ['classic', 4500, 2],
      ['quorum', 5500, 2],
    ]);
    expect(c.brokerQuorumOverClassic).toBeCloseTo(5500 / 4500);
    expect(c.brokerQuorumOverClassicByRepeat).toEqual([1.5, 1]);
  });

  it('has no broker ratio when the broker alone was not measured', () => {
    const c = compareQueueTypes([run(300, 'classic'), run(240, 'quorum')], ['classic', 'quorum']);
    expect(c.quorumOverClassic).toBeCloseTo(0.8);
    expect(c).toMatchObject({ brokerQuorumOverClassic: null, brokerQuorumOverClassicByRepeat: [] });
    expect(Number.isNaN(c.byType[0]!.brokerEventsPerSecond)).toBe(true);
  });

  it('has no ratio when only one type was measured', () => {
    const c = compareQueueTypes([run(300, 'quorum'), run(310, 'quorum')], ['quorum']);
    expect(c.byType).toHaveLength(1);
    expect(c.byType[0]!.eventsPerSecond).toBe(305);
    expect(c).toMatchObject({
      quorumOverClassic: null,
      quorumOverClassicByRepeat: [],
      brokerQuorumOverClassic: null,
      brokerQuorumOverClassicByRepeat: [],
    });
  });
});
