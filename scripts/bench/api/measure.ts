/**
 * The API benchmark's measurements: the API as a child process (main.ts, as `pnpm api` runs it), and a
 * round of pages two ways with the same `after`s, request by request in turn: the API's GET over HTTP
 * (one keep-alive connection) and the plain driver find of the same documents in this process.
 */
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { createInterface } from 'node:readline';
import type { Collection, Document } from 'mongodb';
import type { PageRound } from './results';
import { BENCH_TENANT, BENCH_USER } from './workload';

export interface ApiProcess {
  url: string;
  pid: number;
  startMs: number;
  /** SIGTERM to the process group, SIGKILL after 10 s; resolves once it exited. */
  stop(): Promise<void>;
}

/** Starts `node --import tsx packages/api/src/main.ts` in its own process group; resolves once it listens. */
export function startApiProcess(env: Record<string, string>, log: (msg: string) => void): Promise<ApiProcess> {
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'packages/api/src/main.ts'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stopRequested = false;
  const exited = new Promise<void>((resolve) =>
    child.once('close', (code, signal) => {
      if (!stopRequested) log(`the API exited unasked: code ${code}, signal ${signal}`);
      resolve();
    }),
  );
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // Already gone.
    }
  };
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      stopRequested = true;
      killGroup('SIGTERM');
      const timer = setTimeout(() => killGroup('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    })());
  // A bench that dies must not leave the API running.
  process.once('exit', () => killGroup('SIGKILL'));
  createInterface({ input: child.stderr! }).on('line', (line) => log(`api: ${line}`));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error('the API did not log "api listening" within 60 s'));
    }, 60_000);
    timer.unref();
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let entry: { msg?: string; port?: number; level?: number } | undefined;
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        return;
      }
      if ((entry?.level ?? 0) >= 40 || entry?.msg === 'shutting down') log(`api: ${line}`);
      if (entry?.msg === 'api listening') {
        clearTimeout(timer);
        resolve({ url: `http://127.0.0.1:${entry.port}`, pid: child.pid!, startMs: performance.now() - t0, stop });
      }
    });
    void exited.then(() => reject(new Error('the API exited before it listened')));
  });
}

export interface HttpGetter {
  get(path: string): Promise<{ status: number; body: Buffer }>;
  close(): void;
}

/** GETs on one keep-alive connection with a bearer token. */
export function createHttpGetter(baseUrl: string, token: string): HttpGetter {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  return {
    get(path) {
      return new Promise((resolve, reject) => {
        const req = request(`${baseUrl}${path}`, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end();
      });
    },
    close: () => agent.destroy(),
  };
}

/** The `after`s of a round: page starts spread over the recipient's history. */
export function pageStarts(count: number, updates: number, pageSize: number, rnd: () => number): number[] {
  const span = Math.max(0, updates - pageSize);
  return Array.from({ length: count }, () => Math.floor(rnd() * (span + 1)));
}

export interface PageRoundDeps {
  http: HttpGetter;
  updates: Collection<Document>;
  pageSize: number;
  afters: number[];
}

/** The plain find the issue compares against: the same documents, no API around it. */
export function plainFind(updates: Collection<Document>, after: number, pageSize: number) {
  return updates
    .find({ tenantId: BENCH_TENANT, userId: BENCH_USER, seq: { $gt: after } })
    .sort({ seq: 1 })
    .limit(pageSize)
    .toArray();
}

export async function measurePageRound(deps: PageRoundDeps): Promise<PageRound> {
  const { http, updates, pageSize } = deps;
  const path = (after: number) => `/v1/tenants/${BENCH_TENANT}/users/${BENCH_USER}/updates?after=${after}&limit=${pageSize}`;
  const api: number[] = [];
  const find: number[] = [];
  let apiBytes = 0;
  let pagesChecked = true;
  const timeApi = async (after: number) => {
    const t0 = performance.now();
    const res = await http.get(path(after));
    api.push(performance.now() - t0);
    if (res.status !== 200) throw new Error(`the API answered ${res.status}: ${res.body.toString('utf8').slice(0, 200)}`);
    apiBytes = res.body.length;
    const page = JSON.parse(res.body.toString('utf8')) as { updates: Array<{ seq: number }>; nextAfter: number };
    pagesChecked &&= page.updates.length === pageSize && page.updates[0]?.seq === after + 1 && page.nextAfter === after + pageSize;
  };
  const timeFind = async (after: number) => {
    const t0 = performance.now();
    const docs = await plainFind(updates, after, pageSize);
    find.push(performance.now() - t0);
    if (docs.length !== pageSize) throw new Error(`the find returned ${docs.length} documents, expected ${pageSize}`);
  };
  for (const [i, after] of deps.afters.entries()) {
    // Which goes first alternates, so neither always finds the other's pages in the server's cache.
    if (i % 2 === 0) {
      await timeApi(after);
      await timeFind(after);
    } else {
      await timeFind(after);
      await timeApi(after);
    }
  }
  return { api, find, apiBytes, pagesChecked };
}
