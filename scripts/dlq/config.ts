/** The environment `pnpm dlq` reads: the builder's own names, so it finds the queue the builder uses. */
import { builderEnvSchema, builderTopology } from '@chat3/builder';
import { commonEnv, intVar, loadConfig } from '@chat3/runtime';
import { z } from 'zod';

export const dlqEnvSchema = z.object({
  RABBITMQ_URL: commonEnv.RABBITMQ_URL,
  RABBITMQ_EVENTS_EXCHANGE: commonEnv.RABBITMQ_EVENTS_EXCHANGE,
  BUILDER_QUEUE: builderEnvSchema.shape.BUILDER_QUEUE,
  DLQ_CONFIRM_TIMEOUT_MS: intVar(15_000, 100, 600_000, 'a requeue not confirmed this long fails; its letter stays in the DLQ'),
});

export type DlqConfig = z.output<typeof dlqEnvSchema> & { deadLetterQueue: string };

export function loadDlqConfig(env: Record<string, string | undefined>): DlqConfig {
  const config = loadConfig(dlqEnvSchema, env);
  const { deadLetterQueue } = builderTopology(config.RABBITMQ_EVENTS_EXCHANGE, config.BUILDER_QUEUE, 1);
  return { ...config, deadLetterQueue };
}
