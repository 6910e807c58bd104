/** The MongoDB client both processes use, and the write and read concerns the pipeline relies on. */
import { MongoClient, type ReadConcernLike, type WriteConcernSettings } from 'mongodb';
import type { Logger } from './logger';
import { redactUrl } from './logger';

/**
 * The write concern of everything the pipeline acknowledges on: Updates (before an event is acked),
 * marks (after a confirm), leases and user-stats claims. With the server's default a replica set with an
 * arbiter acknowledges at `w: 1`, and a failover can roll an acknowledged write back: an acked event
 * would lose its Updates for good.
 */
export const DURABLE_WRITES: WriteConcernSettings = { w: 'majority', journal: true };

/**
 * The read concern of the relay's queries for unpublished Updates: it must never publish an Update a
 * failover can still roll back (the builder's retry would write it again under a new `_id`, and clients
 * would see it twice). Change streams return only majority-committed changes already.
 */
export const COMMITTED_READS: ReadConcernLike = { level: 'majority' };

/** MongoDB client with settings that make outages surface quickly, so the loops' backoff takes over. */
export async function connectMongo(uri: string, options: { appName: string; logger: Logger }): Promise<MongoClient> {
  const client = new MongoClient(uri, {
    appName: options.appName,
    serverSelectionTimeoutMS: 5_000,
    connectTimeoutMS: 5_000,
    maxPoolSize: 32,
    ignoreUndefined: true,
  });
  client.on('serverHeartbeatFailed', (e) => options.logger.warn({ host: e.connectionId, err: e.failure }, 'mongodb heartbeat failed'));
  await client.connect();
  options.logger.info({ uri: redactUrl(uri) }, 'mongodb connected');
  return client;
}
