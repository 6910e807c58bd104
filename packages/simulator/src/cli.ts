/**
 * `pnpm simulate`: plays Chat3 traffic against the configured MongoDB and RabbitMQ. The only file that
 * touches `process`: reads flags and environment, connects, runs, prints a JSON summary on stdout
 * (progress goes to stderr) and closes. The first SIGINT/SIGTERM stops after the batch in flight and
 * still prints the summary; a second one exits at once.
 */
import { randomInt } from 'node:crypto';
import { commonEnv, loadConfig, redactUrl } from '@chat3/runtime';
import amqplib from 'amqplib';
import { MongoClient } from 'mongodb';
import { z } from 'zod';
import { applyWrites, ensureReadModelIndexes } from './apply-writes';
import { USAGE, parseCliArgs } from './cli-args';
import { assertEventsExchange } from './publisher';
import type { CollectionNames } from './read-model-writes';
import { createSimulation } from './simulation';
import { runTraffic, type TrafficStats } from './traffic-runner';

const envSchema = z.object({
  MONGODB_URI: commonEnv.MONGODB_URI,
  MONGODB_DB: commonEnv.MONGODB_DB,
  RABBITMQ_URL: commonEnv.RABBITMQ_URL,
  RABBITMQ_EVENTS_EXCHANGE: commonEnv.RABBITMQ_EVENTS_EXCHANGE,
  USERS_COLLECTION: z.string().min(1).default('users'),
  DIALOGS_COLLECTION: z.string().min(1).default('dialogs'),
  DIALOG_MEMBERS_COLLECTION: z.string().min(1).default('dialogmembers'),
  MESSAGES_COLLECTION: z.string().min(1).default('messages'),
  MESSAGE_STATUSES_COLLECTION: z.string().min(1).default('messagestatuses'),
});

const log = (line: string) => process.stderr.write(`[simulator] ${line}\n`);

async function main(): Promise<void> {
  const args = parseCliArgs(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const env = loadConfig(envSchema, process.env);
  const collections: CollectionNames = {
    users: env.USERS_COLLECTION,
    dialogs: env.DIALOGS_COLLECTION,
    dialogMembers: env.DIALOG_MEMBERS_COLLECTION,
    messages: env.MESSAGES_COLLECTION,
    messageStatuses: env.MESSAGE_STATUSES_COLLECTION,
  };
  const seed = args.seed ?? randomInt(2 ** 31);
  const simulation = createSimulation({
    ...args.simulation,
    seed,
    ...(args.clock === 'wall' ? { now: () => performance.timeOrigin + performance.now() } : {}),
  });

  const abort = new AbortController();
  let signalled = false;
  const onSignal = (signal: string) => {
    if (signalled) process.exit(130);
    signalled = true;
    log(`${signal}: stopping after the batch in flight (again to exit now)`);
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const mongo = await MongoClient.connect(env.MONGODB_URI, { appName: 'chat3-simulator', serverSelectionTimeoutMS: 5_000 });
  const amqp = await amqplib.connect(env.RABBITMQ_URL, { clientProperties: { connection_name: 'chat3-simulator' } });
  try {
    const db = mongo.db(env.MONGODB_DB);
    const channel = await amqp.createConfirmChannel();
    await assertEventsExchange(channel, env.RABBITMQ_EVENTS_EXCHANGE);
    log(
      `seed=${seed} mongodb=${redactUrl(env.MONGODB_URI)} db=${env.MONGODB_DB} rabbitmq=${redactUrl(env.RABBITMQ_URL)} exchange=${env.RABBITMQ_EVENTS_EXCHANGE}`,
    );
    if (!args.skipIndexes) await ensureReadModelIndexes(db, collections);
    if (!args.skipPopulation) {
      const { population } = simulation;
      await applyWrites(db, simulation.seedWrites(), { collections });
      log(
        `population written: ${population.users.length} users, ${population.dialogs.length} dialogs, ${population.memberships.length} memberships`,
      );
    }
    const stats = await runTraffic({
      db,
      channel,
      exchange: env.RABBITMQ_EVENTS_EXCHANGE,
      simulation,
      rate: args.rate,
      ...(args.durationMs !== undefined ? { durationMs: args.durationMs } : {}),
      ...(args.count !== undefined ? { count: args.count } : {}),
      maxBatch: args.maxBatch,
      collections,
      signal: abort.signal,
      onProgress: (s: TrafficStats) =>
        log(`${(s.elapsedMs / 1000).toFixed(1)}s events=${s.events} (${s.eventsPerSecond}/s) writes=${s.writes}`),
    });
    const { options } = simulation;
    const summary = {
      seed,
      clock: args.clock,
      ...(args.clock === 'sim' ? { startTime: options.startTime } : {}),
      tenants: options.tenantIds,
      users: simulation.population.users.length,
      dialogs: simulation.population.dialogs.length,
      canonicalOnly: options.canonicalOnly,
      db: env.MONGODB_DB,
      exchange: env.RABBITMQ_EVENTS_EXCHANGE,
      ...stats,
    };
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    await channel.close();
  } finally {
    await amqp.close().catch(() => undefined);
    await mongo.close();
  }
}

main().catch((err: unknown) => {
  log(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
});
