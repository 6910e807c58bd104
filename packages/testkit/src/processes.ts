/**
 * Services under test as real child processes: `node --import tsx <entry>` from the repo root, with
 * their pino output captured line by line. States: running → exited. Every child is tracked and
 * SIGKILLed when the test process exits, so a failing test never leaks a builder or relay.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { repoRoot } from './env';

export interface LogLine {
  stream: 'stdout' | 'stderr';
  line: string;
  /** The parsed JSON object when the line is one (pino logs are). */
  entry?: Record<string, unknown>;
}

export type LogMatch = RegExp | ((entry: Record<string, unknown>) => boolean);

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  /** Raw output lines, stdout and stderr interleaved in arrival order. */
  logs(): string[];
  /** The lines that parsed as JSON objects. */
  entries(): Record<string, unknown>[];
  /** The last `count` lines, for error messages. */
  tail(count?: number): string;
  /** Resolves with the first line (seen or future) that matches; a RegExp tests the raw line, a function the parsed entry. */
  waitForLog(match: LogMatch, timeoutMs: number): Promise<LogLine>;
  kill(signal?: NodeJS.Signals): void;
  exited: Promise<ExitStatus>;
  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves once the process is gone. Safe to call twice. */
  stop(timeoutMs?: number): Promise<void>;
}

export interface SpawnServiceOptions {
  name: string;
  /** Repo-relative path of the TypeScript entry, e.g. packages/builder/src/main.ts. */
  entry: string;
  env: Record<string, string>;
  /**
   * The command to run instead of `node --import tsx <entry>`, as documented for operators, e.g.
   * `['node', 'packages/relay/dist/main.js']` or `['pnpm', '-s', 'relay']`.
   */
  command?: [string, ...string[]];
  /** Start it as the leader of a process group of its own (pgid = pid), so a test can find what it left. */
  processGroup?: boolean;
}

const MAX_LINES = 100_000;
const live = new Set<ChildProcess>();
/** Children started with `processGroup`: the exit hook kills their whole group. */
const groupLeaders = new WeakSet<ChildProcess>();
let exitHookInstalled = false;

export function spawnService(opts: SpawnServiceOptions): ManagedProcess {
  if (!existsSync(join(repoRoot, 'node_modules/tsx'))) {
    throw new Error('tsx is not installed at the repo root; run `bash scripts/setup.sh`');
  }
  installExitHook();
  // The service should run as in production, not believe it is inside a vitest worker.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST')));
  // --import tsx resolves from the cwd, which is the repo root and so finds its node_modules/tsx.
  const [file, ...args] = opts.command ?? [process.execPath, '--import', 'tsx', opts.entry];
  const child = spawn(file, args, {
    cwd: repoRoot,
    detached: opts.processGroup ?? false,
    env: { ...inherited, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not spawn ${opts.name} (${opts.entry})`);
  live.add(child);
  if (opts.processGroup) groupLeaders.add(child);

  const lines: LogLine[] = [];
  const waiters = new Set<(line: LogLine) => void>();
  const onLine = (stream: LogLine['stream']) => (line: string) => {
    const logLine: LogLine = { stream, line };
    if (line.startsWith('{')) {
      try {
        const parsed: unknown = JSON.parse(line);
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) logLine.entry = parsed as Record<string, unknown>;
      } catch {
        // Not JSON after all; the raw line is kept.
      }
    }
    lines.push(logLine);
    if (lines.length > MAX_LINES) lines.shift();
    for (const waiter of waiters) waiter(logLine);
  };
  createInterface({ input: child.stdout! }).on('line', onLine('stdout'));
  createInterface({ input: child.stderr! }).on('line', onLine('stderr'));

  let status: ExitStatus | undefined;
  const exited = new Promise<ExitStatus>((resolve) => {
    const finish = (s: ExitStatus) => {
      if (status) return;
      status = s;
      live.delete(child);
      resolve(s);
    };
    // 'close' (not 'exit') so every output line has been read before `exited` resolves.
    child.once('close', (code, signal) => finish({ code, signal }));
    child.once('error', (err) => {
      onLine('stderr')(`[testkit] ${opts.name}: ${err.message}`);
      finish({ code: null, signal: null });
    });
  });

  const tail = (count = 40) =>
    lines
      .slice(-count)
      .map((l) => l.line)
      .join('\n');
  const matches = (match: LogMatch, line: LogLine) =>
    match instanceof RegExp ? match.test(line.line) : line.entry !== undefined && match(line.entry);

  function waitForLog(match: LogMatch, timeoutMs: number): Promise<LogLine> {
    const seen = lines.find((line) => matches(match, line));
    if (seen) return Promise.resolve(seen);
    return new Promise<LogLine>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        waiters.delete(waiter);
      };
      const waiter = (line: LogLine) => {
        if (!matches(match, line)) return;
        done();
        resolve(line);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${opts.name}: no log line matching ${String(match)} within ${timeoutMs} ms; last lines:\n${tail()}`));
      }, timeoutMs);
      waiters.add(waiter);
      void exited.then((s) => {
        if (!waiters.has(waiter)) return;
        done();
        reject(
          new Error(`${opts.name} exited (code ${s.code}, signal ${s.signal}) before logging ${String(match)}; last lines:\n${tail()}`),
        );
      });
    });
  }

  function kill(signal: NodeJS.Signals = 'SIGTERM') {
    if (!status) child.kill(signal);
  }

  let stopping: Promise<void> | undefined;
  function stop(timeoutMs = 10_000): Promise<void> {
    stopping ??= (async () => {
      if (status) return;
      kill('SIGTERM');
      const timer = setTimeout(() => kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    })();
    return stopping;
  }

  return {
    name: opts.name,
    pid: child.pid,
    logs: () => lines.map((l) => l.line),
    entries: () => lines.flatMap((l) => (l.entry ? [l.entry] : [])),
    tail,
    waitForLog,
    kill,
    exited,
    stop,
  };
}

/** Stops every service this process spawned and that still runs; for afterAll hooks. */
export async function stopAllServices(timeoutMs = 10_000): Promise<void> {
  await Promise.all(
    [...live].map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once('close', () => resolve());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), timeoutMs).unref();
        }),
    ),
  );
}

function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: a SIGKILL is the only thing left to do.
  process.once('exit', () => {
    for (const child of live) {
      if (groupLeaders.has(child) && child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // The group is gone already.
        }
      } else child.kill('SIGKILL');
    }
  });
}
