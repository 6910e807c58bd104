/** MongoDB client with settings that make outages surface quickly, so the loops' backoff takes over. */
import { MongoClient } from 'mongodb';
import type { Logger } from './logger';
import { redactUrl } from './logger';

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
