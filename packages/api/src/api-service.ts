/**
 * The catch-up API's parts, for `runService` (main.ts).
 *
 * Start-up (after runService's config → MongoDB): the recipient_seq index → ops server → HTTP
 * listener. Stop (SIGTERM/SIGINT): the listener stops taking connections and answers the requests in
 * flight, then the readiness loop stops; runService closes the ops server and the Mongo client, all
 * within SHUTDOWN_TIMEOUT_MS.
 */
import { ensureIndexes, retryingStartup, type ServiceContext, type ServiceParts } from '@chat3/runtime';
import { createAuthorizer } from './auth';
import type { ApiConfig } from './config';
import { createUpdateReader, RECIPIENT_SEQ_INDEX, type SeqCounter } from './db/update-reader';
import { createApiMetrics } from './metrics';
import { createReadinessProbe } from './readiness';
import { createApiServer } from './server';

export async function createApiService({ config, mongo, logger }: ServiceContext<ApiConfig>): Promise<ServiceParts> {
  const metrics = createApiMetrics();
  const db = mongo.db(config.MONGODB_DB);
  const updates = db.collection(config.UPDATES_COLLECTION);
  // The relay and builder create it too; the API does not serve pages by a collection scan meanwhile.
  await retryingStartup('recipient_seq index', logger, () => ensureIndexes(updates, [RECIPIENT_SEQ_INDEX], logger));

  const store = createUpdateReader({
    updates,
    seqs: db.collection<SeqCounter>(config.SEQS_COLLECTION),
    maxTimeMS: config.API_QUERY_TIMEOUT_MS,
  });
  const probe = createReadinessProbe({
    ping: async () => void (await db.command({ ping: 1 })),
    intervalMs: config.API_READY_INTERVAL_MS,
    onChange: (state, err) => {
      metrics.mongoUp.set(state === 'up' ? 1 : 0);
      if (state === 'down') logger.warn({ err }, 'mongodb ping failed; not ready');
      else if (state === 'up') logger.info('mongodb answers; ready');
    },
  });
  const app = createApiServer({ store, authorizer: createAuthorizer(config.API_TOKENS), metrics, logger });

  return {
    registry: metrics.registry,
    health: () => ({ ok: true, checks: { listening: app.server.listening } }),
    readiness: () => probe.report(),
    async start() {
      probe.start();
      await app.listen({ host: config.API_HOST, port: config.API_PORT });
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : config.API_PORT;
      logger.info({ host: config.API_HOST, port, tokens: config.API_TOKENS.length }, 'api listening');
    },
    async stop() {
      await app.close();
      await probe.stop();
    },
  };
}
