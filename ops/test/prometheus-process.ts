/**
 * A real Prometheus for a test: its own temporary directory (config, rules, TSDB) and a free port on
 * 127.0.0.1. States: starting → ready → stopped. stop() sends SIGTERM, SIGKILL after a deadline, and
 * removes the directory; a test process that exits any other way SIGKILLs it, so no Prometheus outlives
 * its test. Prometheus starts no processes of its own, so its pid is all there is to stop. It stays in
 * the test's process group (not detached), so a Ctrl-C in the terminal reaches it too.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { waitFor } from '@chat3/testkit';
import { stringify } from 'yaml';
import { prometheusTool, promtool } from './kit';

export interface PrometheusProcess {
  readonly url: string;
  readonly dir: string;
  /** An instant query; the API's `data.result`. */
  query(promql: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  /** The active (pending or firing) alerts. */
  alerts(): Promise<Array<{ labels: Record<string, string>; state: 'pending' | 'firing'; value: string; activeAt: string }>>;
  targets(): Promise<Array<{ labels: Record<string, string>; health: string; lastError: string }>>;
  tail(lines?: number): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Writes `config` (prometheus.yml) and `files` (e.g. the rules) to a temporary directory, checks them, and starts Prometheus on them. */
export async function startPrometheus(config: unknown, files: Record<string, unknown>): Promise<PrometheusProcess> {
  const binary = prometheusTool('prometheus');
  const dir = mkdtempSync(join(tmpdir(), 'chat3-prometheus-'));
  const configPath = join(dir, 'prometheus.yml');
  writeFileSync(configPath, stringify(config));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), stringify(content));
  const check = promtool('check', 'config', configPath);
  if (check.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`promtool check config failed for the generated configuration:\n${check.output}`);
  }

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    binary,
    [
      `--config.file=${configPath}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h',
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not spawn ${binary}`);
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('close', () => ((exited = true), resolve())));
  const kill = (signal: NodeJS.Signals) => {
    if (exited) return;
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  };
  const killNow = () => kill('SIGKILL');
  process.once('exit', killNow);
  const lines: string[] = [];
  for (const stream of [child.stdout!, child.stderr!]) createInterface({ input: stream }).on('line', (l) => lines.push(l));
  const tail = (count = 30) => lines.slice(-count).join('\n');

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (!exited) {
        kill('SIGTERM');
        const timer = setTimeout(killNow, 15_000);
        await exit;
        clearTimeout(timer);
      }
      process.removeListener('exit', killNow);
      rmSync(dir, { recursive: true, force: true });
    })());

  async function api<T>(path: string): Promise<T> {
    const res = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`${path}: ${body.error ?? res.status}`);
    return body.data;
  }

  try {
    await waitFor(
      async () => {
        if (exited) throw new Error(`prometheus exited:\n${tail()}`);
        return (await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2_000) })).ok;
      },
      { timeoutMs: 60_000, intervalMs: 200, message: 'prometheus ready' },
    );
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\nprometheus log:\n${tail()}`);
  }

  return {
    url,
    dir,
    query: async (promql) => (await api<{ result: never[] }>(`/api/v1/query?query=${encodeURIComponent(promql)}`)).result,
    alerts: async () => (await api<{ alerts: never[] }>('/api/v1/alerts')).alerts,
    targets: async () => (await api<{ activeTargets: never[] }>('/api/v1/targets?state=active')).activeTargets,
    tail,
    stop,
  };
}
