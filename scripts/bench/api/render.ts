/**
 * The API benchmark's report, from its results alone (pure): per-round p50/p99 of both methods, the
 * ratios, their medians over the rounds, text tables for a reader and one JSON line for a machine.
 */
import { reportHeader } from '../common';
import { fmt, median, round, summarize, table, type Summary } from '../report';
import type { ApiBenchResults, PageRound } from './results';

export interface RoundSummary {
  api: Summary;
  find: Summary;
  /** API ÷ find, at p50 and at p99. */
  p50Ratio: number;
  p99Ratio: number;
}

export function summarizeRound(r: PageRound): RoundSummary {
  const api = summarize(r.api);
  const find = summarize(r.find);
  return { api, find, p50Ratio: api.p50 / find.p50, p99Ratio: api.p99 / find.p99 };
}

export function summarizeApi(r: ApiBenchResults) {
  const rounds = r.rounds.map(summarizeRound);
  const all = { api: summarize(r.rounds.flatMap((x) => x.api)), find: summarize(r.rounds.flatMap((x) => x.find)) };
  return {
    rounds,
    /** Medians over the rounds: the headline figures. */
    api: { p50: median(rounds.map((x) => x.api.p50)), p99: median(rounds.map((x) => x.api.p99)) },
    find: { p50: median(rounds.map((x) => x.find.p50)), p99: median(rounds.map((x) => x.find.p99)) },
    p50Ratio: median(rounds.map((x) => x.p50Ratio)),
    p99Ratio: median(rounds.map((x) => x.p99Ratio)),
    all,
    pagesChecked: r.rounds.every((x) => x.pagesChecked),
    apiKiB: median(r.rounds.map((x) => x.apiBytes)) / 1024,
  };
}

export type ApiSummary = ReturnType<typeof summarizeApi>;

const ms = (v: number) => fmt(v, 1);
const x = (v: number) => `${fmt(v, 2)}×`;

export function renderApiText(r: ApiBenchResults, s: ApiSummary): string {
  const p = r.params;
  const lines = [
    ...reportHeader('Catch-up API benchmark', r.command, r.env),
    `database  ${r.env.mongoUri}`,
    `workload  ${fmt(p.updates)} numbered Updates of one recipient + ${fmt(p.noise)} of others; pages of ${fmt(p.pageSize)}` +
      ` (${fmt(s.apiKiB)} KiB of JSON each); ${p.rounds} rounds × ${p.samples} pages per method after ${p.warmup} warm-up; seed ${p.seed}`,
    `API       ${r.api.process}, started in ${fmt(r.api.startMs)} ms; seeded in ${fmt(r.seedMs)} ms`,
    `load      1-min load average ${r.load.start} at start, ${r.load.end} at end (other work on the machine slows every figure)`,
    '',
    '## p99 latency of a page: the API over HTTP vs a plain find of the same documents (ms)',
    '',
    table(
      ['round', 'API p50', 'API p99', 'find p50', 'find p99', 'p50 ratio', 'p99 ratio'],
      s.rounds.map((q, i) => [`${i + 1}`, ms(q.api.p50), ms(q.api.p99), ms(q.find.p50), ms(q.find.p99), x(q.p50Ratio), x(q.p99Ratio)]),
    ),
    '',
    table(
      ['median of rounds', 'API', 'find', 'API ÷ find'],
      [
        ['p50', ms(s.api.p50), ms(s.find.p50), x(s.p50Ratio)],
        ['p99', ms(s.api.p99), ms(s.find.p99), x(s.p99Ratio)],
      ],
    ),
    '',
    `every API page held ${p.pageSize} Updates after+1 … after+${p.pageSize}: ${s.pagesChecked ? 'yes' : 'NO'}`,
    `total ${fmt(r.totalSeconds, 1)} s`,
  ];
  return lines.join('\n');
}

export function apiJson(r: ApiBenchResults, s: ApiSummary) {
  return {
    bench: 'api',
    command: r.command,
    params: r.params,
    env: r.env,
    api: r.api,
    medians: {
      apiP50Ms: round(s.api.p50, 2),
      apiP99Ms: round(s.api.p99, 2),
      findP50Ms: round(s.find.p50, 2),
      findP99Ms: round(s.find.p99, 2),
      p50Ratio: round(s.p50Ratio, 3),
      p99Ratio: round(s.p99Ratio, 3),
    },
    rounds: s.rounds.map((q) => ({
      api: { p50: round(q.api.p50, 2), p99: round(q.api.p99, 2) },
      find: { p50: round(q.find.p50, 2), p99: round(q.find.p99, 2) },
      p99Ratio: round(q.p99Ratio, 3),
    })),
    pagesChecked: s.pagesChecked,
    apiKiB: round(s.apiKiB, 1),
    load: r.load,
    totalSeconds: round(r.totalSeconds, 1),
  };
}
