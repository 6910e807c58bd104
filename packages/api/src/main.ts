/**
 * Catch-up API entry point: config, clients, signals. The only file that touches `process`.
 *
 * Start-up: config (exit 2 on a bad one) → MongoDB (retried while it is not there) → the recipient_seq
 * index → ops server → HTTP listener. Stop (SIGTERM/SIGINT): the listener stops taking connections and
 * answers the requests in flight, then the ops server and the Mongo client close, within
 * SHUTDOWN_TIMEOUT_MS.
 */
import { ConfigError, connectMongo, createLogger, createOpsServer, createShutdown, ensureIndexes, retryingStartup } from '@chat3/runtime';
import { createAuthorizer } from './auth';
import { loadApiConfig, type ApiConfig } from './config';
import { createUpdateReader, RECIPIENT_SEQ_INDEX, type SeqCounter } from './db/update-reader';
import { createApiMetrics } from './metrics';
import { createReadinessProbe } from './readiness';
import { createApiServer } from './server';

async function main(): Promise<void> {
  let config: ApiConfig;
  try {
    config = loadApiConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`chat3-api: ${err.message}\n`);
    process.exit(2);
  }
  const logger = createLogger({ name: 'chat3-api', level: config.LOG_LEVEL });
  const fatal = (err: unknown, what: string) => {
    logger.fatal({ err }, what);
    process.exit(1);
  };
  process.on('unhandledRejection', (err) => fatal(err, 'unhandled rejection'));

  const metrics = createApiMetrics();
  const mongo = await retryingStartup('mongodb', logger, () => connectMongo(config.MONGODB_URI, { appName: 'chat3-api', logger }));
  const db = mongo.db(config.MONGODB_DB);
  const updates = db.collection(config.UPDATES_COLLECTION);
  // The relay and builder create it too; the API does not serve pages by a collection scan meanwhile.
  await retryingStartup('recipient_seq index', logger, () => ensureIndexes(updates, [RECIPIENT_SEQ_INDEX], logger));

  const store = createUpdateReader({
    updates,
    seqs: db.collection<SeqCounter>(config.SEQS_COLLECTION),
    maxTimeMS: config.API_QUERY_TIMEOUT_MS,
  });
  const probe = createReadinessProbe({
    ping: async () => void (await db.command({ ping: 1 })),
    intervalMs: config.API_READY_INTERVAL_MS,
    onChange: (state, err) => {
      metrics.mongoUp.set(state === 'up' ? 1 : 0);
      if (state === 'down') logger.warn({ err }, 'mongodb ping failed; not ready');
      else if (state === 'up') logger.info('mongodb answers; ready');
    },
  });
  const app = createApiServer({ store, authorizer: createAuthorizer(config.API_TOKENS), metrics, logger });
  const ops = createOpsServer({
    port: config.METRICS_PORT,
    registry: metrics.registry,
    health: () => ({ ok: true, checks: { listening: app.server.listening } }),
    readiness: () => probe.report(),
  });

  const onSignal = createShutdown({
    logger,
    timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    stop: async () => {
      await app.close();
      await probe.stop();
      await ops.stop();
      await mongo.close();
    },
    exit: (code) => process.exit(code),
  });
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  const opsPort = await ops.start();
  logger.info({ port: opsPort }, 'ops server listening');
  probe.start();
  await app.listen({ host: config.API_HOST, port: config.API_PORT });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.API_PORT;
  logger.info({ host: config.API_HOST, port, tokens: config.API_TOKENS.length }, 'api listening');
}

main().catch((err: unknown) => {
  process.stderr.write(`chat3-api: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
