// Usage: node mongo-ping.mjs <uri> [waitMs]
// Exits 0 once the server answers `ping`; keeps trying until waitMs passes (0 = one quick try).
// Used by the service scripts, which cannot speak the wire protocol from bash.
import { MongoClient } from 'mongodb';

const [uri, waitArg = '0'] = process.argv.slice(2);
if (!uri) {
  console.error('usage: mongo-ping.mjs <uri> [waitMs]');
  process.exit(2);
}
const deadline = Date.now() + Number(waitArg);
let lastError;
do {
  // directConnection: a replica set that is not initiated yet still answers ping.
  // socketTimeoutMS: a server that accepts connections but never answers (a hung FerretDB) must fail too.
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 1_500, connectTimeoutMS: 1_500, socketTimeoutMS: 3_000, directConnection: true });
  try {
    await client.db('admin').command({ ping: 1 });
    await client.close();
    process.exit(0);
  } catch (err) {
    lastError = err;
    await client.close().catch(() => {});
  }
  if (Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
} while (Date.now() < deadline);
console.error(`mongo ping failed: ${lastError?.message ?? lastError}`);
process.exit(1);
