/** Relay entry point: `runService` (runtime) does config, logger, MongoDB, the ops server and signals. */
import { hostname } from 'node:os';
import { runService } from '@chat3/runtime';
import { loadRelayConfig } from './config';
import { createRelayMetrics } from './metrics';
import { createMongoRelay } from './mongo-relay';

void runService({
  name: 'chat3-relay',
  loadConfig: (env) => {
    const config = loadRelayConfig(env);
    config.RELAY_INSTANCE_ID ??= `${hostname()}-${process.pid}`;
    return config;
  },
  create: ({ config, mongo, logger, loops, fatal }) => {
    const metrics = createRelayMetrics();
    const onFatal = (err: Error) => fatal(err, 'rabbitmq refused the relay');
    const relay = createMongoRelay({ config, mongo, metrics, logger, onFatal, loops });
    // runService adds the loops (each wedged one makes /healthz 503) and MongoDB's ping to /readyz.
    const health = () => ({ ok: true, checks: { mode: relay.mode } });
    return { registry: metrics.registry, health, readiness: () => relay.readiness(), start: () => relay.start(), stop: () => relay.stop() };
  },
});
