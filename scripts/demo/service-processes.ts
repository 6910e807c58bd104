/**
 * The demo's services as real child processes: `node --import tsx <entry>` (or with `compiled`, the
 * build's `node packages/<service>/dist/main.js`) from the repo root, output
 * to a log file (never the terminal), in their own process group so a Ctrl-C in the terminal reaches
 * only the demo, which then stops them in order. States: starting → listening (port read from the
 * `ops server listening` log line) → ready (/readyz 200) → stopped. Anything still running when the
 * demo exits is killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** `packages/relay/src/main.ts` → `packages/relay/dist/main.js`, which must have been built. */
function compiledEntry(cwd: string, entry: string): string {
  const compiled = entry.replace(/\/src\/main\.ts$/, '/dist/main.js');
  if (compiled === entry || !existsSync(join(cwd, compiled))) throw new Error(`${compiled} is missing: run \`pnpm build\` first`);
  return compiled;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServiceProcess {
  name: string;
  pid: number;
  logFile: string;
  command: string;
  port: number;
  alive(): boolean;
  exited: Promise<ExitStatus>;
  /** SIGTERM, then SIGKILL after `timeoutMs`; safe to call twice. */
  stop(timeoutMs: number): Promise<ExitStatus & { forced: boolean }>;
  tail(lines?: number): string;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export async function startService(options: {
  name: string;
  entry: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  /** Run the build's `dist/main.js` of the entry's package (`pnpm build` first) instead of tsx. */
  compiled?: boolean;
  timeoutMs: number;
  signal?: AbortSignal;
}): Promise<ServiceProcess> {
  const args = options.compiled ? [compiledEntry(options.cwd, options.entry)] : ['--import', 'tsx', options.entry];
  const fd = openSync(options.logFile, 'a');
  const child = spawn(process.execPath, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', fd, fd],
    detached: true,
  });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${options.name}`);
  live.add(child);
  let status: ExitStatus | undefined;
  const exited = new Promise<ExitStatus>((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      status = { code, signal };
      resolve(status);
    }),
  );
  const tail = (lines = 15) => {
    try {
      return readFileSync(options.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  };
  let stopping: Promise<ExitStatus & { forced: boolean }> | undefined;
  const stop = (timeoutMs: number) =>
    (stopping ??= (async () => {
      if (status) return { ...status, forced: false };
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
      const first = await Promise.race([exited, timedOut]);
      clearTimeout(timer);
      if (first !== 'timeout') return { ...first, forced: false };
      child.kill('SIGKILL');
      return { ...(await exited), forced: true };
    })());

  const service: ServiceProcess = {
    name: options.name,
    pid: child.pid,
    logFile: options.logFile,
    command: `node ${args.join(' ')}`,
    port: 0,
    alive: () => status === undefined,
    exited,
    stop,
    tail,
  };
  try {
    service.port = await waitForPort(options.logFile, () => status, options.timeoutMs, options.signal);
    await waitForReady(service.port, () => status, options.timeoutMs, options.signal);
  } catch (err) {
    await stop(5_000);
    throw new Error(`${options.name} did not start: ${(err as Error).message}\n--- last lines of ${options.logFile} ---\n${tail()}`);
  }
  return service;
}

async function waitForPort(
  logFile: string,
  exited: () => ExitStatus | undefined,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = readFileSync(logFile, 'utf8');
    for (const line of text.split('\n')) {
      if (!line.includes('ops server listening')) continue;
      try {
        const port = (JSON.parse(line) as { port?: unknown }).port;
        if (typeof port === 'number' && port > 0) return port;
      } catch {
        // not a JSON line
      }
    }
    const st = exited();
    if (st) throw new Error(`exited (code ${st.code}, signal ${st.signal}) before listening`);
    if (signal?.aborted) throw new Error('interrupted');
    if (Date.now() > deadline) throw new Error(`no 'ops server listening' log line within ${timeoutMs} ms`);
    await sleep(100);
  }
}

async function waitForReady(port: number, exited: () => ExitStatus | undefined, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2_000) });
      last = `${res.status} ${(await res.text()).trim()}`;
      if (res.ok) return;
    } catch (err) {
      last = (err as Error).message;
    }
    const st = exited();
    if (st) throw new Error(`exited (code ${st.code}, signal ${st.signal}) before ready`);
    if (signal?.aborted) throw new Error('interrupted');
    if (Date.now() > deadline) throw new Error(`/readyz not 200 within ${timeoutMs} ms (last: ${last})`);
    await sleep(200);
  }
}

/** Prometheus text → metric name → value summed over every label set. */
export async function scrapeMetrics(port: number): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(3_000) });
  if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
  const totals = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const value = Number(m[2]);
    if (Number.isFinite(value)) totals.set(m[1] as string, (totals.get(m[1] as string) ?? 0) + value);
  }
  return totals;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
