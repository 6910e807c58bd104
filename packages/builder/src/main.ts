/** Builder entry point: `runService` (runtime) does config, logger, MongoDB, the ops server and signals. */
import { hostname } from 'node:os';
import { runService } from '@chat3/runtime';
import { loadBuilderConfig } from './config';
import { createBuilderMetrics } from './metrics';
import { createMongoBuilder, createMongoLagSampler } from './mongo-builder';

void runService({
  name: 'chat3-builder',
  loadConfig: (env) => {
    const config = loadBuilderConfig(env);
    config.BUILDER_INSTANCE_ID ??= `${hostname()}-${process.pid}`;
    return config;
  },
  create: ({ config, mongo, logger, fatal }) => {
    const metrics = createBuilderMetrics();
    const onFatal = (err: unknown) => fatal(err, 'rabbitmq refused the builder topology');
    const builder = createMongoBuilder({ config, mongo, metrics, logger, onFatal });
    const lagSampler = createMongoLagSampler({ config, mongo, metrics, logger });
    const health = () => ({ ok: true, checks: {} });
    return {
      registry: metrics.registry,
      health,
      readiness: () => builder.readiness(),
      start: async () => {
        await builder.start();
        lagSampler.start();
      },
      stop: async () => {
        await lagSampler.stop();
        await builder.stop();
      },
    };
  },
});
