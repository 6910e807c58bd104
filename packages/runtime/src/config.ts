/**
 * Environment configuration, validated once at start-up with zod. A bad environment produces one
 * error that lists every problem, never the first one only.
 */
import { z } from 'zod';
import { redactUrl } from './logger';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions {
  /** Variables whose values are secrets (tokens): a problem with one never shows the value. */
  secrets?: readonly string[];
}

export function loadConfig<S extends z.ZodObject>(
  schema: S,
  env: Record<string, string | undefined>,
  options: LoadConfigOptions = {},
): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const secrets = new Set(options.secrets ?? []);
  throw new ConfigError(
    result.error.issues.map((issue) => {
      const name = issue.path.join('.') || '(environment)';
      const raw = env[name];
      const shown =
        raw === undefined ? 'unset' : secrets.has(name) ? `${raw.length} characters, not shown` : JSON.stringify(redactUrl(raw));
      return `${name}: ${issue.message} (got ${shown})`;
    }),
  );
}

/** Integer environment variable with bounds; the description feeds the README table. */
export function intVar(def: number, min: number, max: number, description: string) {
  return z.coerce.number().int().min(min).max(max).default(def).describe(description);
}

export function urlVar(def: string | undefined, protocols: string[], description: string) {
  const base = z
    .string()
    .refine((v) => protocols.some((p) => v.startsWith(`${p}://`)), `must start with ${protocols.map((p) => `${p}://`).join(' or ')}`);
  return (def === undefined ? base : base.default(def)).describe(description);
}

export const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('pino log level');

/** Settings both processes share (SPEC §7). */
export const commonEnv = {
  MONGODB_URI: urlVar(undefined, ['mongodb', 'mongodb+srv'], 'MongoDB connection string (replica set for change streams)'),
  MONGODB_DB: z.string().min(1).default('chat3').describe('database holding the read model and `updates`'),
  RABBITMQ_URL: urlVar('amqp://localhost:5672', ['amqp', 'amqps'], 'RabbitMQ connection URL'),
  RABBITMQ_EVENTS_EXCHANGE: z.string().min(1).default('chat3_events').describe('topic exchange Chat3 publishes events to'),
  RABBITMQ_UPDATES_EXCHANGE: z.string().min(1).default('chat3_updates').describe('topic exchange Updates are published to'),
  UPDATES_COLLECTION: z.string().min(1).default('updates').describe('collection holding Update documents'),
  LEASES_COLLECTION: z.string().min(1).default('leases').describe('collection holding partition leases of both processes'),
  LEASE_TTL_MS: intVar(10_000, 1_000, 600_000, 'a partition lease expires this long after its last heartbeat'),
  METRICS_PORT: intVar(9464, 0, 65_535, 'port of /metrics, /healthz and /readyz (0 = any free port)'),
  METRICS_HOST: z
    .string()
    .min(1)
    .default('0.0.0.0')
    .describe(
      'address /metrics, /healthz and /readyz listen on (`0.0.0.0`: every interface, as a container needs; `127.0.0.1`: this host only)',
    ),
  READY_INTERVAL_MS: intVar(2_000, 100, 600_000, 'how often /readyz pings MongoDB'),
  HEALTH_WEDGED_MS: intVar(
    120_000,
    1_000,
    3_600_000,
    '/healthz answers 503 when a loop has been inside one step this long without progress or an error',
  ),
  LOG_LEVEL: logLevel,
  SHUTDOWN_TIMEOUT_MS: intVar(15_000, 100, 600_000, 'graceful shutdown budget before a forced exit'),
} as const;

/** Rows for the README configuration table: name, default, description. */
export function describeConfig(schema: z.ZodObject): Array<{ name: string; default: string; description: string }> {
  return Object.entries(schema.shape).map(([name, field]) => {
    const def = (field as z.ZodType).safeParse(undefined);
    return {
      name,
      default: !def.success ? '(required)' : def.data === undefined ? '(none)' : String(def.data),
      description: (field as z.ZodType).description ?? '',
    };
  });
}
