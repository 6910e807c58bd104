/** The relay's environment (SPEC §7), validated once in main.ts. */
import { commonEnv, intVar, loadConfig } from '@chat3/runtime';
import { z } from 'zod';

const DURATION = /^(\d+)([dhms])$/;
const UNIT_SECONDS: Record<string, number> = { d: 86_400, h: 3_600, m: 60, s: 1 };
/** MongoDB's largest `expireAfterSeconds` (a 32-bit signed integer). */
export const MAX_RETENTION_SECONDS = 2_147_483_647;

/** `7d`, `36h`, `90m`, `3600s` → seconds; `0` → 0 (keep everything); anything else → null. */
export function durationSeconds(text: string): number | null {
  if (text === '0') return 0;
  const match = DURATION.exec(text);
  if (!match) return null;
  return Number(match[1]) * UNIT_SECONDS[match[2]!]!;
}

export const relayEnvSchema = z.object({
  ...commonEnv,
  METRICS_PORT: intVar(9465, 0, 65_535, 'port of /metrics, /healthz and /readyz (0 = any free port)'),
  RELAY_MODE: z
    .enum(['auto', 'change-stream', 'polling'])
    .default('auto')
    .describe('how new Updates are found: `auto` tails a change stream when the server has them, else polls'),
  RELAY_PARTITIONS: intVar(16, 1, 1024, 'lease partitions the recipient space is split into (any value; buckets are fixed at build time)'),
  RELAY_BATCH_SIZE: intVar(500, 1, 10_000, 'Updates fetched per query / change events per batch'),
  RELAY_WINDOW: intVar(1_000, 1, 100_000, 'messages published but not yet confirmed, at most'),
  RELAY_POLL_INTERVAL_MS: intVar(
    100,
    10,
    60_000,
    'polling mode: sweeps start this often (start to start; a backlog is swept without pause); change-stream mode: least time between two sweeps woken by a replay (at least 500 ms)',
  ),
  RELAY_SWEEP_INTERVAL_MS: intVar(30_000, 1_000, 3_600_000, 'change-stream mode: safety-net sweep period'),
  RELAY_SWEEP_GRACE_MS: intVar(5_000, 0, 3_600_000, 'the safety-net sweep leaves Updates younger than this to the stream'),
  RELAY_TOKEN_SAVE_INTERVAL_MS: intVar(
    5_000,
    100,
    600_000,
    'change-stream mode: how often the resume position is saved on the leases, also while idle',
  ),
  RELAY_CONFIRM_TIMEOUT_MS: intVar(15_000, 100, 600_000, 'a confirm that takes longer fails the message (it is sent again)'),
  RELAY_MAX_MESSAGE_BYTES: intVar(16 * 1024 * 1024, 1_024, 512 * 1024 * 1024, 'larger Update bodies are parked, not published'),
  RELAY_MAX_ATTEMPTS: intVar(5, 1, 1_000, 'broker rejections before an Update is parked'),
  RELAY_STATS_INTERVAL_MS: intVar(
    2_000,
    100,
    600_000,
    'how often backlog, lag and parked gauges are sampled (less often when sampling itself is slow: at most a fifth of the time)',
  ),
  UPDATES_RETENTION: z
    .string()
    .default('7d')
    .refine((v) => durationSeconds(v) !== null, {
      message: 'expected a whole number of days, hours, minutes or seconds (`7d`, `36h`, `90m`, `3600s`), or `0` to keep everything',
    })
    .refine((v) => (durationSeconds(v) ?? 0) <= MAX_RETENTION_SECONDS, {
      message: `at most ${MAX_RETENTION_SECONDS} seconds (MongoDB's limit for a TTL index)`,
    })
    .describe(
      'published Updates are deleted this long after they were published (`7d`, `36h`, `90m`, `3600s`; `0` keeps everything); see Retention',
    ),
  RELAY_RETENTION_BATCH: intVar(1_000, 1, 100_000, 'servers without TTL indexes: Updates the retention deleter removes per batch, at most'),
  RELAY_RETENTION_INTERVAL_MS: intVar(
    1_000,
    10,
    3_600_000,
    'servers without TTL indexes: the retention deleter starts a batch at most this often (start to start)',
  ),
  SEQS_COLLECTION: z
    .string()
    .min(1)
    .default('update_seqs')
    .describe("collection holding each recipient's last sequence number (`seq`), one document per recipient"),
  RELAY_INSTANCE_ID: z.string().min(1).optional().describe('lease owner id (default: hostname-pid); a random suffix is added per start'),
});

export type RelayConfig = z.output<typeof relayEnvSchema>;

/** UPDATES_RETENTION in seconds (validated by the schema). */
export function retentionSeconds(config: Pick<RelayConfig, 'UPDATES_RETENTION'>): number {
  return durationSeconds(config.UPDATES_RETENTION) ?? 0;
}

export function loadRelayConfig(env: Record<string, string | undefined>): RelayConfig {
  return loadConfig(relayEnvSchema, env);
}
