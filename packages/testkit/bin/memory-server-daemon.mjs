// Usage: node memory-server-daemon.mjs <port> <uriFile> <errorFile>
// A long-lived holder for a mongodb-memory-server single-node replica set, started detached by
// scripts/services-up.sh. States: starting → ready (URI written to uriFile) → stopped on SIGTERM/SIGINT.
// If the server cannot start (usually: the mongod download fails), the reason goes to errorFile and
// the process exits 1, so services-up can record the failure and fall back without waiting.
import { writeFileSync, renameSync, rmSync } from 'node:fs';
import { MongoMemoryReplSet } from 'mongodb-memory-server';

const [portArg, uriFile, errorFile] = process.argv.slice(2);
if (!portArg || !uriFile || !errorFile) {
  console.error('usage: memory-server-daemon.mjs <port> <uriFile> <errorFile>');
  process.exit(2);
}
rmSync(uriFile, { force: true });
rmSync(errorFile, { force: true });

let replSet;
try {
  replSet = await MongoMemoryReplSet.create({
    replSet: { name: 'rs0', count: 1 },
    instanceOpts: [{ port: Number(portArg), ip: '127.0.0.1' }],
  });
} catch (err) {
  writeFileSync(errorFile, String(err?.stack ?? err));
  console.error(`memory server failed to start: ${err?.message ?? err}`);
  process.exit(1);
}
// Write-then-rename so a reader never sees a half-written URI.
writeFileSync(`${uriFile}.tmp`, replSet.getUri());
renameSync(`${uriFile}.tmp`, uriFile);
console.error(`memory server ready at ${replSet.getUri()}`);

// The mongod children keep the event loop busy today; this makes staying alive not depend on that.
const keepAlive = setInterval(() => {}, 1 << 30);

let stopping = false;
async function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  console.error(`received ${signal}; stopping memory server`);
  rmSync(uriFile, { force: true });
  clearInterval(keepAlive);
  await replSet.stop({ doCleanup: true, force: false }).catch((err) => console.error(err));
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
