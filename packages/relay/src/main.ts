/**
 * Relay entry point: config, clients, signals. The only file that touches `process`.
 */
import { hostname } from 'node:os';
import { ConfigError, connectMongo, retryingStartup, createLogger, createOpsServer, createShutdown } from '@chat3/runtime';
import { loadRelayConfig, type RelayConfig } from './config';
import { createRelayMetrics } from './metrics';
import { createMongoRelay } from './mongo-relay';

async function main(): Promise<void> {
  let config: RelayConfig;
  try {
    config = loadRelayConfig(process.env);
    config.RELAY_INSTANCE_ID ??= `${hostname()}-${process.pid}`;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`chat3-relay: ${err.message}\n`);
    process.exit(2);
  }
  const logger = createLogger({ name: 'chat3-relay', level: config.LOG_LEVEL });
  const fatal = (err: unknown, what: string) => {
    logger.fatal({ err }, what);
    process.exit(1);
  };
  process.on('unhandledRejection', (err) => fatal(err, 'unhandled rejection'));

  const metrics = createRelayMetrics();
  const mongo = await retryingStartup('mongodb', logger, () => connectMongo(config.MONGODB_URI, { appName: 'chat3-relay', logger }));
  const relay = createMongoRelay({ config, mongo, metrics, logger, onFatal: (err) => fatal(err, 'rabbitmq refused the relay') });
  const ops = createOpsServer({
    port: config.METRICS_PORT,
    registry: metrics.registry,
    health: () => ({ ok: true, checks: { mode: relay.mode } }),
    readiness: () => relay.readiness(),
  });
  const onSignal = createShutdown({
    logger,
    timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    stop: async () => {
      await relay.stop();
      await ops.stop();
      await mongo.close();
    },
    exit: (code) => process.exit(code),
  });
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  const port = await ops.start();
  logger.info({ port }, 'ops server listening');
  await relay.start();
}

main().catch((err: unknown) => {
  process.stderr.write(`chat3-relay: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
