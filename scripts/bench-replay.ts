/**
 * Replay benchmark (`pnpm bench:replay [flags]`): live traffic's lag while `pnpm republish` replays a
 * tenant's history, against the real RabbitMQ and the configured MongoDB-compatible server. In one run,
 * each with a fresh database holding the same `--history` published Updates an hour old:
 *   1. baseline: live Updates at --live-rate per second for --baseline-seconds, no replay;
 *   2. throttled: the same live traffic while the whole history is replayed at --replay-rate (the
 *      command's default), for as long as the replay takes;
 *   3. unthrottled: the same while the history is replayed as fast as it goes (--rate 100000), for
 *      --baseline-seconds (skipped with --no-unthrottled).
 * The report (a table, then one JSON line) goes to stdout; progress to stderr.
 *
 * Flags: --history N (20000) --replay-rate N (100) --live-rate N (20) --baseline-seconds S (60)
 *        --seed N (1) --no-unthrottled
 */
import { redactUrl } from '@chat3/runtime';
import { MongoClient } from 'mongodb';
import { connectBroker } from './bench/broker';
import { commandLine, describeEnvironment, loadAverage, numFlag, parseFlags } from './bench/common';
import { createRegistry, exitWhenDone, trackFatal } from './bench/lifecycle';
import { fmt } from './bench/report';
import { dropDb, type RelayBenchContext } from './bench/relay/context';
import { measureReplayLag, type ReplayLagRun } from './bench/relay/replay-lag';
import { DEFAULT_RATE, MAX_RATE } from './replay/args';

const flags = parseFlags(import.meta.url, {
  history: { type: 'string' },
  'replay-rate': { type: 'string' },
  'live-rate': { type: 'string' },
  'baseline-seconds': { type: 'string' },
  seed: { type: 'string' },
  'no-unthrottled': { type: 'boolean', default: false },
});
const history = Math.floor(numFlag('history', flags.history, 20_000, 1));
const replayRate = numFlag('replay-rate', flags['replay-rate'], DEFAULT_RATE, 1);
const liveRate = numFlag('live-rate', flags['live-rate'], 20, 0.1);
const baselineSeconds = numFlag('baseline-seconds', flags['baseline-seconds'], 60, 1);
const seed = Math.floor(numFlag('seed', flags.seed, 1, 0));

const log = (msg: string) => process.stderr.write(`[bench-replay] ${msg}\n`);
const fatal = trackFatal(log);
const created = createRegistry();

export function renderReplayText(runs: readonly ReplayLagRun[]): string {
  const row = (r: ReplayLagRun) =>
    `| ${r.label} | ${r.replayRate === null ? 'none' : r.replayRate >= MAX_RATE ? 'unthrottled' : `${fmt(r.replayRate)}/s`} | ` +
    `${fmt(r.replayed)}${r.replaySeconds === null ? '' : ` in ${fmt(r.replaySeconds)} s`} | ${fmt(r.live)} at ${fmt(r.liveRate, 1)}/s | ` +
    `${fmt(r.liveLag.p50)} / ${fmt(r.liveLag.p99)} / ${fmt(r.liveLag.max)} ms | ${fmt(r.maxLagGauge, 1)} s |`;
  const base = runs.find((r) => r.replayRate === null);
  const ratios = runs
    .filter((r) => r !== base && base)
    .map((r) => `${r.label}: live lag p99 ${fmt(r.liveLag.p99 / base!.liveLag.p99, 1)}× the baseline's`);
  return [
    '| run | replay | replayed | live Updates | live lag p50 / p99 / max | lag gauge max |',
    '|---|---|---|---|---|---|',
    ...runs.map(row),
    '',
    ...ratios,
  ].join('\n');
}

async function main(): Promise<void> {
  const mongoUri = process.env.MONGODB_URI ?? '';
  if (!mongoUri) throw new Error('MONGODB_URI is required (run through `pnpm bench:replay`, which starts the services)');
  const rabbitUrl = process.env.RABBITMQ_URL ?? 'amqp://localhost:5672';
  const runId = `${Date.now().toString(36)}_${process.pid}`;
  const mongo = await MongoClient.connect(mongoUri, { serverSelectionTimeoutMS: 5_000, socketTimeoutMS: 300_000, ignoreUndefined: true });
  const admin = await connectBroker(rabbitUrl, `bench-replay admin ${runId}`);
  const broker = await connectBroker(rabbitUrl, `bench-replay publisher ${runId}`);
  const relayEnv = Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] => e[0].startsWith('RELAY_') && e[0] !== 'RELAY_MODE' && e[1] !== undefined,
    ),
  );
  const ctx: RelayBenchContext = { mongoUri, rabbitUrl, runId, relayEnv, fatal, created, log, mongo, admin, broker };
  const loadAtStart = loadAverage();
  const wallStart = performance.now();
  try {
    const env = await describeEnvironment(mongo, broker);
    log(`${env.mongo}, ${env.rabbitmq}; history ${history}, live ${liveRate}/s, replay ${replayRate}/s`);
    const plan = [
      { label: 'baseline', replayRate: null, liveSeconds: baselineSeconds },
      { label: 'throttled', replayRate, liveSeconds: history / replayRate },
      ...(flags['no-unthrottled'] ? [] : [{ label: 'unthrottled', replayRate: MAX_RATE, liveSeconds: baselineSeconds }]),
    ];
    const runs: ReplayLagRun[] = [];
    for (const p of plan) {
      log(`${p.label}: live traffic for ${fmt(p.liveSeconds)} s`);
      const r = await measureReplayLag(ctx, { ...p, history, liveRate, seed });
      log(
        `  live lag p50 ${fmt(r.liveLag.p50)} ms, p99 ${fmt(r.liveLag.p99)} ms; replayed ${r.replayed}; lag gauge max ${fmt(r.maxLagGauge, 1)} s`,
      );
      runs.push(r);
    }
    const result = {
      command: commandLine('scripts/bench-replay.ts'),
      env: { ...env, mongoUri: redactUrl(mongoUri) },
      runs,
      load: { start: loadAtStart, end: loadAverage() },
      totalSeconds: (performance.now() - wallStart) / 1000,
    };
    process.stdout.write(`${result.command}\n${env.mongo}, ${env.rabbitmq}; load ${result.load.start} → ${result.load.end}\n\n`);
    process.stdout.write(`${renderReplayText(runs)}\n${JSON.stringify(result)}\n`);
  } finally {
    await created.cleanupAll((name) => dropDb(ctx, name), admin, log);
    for (const conn of [broker, admin]) await conn.close().catch(() => undefined);
    await mongo.close().catch(() => undefined);
  }
}

exitWhenDone(main(), fatal, log);
