/** The builder's environment (SPEC §7), validated once in main.ts. */
import { ROUTING_KEY_SCOPES } from '@chat3/core';
import { commonEnv, intVar, loadConfig } from '@chat3/runtime';
import { z } from 'zod';
import { QUEUE_TYPES } from './broker/topology';

export const builderEnvSchema = z.object({
  ...commonEnv,
  METRICS_PORT: intVar(9464, 0, 65_535, 'port of /metrics, /healthz and /readyz (0 = any free port)'),
  BUILDER_QUEUE: z
    .string()
    .min(1)
    .default('chat3_update_builder')
    .describe('durable intake queue bound with `#`; also the prefix of the partition queues'),
  BUILDER_QUEUE_TYPE: z
    .enum(QUEUE_TYPES)
    .default('classic')
    .describe(
      'type of the intake, partition and dead-letter queues: `quorum` replicates them on a RabbitMQ cluster; a queue keeps its type, see Broker high availability to move',
    ),
  BUILDER_PARTITIONS: intVar(8, 1, 256, 'partition queues events are spread over by dialog; set it once, before the first start'),
  BUILDER_PREFETCH: intVar(1_000, 1, 65_535, 'unacked deliveries per partition consumer'),
  BUILDER_ROUTER_PREFETCH: intVar(1_000, 1, 65_535, 'unacked deliveries on the intake queue'),
  BUILDER_BATCH_SIZE: intVar(500, 1, 10_000, 'events per micro-batch'),
  BUILDER_BATCH_WAIT_MS: intVar(20, 0, 60_000, 'longest wait before a partial batch is written'),
  BUILDER_CONFIRM_TIMEOUT_MS: intVar(
    15_000,
    100,
    600_000,
    'a forward or dead letter not confirmed this long is requeued (the connection is restarted)',
  ),
  BUILDER_MAX_EVENT_BYTES: intVar(1_048_576, 1_024, 134_217_728, 'larger event bodies are dead-lettered'),
  BUILDER_STATS_INTERVAL_MS: intVar(
    2_000,
    100,
    600_000,
    'how often the published-lag gauge is sampled (less often when sampling itself is slow: at most a fifth of the time)',
  ),
  BUILDER_ENSURE_READ_MODEL_INDEXES: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true')
    .describe('create the read-model indexes the builder queries by (Chat3 may own them instead)'),
  BUILDER_INSTANCE_ID: z.string().min(1).optional().describe('lease owner id (default: hostname-pid); a random suffix is added per start'),
  ROUTING_KEY_SCOPE: z
    .enum(ROUTING_KEY_SCOPES)
    .default('seed')
    .describe(
      'routing keys of new Updates: `seed` = `update.{category}.{userType}.{userId}.{updateType}` (tenants share queues); `tenant` = `update.{category}.{tenantId}.{userType}.{userId}.{updateType}` (see Tenant isolation)',
    ),
  USERS_COLLECTION: z.string().min(1).default('users').describe('read model: users'),
  DIALOGS_COLLECTION: z.string().min(1).default('dialogs').describe('read model: dialogs'),
  DIALOG_MEMBERS_COLLECTION: z.string().min(1).default('dialogmembers').describe('read model: dialog memberships'),
  MESSAGES_COLLECTION: z.string().min(1).default('messages').describe('read model: messages'),
  MESSAGE_STATUSES_COLLECTION: z.string().min(1).default('messagestatuses').describe('read model: message status history'),
  USER_STATS_COLLECTION: z.string().min(1).default('userstats').describe('last user stats emitted per user'),
});

export type BuilderConfig = z.output<typeof builderEnvSchema>;

export function loadBuilderConfig(env: Record<string, string | undefined>): BuilderConfig {
  return loadConfig(builderEnvSchema, env);
}
