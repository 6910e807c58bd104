// Usage: node mongo-rs-initiate.mjs <host:port> <replSetName>
// Initiates a single-node replica set unless it already is one, then waits until the node is primary,
// so the caller can hand out a `?replicaSet=` URI that works at once.
import { MongoClient } from 'mongodb';

const [host, setName = 'rs0'] = process.argv.slice(2);
if (!host) {
  console.error('usage: mongo-rs-initiate.mjs <host:port> [replSetName]');
  process.exit(2);
}
const client = new MongoClient(`mongodb://${host}/?directConnection=true`, { serverSelectionTimeoutMS: 10_000 });
const admin = client.db('admin');
try {
  try {
    await admin.command({ replSetGetStatus: 1 });
    console.error(`replica set ${setName} already initiated`);
  } catch (err) {
    // 94 NotYetInitialized: a fresh data dir. Anything else is a real problem.
    if (err?.code !== 94) throw err;
    console.error(`initiating replica set ${setName} on ${host}`);
    await admin.command({ replSetInitiate: { _id: setName, members: [{ _id: 0, host }] } });
  }
  const deadline = Date.now() + 60_000;
  for (;;) {
    const hello = await admin.command({ hello: 1 });
    if (hello.isWritablePrimary) break;
    if (Date.now() > deadline) throw new Error('node did not become primary within 60 s');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await client.close();
} catch (err) {
  console.error(`replica set initiation failed: ${err?.message ?? err}`);
  await client.close().catch(() => {});
  process.exit(1);
}
