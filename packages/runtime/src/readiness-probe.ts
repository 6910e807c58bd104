/**
 * MongoDB's part of every process's readiness (runService starts it): a loop pings MongoDB every
 * `intervalMs` and reports on itself (last success, last error); /readyz reads that report and is never
 * ready by default. States: starting (no ping answered yet) → up | down, moving on every ping; stopped
 * after stop(). A ping that fails or takes longer than the interval marks it down until one answers
 * again.
 */
import { redactUrl } from './logger';
import type { HealthReport } from './ops-server';

export type ProbeState = 'starting' | 'up' | 'down' | 'stopped';

export interface ReadinessProbe {
  start(): void;
  stop(): Promise<void>;
  report(): HealthReport;
  readonly state: ProbeState;
}

export interface ReadinessProbeOptions {
  ping: () => Promise<void>;
  intervalMs: number;
  onChange?: (state: ProbeState, err?: unknown) => void;
  now?: () => number;
}

export function createReadinessProbe(options: ReadinessProbeOptions): ReadinessProbe {
  const now = options.now ?? Date.now;
  let state: ProbeState = 'starting';
  let lastOkAt: number | null = null;
  let lastError: string | null = null;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const move = (next: ProbeState, err?: unknown) => {
    if (state === 'stopped' || next === state) return;
    state = next;
    options.onChange?.(next, err);
  };

  async function pingOnce(): Promise<void> {
    let deadline: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        options.ping(),
        new Promise((_, reject) => {
          deadline = setTimeout(() => reject(new Error(`no answer within ${options.intervalMs} ms`)), options.intervalMs);
        }),
      ]);
      lastOkAt = now();
      lastError = null;
      move('up');
    } catch (err) {
      lastError = redactUrl(err instanceof Error ? err.message : String(err));
      move('down', err);
    } finally {
      clearTimeout(deadline);
    }
  }

  function schedule(delayMs: number) {
    timer = setTimeout(() => {
      running = pingOnce().finally(() => {
        if (state !== 'stopped') schedule(options.intervalMs);
      });
    }, delayMs);
  }

  return {
    get state() {
      return state;
    },
    start() {
      if (timer || state === 'stopped') return;
      schedule(0);
    },
    async stop() {
      state = 'stopped';
      clearTimeout(timer);
      await running;
    },
    report() {
      const checks: HealthReport['checks'] = { mongodb: state };
      if (lastOkAt !== null) checks.mongodbLastOkAt = new Date(lastOkAt).toISOString();
      if (lastError !== null) checks.mongodbError = lastError;
      return { ok: state === 'up', checks };
    },
  };
}
