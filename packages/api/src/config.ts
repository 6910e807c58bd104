/**
 * The catch-up API's environment, validated once in main.ts. `API_TOKENS` is a secret: a problem with it
 * is reported without its value, and the parsed tokens never reach a log line.
 */
import { commonEnv, intVar, loadConfig } from '@chat3/runtime';
import { z } from 'zod';
import { parseApiTokens, type ApiToken } from './auth';

const apiTokens = z
  .string()
  .transform((raw, ctx): ApiToken[] => {
    const parsed = parseApiTokens(raw);
    if (parsed.ok) return parsed.tokens;
    for (const problem of parsed.problems) ctx.addIssue({ code: 'custom', message: problem });
    return z.NEVER;
  })
  .describe(
    'secret: bearer tokens and the tenant each may read, `token=tenantId` or `token=*` (all tenants), comma-separated; ' +
      'tokens are 16–512 characters without `,` `=` or white space',
  );

export const apiEnvSchema = z.object({
  MONGODB_URI: commonEnv.MONGODB_URI,
  MONGODB_DB: commonEnv.MONGODB_DB,
  UPDATES_COLLECTION: commonEnv.UPDATES_COLLECTION,
  SEQS_COLLECTION: z
    .string()
    .min(1)
    .default('update_seqs')
    .describe("collection holding each recipient's last sequence number (`seq`), one document per recipient"),
  API_TOKENS: apiTokens,
  API_HOST: z.string().min(1).default('127.0.0.1').describe('address the catch-up API listens on (`0.0.0.0` for every interface)'),
  API_PORT: intVar(8080, 0, 65_535, 'port of the catch-up API (0 = any free port)'),
  METRICS_PORT: intVar(9466, 0, 65_535, 'port of /metrics, /healthz and /readyz (0 = any free port)'),
  METRICS_HOST: commonEnv.METRICS_HOST,
  API_QUERY_TIMEOUT_MS: intVar(5_000, 100, 600_000, 'a database query that takes longer fails the request with 503'),
  READY_INTERVAL_MS: commonEnv.READY_INTERVAL_MS,
  HEALTH_WEDGED_MS: commonEnv.HEALTH_WEDGED_MS,
  LOG_LEVEL: commonEnv.LOG_LEVEL,
  SHUTDOWN_TIMEOUT_MS: commonEnv.SHUTDOWN_TIMEOUT_MS,
});

export type ApiConfig = z.output<typeof apiEnvSchema>;

export function loadApiConfig(env: Record<string, string | undefined>): ApiConfig {
  return loadConfig(apiEnvSchema, env, { secrets: ['API_TOKENS'] });
}
