/**
 * What the Mongo server under test can do, found by trying each feature on a scratch database (dropped
 * afterwards), because FerretDB and old or standalone mongods accept some commands and quietly do
 * nothing. The global setup probes once and hands the result to the workers through
 * CHAT3_CAPABILITIES; without it, the first call in a process probes and caches.
 */
import { MongoClient, type Db } from 'mongodb';
import { testEnv } from './env';
import { testDatabaseName } from './names';

export interface Capabilities {
  server: 'mongodb' | 'ferretdb';
  version: string;
  changeStreams: boolean;
  transactions: boolean;
  partialIndexes: boolean;
  ttlIndexes: boolean;
}

let cached: Promise<Capabilities> | undefined;

export function capabilities(): Promise<Capabilities> {
  cached ??= loadCapabilities();
  return cached;
}

async function loadCapabilities(): Promise<Capabilities> {
  const { mongoUri } = testEnv();
  const handedDown = process.env.CHAT3_CAPABILITIES;
  if (handedDown) {
    const parsed = JSON.parse(handedDown) as Capabilities & { uri: string };
    if (parsed.uri === mongoUri) {
      const { uri: _uri, ...caps } = parsed;
      return caps;
    }
  }
  return probeCapabilities(mongoUri);
}

export async function probeCapabilities(uri: string): Promise<Capabilities> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000 });
  await client.connect();
  const db = client.db(testDatabaseName('caps'));
  try {
    const info = await client.db('admin').command({ buildInfo: 1 });
    // FerretDB adds ferretdbVersion / ferretdbFeatures to an otherwise MongoDB-looking buildInfo.
    const ferretdb = Object.keys(info).some((key) => key.toLowerCase().startsWith('ferretdb'));
    return {
      server: ferretdb ? 'ferretdb' : 'mongodb',
      version: String(ferretdb ? (info.ferretdbVersion ?? info.version) : info.version),
      changeStreams: await probeChangeStreams(db),
      transactions: await probeTransactions(client, db),
      partialIndexes: await probePartialIndexes(db),
      ttlIndexes: await probeTtlIndexes(db),
    };
  } finally {
    await db.dropDatabase().catch(() => {});
    await client.close();
  }
}

async function probeChangeStreams(db: Db): Promise<boolean> {
  await db.createCollection('change_stream_probe').catch(() => {});
  // FerretDB answers $changeStream with 238 NotImplemented; a standalone mongod with 40573.
  const stream = db.collection('change_stream_probe').watch([], { maxAwaitTimeMS: 100 });
  try {
    await stream.tryNext();
    return true;
  } catch {
    return false;
  } finally {
    await stream.close().catch(() => {});
  }
}

/** A write inside an aborted transaction must vanish; a server that ignores the session keeps it. */
async function probeTransactions(client: MongoClient, db: Db): Promise<boolean> {
  const collection = db.collection<{ _id: string }>('transaction_probe');
  await collection.insertOne({ _id: 'outside' });
  const session = client.startSession();
  try {
    session.startTransaction();
    await collection.insertOne({ _id: 'inside' }, { session });
    await session.abortTransaction();
    return (await collection.findOne({ _id: 'inside' })) === null;
  } catch {
    return false;
  } finally {
    await session.endSession().catch(() => {});
  }
}

/** Accepted is not enough: the index must come back with its filter. */
async function probePartialIndexes(db: Db): Promise<boolean> {
  const collection = db.collection('partial_index_probe');
  try {
    await collection.createIndex({ a: 1 }, { name: 'partial_probe', partialFilterExpression: { a: { $exists: true } } });
    const indexes = await collection.listIndexes().toArray();
    return indexes.some((index) => index.name === 'partial_probe' && index.partialFilterExpression !== undefined);
  } catch {
    return false;
  }
}

/** FerretDB answers a TTL index with 238; a server that took the option must also report it back. */
async function probeTtlIndexes(db: Db): Promise<boolean> {
  const collection = db.collection('ttl_index_probe');
  try {
    await collection.createIndex({ at: 1 }, { name: 'ttl_probe', expireAfterSeconds: 3_600 });
    const indexes = await collection.listIndexes().toArray();
    return indexes.some((index) => index.name === 'ttl_probe' && index.expireAfterSeconds === 3_600);
  } catch {
    return false;
  }
}
