/**
 * The builder benchmark's report, from its results alone (pure): the figures derived from the runs
 * (medians, ratios, goals), text tables for a reader and one JSON line for a machine.
 */
import type { QueueType } from '@chat3/builder';
import { reportHeader } from '../common';
import { fmt, median, round, roundAll, table } from '../report';
import { compareQueueTypes, runsOfType } from './queue-types';
import type { BuilderBenchResults, BuilderSystem, LatencyRun, ThroughputRun } from './results';

export type GoalStatus = 'MET' | 'MISSED';

export interface Goal {
  goal: string;
  value: string;
  status: GoalStatus;
}

/** The run whose events/s is the median (the upper middle one of an even count). */
export function medianRun(runs: readonly ThroughputRun[]): ThroughputRun {
  return [...runs].sort((a, b) => a.eventsPerSecond - b.eventsPerSecond)[Math.floor(runs.length / 2)]!;
}

function latencyOf(runs: readonly LatencyRun[], system: BuilderSystem) {
  const of = runs.filter((r) => r.system === system);
  return {
    runs: of,
    offered: median(of.map((r) => r.offeredRate)),
    p50: median(of.map((r) => r.latency.p50)),
    p99: median(of.map((r) => r.latency.p99)),
    max: median(of.map((r) => r.latency.max)),
    pubP50: median(of.map((r) => r.fromPublish.p50)),
    pubP99: median(of.map((r) => r.fromPublish.p99)),
    keptUp: of.every((r) => r.keptUp),
  };
}

/** Every derived figure of the report. The builder's figures are those of its primary queue type. */
export function summarizeBuilder(r: BuilderBenchResults) {
  const primary: QueueType = r.params.queueTypes[0] ?? 'classic';
  const builderRuns = runsOfType(r.builder, primary);
  const builderRate = median(builderRuns.map((x) => x.eventsPerSecond));
  const baselineRate = median(r.baseline.map((x) => x.eventsPerSecond));
  const ceilingEvents = median(r.insertCeiling.map((x) => x.eventsPerSecond));
  const ratio = builderRate / baselineRate;
  const bMid = medianRun(builderRuns);
  const sizes = builderRuns.flatMap((x) => x.batchSizes ?? []);
  const seconds = builderRuns.flatMap((x) => x.batchSeconds ?? []);
  const insert = bMid.db?.find((c) => c.key === 'insert updates');
  const goals: Goal[] = [
    { goal: 'builder ≥ 10× the baseline (events/s)', value: `${fmt(ratio, 1)}×`, status: ratio >= 10 ? 'MET' : 'MISSED' },
  ];
  return {
    primary,
    builderRate,
    baselineRate,
    ratio,
    builderUpdatesRate: median(builderRuns.map((x) => x.updatesPerSecond)),
    baselineUpdatesRate: median(r.baseline.map((x) => x.updatesPerSecond)),
    ceiling: {
      eventsPerSecond: ceilingEvents,
      updatesPerSecond: median(r.insertCeiling.map((x) => x.updatesPerSecond)),
      ms: median(r.insertCeiling.map((x) => x.ms)),
      /** The builder's events/s as a share of what one insertMany of its Updates allows. */
      builderShare: builderRate / ceilingEvents,
    },
    /** Share of the median builder run's wall time with its insertMany commands running (summed). */
    insertShare: insert ? insert.totalMs / bMid.ms : Number.NaN,
    bMid,
    oMid: medianRun(r.baseline),
    batches: {
      count: sizes.length,
      sizeMedian: median(sizes),
      sizeMax: Math.max(0, ...sizes),
      msMedian: median(seconds) * 1000,
      msMax: Math.max(0, ...seconds) * 1000,
    },
    latency: { builder: latencyOf(r.latency, 'builder'), baseline: latencyOf(r.latency, 'baseline') },
    queueTypes: compareQueueTypes(r.builder, r.params.queueTypes, r.brokerCeiling),
    goals,
  };
}

export type BuilderSummary = ReturnType<typeof summarizeBuilder>;

/** The builder's row label: its queue type, when the run measured more than one. */
function builderLabel(s: BuilderSummary, queueType: QueueType): string {
  return s.queueTypes.byType.length > 1 ? `builder, ${queueType} queues` : 'builder';
}

function throughputTable(r: BuilderBenchResults, s: BuilderSummary): string {
  const o = s.oMid;
  const c = r.insertCeiling;
  return table(
    ['system', 'events/s', 'Updates/s', 'runs (events/s)', 'detail (median run)'],
    [
      ...s.queueTypes.byType.map((t) => {
        const b = t.runs.length ? medianRun(t.runs) : undefined;
        return [
          builderLabel(s, t.queueType),
          fmt(t.eventsPerSecond),
          fmt(t.updatesPerSecond),
          t.runs.map((x) => fmt(x.eventsPerSecond)).join(', '),
          b
            ? `${b.processed}/${b.events} events in ${fmt(b.ms)} ms (publishing took ${fmt(b.publishMs)} ms); ` +
              `built ${b.detail.built}, ignored ${b.detail.ignored}, dead-lettered ${b.detail.deadLettered}; ` +
              `${b.updates} Updates (${b.updatesInDb} in DB); ${b.detail.batches} batches; retries ${b.detail.retries}`
            : 'no runs',
        ];
      }),
      [
        'baseline',
        fmt(s.baselineRate, 1),
        fmt(s.baselineUpdatesRate, 1),
        r.baseline.map((x) => fmt(x.eventsPerSecond, 1)).join(', '),
        `${o.processed}/${o.events} events in ${fmt(o.ms / 1000, 1)} s` +
          `${o.reached ? '' : ` (bounded at ${r.params.baselineSeconds} s)`}; built ${o.detail.built}, ignored ` +
          `${o.detail.ignored}, unbuildable ${o.detail.unbuildable}; ${o.updates} Updates (${o.updatesInDb} in DB, ` +
          `stats ${o.detail.statsUpdates}); ${fmt((o.detail.queries ?? 0) / Math.max(1, o.processed), 1)} queries/event; ` +
          `errors ${o.detail.errors}`,
      ],
      [
        'raw insert ceiling',
        fmt(s.ceiling.eventsPerSecond),
        fmt(s.ceiling.updatesPerSecond),
        c.map((x) => fmt(x.eventsPerSecond)).join(', '),
        `one insertMany (unordered, the builder's write concern and indexes) of the ${c.map((x) => x.documents).join('/')} ` +
          `Updates the builder runs wrote: ${c.map((x) => fmt(x.ms)).join(', ')} ms; events/s as if those were the builder's only work`,
      ],
    ],
  );
}

function dbTable(b: ThroughputRun): string {
  return table(
    ['command', 'calls', 'total ms', 'mean ms', 'max ms', 'total / wall'],
    (b.db ?? []).map((c) => [
      c.key,
      String(c.calls),
      fmt(c.totalMs),
      fmt(c.meanMs, 1),
      fmt(c.maxMs),
      `${fmt((c.totalMs / b.ms) * 100, 1)} %`,
    ]),
  );
}

const ratio = (x: number | null) => (x === null ? 'n/a' : `${fmt(x, 2)}×`);

/** The quorum/classic line: the ratio of the medians, and the ratio within each repetition. */
export function queueTypeLine(s: BuilderSummary): string | null {
  const q = s.queueTypes;
  if (q.quorumOverClassic === null) return null;
  const runs = q.byType.map((t) => `${t.runs.length} ${t.queueType}`).join(' and ');
  return (
    `quorum ÷ classic = ${ratio(q.quorumOverClassic)} (median events/s, ${runs} runs, the two types taking turns in ` +
    `each repetition; within each repetition ${q.quorumOverClassicByRepeat.map(ratio).join(', ')})`
  );
}

/** Builder and broker alone, per queue type, and (with both types) their quorum/classic ratios. */
export function queueTypeTable(s: BuilderSummary): string {
  const q = s.queueTypes;
  const rows = q.byType.map((t) => [
    t.queueType,
    fmt(t.eventsPerSecond),
    t.runs.map((x) => fmt(x.eventsPerSecond)).join(', '),
    fmt(t.brokerEventsPerSecond),
    t.brokerRuns.map((x) => fmt(x.eventsPerSecond)).join(', '),
  ]);
  if (q.quorumOverClassic !== null) {
    rows.push([
      'quorum ÷ classic',
      ratio(q.quorumOverClassic),
      q.quorumOverClassicByRepeat.map(ratio).join(', '),
      ratio(q.brokerQuorumOverClassic),
      q.brokerQuorumOverClassicByRepeat.map(ratio).join(', '),
    ]);
  }
  return table(['queue type', 'builder events/s', 'runs', 'broker alone events/s', 'runs'], rows);
}

function latencyTable(s: BuilderSummary): string {
  return table(
    ['system', 'offered ev/s', 'p50', 'p99', 'max', 'from publish p50 / p99', 'events', 'Updates', 'kept up'],
    (['builder', 'baseline'] as const).map((system) => {
      const l = s.latency[system];
      return [
        system,
        fmt(l.offered, 1),
        fmt(l.p50),
        fmt(l.p99),
        fmt(l.max),
        `${fmt(l.pubP50)} / ${fmt(l.pubP99)}`,
        l.runs.map((x) => `${x.processed}/${x.sent}`).join(', '),
        l.runs.map((x) => String(x.updates)).join(', '),
        l.keptUp ? 'yes' : `NO (tail ${l.runs.map((x) => fmt(x.tailMs / 1000, 1)).join('/')} s)`,
      ];
    }),
  );
}

export function renderBuilderText(r: BuilderBenchResults, s: BuilderSummary = summarizeBuilder(r)): string {
  const { builderConfig: c, workload: w, params: p } = r;
  const env = Object.keys(r.env.builderEnv).length ? `; env ${JSON.stringify(r.env.builderEnv)}` : '';
  const quorumLine = queueTypeLine(s);
  return [
    ...reportHeader('Builder benchmark', r.command, r.env),
    `load      1-min load average ${fmt(r.load.start, 2)} at the start, ${fmt(r.load.end, 2)} at the end`,
    `builder   batch ${c.batchSize}, wait ${c.batchWaitMs} ms, ${c.partitions} partitions, prefetch ${c.prefetch}${env}`,
    `queues    ${p.queueTypes.join(', ')}` +
      (p.queueTypes.length > 1 ? ` (${s.primary} is compared with the ceiling and the baseline and runs the latency phase)` : ''),
    `workload  seed ${p.seed}: ${w.users} users ${JSON.stringify(w.userTypes)}, ${w.dialogs} dialogs ` +
      `(members median ${w.membersMedian}, max ${w.membersMax}); ${p.events} events, ${w.stepWrites} ` +
      `read-model writes (applied before timing, ${fmt(w.readModelApplyMs / 1000, 1)} s)`,
    `events    ${JSON.stringify(w.eventsByType)}`,
    '',
    `## Throughput (medians of ${p.repeat}; events published as fast as confirms allow, timed until all processed)`,
    '',
    throughputTable(r, s),
    '',
    ...(quorumLine === null ? [] : [quorumLine]),
    `${builderLabel(s, s.primary)} = ${fmt(s.ceiling.builderShare * 100, 1)} % of the raw insert ceiling measured in the same run ` +
      `(${fmt(s.builderRate)} of ${fmt(s.ceiling.eventsPerSecond)} events/s); its own insertMany commands ran ` +
      `${fmt(s.insertShare * 100, 1)} % of its wall time (median run)`,
    `builder batches: size median ${fmt(s.batches.sizeMedian)} (max ${fmt(s.batches.sizeMax)}), duration median ` +
      `${fmt(s.batches.msMedian)} ms (max ${fmt(s.batches.msMax)} ms), over ${s.batches.count} batches`,
    '',
    `### Queue types (medians; "broker alone": the same events through one durable queue of the type, consumed ` +
      `with prefetch ${c.prefetch}, acked, no database)`,
    '',
    queueTypeTable(s),
    '',
    `### Where the builder's time goes (median ${s.primary} run; database commands timed by the driver, concurrent ones overlap)`,
    '',
    dbTable(s.bMid),
    '',
    `## Latency event → Update (Update.createdAt − eventCreatedAt, ms; live traffic at ${fmt(r.latencyRate, 1)} events/s offered ` +
      `${p.rate === null ? '= 50 % of the baseline median' : '(--rate)'}, ${p.latencySeconds} s per run, medians of ${p.repeat}; ` +
      `builder on ${s.primary} queues)`,
    '',
    latencyTable(s),
    'eventCreatedAt is stamped when the simulator generates the step, before its read-model writes are applied; ' +
      '"from publish" starts when the event is handed to the broker.',
    `builder at this rate: ${s.latency.builder.runs.map((x) => `${x.batches ?? 0} batches`).join(', ')}, batch duration median ` +
      `${s.latency.builder.runs.map((x) => `${fmt(x.batchMsMedian ?? Number.NaN)} ms`).join(', ')}`,
    '',
    '## Goals',
    '',
    table(
      ['goal', 'measured', 'status'],
      s.goals.map((g) => [g.goal, g.value, g.status]),
    ),
    '',
    `total run time ${fmt(r.totalSeconds, 1)} s`,
  ].join('\n');
}

const stripThroughput = (x: ThroughputRun) => ({
  ...roundAll({ ...x, batchSizes: undefined, batchSeconds: undefined, detail: undefined, db: undefined }),
  detail: roundAll(x.detail),
  db: (x.db ?? []).map((c) => roundAll(c, 1)),
});

/** The one JSON line: every run, rounded, and the derived figures. */
export function builderJson(r: BuilderBenchResults, s: BuilderSummary = summarizeBuilder(r)) {
  const lat = (l: BuilderSummary['latency']['builder']) => ({
    p50: round(l.p50),
    p99: round(l.p99),
    fromPublishP50: round(l.pubP50),
    fromPublishP99: round(l.pubP99),
    keptUp: l.keptUp,
  });
  return {
    bench: 'builder',
    command: r.command,
    params: r.params,
    env: r.env,
    builderConfig: r.builderConfig,
    workload: { ...r.workload, readModelApplyMs: round(r.workload.readModelApplyMs) },
    throughput: {
      builder: {
        queueType: s.primary,
        eventsPerSecond: round(s.builderRate),
        updatesPerSecond: round(s.builderUpdatesRate),
        batchSizeMedian: round(s.batches.sizeMedian),
        batchDurationMsMedian: round(s.batches.msMedian),
        insertShareOfWall: round(s.insertShare, 3),
        /** Every builder run, of every queue type (each names its own). */
        runs: r.builder.map(stripThroughput),
      },
      queueTypes: {
        byType: Object.fromEntries(
          s.queueTypes.byType.map((t) => [
            t.queueType,
            {
              eventsPerSecond: round(t.eventsPerSecond),
              updatesPerSecond: round(t.updatesPerSecond),
              runsEventsPerSecond: t.runs.map((x) => round(x.eventsPerSecond)),
            },
          ]),
        ),
        quorumOverClassic: s.queueTypes.quorumOverClassic === null ? null : round(s.queueTypes.quorumOverClassic, 3),
        quorumOverClassicByRepeat: s.queueTypes.quorumOverClassicByRepeat.map((x) => round(x, 3)),
        broker: {
          byType: Object.fromEntries(
            s.queueTypes.byType.map((t) => [
              t.queueType,
              { eventsPerSecond: round(t.brokerEventsPerSecond), runsEventsPerSecond: t.brokerRuns.map((x) => round(x.eventsPerSecond)) },
            ]),
          ),
          quorumOverClassic: s.queueTypes.brokerQuorumOverClassic === null ? null : round(s.queueTypes.brokerQuorumOverClassic, 3),
          quorumOverClassicByRepeat: s.queueTypes.brokerQuorumOverClassicByRepeat.map((x) => round(x, 3)),
          runs: r.brokerCeiling.map((x) => roundAll(x)),
        },
      },
      baseline: {
        eventsPerSecond: round(s.baselineRate, 2),
        updatesPerSecond: round(s.baselineUpdatesRate, 2),
        stats: r.params.baselineStats,
        runs: r.baseline.map(stripThroughput),
      },
      ratio: round(s.ratio, 2),
      insertCeiling: {
        eventsPerSecond: round(s.ceiling.eventsPerSecond),
        updatesPerSecond: round(s.ceiling.updatesPerSecond),
        builderShare: round(s.ceiling.builderShare, 3),
        runs: r.insertCeiling.map((x) => roundAll(x)),
      },
    },
    latency: {
      offeredRate: round(r.latencyRate, 2),
      builder: lat(s.latency.builder),
      baseline: lat(s.latency.baseline),
      runs: r.latency.map((x) => ({ ...roundAll(x), latency: roundAll(x.latency), fromPublish: roundAll(x.fromPublish) })),
    },
    goals: s.goals,
    load: r.load,
    totalSeconds: round(r.totalSeconds),
  };
}
