/**
 * A FerretDB of a test's own (SQLite storage, its own port and data dir), for fault tests that
 * restart or kill the database: the shared server stays up for the test files running in parallel.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MongoClient } from 'mongodb';
import { repoRoot } from './env';
import { waitFor } from './wait';

export interface PrivateStandIn {
  uri: string;
  /** Kills (hard) or stops the server and starts it again on the same port and data. */
  restart(options?: { hard?: boolean; downMs?: number }): Promise<void>;
  stop(): Promise<void>;
}

/** The cached FerretDB binary (built by scripts/ferretdb.sh on first use), or null when it cannot be built. */
export async function ferretdbBinary(): Promise<string | null> {
  try {
    const { stdout } = await promisify(execFile)('bash', [join(repoRoot, 'scripts/ferretdb.sh'), 'path'], { timeout: 600_000 });
    return stdout.trim().split('\n').at(-1) ?? null;
  } catch {
    return null;
  }
}

export async function startPrivateStandIn(): Promise<PrivateStandIn> {
  const binary = await ferretdbBinary();
  if (!binary) throw new Error('no FerretDB binary: scripts/ferretdb.sh path failed (is Go installed?)');
  const dir = await mkdtemp(join(tmpdir(), 'chat3-ferretdb-'));
  const port = await freePort();
  const uri = `mongodb://127.0.0.1:${port}/`;
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    child = spawn(
      binary!,
      [
        '--handler=sqlite',
        `--sqlite-url=file:${dir}/`,
        `--listen-addr=127.0.0.1:${port}`,
        `--state-dir=${dir}`,
        '--telemetry=disable',
        '--debug-addr=-',
        '--log-level=error',
      ],
      { stdio: 'ignore' },
    );
    const client = new MongoClient(uri, { serverSelectionTimeoutMS: 1_000 });
    try {
      await waitFor(
        async () =>
          (
            await client
              .db('admin')
              .command({ ping: 1 })
              .catch(() => ({ ok: 0 }))
          ).ok === 1,
        {
          timeoutMs: 30_000,
          message: `private FerretDB on port ${port} answers`,
        },
      );
    } finally {
      await client.close();
    }
  }

  async function halt(signal: NodeJS.Signals): Promise<void> {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const gone = new Promise((resolve) => c.once('exit', resolve));
    c.kill(signal);
    await gone;
  }

  await start();
  return {
    uri,
    async restart({ hard = true, downMs = 0 } = {}) {
      await halt(hard ? 'SIGKILL' : 'SIGTERM');
      if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
      await start();
    },
    async stop() {
      await halt('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
