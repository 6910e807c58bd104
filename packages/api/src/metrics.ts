/** The catch-up API's Prometheus metrics (one registry per process). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface ApiMetricsOptions {
  defaultMetrics?: boolean;
  /** Whether the last MongoDB ping (runService's, for /readyz) answered; read at every scrape. */
  mongoUp?: () => boolean;
}

export function createApiMetrics(options: ApiMetricsOptions = {}) {
  const { mongoUp } = options;
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'chat3_api_' });
  const registers = [registry];
  return {
    registry,
    requestDuration: new Histogram({
      name: 'chat3_api_request_duration_seconds',
      help: 'HTTP requests by route (the template, `unmatched` for unknown paths) and status',
      labelNames: ['method', 'route', 'status'],
      buckets: DURATION_BUCKETS,
      registers,
    }),
    updatesServed: new Counter({ name: 'chat3_api_updates_served_total', help: 'Updates returned in pages', registers }),
    tooLong: new Counter({
      name: 'chat3_api_too_long_total',
      help: 'Pages refused with 410 because Updates after `after` are no longer stored',
      registers,
    }),
    databaseErrors: new Counter({
      name: 'chat3_api_database_errors_total',
      help: 'Requests failed with 503 by a database error',
      registers,
    }),
    mongoUp: new Gauge({
      name: 'chat3_api_mongodb_up',
      help: 'The last MongoDB ping of the readiness probe answered (1) or not (0)',
      registers,
      collect() {
        if (mongoUp) this.set(mongoUp() ? 1 : 0);
      },
    }),
  };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;
