/**
 * The pipeline end to end (`pnpm demo [flags]`; services are started by scripts/run.sh first):
 *   1. seeds a fresh demo database with the simulator's population (Chat3's read model);
 *   2. starts the relay and the builder as real child processes (`node --import tsx …/main.ts`), logs to
 *      files in a temp directory, metrics on free ports;
 *   3. subscribes a few sample clients exactly as the seed's example code does (user_{userId}_updates),
 *      and one more user with the SDK (@chat3/updates-client) over the catch-up API, started as a third
 *      process; a message is taken off that client's queue and dropped, and the client fetches it back
 *      from the API when the next one shows the gap (scripts/demo/gap-recovery.ts);
 *   4. plays simulated Chat3 traffic (read-model writes, then events on chat3_events) for a while, with
 *      one live progress line from the processes' /metrics;
 *   5. stops the traffic, waits until every Update is published, prints a summary, stops both processes
 *      with SIGTERM and removes what it created (the database unless --keep).
 * Exit code 0 only when every event was processed and every Update published.
 *
 * Flags: --duration S (20) --rate EV/S (5) --users N (200) --dialogs N (100) --seed N (1)
 *        --drain-timeout S (60) --keep (leave the demo database for a look)
 *        --compiled (run `node packages/<service>/dist/main.js`, as `pnpm build` made it, instead of tsx).
 * The default rate is what the relay keeps up with on the FerretDB stand-in (polling; every update there
 * scans the collection, and numbering a page is one update per Update): about 7 Updates per event, a lag
 * of a few seconds (p99 5.5 s at 5 ev/s; at 20 ev/s the stand-in relay falls a minute behind). Higher
 * rates want MongoDB.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { createSimulation, ensureReadModelIndexes } from '@chat3/simulator';
import { redactUrl } from '@chat3/runtime';
import { MongoClient, type Db } from 'mongodb';
import { brokerVersion, connectBroker, deleteExchange, deleteQueue } from './bench/broker';
import { writeReadModel } from './bench/read-model-writes';
import { numFlag, parseFlags, sleep, within } from './bench/common';
import { fmt, summarize } from './bench/report';
import { playTraffic, type PlayStats } from './bench/traffic-player';
import { startGapDemo, summarizeGapRecovery, type GapDemo } from './demo/gap-recovery';
import { pickSampleUsers, startSampleConsumer, type SampleConsumer } from './demo/sample-consumers';
import { scrapeMetrics, startService, type ServiceProcess } from './demo/service-processes';

const flags = parseFlags(import.meta.url, {
  duration: { type: 'string' },
  rate: { type: 'string' },
  users: { type: 'string' },
  dialogs: { type: 'string' },
  seed: { type: 'string' },
  'drain-timeout': { type: 'string' },
  keep: { type: 'boolean', default: false },
  compiled: { type: 'boolean', default: false },
});

function readParams() {
  return {
    durationS: numFlag('duration', flags.duration, 20, 1),
    rate: numFlag('rate', flags.rate, 5, 0.1),
    users: Math.floor(numFlag('users', flags.users, 200, 2)),
    dialogs: Math.floor(numFlag('dialogs', flags.dialogs, 100, 1)),
    seed: Math.floor(numFlag('seed', flags.seed, 1, 0)),
    drainTimeoutS: numFlag('drain-timeout', flags['drain-timeout'], 60, 1),
    keep: flags.keep ?? false,
    compiled: flags.compiled ?? false,
  };
}

/** A bad flag is a usage error: one line on stderr and exit code 2, no stack trace. */
let params: ReturnType<typeof readParams>;
try {
  params = readParams();
} catch (err) {
  process.stderr.write(`demo: ${(err as Error).message}\n`);
  process.exit(2);
}

const REPO = resolve(import.meta.dirname, '..');
const MONGODB_URI = process.env.MONGODB_URI ?? '';
const RABBITMQ_URL = process.env.RABBITMQ_URL ?? 'amqp://localhost:5672';
const EVENTS_EXCHANGE = 'chat3_events';
const UPDATES_EXCHANGE = 'chat3_updates';
const STAMP = new Date()
  .toISOString()
  .replace(/[-:T]/g, '')
  .replace(/\..*$/, '')
  .replace(/^(\d{8})/, '$1_');
const DB_NAME = `chat3_demo_${STAMP}`;
// The demo's own intake queue: a backlog left in the default queue by another run never leaks in.
const BUILDER_QUEUE = `chat3_demo_${STAMP}_builder`;
const DIR = join(os.tmpdir(), `chat3-demo-${STAMP}`);
const TTY = process.stdout.isTTY === true;

const say = (line = '') => process.stdout.write(`${line}\n`);

// Ctrl-C: the first stops everything and cleans up; another one, a few seconds later, exits at once (the
// children are killed on exit). A terminal delivers Ctrl-C to every process of the foreground group and
// tsx relays it once more, so signals within 3 s of the first count as the same press.
const interrupt = new AbortController();
let firstSignalAt = 0;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (firstSignalAt > 0) {
      if (Date.now() - firstSignalAt > 3_000) process.exit(130);
      return;
    }
    firstSignalAt = Date.now();
    if (TTY) process.stdout.write('\n');
    say(`${signal}: stopping the traffic and the processes, cleaning up (again to exit at once)`);
    interrupt.abort();
  });
}

interface Progress {
  events: number;
  consumed: number;
  processed: number;
  built: number;
  published: number;
  backlog: number;
  lagS: number;
}

async function progressOf(builder: ServiceProcess, relay: ServiceProcess, events: number): Promise<Progress> {
  const [b, r] = await Promise.all([scrapeMetrics(builder.port), scrapeMetrics(relay.port)]);
  const get = (m: Map<string, number>, name: string) => m.get(name) ?? 0;
  return {
    events,
    consumed: get(b, 'chat3_builder_events_consumed_total'),
    processed:
      get(b, 'chat3_builder_events_built_total') +
      get(b, 'chat3_builder_events_ignored_total') +
      get(b, 'chat3_builder_events_dead_lettered_total'),
    built: get(b, 'chat3_builder_updates_written_total'),
    published: get(r, 'chat3_relay_published_total'),
    backlog: get(r, 'chat3_relay_backlog'),
    lagS: get(r, 'chat3_relay_published_lag_seconds'),
  };
}

function progressLine(elapsedS: number, p: Progress, phase: string): string {
  return (
    `${phase} ${fmt(elapsedS, 1).padStart(5)} s | events in ${p.events} (builder took ${p.consumed}) | ` +
    `Updates built ${p.built} | published ${p.published} | backlog ${p.backlog} | lag ${fmt(p.lagS, 1)} s`
  );
}

/**
 * Lease renewals run all of an instance's partitions at once. The FerretDB stand-in (PostgreSQL pool of
 * 20 connections) deadlocks when about 20 update commands run together, so on FerretDB the demo uses 4
 * partitions per process unless the environment says otherwise.
 */
function partitionSettings(ferret: boolean): { builder: number; relay: number; note: string | null } {
  const fromEnv = (name: string, def: number) => (process.env[name] ? Number(process.env[name]) : def);
  if (!ferret) return { builder: fromEnv('BUILDER_PARTITIONS', 8), relay: fromEnv('RELAY_PARTITIONS', 16), note: null };
  const builder = fromEnv('BUILDER_PARTITIONS', 4);
  const relay = fromEnv('RELAY_PARTITIONS', 4);
  return {
    builder,
    relay,
    note: `FerretDB stand-in: BUILDER_PARTITIONS=${builder}, RELAY_PARTITIONS=${relay} (its 20-connection pool deadlocks on ~20 concurrent updates)`,
  };
}

async function main(): Promise<number> {
  if (!MONGODB_URI) throw new Error('MONGODB_URI is required (run `pnpm demo`, which starts the services first)');
  mkdirSync(DIR, { recursive: true });
  const mongo = new MongoClient(MONGODB_URI, { serverSelectionTimeoutMS: 5_000, ignoreUndefined: true });
  await mongo.connect();
  const admin = await connectBroker(RABBITMQ_URL, `chat3-demo admin ${STAMP}`);
  const publisher = await connectBroker(RABBITMQ_URL, `chat3-demo traffic ${STAMP}`);
  const db = mongo.db(DB_NAME);
  const services: ServiceProcess[] = [];
  const consumers: SampleConsumer[] = [];
  let gapDemo: GapDemo | undefined;
  let partitions = { builder: 8, relay: 16 };
  let dbWedged = false;
  try {
    const buildInfo = await mongo.db('admin').command({ buildInfo: 1 });
    const ferret = Boolean(buildInfo.ferretdbVersion);
    const server = ferret ? `FerretDB ${String(buildInfo.ferretdbVersion)}` : `MongoDB ${String(buildInfo.version)}`;
    const settings = partitionSettings(ferret);
    partitions = settings;
    say(`chat3-updates demo: ${params.durationS} s of simulated Chat3 traffic at ${params.rate} events/s`);
    say(`  MongoDB   ${redactUrl(MONGODB_URI)} (${server}), database ${DB_NAME}`);
    say(`  RabbitMQ  ${redactUrl(RABBITMQ_URL)} (${brokerVersion(admin)}), exchanges ${EVENTS_EXCHANGE} → ${UPDATES_EXCHANGE}`);
    say(`  logs      ${DIR}`);
    if (settings.note) say(`  note      ${settings.note}`);

    // 1. Chat3's read model as it stands before the traffic.
    const sim = createSimulation({ seed: params.seed, users: params.users, dialogs: params.dialogs, now: Date.now });
    await ensureReadModelIndexes(db);
    await writeReadModel(db, sim.seedWrites());
    const pop = sim.population;
    say(
      `  read model seeded: ${pop.users.length} users, ${pop.dialogs.length} dialogs, ${pop.memberships.length} memberships (seed ${params.seed})`,
    );

    // 2. The two processes. The relay first: it declares chat3_updates, which the clients bind to; one at a
    // time also keeps their start-up writes apart.
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      MONGODB_URI,
      MONGODB_DB: DB_NAME,
      RABBITMQ_URL,
      RABBITMQ_EVENTS_EXCHANGE: EVENTS_EXCHANGE,
      RABBITMQ_UPDATES_EXCHANGE: UPDATES_EXCHANGE,
      METRICS_PORT: '0',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    };
    for (const [name, entry, extra] of [
      ['relay', 'packages/relay/src/main.ts', { RELAY_PARTITIONS: String(settings.relay) }],
      ['builder', 'packages/builder/src/main.ts', { BUILDER_QUEUE, BUILDER_PARTITIONS: String(settings.builder) }],
    ] as const) {
      const service = await startService({
        name,
        entry,
        cwd: REPO,
        env: { ...env, ...extra },
        logFile: join(DIR, `${name}.log`),
        compiled: params.compiled,
        timeoutMs: 60_000,
        signal: interrupt.signal,
      });
      services.push(service);
      say(`  ${name.padEnd(8)}  pid ${service.pid}, metrics http://127.0.0.1:${service.port}/metrics, log ${service.logFile}`);
    }
    const [relay, builder] = services as [ServiceProcess, ServiceProcess];

    // The catch-up API, for the SDK client: a token made up for this run (never printed).
    const apiToken = randomBytes(24).toString('hex');
    const apiPort = await freePort();
    const api = await startService({
      name: 'api',
      entry: 'packages/api/src/main.ts',
      cwd: REPO,
      env: { ...env, API_TOKENS: `${apiToken}=*`, API_PORT: String(apiPort) },
      logFile: join(DIR, 'api.log'),
      compiled: params.compiled,
      timeoutMs: 60_000,
      signal: interrupt.signal,
    });
    services.push(api);
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    say(`  api       pid ${api.pid}, ${apiUrl}/v1/tenants/…, metrics http://127.0.0.1:${api.port}/metrics, log ${api.logFile}`);

    // 3. Sample clients, subscribed before the first event.
    for (const user of pickSampleUsers(pop)) consumers.push(await startSampleConsumer(RABBITMQ_URL, user));
    say(`  clients   ${consumers.map((c) => `${c.userId} (${c.type}, ${c.dialogs} dialogs)`).join(', ')}`);
    // The SDK client: the busiest plain user the seed-code clients do not read (one queue, one reader).
    const sdkUser = pickSampleUsers(pop, 4).filter((u) => u.type === 'user' && !consumers.some((c) => c.userId === u.userId))[0];
    if (sdkUser) {
      gapDemo = await startGapDemo({
        rabbitUrl: RABBITMQ_URL,
        exchange: UPDATES_EXCHANGE,
        apiUrl,
        token: apiToken,
        tenantId: pop.tenants[0]!,
        user: sdkUser,
      });
      say(
        `  SDK       ${sdkUser.userId} (${sdkUser.dialogs} dialogs): @chat3/updates-client from seq 0; one message will be dropped from its queue`,
      );
    }
    say();

    // 4. Traffic, with one progress line; a dead process or a database that stops answering ends the run.
    const channel = await publisher.createConfirmChannel();
    channel.on('error', () => undefined);
    let sent = 0;
    const sentByType: Record<string, number> = {};
    const started = performance.now();
    const elapsedS = () => (performance.now() - started) / 1000;
    let failure: string | undefined;
    let failWith!: (err: Error) => void;
    const failed = new Promise<never>((_, reject) => (failWith = reject));
    failed.catch(() => undefined);
    const fail = (why: string) => {
      failure ??= why;
      failWith(new Error(why));
    };
    const stopTraffic = new AbortController();
    interrupt.signal.addEventListener('abort', () => {
      stopTraffic.abort();
      fail('interrupted');
    });
    let probeFailures = 0;
    const probe = async () => {
      try {
        await within(db.collection('leases').findOne({}, { projection: { _id: 1 } }), 5_000, 'database probe');
        probeFailures = 0;
      } catch {
        probeFailures += 1;
        if (probeFailures >= 3) {
          dbWedged = true;
          fail('the database stopped answering (3 probes of 5 s failed); see the processes logs');
        }
      }
    };
    let phase = 'traffic';
    let ticking = false;
    let dbBacklog: number | undefined;
    const show = async (label = phase) => {
      for (const s of services) if (!s.alive()) fail(`${s.name} exited unexpectedly; last lines of ${s.logFile}:\n${s.tail()}`);
      try {
        const p = await progressOf(builder, relay, sent);
        // The relay samples its gauges every few seconds; at the end the database's own count is exact.
        if (dbBacklog !== undefined) Object.assign(p, { backlog: dbBacklog, lagS: dbBacklog === 0 ? 0 : p.lagS });
        const line = progressLine(elapsedS(), p, label);
        if (TTY) process.stdout.write(`\r${line}\x1b[K`);
        else say(line);
      } catch (err) {
        if (!TTY) say(`${label} ${fmt(elapsedS(), 1)} s | metrics unavailable: ${(err as Error).message}`);
      }
    };
    const ticker = setInterval(
      () => {
        if (ticking) return;
        ticking = true;
        void Promise.all([show(), probe()]).finally(() => (ticking = false));
      },
      TTY ? 1_000 : 2_000,
    );
    let played: PlayStats | undefined;
    try {
      played = await Promise.race([
        playTraffic({
          db,
          channel,
          exchange: EVENTS_EXCHANGE,
          steps: sim,
          rate: params.rate,
          durationMs: params.durationS * 1000,
          signal: stopTraffic.signal,
          onPublish: (steps) => {
            sent += steps.length;
            for (const s of steps) sentByType[s.event.eventType] = (sentByType[s.event.eventType] ?? 0) + 1;
          },
        }),
        failed,
      ]);

      // 5. Drain: every event processed by the builder, every Update published.
      phase = 'drain  ';
      const deadline = performance.now() + params.drainTimeoutS * 1000;
      for (;;) {
        const p = await Promise.race([progressOf(builder, relay, sent), failed]).catch(() => undefined);
        const unpublished = await Promise.race([
          within(db.collection('updates').countDocuments({ published: false }), 15_000, 'counting unpublished Updates'),
          failed,
        ]);
        if (p && p.processed >= played.events && unpublished === 0) {
          dbBacklog = 0;
          break;
        }
        if (performance.now() > deadline) {
          fail(
            `not drained within ${params.drainTimeoutS} s: ${p ? `${p.processed}/${played.events} events processed` : 'no metrics'}, ` +
              `${unpublished} Updates unpublished`,
          );
          break;
        }
        await Promise.race([sleep(500), failed]);
      }
    } catch (err) {
      failure ??= (err as Error).message;
    } finally {
      clearInterval(ticker);
    }
    await show(failure ? 'stopped' : 'done   ');
    if (TTY) process.stdout.write('\n');
    if (interrupt.signal.aborted) return 130;
    if (failure && dbWedged) {
      say();
      say(`FAILED: ${failure}`);
      return 1;
    }

    // Clients: everything confirmed by the broker is in their queues; give them a moment to read it.
    const updates = db.collection('updates');
    const q = <T>(promise: Promise<T>, what: string) => within(promise, 60_000, what);
    const expected = new Map<string, number>();
    for (const c of consumers) expected.set(c.userId, await q(updates.countDocuments({ userId: c.userId, published: true }), 'counting'));
    const clientsDeadline = Date.now() + 10_000;
    while (Date.now() < clientsDeadline && consumers.some((c) => c.received < (expected.get(c.userId) ?? 0))) await sleep(200);

    // Summary.
    const final = await progressOf(builder, relay, sent);
    const rows = await q(
      updates.find({}, { projection: { _id: 0, updateType: 1, published: 1, createdAt: 1, publishedAt: 1, parked: 1 } }).toArray(),
      'reading Updates',
    );
    const byUpdateType: Record<string, number> = {};
    for (const r of rows) byUpdateType[r.updateType as string] = (byUpdateType[r.updateType as string] ?? 0) + 1;
    const published = rows.filter((r) => r.published === true);
    const parked = rows.filter((r) => r.parked).length;
    const lags = summarize(published.map((r) => (r.publishedAt as number) - (r.createdAt as number)));
    const builderMetrics = await scrapeMetrics(builder.port);
    const relayMetrics = await scrapeMetrics(relay.port);
    const seconds = played ? played.elapsedMs / 1000 : elapsedS();
    const events = played?.events ?? sent;
    say();
    say('Summary');
    say(
      `  events in          ${events} in ${fmt(seconds, 1)} s (${fmt(events / seconds, 1)}/s)${played ? `, ${played.writes} read-model writes` : ''}`,
    );
    const types = Object.entries(sentByType).sort((a, b) => b[1] - a[1]);
    for (let i = 0; i < types.length; i += 4) {
      say(
        `                     ${types
          .slice(i, i + 4)
          .map(([t, n]) => `${t} ${n}`)
          .join(', ')}`,
      );
    }
    say(
      `  builder            consumed ${final.consumed}; built ${builderMetrics.get('chat3_builder_events_built_total') ?? 0}, ` +
        `ignored (no Update) ${builderMetrics.get('chat3_builder_events_ignored_total') ?? 0}, ` +
        `dead-lettered ${builderMetrics.get('chat3_builder_events_dead_lettered_total') ?? 0} (reasons in the builder log)`,
    );
    say(
      `  Updates built      ${rows.length} (${Object.entries(byUpdateType)
        .sort((a, b) => b[1] - a[1])
        .map(([t, n]) => `${t} ${n}`)
        .join(', ')})`,
    );
    say(
      `  Updates published  ${published.length} of ${rows.length}${parked ? `, ${parked} parked` : ''}; ` +
        `relay: ${relayMetrics.get('chat3_relay_published_total') ?? 0} confirmed, ` +
        `${relayMetrics.get('chat3_relay_unroutable_total') ?? 0} unroutable (no client queue bound for that user)`,
    );
    say(`  lag created→published  p50 ${fmt(lags.p50)} ms, p99 ${fmt(lags.p99)} ms, max ${fmt(lags.max)} ms`);
    say('  sample clients (seed code: queue user_{userId}_updates, binding update.*.{userType}.{userId}.*)');
    for (const c of consumers) {
      const want = expected.get(c.userId) ?? 0;
      const by = Object.entries(c.byType)
        .sort((a, b) => b[1] - a[1])
        .map(([t, n]) => `${t} ${n}`)
        .join(', ');
      say(
        `    ${`${c.userId} (${c.type})`.padEnd(28)} received ${String(c.received).padStart(4)} of ${String(want).padStart(4)} ` +
          `published for them, duplicates ${c.duplicates}${by ? `: ${by}` : ''}`,
      );
    }

    const problems: string[] = [];
    if (gapDemo) {
      const userId = gapDemo.result().userId;
      const [top] = await q(
        updates
          .find({ tenantId: pop.tenants[0], userId, seq: { $gt: 0 } }, { projection: { _id: 0, seq: 1 }, sort: { seq: -1 }, limit: 1 })
          .toArray(),
        "reading the SDK user's latest seq",
      );
      const latestSeq = typeof top?.seq === 'number' ? top.seq : null;
      if (latestSeq !== null) await gapDemo.waitForPosition(latestSeq, 15_000);
      const verdict = summarizeGapRecovery(gapDemo.result(), latestSeq);
      for (const line of verdict.lines) say(line);
      if (verdict.problem) problems.push(verdict.problem);
    }

    const unpublished = rows.length - published.length;
    if (failure) problems.push(failure);
    if (final.processed < events) problems.push(`the builder processed ${final.processed} of ${events} events`);
    if (unpublished > 0) problems.push(`${unpublished} Updates are still unpublished${parked ? ` (${parked} parked)` : ''}`);
    const short = consumers.filter((c) => c.received < (expected.get(c.userId) ?? 0));
    if (short.length > 0) say(`  note: ${short.map((c) => c.userId).join(', ')} received fewer than were published for them`);
    say();
    if (problems.length === 0) {
      say('OK: every event was processed and every Update published.');
      return 0;
    }
    say(`FAILED: ${problems.join('; ')}`);
    return 1;
  } finally {
    // Stop the processes (graceful), then remove the clients' queues, the builder's queues and the database.
    for (const s of [...services].reverse()) {
      const st = await s.stop(20_000);
      say(
        `stopped ${s.name} (${st.forced ? 'SIGKILL after 20 s' : st.signal ? `signal ${st.signal}` : `exit code ${st.code}`})` +
          `${!st.forced && st.code === 0 ? '' : `; last lines of ${s.logFile}:\n${s.tail(10)}`}`,
      );
    }
    if (gapDemo)
      await within(gapDemo.stop(), 20_000, 'stopping the SDK client').catch((err: Error) =>
        say(`could not stop the SDK client: ${err.message}`),
      );
    for (const c of consumers)
      await within(c.close(), 10_000, 'closing').catch((err: Error) => say(`could not delete ${c.queueName}: ${err.message}`));
    const queues = [
      BUILDER_QUEUE,
      ...Array.from({ length: partitions.builder }, (_, p) => `${BUILDER_QUEUE}.p${p}`),
      `${BUILDER_QUEUE}.dlq`,
    ];
    for (const q of queues) await deleteQueue(admin, q).catch((err: Error) => say(`could not delete queue ${q}: ${err.message}`));
    for (const e of [`${BUILDER_QUEUE}.partitions`, `${BUILDER_QUEUE}.dlx`])
      await deleteExchange(admin, e).catch((err: Error) => say(`could not delete exchange ${e}: ${err.message}`));
    let dropped = false;
    if (params.keep) say(`kept database ${DB_NAME} (--keep); drop it with: db.getSiblingDB('${DB_NAME}').dropDatabase()`);
    else dropped = await dropQuietly(db);
    say(
      `cleaned up: sample queues, ${BUILDER_QUEUE}*${dropped ? `, database ${DB_NAME}` : ''}; logs stay in ${DIR}` +
        `${dbWedged ? `\nthe database server stopped answering: restart it (pnpm services:down && pnpm services:up) and drop ${DB_NAME}` : ''}`,
    );
    await publisher.close().catch(() => undefined);
    await admin.close().catch(() => undefined);
    await within(mongo.close(), 5_000, 'closing').catch(() => undefined);
  }
}

/** A port free right now, for the API's listener (the ops server reports its own port; the API's is set). */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolvePort(port));
    });
  });
}

async function dropQuietly(db: Db): Promise<boolean> {
  try {
    await within(db.dropDatabase(), 30_000, 'dropDatabase');
    return true;
  } catch (err) {
    say(`could not drop database ${db.databaseName}: ${(err as Error).message}`);
    return false;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (TTY) process.stdout.write('\n');
    process.stderr.write(`demo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(interrupt.signal.aborted ? 130 : 1);
  },
);
