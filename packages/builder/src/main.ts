/**
 * Builder entry point: config, clients, signals. The only file that touches `process`.
 */
import { hostname } from 'node:os';
import { ConfigError, connectMongo, retryingStartup, createLogger, createOpsServer, createShutdown, type Logger } from '@chat3/runtime';
import { createMongoBuilder, createMongoLagSampler } from './mongo-builder';
import { loadBuilderConfig, type BuilderConfig } from './config';
import { createBuilderMetrics } from './metrics';

async function main(): Promise<void> {
  let config: BuilderConfig;
  try {
    config = loadBuilderConfig(process.env);
    config.BUILDER_INSTANCE_ID ??= `${hostname()}-${process.pid}`;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`chat3-builder: ${err.message}\n`);
    process.exit(2);
  }
  const logger = createLogger({ name: 'chat3-builder', level: config.LOG_LEVEL });
  const fatal = (err: unknown, what: string, log: Logger = logger) => {
    log.fatal({ err }, what);
    process.exit(1);
  };
  process.on('unhandledRejection', (err) => fatal(err, 'unhandled rejection'));

  const metrics = createBuilderMetrics();
  const mongo = await retryingStartup('mongodb', logger, () => connectMongo(config.MONGODB_URI, { appName: 'chat3-builder', logger }));
  const builder = createMongoBuilder({
    config,
    mongo,
    metrics,
    logger,
    onFatal: (err) => fatal(err, 'rabbitmq refused the builder topology'),
  });
  const lagSampler = createMongoLagSampler({ config, mongo, metrics, logger });
  const ops = createOpsServer({
    port: config.METRICS_PORT,
    registry: metrics.registry,
    health: () => ({ ok: true, checks: {} }),
    readiness: () => builder.readiness(),
  });
  const onSignal = createShutdown({
    logger,
    timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    stop: async () => {
      await lagSampler.stop();
      await builder.stop();
      await ops.stop();
      await mongo.close();
    },
    exit: (code) => process.exit(code),
  });
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  const port = await ops.start();
  logger.info({ port }, 'ops server listening');
  await builder.start();
  lagSampler.start();
}

main().catch((err: unknown) => {
  process.stderr.write(`chat3-builder: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
