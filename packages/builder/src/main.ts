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
  create: ({ config, mongo, logger, loops, fatal }) => {
    const metrics = createBuilderMetrics();
    const onFatal = (err: unknown) => fatal(err, 'rabbitmq refused the builder topology');
    const builder = createMongoBuilder({ config, mongo, metrics, logger, onFatal, loops });
    const lagSampler = createMongoLagSampler({ config, mongo, metrics, logger, loops });
    return {
      registry: metrics.registry,
      // runService adds the loops (each wedged one makes /healthz 503) and MongoDB's ping to /readyz.
      health: () => ({ ok: true, checks: {} }),
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
