/**
 * What every process (builder, relay, catch-up API) does around its own work, in one place. A service's
 * main.ts names its config loader and how to build its parts; `runService` does the rest, in order:
 *
 *   config (a ConfigError → its message on stderr, exit 2) → the pino root logger → unhandled
 *   rejections are fatal (exit 1) → MongoDB, retried while it is not there → the service's parts →
 *   SIGTERM/SIGINT handlers → the ops server (`ops server listening`) → the MongoDB ping → `service.start()`.
 *
 * The ops server's answers are the service's own plus what runService keeps for every service:
 * /healthz adds the loops (`loops`, see loop-health.ts: 503 naming a wedged loop) and /readyz adds
 * MongoDB (pinged every READY_INTERVAL_MS; see readiness-probe.ts).
 *
 * Stop (first SIGTERM/SIGINT): `service.stop()` → MongoDB ping → ops server → Mongo client, bounded by
 * SHUTDOWN_TIMEOUT_MS; a second signal or the timeout forces exit (`createShutdown`). A failed start
 * prints the error on stderr and exits 1. This is the one module of the runtime that touches `process`,
 * through `ProcessPort`, so a test can pass another.
 */
import type { MongoClient } from 'mongodb';
import type { Registry } from 'prom-client';
import { ConfigError } from './config';
import { createLogger, type Logger } from './logger';
import { createLoopHealth, type LoopHealth } from './loop-health';
import { connectMongo } from './mongo';
import { createOpsServer, type HealthReport } from './ops-server';
import { createReadinessProbe, type ProbeState } from './readiness-probe';
import { createShutdown } from './shutdown';
import { retryingStartup } from './startup';

/** The settings runService itself reads; every service's config has them. */
export interface ServiceBaseConfig {
  MONGODB_URI: string;
  METRICS_PORT: number;
  METRICS_HOST: string;
  READY_INTERVAL_MS: number;
  HEALTH_WEDGED_MS: number;
  LOG_LEVEL: string;
  SHUTDOWN_TIMEOUT_MS: number;
}

/** What a service hands back: its metrics, its health, and its own start and stop. */
export interface ServiceParts {
  registry: Registry;
  health: () => HealthReport;
  readiness: () => HealthReport;
  /** Called after the ops server listens; may log its own "started" line. */
  start: () => Promise<void>;
  /** Stop taking work and finish in-flight work; runService closes the ops server and Mongo after it. */
  stop: () => Promise<void>;
}

export interface ServiceContext<C> {
  config: C;
  logger: Logger;
  mongo: MongoClient;
  /** Where the service's loops record progress and errors, for /healthz. */
  loops: LoopHealth;
  /** The state of the MongoDB ping (/readyz), e.g. for a gauge. */
  mongoState: () => ProbeState;
  /** Logs at fatal and exits 1: for errors no retry can heal (e.g. the broker refusing the topology). */
  fatal: (err: unknown, what: string) => void;
}

export interface ServiceDefinition<C extends ServiceBaseConfig> {
  /** Logger name, Mongo appName and stderr prefix, e.g. `chat3-relay`. */
  name: string;
  /** Throws ConfigError on a bad environment. */
  loadConfig: (env: Record<string, string | undefined>) => C;
  create: (context: ServiceContext<C>) => ServiceParts | Promise<ServiceParts>;
}

/** The parts of `process` runService uses. */
export interface ProcessPort {
  env: Record<string, string | undefined>;
  writeStderr: (text: string) => void;
  exit: (code: number) => void;
  on: (event: 'SIGTERM' | 'SIGINT' | 'unhandledRejection', listener: (arg: unknown) => void) => void;
}

const realProcess: ProcessPort = {
  env: process.env,
  writeStderr: (text) => void process.stderr.write(text),
  exit: (code) => process.exit(code),
  on: (event, listener) => void process.on(event, listener),
};

export async function runService<C extends ServiceBaseConfig>(
  definition: ServiceDefinition<C>,
  io: ProcessPort = realProcess,
): Promise<void> {
  const { name } = definition;
  try {
    await start(definition, io);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.writeStderr(`${name}: ${err.message}\n`);
      io.exit(2);
      return;
    }
    io.writeStderr(`${name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    io.exit(1);
  }
}

async function start<C extends ServiceBaseConfig>(definition: ServiceDefinition<C>, io: ProcessPort): Promise<void> {
  const config = definition.loadConfig(io.env);
  const logger = createLogger({ name: definition.name, level: config.LOG_LEVEL });
  const fatal = (err: unknown, what: string) => {
    logger.fatal({ err }, what);
    io.exit(1);
  };
  io.on('unhandledRejection', (err) => fatal(err, 'unhandled rejection'));

  const mongo = await retryingStartup('mongodb', logger, () => connectMongo(config.MONGODB_URI, { appName: definition.name, logger }));
  const loops = createLoopHealth({ wedgedAfterMs: config.HEALTH_WEDGED_MS });
  const mongoProbe = createReadinessProbe({
    ping: async () => void (await mongo.db('admin').command({ ping: 1 })),
    intervalMs: config.READY_INTERVAL_MS,
    onChange: (state, err) => {
      if (state === 'down') logger.warn({ err }, 'mongodb ping failed; not ready');
      else if (state === 'up') logger.info('mongodb answers');
    },
  });
  const service = await definition.create({ config, logger, mongo, loops, mongoState: () => mongoProbe.state, fatal });
  const ops = createOpsServer({
    host: config.METRICS_HOST,
    port: config.METRICS_PORT,
    registry: service.registry,
    health: () => combine(service.health(), loops.report()),
    readiness: () => combine(service.readiness(), mongoProbe.report()),
  });
  const onSignal = createShutdown({
    logger,
    timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    stop: async () => {
      await service.stop();
      await mongoProbe.stop();
      await ops.stop();
      await mongo.close();
    },
    exit: io.exit,
  });
  io.on('SIGTERM', () => onSignal('SIGTERM'));
  io.on('SIGINT', () => onSignal('SIGINT'));

  const port = await ops.start();
  logger.info({ host: config.METRICS_HOST, port }, 'ops server listening');
  mongoProbe.start();
  await service.start();
}

/** Both must be ok; their checks side by side. */
function combine(a: HealthReport, b: HealthReport): HealthReport {
  return { ok: a.ok && b.ok, checks: { ...a.checks, ...b.checks } };
}
