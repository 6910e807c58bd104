import { describe, expect, it } from 'vitest';
import { summarize } from '../report';
import { builderJson, medianRun, queueTypeLine, queueTypeTable, renderBuilderText, summarizeBuilder } from './render';
import type { BrokerCeilingRun, BuilderBenchResults, LatencyRun, ThroughputRun } from './results';

const builderRun = (eventsPerSecond: number, queueType: 'classic' | 'quorum' = 'classic'): ThroughputRun => ({
  system: 'builder',
  queueType,
  events: 3000,
  processed: 3000,
  reached: true,
  ms: (3000 / eventsPerSecond) * 1000,
  publishMs: 300,
  eventsPerSecond,
  updates: 15_000,
  updatesPerSecond: eventsPerSecond * 5,
  updatesInDb: 15_000,
  detail: { built: 2900, ignored: 100, deadLettered: 0, duplicates: 0, retries: 0, batches: 6, readyMs: 200 },
  batchSizes: [500, 500, 400],
  batchSeconds: [1, 1.2, 0.8],
  db: [{ key: 'insert updates', calls: 6, totalMs: (3000 / eventsPerSecond) * 1000 * 0.6, meanMs: 1000, maxMs: 1500, busyMs: 0 }],
});

const baselineRun = (eventsPerSecond: number): ThroughputRun => ({
  system: 'baseline',
  events: 3000,
  processed: 900,
  reached: false,
  ms: 30_000,
  publishMs: 300,
  eventsPerSecond,
  updates: 4500,
  updatesPerSecond: eventsPerSecond * 5,
  updatesInDb: 4500,
  detail: { processed: 900, built: 880, ignored: 20, unbuildable: 0, statsUpdates: 100, queries: 5400, errors: 0 },
});

const brokerRun = (eventsPerSecond: number, queueType: 'classic' | 'quorum'): BrokerCeilingRun => ({
  queueType,
  events: 3000,
  ms: (3000 / eventsPerSecond) * 1000,
  publishMs: 300,
  eventsPerSecond,
});

const latencyRun = (system: 'builder' | 'baseline', p99: number): LatencyRun => ({
  system,
  offeredRate: 15,
  sent: 150,
  processed: 150,
  keptUp: true,
  tailMs: 100,
  updates: 700,
  latency: { ...summarize([50, 100, p99]), p99 },
  fromPublish: summarize([40, 90, p99 - 10]),
  ...(system === 'builder' ? { batches: 40, batchMsMedian: 90 } : {}),
});

function results(): BuilderBenchResults {
  return {
    command: 'pnpm bench:builder → tsx scripts/bench-builder.ts',
    params: {
      events: 3000,
      users: 200,
      dialogs: 100,
      seed: 1,
      repeat: 3,
      rate: null,
      latencySeconds: 10,
      baselineSeconds: 30,
      baselineStats: true,
      queueTypes: ['classic'],
      quick: false,
    },
    env: {
      cpu: 'Test CPU',
      cores: 2,
      ramGiB: 8,
      node: 'v20.0.0',
      mongo: 'FerretDB v1.24.2 (reports MongoDB 7.0.42)',
      rabbitmq: 'RabbitMQ 3.10.8',
      mongoUri: 'mongodb://127.0.0.1:27017/',
      builderEnv: {},
    },
    builderConfig: { batchSize: 500, batchWaitMs: 50, partitions: 4, prefetch: 1000 },
    workload: {
      users: 200,
      userTypes: { user: 180, bot: 20 },
      dialogs: 100,
      membersMedian: 4,
      membersMax: 30,
      eventsByType: { 'message.create': 3000 },
      stepWrites: 9000,
      readModelApplyMs: 12_345.678,
    },
    builder: [400, 450, 420].map((x) => builderRun(x)),
    baseline: [30, 31.5, 29].map(baselineRun),
    brokerCeiling: [4000, 4200, 3900].map((x) => brokerRun(x, 'classic')),
    insertCeiling: [900, 1000, 800].map((eventsPerSecond) => ({
      documents: 15_000,
      events: 3000,
      ms: (3000 / eventsPerSecond) * 1000,
      updatesPerSecond: eventsPerSecond * 5,
      eventsPerSecond,
    })),
    latencyRate: 15,
    latency: [latencyRun('builder', 250), latencyRun('baseline', 350), latencyRun('builder', 260), latencyRun('baseline', 340)],
    load: { start: 1, end: 1.25 },
    totalSeconds: 197.04,
  };
}

/** Classic and quorum runs, in the order they ran: the two types take turns going first. */
function bothTypes(): BuilderBenchResults {
  const r = results();
  r.params.queueTypes = ['classic', 'quorum'];
  r.builder = [
    builderRun(400, 'classic'),
    builderRun(380, 'quorum'),
    builderRun(378, 'quorum'),
    builderRun(450, 'classic'),
    builderRun(420, 'classic'),
    builderRun(360, 'quorum'),
  ];
  r.brokerCeiling = [
    brokerRun(4000, 'classic'),
    brokerRun(6000, 'quorum'),
    brokerRun(6600, 'quorum'),
    brokerRun(4400, 'classic'),
    brokerRun(4200, 'classic'),
    brokerRun(5000, 'quorum'),
  ];
  return r;
}

describe('builder benchmark report', () => {
  it('takes medians, the ratio to the baseline and the share of the raw insert ceiling, all from the same run', () => {
    const s = summarizeBuilder(results());
    expect(s.builderRate).toBe(420);
    expect(s.baselineRate).toBe(30);
    expect(s.ratio).toBe(14);
    expect(s.ceiling.eventsPerSecond).toBe(900);
    expect(s.ceiling.builderShare).toBeCloseTo(420 / 900);
    expect(s.insertShare).toBeCloseTo(0.6);
    expect(s.bMid.eventsPerSecond).toBe(420);
    expect(s.latency.builder.p99).toBe(255);
  });

  it('renders the ceiling row, the ratio line and the goal', () => {
    const text = renderBuilderText(results());
    expect(text).toMatch(/raw insert ceiling +\| 900 +\| 4,500 +\| 900, 1,000, 800/);
    expect(text).toContain('builder = 46.7 % of the raw insert ceiling measured in the same run (420 of 900 events/s)');
    expect(text).toContain('its own insertMany commands ran 60.0 % of its wall time');
    expect(text).toMatch(/builder ≥ 10× the baseline \(events\/s\) +\| 14\.0× +\| MET/);
    expect(text).toContain('1-min load average 1.00 at the start, 1.25 at the end');
  });

  it('misses the goal below 10× the baseline', () => {
    const r = results();
    r.baseline = [50, 50, 50].map(baselineRun);
    expect(summarizeBuilder(r).goals[0]).toMatchObject({ value: '8.4×', status: 'MISSED' });
  });

  it('renders one JSON line with rounded figures, without the per-batch arrays', () => {
    const line = JSON.stringify(builderJson(results()));
    expect(line).not.toContain('\n');
    const parsed = JSON.parse(line);
    expect(parsed.throughput).toMatchObject({ ratio: 14, insertCeiling: { eventsPerSecond: 900, builderShare: 0.467 } });
    expect(parsed.throughput.builder.runs[0].batchSizes).toBeUndefined();
    expect(parsed.throughput.insertCeiling.runs).toHaveLength(3);
    expect(parsed.workload.readModelApplyMs).toBe(12_345.7);
    expect(parsed.goals).toEqual([{ goal: 'builder ≥ 10× the baseline (events/s)', value: '14.0×', status: 'MET' }]);
  });

  it('with one queue type, labels the builder row plainly and prints no quorum/classic line', () => {
    const text = renderBuilderText(results());
    expect(text).toMatch(/^builder +\| 420 +\|/m);
    expect(text).not.toContain('quorum ÷ classic');
    expect(queueTypeLine(summarizeBuilder(results()))).toBeNull();
    expect(builderJson(results()).throughput.queueTypes.quorumOverClassic).toBeNull();
  });

  it('puts a row per queue type in the throughput table, and the quorum/classic ratio of the medians and per repetition', () => {
    const text = renderBuilderText(bothTypes());
    expect(text).toMatch(/^builder, classic queues +\| 420 +\| 2,100 +\| 400, 450, 420 +\| 3000\/3000 events/m);
    expect(text).toMatch(/^builder, quorum queues +\| 378 +\| 1,890 +\| 380, 378, 360 +\| 3000\/3000 events/m);
    expect(text).toContain(
      'quorum ÷ classic = 0.90× (median events/s, 3 classic and 3 quorum runs, the two types taking turns in each ' +
        'repetition; within each repetition 0.95×, 0.84×, 0.86×)',
    );
    expect(text).toContain('queues    classic, quorum (classic is compared with the ceiling and the baseline');
    expect(text).toContain('builder, classic queues = 46.7 % of the raw insert ceiling');
  });

  it('tables the builder and the broker alone per queue type, with their quorum/classic ratios', () => {
    const lines = queueTypeTable(summarizeBuilder(bothTypes())).split('\n');
    expect(lines[0]).toMatch(/^queue type +\| builder events\/s \| runs +\| broker alone events\/s \| runs$/);
    expect(lines[2]).toMatch(/^classic +\| 420 +\| 400, 450, 420 +\| 4,200 +\| 4,000, 4,400, 4,200$/);
    expect(lines[3]).toMatch(/^quorum +\| 378 +\| 380, 378, 360 +\| 6,000 +\| 6,000, 6,600, 5,000$/);
    expect(lines[4]).toMatch(/^quorum ÷ classic \| 0\.90× +\| 0\.95×, 0\.84×, 0\.86× \| 1\.43× +\| 1\.50×, 1\.50×, 1\.19×$/);
    expect(renderBuilderText(bothTypes())).toContain('### Queue types (medians; "broker alone": the same events through one durable queue');
  });

  it('has no ratio row with one queue type', () => {
    const lines = queueTypeTable(summarizeBuilder(results())).split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatch(/^classic +\| 420 +\| 400, 450, 420 +\| 4,000 +\| 4,000, 4,200, 3,900$/);
  });

  it('compares the ceiling, the baseline and the goal with the primary queue type only', () => {
    const s = summarizeBuilder(bothTypes());
    expect(s.primary).toBe('classic');
    expect(s.builderRate).toBe(420);
    expect(s.ratio).toBe(14);
    expect(s.bMid.queueType).toBe('classic');
    expect(s.batches.count).toBe(9);

    const r = bothTypes();
    r.params.queueTypes = ['quorum', 'classic'];
    const q = summarizeBuilder(r);
    expect(q.primary).toBe('quorum');
    expect(q.builderRate).toBe(378);
    expect(q.ratio).toBeCloseTo(12.6);
    expect(q.queueTypes.quorumOverClassic).toBeCloseTo(0.9);
  });

  it('writes both types, their medians and ratios to the JSON line; every run names its type', () => {
    const parsed = JSON.parse(JSON.stringify(builderJson(bothTypes())));
    expect(parsed.throughput.builder).toMatchObject({ queueType: 'classic', eventsPerSecond: 420 });
    expect(parsed.throughput.builder.runs.map((x: ThroughputRun) => x.queueType)).toEqual([
      'classic',
      'quorum',
      'quorum',
      'classic',
      'classic',
      'quorum',
    ]);
    expect(parsed.throughput.queueTypes).toEqual({
      byType: {
        classic: { eventsPerSecond: 420, updatesPerSecond: 2100, runsEventsPerSecond: [400, 450, 420] },
        quorum: { eventsPerSecond: 378, updatesPerSecond: 1890, runsEventsPerSecond: [380, 378, 360] },
      },
      quorumOverClassic: 0.9,
      quorumOverClassicByRepeat: [0.95, 0.84, 0.857],
      broker: {
        byType: {
          classic: { eventsPerSecond: 4200, runsEventsPerSecond: [4000, 4400, 4200] },
          quorum: { eventsPerSecond: 6000, runsEventsPerSecond: [6000, 6600, 5000] },
        },
        quorumOverClassic: 1.429,
        quorumOverClassicByRepeat: [1.5, 1.5, 1.19],
        runs: expect.any(Array),
      },
    });
    expect(parsed.throughput.queueTypes.broker.runs[1]).toEqual({
      queueType: 'quorum',
      events: 3000,
      ms: 500,
      publishMs: 300,
      eventsPerSecond: 6000,
    });
    expect(parsed.throughput.queueTypes.broker.runs[2].ms).toBe(454.55);
  });

  it('picks the median run by events/s', () => {
    expect(medianRun([builderRun(3), builderRun(1), builderRun(2)]).eventsPerSecond).toBe(2);
  });
});
