/** Per-test databases, and restarting the Mongo stand-in for fault tests. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MongoClient, type Db } from 'mongodb';
import { repoRoot, testEnv } from './env';
import { testDatabaseName } from './names';
import { waitFor } from './wait';

export interface TestDatabase {
  client: MongoClient;
  db: Db;
  /** The database name; hand it to services under test next to `uri`. */
  name: string;
  /** The server's base URI (MONGODB_URI), without the database name. */
  uri: string;
  /** Drops the database, then closes the client. Call it when the test passed. */
  drop(): Promise<void>;
  /** Closes the client and keeps the data, for a look after a failure. */
  close(): Promise<void>;
}

export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const { mongoUri } = testEnv();
  const name = testDatabaseName(prefix);
  const client = new MongoClient(mongoUri, { serverSelectionTimeoutMS: 10_000, ignoreUndefined: true });
  await client.connect();
  const db = client.db(name);
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= client.close());
  return {
    client,
    db,
    name,
    uri: mongoUri,
    async drop() {
      try {
        await db.dropDatabase();
      } finally {
        await close();
      }
    },
    close,
  };
}

/** Only the FerretDB that services-up started can be restarted from here (scripts/ferretdb.sh). */
export function canRestartMongo(): boolean {
  return process.env.CHAT3_MONGO_KIND === 'ferretdb';
}

/**
 * Restarts the FerretDB stand-in on the same port and data dir, and returns once it answers again.
 * `hard: true` kills it (a crash, ~0.5 s) instead of a graceful stop (which waits ~4 s for clients).
 * Every test file talking to that server sees the outage, so a test that calls this must gate on
 * canRestartMongo() and the others must not depend on an uninterrupted connection.
 */
export async function restartMongoStandIn(options: { hard?: boolean } = {}): Promise<void> {
  const { mongoUri, mongoKind } = testEnv();
  if (!canRestartMongo()) {
    throw new Error(
      `restartMongoStandIn() needs the FerretDB stand-in started by scripts/services-up.sh, but CHAT3_MONGO_KIND is ` +
        `'${mongoKind}'; gate the test on canRestartMongo()`,
    );
  }
  const args = [join(repoRoot, 'scripts/ferretdb.sh'), 'restart', ...(options.hard ? ['--hard'] : [])];
  await promisify(execFile)('bash', args, {
    cwd: repoRoot,
    env: process.env,
    timeout: 120_000,
  });
  const client = new MongoClient(mongoUri, { serverSelectionTimeoutMS: 2_000 });
  try {
    await waitFor(async () => (await client.db('admin').command({ ping: 1 })).ok === 1, {
      timeoutMs: 30_000,
      message: 'the restarted FerretDB answers ping',
    });
  } finally {
    await client.close();
  }
}
