/**
 * The relay benchmark's report, from its results alone (pure): the figures derived from the runs
 * (medians, ratios, goals), text tables for a reader and one JSON line for a machine.
 */
import { reportHeader } from '../common';
import type { CommandTiming } from '../db-timing';
import { fmt, median, pct, round, roundAll, table } from '../report';
import type { MarkComparison, MarkMethod, RelayBenchResults } from './results';

/** What each monitored command is in the relay (see packages/relay/src/db/update-store.ts). */
const COMMAND_ROLES: Record<string, string> = {
  'find updates': 'sweep: fetchUnpublished',
  'getMore updates': 'sweep: fetchUnpublished (next batch)',
  'update updates': 'markPublished (updateMany $in)',
  'aggregate updates': 'backlog sampler: countDocuments ×2',
  'find updates (limit 1)': 'backlog sampler: oldest unpublished',
  'createIndexes updates': 'start(): ensureIndexes',
  'findAndModify leases': 'leases: acquire',
  'update leases': 'leases: ensure docs, renew',
  'find leases': 'leases: balance',
};

/** The in-memory relay must reach this share of the raw broker ceiling (issue 7, §4). */
export const MEMORY_DRAIN_GOAL = 0.8;

export type GoalStatus = 'MET' | 'MISSED' | 'NOT MEASURED';

export interface Goal {
  goal: string;
  value: string;
  status: GoalStatus;
  detail?: string;
}

const status = (met: boolean): GoalStatus => (met ? 'MET' : 'MISSED');

/** The run whose rate is the median (the upper middle one of an even count). */
export function medianRun<T extends { rate: number }>(runs: readonly T[]): T {
  return [...runs].sort((a, b) => a.rate - b.rate)[Math.floor(runs.length / 2)]!;
}

export interface MarkSummary {
  collectionSize: number;
  pageSize: number;
  updateManyMs: number;
  bulkWriteMs: number;
  /** bulkWrite ÷ updateMany: above 1, the relay's updateMany is the cheaper one. */
  bulkToUpdateMany: number;
  runs: Record<MarkMethod, number[]>;
  allMarked: boolean;
}

export function summarizeMarks(m: MarkComparison): MarkSummary {
  const of = (method: MarkMethod) => m.runs.filter((r) => r.method === method).map((r) => r.ms);
  const updateManyMs = median(of('updateMany'));
  const bulkWriteMs = median(of('bulkWrite'));
  return {
    collectionSize: m.collectionSize,
    pageSize: m.pageSize,
    updateManyMs,
    bulkWriteMs,
    bulkToUpdateMany: bulkWriteMs / updateManyMs,
    runs: { updateMany: of('updateMany'), bulkWrite: of('bulkWrite') },
    allMarked: m.marked === m.runs.length * m.pageSize,
  };
}

/** Every derived figure of the report. */
export function summarizeRelay(r: RelayBenchResults) {
  const ceiling = median(r.ceiling.map((c) => c.rate));
  const drain = median(r.drain.map((d) => d.rate));
  const memory = median(r.memoryDrain.map((d) => d.rate));
  const memoryAfterStart = median(r.memoryDrain.map((d) => d.rateAfterStart));
  const lagGoalMs = r.relayConfig.pollIntervalMs + 50;
  const ratio = drain / ceiling;
  const memoryRatio = memory / ceiling;
  const vsNaive = drain / r.naive.rate;
  const memoryDrained = r.memoryDrain.every((d) => d.reached);
  const cpu = {
    ceilingUsPerMsg: median(r.ceiling.map((c) => c.cpuUsPerMsg)),
    memoryUsPerMsg: median(r.memoryDrain.map((d) => d.cpuUsPerMsg)),
  };
  const goals: Goal[] = [
    {
      goal: `relay over in-memory stores: drain ≥ ${MEMORY_DRAIN_GOAL * 100} % of the raw broker ceiling`,
      value: pct(memoryRatio),
      status: status(memoryDrained && memoryRatio >= MEMORY_DRAIN_GOAL),
    },
    { goal: 'relay drain ≥ 80 % of the raw broker ceiling', value: pct(ratio), status: status(ratio >= 0.8) },
    { goal: 'relay ≥ 5× the naive relay', value: `${fmt(vsNaive, 1)}×`, status: status(vsNaive >= 5) },
    ...r.lag.map((l) => ({
      goal: `polling lag p99 < poll interval + 50 ms (${lagGoalMs} ms) at ${l.loadPct} % load`,
      value: `${fmt(l.lag.p99)} ms`,
      status: status(l.drained && l.lag.p99 < lagGoalMs),
    })),
    {
      goal: 'change-stream lag p99 < 100 ms',
      value: 'not measured',
      status: 'NOT MEASURED',
      detail: r.env.changeStreams ? 'this bench runs the relay in polling mode' : `${r.env.mongo.split(' (')[0]} has no change streams`,
    },
  ];
  return {
    ceiling,
    drain,
    memory,
    memoryAfterStart,
    ratio,
    memoryRatio,
    vsNaive,
    lagGoalMs,
    cpu,
    drainMid: medianRun(r.drain),
    memoryMid: medianRun(r.memoryDrain),
    marks: r.marks.map(summarizeMarks),
    goals,
  };
}

export type RelaySummary = ReturnType<typeof summarizeRelay>;

const runRates = (runs: ReadonlyArray<{ rate: number }>) => runs.map((x) => fmt(x.rate)).join(', ');

function throughputTable(r: RelayBenchResults, s: RelaySummary): string {
  const m = s.memoryMid;
  const d = s.drainMid;
  const n = r.naive;
  return table(
    ['measurement', 'msg/s', '% of ceiling', 'runs (msg/s)', 'detail'],
    [
      [
        'raw broker ceiling',
        fmt(s.ceiling),
        '100 %',
        runRates(r.ceiling),
        `confirm channel, window ${r.relayConfig.window}, no DB; CPU ${fmt(s.cpu.ceilingUsPerMsg, 1)} µs/msg; nacks ${r.ceiling.reduce((x, c) => x + c.nacks, 0)}; ` +
          `queue got ${r.ceiling.map((c) => c.queueDepth).join('/')}`,
      ],
      [
        'relay drain, in-memory stores',
        fmt(s.memory),
        pct(s.memoryRatio),
        runRates(r.memoryDrain),
        `createRelay over memory stores, real RabbitMQ; start() ${fmt(m.startMs)} ms, first page read at ${fmt(m.firstFetchMs)} ms; ` +
          `${fmt(m.rateAfterStart)} msg/s after start(); CPU ${fmt(s.cpu.memoryUsPerMsg, 1)} µs/msg; ${m.fetches} fetches, ${m.marks} marks, ${fmt(m.storeBusyMs, 1)} ms in the stores`,
      ],
      [
        'relay drain, configured server',
        fmt(s.drain),
        pct(s.ratio),
        runRates(r.drain),
        `${r.params.updates} Updates from start(); start() ${fmt(d.startMs)} ms, first publish at ${fmt(d.firstPublishMs)} ms; ` +
          `${fmt(d.rateAfterStart)} msg/s after start()`,
      ],
      [
        'naive relay',
        fmt(n.rate, 1),
        pct(n.rate / s.ceiling),
        '1 run',
        `${n.published} published in ${fmt(n.ms / 1000, 1)} s (${n.drained ? 'drained' : `bounded at ${r.params.naiveSeconds} s`}), ` +
          `${n.polls} polls; per msg: confirm ${fmt(n.publishMs / Math.max(1, n.published), 1)} ms, ` +
          `updateOne ${fmt(n.updateMs / Math.max(1, n.published), 1)} ms`,
      ],
    ],
  );
}

function dbTable(d: RelaySummary['drainMid']): string {
  return table(
    ['command', 'relay step', 'calls', 'total ms', 'mean ms', 'max ms', 'busy ms (≥1 running)', 'busy / wall'],
    d.db.map((c: CommandTiming) => [
      c.key,
      COMMAND_ROLES[c.key] ?? '',
      String(c.calls),
      fmt(c.totalMs),
      fmt(c.meanMs, 1),
      fmt(c.maxMs),
      fmt(c.busyMs),
      pct(c.busyMs / d.ms),
    ]),
  );
}

function marksTable(s: RelaySummary): string {
  return table(
    [
      'collection',
      'page',
      'updateMany $in ms',
      'bulkWrite updateOne×N ms',
      'bulk ÷ updateMany',
      'runs updateMany / bulkWrite (ms)',
      'check',
    ],
    s.marks.map((m) => [
      `${fmt(m.collectionSize)} Updates`,
      String(m.pageSize),
      fmt(m.updateManyMs),
      fmt(m.bulkWriteMs),
      `${fmt(m.bulkToUpdateMany, 2)}×`,
      `${m.runs.updateMany.map((x) => fmt(x)).join(', ')} / ${m.runs.bulkWrite.map((x) => fmt(x)).join(', ')}`,
      m.allMarked ? 'all marked' : 'NOT ALL MARKED',
    ]),
  );
}

function lagTable(r: RelayBenchResults, s: RelaySummary): string {
  return table(
    [
      'load',
      'offered msg/s',
      'Updates',
      'p50 ms',
      'p90 ms',
      'p99 ms',
      'max ms',
      'sweeps',
      'mark mean ms',
      'find mean ms',
      'insert p99 ms',
      'goal',
    ],
    r.lag.map((l) => [
      `${l.loadPct} %`,
      fmt(l.offeredRate, 1),
      `${l.published}/${l.inserted}${l.drained ? '' : ' NOT DRAINED'}`,
      fmt(l.lag.p50),
      fmt(l.lag.p90),
      fmt(l.lag.p99),
      fmt(l.lag.max),
      String(l.sweeps),
      fmt(l.markMeanMs),
      fmt(l.findMeanMs),
      fmt(l.insertMs.p99),
      `p99 < ${s.lagGoalMs} ms: ${status(l.drained && l.lag.p99 < s.lagGoalMs)}`,
    ]),
  );
}

export function renderRelayText(r: RelayBenchResults, s: RelaySummary = summarizeRelay(r)): string {
  const { workload: w, relayConfig: c, page: p } = r;
  const d = s.drainMid;
  const pageMs = p.fetchMs + p.encodeMs + p.publishMs + p.markMs;
  const relayEnv = Object.keys(r.env.relayEnv).length ? `; env ${JSON.stringify(r.env.relayEnv)}` : '';
  const memoryGoal = s.goals[0]!;
  return [
    ...reportHeader('Relay benchmark', r.command, r.env),
    `load      1-min load average ${fmt(r.load.start, 2)} at the start, ${fmt(r.load.end, 2)} at the end`,
    `relay     polling, batch ${c.batchSize}, window ${c.window}, poll ${c.pollIntervalMs} ms, ${c.partitions} partitions${relayEnv}`,
    `workload  seed ${r.params.seed}: ${w.users} users ${JSON.stringify(w.userTypes)}, ${w.dialogs} dialogs ` +
      `(active members median ${w.activeMembersMedian}, max ${w.activeMembersMax}); Updates by event ${JSON.stringify(w.updatesByEventType)}`,
    `bodies    ${r.params.updates} Updates, body bytes p50 ${fmt(w.bodyBytes.p50)} / p99 ${fmt(w.bodyBytes.p99)} / max ${fmt(w.bodyBytes.max)}; ` +
      `toWireMessage ${fmt(w.encodeUsPerMsg, 1)} µs/msg`,
    '',
    `## Throughput (messages/s; medians of ${r.params.repeat})`,
    '',
    throughputTable(r, s),
    '',
    `GOAL ${memoryGoal.status}: the relay over in-memory stores drains at ${fmt(s.memory)} msg/s = ${memoryGoal.value} of the raw ` +
      `broker ceiling (${fmt(s.ceiling)} msg/s) in the same run; goal ≥ ${MEMORY_DRAIN_GOAL * 100} %`,
    `CPU of this process per message (user + system, medians): the relay over memory ${fmt(s.cpu.memoryUsPerMsg, 1)} µs, the raw ` +
      `publish ${fmt(s.cpu.ceilingUsPerMsg, 1)} µs (its messages are encoded beforehand; toWireMessage alone costs ` +
      `${fmt(w.encodeUsPerMsg, 1)} µs); one Node thread, ${r.env.cores} cores shared with RabbitMQ and the database`,
    '',
    '## Where the relay drain time goes on the configured server (median run; DB time from driver command monitoring)',
    '',
    dbTable(d),
    `wall ${fmt(d.ms)} ms; broker needs ${fmt((r.params.updates / s.ceiling) * 1000)} ms for these messages at the ceiling; ` +
      `mean confirm latency in the relay ${fmt(d.confirmMeanMs, 1)} ms; publish failures ${d.failures}, unroutable ${d.unroutable}`,
    `some query on \`updates\` was running ${pct(d.updatesBusyMs / d.ms)} of the wall time; ` +
      `publishing at the ceiling rate would fill ${pct(r.params.updates / s.ceiling / (d.ms / 1000))} of it`,
    `one page alone (${p.pageSize} of ${p.collectionSize} docs): fetch ${fmt(p.fetchMs)} ms, encode ${fmt(p.encodeMs, 1)} ms, ` +
      `publish+confirm ${fmt(p.publishMs)} ms, markPublished ${fmt(p.markMs)} ms → serial ${fmt((p.pageSize / pageMs) * 1000)} msg/s, ` +
      `DB share ${pct((p.fetchMs + p.markMs) / pageMs)}`,
    `checks: drain runs left ${r.drain.map((x) => x.unpublishedLeft).join('/')} (server) and ` +
      `${r.memoryDrain.map((x) => x.unpublishedLeft).join('/')} (memory) unpublished; queue received ` +
      `${r.drain.map((x) => x.queueDepth).join('/')} and ${r.memoryDrain.map((x) => x.queueDepth).join('/')} messages for ${r.params.updates} Updates`,
    '',
    '## The mark: one page published, two ways, alternating on one collection (medians)',
    '',
    marksTable(s),
    'updateMany: what the relay does (its UpdateStore.markPublished); bulkWrite: one updateOne({_id, published: false}) per ' +
      'Update, ordered: false. Both with the relay’s write concern.',
    '',
    `## Steady-state lag (publishedAt − createdAt; polling, ${c.pollIntervalMs} ms interval, ${r.params.lagSeconds} s per load)`,
    '',
    lagTable(r, s),
    `offered loads are fractions of the measured relay drain rate (${fmt(s.drain, 1)} msg/s); each load runs on a fresh, ` +
      `initially empty collection, so its queries scan at most the ${r.lag.at(-1)?.inserted ?? 0} Updates it inserts`,
    '',
    '## Goals',
    '',
    table(
      ['goal', 'measured', 'status'],
      s.goals.map((g) => [g.goal, g.value, g.detail ? `${g.status} (${g.detail})` : g.status]),
    ),
    '',
    `total run time ${fmt(r.totalSeconds, 1)} s`,
  ].join('\n');
}

/** The one JSON line: every run, rounded, and the derived figures. */
export function relayJson(r: RelayBenchResults, s: RelaySummary = summarizeRelay(r)) {
  return {
    bench: 'relay',
    command: r.command,
    params: r.params,
    env: r.env,
    relayConfig: r.relayConfig,
    workload: { ...r.workload, bodyBytes: roundAll(r.workload.bodyBytes), encodeUsPerMsg: round(r.workload.encodeUsPerMsg, 2) },
    cpuUsPerMsg: { ceiling: round(s.cpu.ceilingUsPerMsg), memoryDrain: round(s.cpu.memoryUsPerMsg) },
    ceiling: { median: round(s.ceiling), runs: r.ceiling.map((c) => roundAll(c)) },
    memoryDrain: {
      median: round(s.memory),
      medianAfterStart: round(s.memoryAfterStart),
      ratioToCeiling: round(s.memoryRatio, 4),
      runs: r.memoryDrain.map((d) => roundAll(d)),
    },
    drain: {
      median: round(s.drain),
      ratioToCeiling: round(s.ratio, 4),
      runs: r.drain.map((d) => ({ ...roundAll({ ...d, db: undefined }), db: d.db.map((c) => roundAll(c, 1)) })),
      breakdown: roundAll(r.page),
    },
    marks: s.marks.map((m) => ({
      ...roundAll({ ...m, runs: undefined }, 3),
      runs: { updateMany: m.runs.updateMany.map((x) => round(x)), bulkWrite: m.runs.bulkWrite.map((x) => round(x)) },
    })),
    naive: { ...roundAll(r.naive), ratioRelayToNaive: round(s.vsNaive, 2) },
    lag: r.lag.map((l) => ({ ...roundAll(l), lag: roundAll(l.lag), insertMs: roundAll(l.insertMs) })),
    goals: s.goals,
    load: r.load,
    totalSeconds: round(r.totalSeconds),
  };
}
