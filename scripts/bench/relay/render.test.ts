import { describe, expect, it } from 'vitest';
import { summarize } from '../report';
import { medianRun, relayJson, renderRelayText, summarizeMarks, summarizeRelay } from './render';
import type { LagRun, MemoryDrainRun, MongoDrainRun, RelayBenchResults } from './results';

const drainRun = (rate: number): MongoDrainRun => ({
  rate,
  ms: 3000 / (rate / 1000),
  startMs: 400,
  firstPublishMs: 900,
  rateAfterStart: rate * 1.1,
  reached: true,
  published: 3000,
  queueDepth: 3000,
  unpublishedLeft: 0,
  confirmMeanMs: 30,
  failures: 0,
  unroutable: 0,
  db: [{ key: 'update updates', calls: 6, totalMs: 6000, meanMs: 1000, maxMs: 1500, busyMs: 5000 }],
  updatesBusyMs: 9000,
});

const memoryRun = (rate: number): MemoryDrainRun => ({
  rate,
  ms: 3000 / (rate / 1000),
  startMs: 50,
  firstFetchMs: 45,
  rateAfterStart: rate * 1.1,
  reached: true,
  published: 3000,
  queueDepth: 3000,
  unpublishedLeft: 0,
  confirmMeanMs: 60,
  failures: 0,
  unroutable: 0,
  fetches: 7,
  marks: 7,
  storeBusyMs: 5.5,
  cpuUsPerMsg: 90,
});

const lagRun = (loadPct: number, p99: number): LagRun => ({
  loadPct,
  targetRate: loadPct * 3,
  offeredRate: loadPct * 3,
  inserted: 100,
  published: 100,
  drained: true,
  drainTailMs: 50,
  lag: { ...summarize([10, 50, p99]), p99 },
  insertMs: summarize([2, 3, 4]),
  queueDepth: 100,
  sweeps: 100,
  marks: 90,
  markMeanMs: 10,
  findMeanMs: 5,
  pollIntervalMs: 100,
});

function results(memoryRates: number[]): RelayBenchResults {
  return {
    command: 'pnpm bench:relay → tsx scripts/bench-relay.ts',
    params: { updates: 3000, repeat: 3, naiveSeconds: 20, lagSeconds: 10, loads: [25, 50], markSizes: [3000], seed: 1, quick: false },
    env: {
      cpu: 'Test CPU',
      cores: 2,
      ramGiB: 8,
      node: 'v20.0.0',
      mongo: 'FerretDB v1.24.2 (reports MongoDB 7.0.42)',
      rabbitmq: 'RabbitMQ 3.10.8',
      changeStreams: false,
      mongoUri: 'mongodb://127.0.0.1:27017/',
      relayEnv: {},
    },
    relayConfig: { batchSize: 500, window: 1000, pollIntervalMs: 100, partitions: 16 },
    workload: {
      users: 800,
      userTypes: { user: 700 },
      dialogs: 250,
      activeMembersMedian: 9,
      activeMembersMax: 45,
      events: 200,
      updatesByEventType: { 'message.create': 3000 },
      bodyBytes: summarize([1000, 1300, 1700]),
      encodeUsPerMsg: 12.3456,
    },
    ceiling: [10_000, 12_000, 11_000].map((rate) => ({ rate, ms: 250, nacks: 0, queueDepth: 3000, cpuUsPerMsg: 35 })),
    drain: [300, 280, 290].map(drainRun),
    memoryDrain: memoryRates.map(memoryRun),
    page: { pageSize: 500, collectionSize: 3000, fetchMs: 700, encodeMs: 6, publishMs: 30, markMs: 1000 },
    marks: [
      {
        collectionSize: 3000,
        pageSize: 500,
        runs: [
          { method: 'updateMany', ms: 900 },
          { method: 'bulkWrite', ms: 3000 },
          { method: 'updateMany', ms: 1100 },
          { method: 'bulkWrite', ms: 3600 },
        ],
        marked: 2000,
      },
    ],
    naive: { published: 1500, ms: 20_000, drained: false, polls: 20, publishMs: 900, updateMs: 18_000, findMs: 1000, rate: 75 },
    lag: [lagRun(25, 110), lagRun(50, 180)],
    load: { start: 1.5, end: 2.25 },
    totalSeconds: 95.44,
  };
}

describe('relay benchmark report', () => {
  it('takes medians and ratios against the ceiling measured in the same run', () => {
    const s = summarizeRelay(results([9000, 8500, 9500]));
    expect(s.ceiling).toBe(11_000);
    expect(s.memory).toBe(9000);
    expect(s.memoryRatio).toBeCloseTo(9000 / 11_000);
    expect(s.drain).toBe(290);
    expect(s.vsNaive).toBeCloseTo(290 / 75);
    expect(s.drainMid.rate).toBe(290);
    expect(s.cpu).toEqual({ ceilingUsPerMsg: 35, memoryUsPerMsg: 90 });
  });

  it('meets the in-memory goal at 80 % of the ceiling and misses it below', () => {
    const met = renderRelayText(results([9000, 8800, 9100]));
    expect(met).toContain('GOAL MET: the relay over in-memory stores drains at 9,000 msg/s = 81.8 % of the raw broker ceiling');
    const missed = renderRelayText(results([6000, 6500, 7000]));
    expect(missed).toContain('GOAL MISSED: the relay over in-memory stores drains at 6,500 msg/s = 59.1 %');
  });

  it('counts a memory drain that did not finish as missed, whatever its rate', () => {
    const r = results([9000, 9000, 9000]);
    r.memoryDrain[1]!.reached = false;
    expect(summarizeRelay(r).goals[0]!.status).toBe('MISSED');
  });

  it('compares the two marks by their medians and checks every page was marked', () => {
    const m = summarizeMarks(results([9000]).marks[0]!);
    expect(m).toMatchObject({ updateManyMs: 1000, bulkWriteMs: 3300, allMarked: true });
    expect(m.bulkToUpdateMany).toBeCloseTo(3.3);
    expect(summarizeMarks({ ...results([9000]).marks[0]!, marked: 1999 }).allMarked).toBe(false);
  });

  it('reports each polling lag against the interval plus 50 ms, and change streams as not measured', () => {
    const text = renderRelayText(results([9000, 9000, 9000]));
    expect(text).toMatch(/polling lag p99 < poll interval \+ 50 ms \(150 ms\) at 25 % load +\| 110 ms +\| MET/);
    expect(text).toMatch(/at 50 % load +\| 180 ms +\| MISSED/);
    expect(text).toContain('NOT MEASURED (FerretDB v1.24.2 has no change streams)');
    expect(text).toContain('1-min load average 1.50 at the start, 2.25 at the end');
  });

  it('renders one JSON line with rounded figures, every run and the goals', () => {
    const json = relayJson(results([9000, 8500, 9500]));
    const line = JSON.stringify(json);
    expect(line).not.toContain('\n');
    const parsed = JSON.parse(line);
    expect(parsed.memoryDrain).toMatchObject({ median: 9000, ratioToCeiling: 0.8182 });
    expect(parsed.memoryDrain.runs).toHaveLength(3);
    expect(parsed.workload.encodeUsPerMsg).toBe(12.35);
    expect(parsed.marks[0]).toMatchObject({ updateManyMs: 1000, bulkWriteMs: 3300, bulkToUpdateMany: 3.3 });
    expect(parsed.goals.map((g: { status: string }) => g.status)).toEqual(['MET', 'MISSED', 'MISSED', 'MET', 'MISSED', 'NOT MEASURED']);
  });

  it('picks the median run by rate', () => {
    expect(medianRun([{ rate: 3 }, { rate: 1 }, { rate: 2 }]).rate).toBe(2);
    expect(medianRun([{ rate: 4 }, { rate: 1 }]).rate).toBe(4);
  });
});
