/**
 * Catch-up API benchmark (`pnpm bench:api [--quick] [flags]`): the p99 latency of a page of 1 000
 * Updates from the API, as a ratio to a plain `find` of the same documents, in the same run against
 * the configured MongoDB-compatible server:
 *   1. seeds a fresh database: one recipient with N numbered Updates, plus Updates of others (other
 *      users of the tenant, the same userId in another tenant);
 *   2. starts the API as `pnpm api` runs it (node --import tsx packages/api/src/main.ts, a child
 *      process) and GETs pages over one keep-alive HTTP connection;
 *   3. in this process, runs the plain driver
 *      `find({tenantId, userId, seq: {$gt: after}}).sort({seq: 1}).limit(1000).toArray()`;
 *   the two alternate request by request with the same `after`s, in rounds; p50/p99 per round, and the
 *   medians over the rounds.
 * The database is dropped and the API stopped afterwards. The report goes to stdout (tables, then one
 * JSON line); progress to stderr.
 *
 * Flags: --updates N (the recipient's Updates, 2000) --noise N (others' Updates, 2000) --page-size N
 *        (1000) --samples N (pages per method per round, 30) --rounds N (3) --warmup N (3) --seed N (1)
 *        --quick (small sizes for a smoke run).
 * The defaults are small because the stand-in (FerretDB 1.x) filters and sorts a recipient's Updates
 * outside its indexes: a page of 1 000 takes seconds there (on MongoDB, milliseconds). The API runs with
 * API_QUERY_TIMEOUT_MS=300000 here for the same reason.
 */
import { redactUrl } from '@chat3/runtime';
import { createSilentLogger, ensureIndexes } from '@chat3/runtime';
import { RECIPIENT_SEQ_INDEX, counterId } from '@chat3/api';
import { MongoClient } from 'mongodb';
import { commandLine, describeEnvironment, loadAverage, numFlag, parseFlags } from './bench/common';
import { createRegistry, exitWhenDone, trackFatal } from './bench/lifecycle';
import { fmt } from './bench/report';
import { createHttpGetter, measurePageRound, pageStarts, plainFind, startApiProcess, type ApiProcess } from './bench/api/measure';
import { apiJson, renderApiText, summarizeApi, summarizeRound } from './bench/api/render';
import type { ApiBenchParams, ApiBenchResults, PageRound } from './bench/api/results';
import { BENCH_TENANT, BENCH_USER, benchWorkload } from './bench/api/workload';

const flags = parseFlags(import.meta.url, {
  updates: { type: 'string' },
  noise: { type: 'string' },
  'page-size': { type: 'string' },
  samples: { type: 'string' },
  rounds: { type: 'string' },
  warmup: { type: 'string' },
  seed: { type: 'string' },
  quick: { type: 'boolean', default: false },
});

const quick = flags.quick ?? false;
const pageSize = Math.floor(numFlag('page-size', flags['page-size'], 1000, 1));
const params: ApiBenchParams = {
  updates: Math.max(pageSize, Math.floor(numFlag('updates', flags.updates, quick ? 1000 : 2000, 1))),
  noise: Math.floor(numFlag('noise', flags.noise, quick ? 500 : 2000, 0)),
  pageSize,
  samples: Math.floor(numFlag('samples', flags.samples, quick ? 5 : 30, 1)),
  rounds: Math.floor(numFlag('rounds', flags.rounds, quick ? 2 : 3, 1)),
  warmup: Math.floor(numFlag('warmup', flags.warmup, quick ? 1 : 3, 0)),
  seed: Math.floor(numFlag('seed', flags.seed, 1, 0)),
  quick,
};
if (params.pageSize > 1000) throw new Error('--page-size must be ≤ 1000 (the API’s largest limit)');

const log = (msg: string) => process.stderr.write(`[bench-api] ${msg}\n`);
const fatal = trackFatal(log);
const created = createRegistry();
const TOKEN = `bench-api-token-${process.pid}-${Date.now().toString(36)}`;

/** Seeded generator for the page starts (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function main(): Promise<void> {
  const wallStart = performance.now();
  const loadAtStart = loadAverage();
  const mongoUri = process.env.MONGODB_URI ?? '';
  if (!mongoUri) throw new Error('MONGODB_URI is required (run through `pnpm bench:api`, which starts the services)');
  const mongo = await MongoClient.connect(mongoUri, { serverSelectionTimeoutMS: 5_000, ignoreUndefined: true });
  const dbName = `bench_api_${Date.now().toString(36)}_${process.pid}`;
  created.dbs.add(dbName);
  let api: ApiProcess | undefined;
  try {
    const env = await describeEnvironment(mongo);
    const db = mongo.db(dbName);
    const updates = db.collection('updates');
    log(`${env.mongo}; seeding ${params.updates} + ${params.noise} Updates into ${dbName}`);
    const t0 = performance.now();
    await ensureIndexes(updates, [RECIPIENT_SEQ_INDEX], createSilentLogger());
    const docs = benchWorkload(params.seed, params.updates, params.noise);
    for (let i = 0; i < docs.length; i += 1_000) {
      await updates.insertMany(docs.slice(i, i + 1_000), { ordered: false });
      fatal.check();
    }
    const key = { tenantId: BENCH_TENANT, userId: BENCH_USER };
    await db.collection<{ _id: string }>('update_seqs').insertOne({ _id: counterId(key), ...key, lastSeq: params.updates } as never);
    const seedMs = performance.now() - t0;
    log(`seeded in ${fmt(seedMs)} ms`);

    api = await startApiProcess(
      {
        MONGODB_URI: mongoUri,
        MONGODB_DB: dbName,
        API_TOKENS: `${TOKEN}=${BENCH_TENANT}`,
        API_PORT: '0',
        METRICS_PORT: '0',
        LOG_LEVEL: 'info',
        API_QUERY_TIMEOUT_MS: '300000',
      },
      log,
    );
    log(`API listening at ${api.url} (pid ${api.pid}) after ${fmt(api.startMs)} ms`);
    const http = createHttpGetter(api.url, TOKEN);
    const rnd = random(params.seed);
    try {
      const warm = pageStarts(params.warmup, params.updates, params.pageSize, rnd);
      await measurePageRound({ http, updates, pageSize: params.pageSize, afters: warm });
      const rounds: PageRound[] = [];
      for (let i = 0; i < params.rounds; i++) {
        const afters = pageStarts(params.samples, params.updates, params.pageSize, rnd);
        const round = await measurePageRound({ http, updates, pageSize: params.pageSize, afters });
        fatal.check();
        const s = summarizeRound(round);
        log(
          `round ${i + 1}/${params.rounds}: API p50 ${fmt(s.api.p50, 1)} p99 ${fmt(s.api.p99, 1)} ms; ` +
            `find p50 ${fmt(s.find.p50, 1)} p99 ${fmt(s.find.p99, 1)} ms; p99 ratio ${fmt(s.p99Ratio, 2)}×`,
        );
        rounds.push(round);
      }
      // One last look that the find measured the same documents the API served.
      const check = await plainFind(updates, 0, params.pageSize);
      if (check[0]?.seq !== 1 || check.at(-1)?.seq !== params.pageSize) throw new Error('the plain find did not read seq 1…pageSize');

      const results: ApiBenchResults = {
        command: commandLine('scripts/bench-api.ts'),
        params,
        env: { ...env, mongoUri: redactUrl(mongoUri) },
        api: { process: 'node --import tsx packages/api/src/main.ts (child process), one keep-alive connection', startMs: api.startMs },
        seedMs,
        rounds,
        load: { start: loadAtStart, end: loadAverage() },
        totalSeconds: (performance.now() - wallStart) / 1000,
      };
      const summary = summarizeApi(results);
      process.stdout.write(`${renderApiText(results, summary)}\n${JSON.stringify(apiJson(results, summary))}\n`);
    } finally {
      http.close();
    }
  } finally {
    await api?.stop();
    await created.cleanupAll(
      (name) =>
        mongo
          .db(name)
          .dropDatabase()
          .then(() => undefined),
      undefined,
      log,
    );
    await mongo.close();
  }
}

exitWhenDone(main(), fatal, log);
