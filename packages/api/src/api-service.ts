/**
 * The catch-up API's parts, for `runService` (main.ts).
 *
 * Start-up (after runService's config → MongoDB): the recipient_seq index → ops server → HTTP
 * listener. Stop (SIGTERM/SIGINT): the listener stops taking connections and answers the requests in
 * flight; runService stops its MongoDB ping and closes the ops server and the Mongo client, all within
 * SHUTDOWN_TIMEOUT_MS.
 */
import { ensureIndexes, retryingStartup, type ServiceContext, type ServiceParts } from '@chat3/runtime';
import { createAuthorizer } from './auth';
import type { ApiConfig } from './config';
import { createUpdateReader, RECIPIENT_SEQ_INDEX, type SeqCounter } from './db/update-reader';
import { createApiMetrics } from './metrics';
import { createApiServer } from './server';

export async function createApiService({ config, mongo, logger, mongoState }: ServiceContext<ApiConfig>): Promise<ServiceParts> {
  const metrics = createApiMetrics({ mongoUp: () => mongoState() === 'up' });
  const db = mongo.db(config.MONGODB_DB);
  const updates = db.collection(config.UPDATES_COLLECTION);
  // The relay and builder create it too; the API does not serve pages by a collection scan meanwhile.
  await retryingStartup('recipient_seq index', logger, () => ensureIndexes(updates, [RECIPIENT_SEQ_INDEX], logger));

  const store = createUpdateReader({
    updates,
    seqs: db.collection<SeqCounter>(config.SEQS_COLLECTION),
    maxTimeMS: config.API_QUERY_TIMEOUT_MS,
  });
  const app = createApiServer({ store, authorizer: createAuthorizer(config.API_TOKENS), metrics, logger });

  return {
    registry: metrics.registry,
    health: () => ({ ok: true, checks: { listening: app.server.listening } }),
    // MongoDB's ping is runService's part of /readyz.
    readiness: () => ({ ok: app.server.listening, checks: { listening: app.server.listening } }),
    async start() {
      await app.listen({ host: config.API_HOST, port: config.API_PORT });
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : config.API_PORT;
      logger.info({ host: config.API_HOST, port, tokens: config.API_TOKENS.length }, 'api listening');
    },
    async stop() {
      await app.close();
    },
  };
}
