/**
 * What `/healthz` knows: every loop of a process (a poller or tailer, sweeps, batch flushes, lease
 * heartbeats, consumers, samplers) records here when it last made progress and its last error.
 *
 * A loop is **wedged** when it is inside a step (begun, not yet ended) and for `wedgedAfterMs` has
 * neither made progress nor reported an error. That is a hang: an await that never settles (a socket
 * gone silent, a promise nobody resolves), which no retry inside the process will heal, so /healthz
 * answers 503 naming the loop and the supervisor restarts the process. A loop that keeps failing (the
 * database is down) is not wedged: it reports each error and goes on, and that is /readyz's business.
 * An idle loop (a consumer with nothing to consume, a sampler between samples) is not in a step, so it
 * is never wedged.
 *
 * Steps may overlap (a consumer handling several messages): the loop is busy from its first step's
 * start to its last step's end, and one step's progress counts for all of them.
 *
 * Some waits are silent by design: a publish waits, without an error, while RabbitMQ is away or blocks
 * the connection (a resource alarm). A service declares such a dependency (`dependency('rabbitmq')`) and
 * says when it goes and comes back; while one is unavailable no loop is wedged, and silence counts
 * again only from its return. A restart would not bring the broker back, and would re-send everything
 * unconfirmed.
 */
import { errorMessage } from './errors';
import { redactUrl } from './logger';
import type { HealthReport } from './ops-server';

export interface LoopTracker {
  /** Runs one step: busy until it settles. A rejection is recorded as the last error and rethrown. */
  step<T>(work: () => Promise<T>): Promise<T>;
  /** Work done inside a long step (a page of a sweep, a change batch), or by an event-driven loop. */
  progress(): void;
  /** An error the loop handled itself (it retries, or goes on). */
  error(err: unknown): void;
}

export interface Dependency {
  /** Whether the loops can make progress on it now. */
  set(available: boolean): void;
}

export interface LoopHealth {
  /** The tracker of loop `name`, created on first use. */
  loop(name: string): LoopTracker;
  /** A dependency whose outage excuses the loops' silence, available at first. */
  dependency(name: string): Dependency;
  /** Every loop's state; not ok when one is wedged. */
  report(): HealthReport;
}

interface LoopState {
  busy: number;
  busySince: number;
  lastProgressAt: number | null;
  lastErrorAt: number | null;
  lastError: string | null;
}

export function createLoopHealth(options: { wedgedAfterMs: number; now?: () => number }): LoopHealth {
  const now = options.now ?? Date.now;
  const loops = new Map<string, LoopState>();
  const unavailable = new Set<string>();
  /** When the last outage of a dependency ended: silence before it is excused. */
  let excusedUntil = 0;

  function tracker(state: LoopState): LoopTracker {
    const error = (err: unknown) => {
      state.lastErrorAt = now();
      state.lastError = redactUrl(errorMessage(err));
    };
    const progress = () => void (state.lastProgressAt = now());
    return {
      async step(work) {
        if (state.busy++ === 0) state.busySince = now();
        try {
          const result = await work();
          progress();
          return result;
        } catch (err) {
          error(err);
          throw err;
        } finally {
          state.busy--;
        }
      },
      progress,
      error,
    };
  }

  /** How long a busy loop has gone without progress or an error; 0 when it is not in a step. */
  function silentFor(state: LoopState, at: number): number {
    if (state.busy === 0 || unavailable.size > 0) return 0;
    return at - Math.max(state.busySince, state.lastProgressAt ?? 0, state.lastErrorAt ?? 0, excusedUntil);
  }

  return {
    loop(name) {
      let state = loops.get(name);
      if (!state) {
        state = { busy: 0, busySince: 0, lastProgressAt: null, lastErrorAt: null, lastError: null };
        loops.set(name, state);
      }
      return tracker(state);
    },
    dependency(name) {
      return {
        set(available) {
          if (available === !unavailable.has(name)) return;
          if (available) unavailable.delete(name);
          else unavailable.add(name);
          if (available && unavailable.size === 0) excusedUntil = now();
        },
      };
    },
    report() {
      const at = now();
      const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
      const wedged: string[] = [];
      const checks: Record<string, unknown> = {};
      for (const [name, state] of [...loops].sort(([a], [b]) => a.localeCompare(b))) {
        const silent = silentFor(state, at);
        if (silent > options.wedgedAfterMs) wedged.push(name);
        checks[name] = {
          busy: state.busy > 0,
          ...(state.busy > 0 ? { silentMs: silent } : {}),
          lastProgressAt: iso(state.lastProgressAt),
          lastErrorAt: iso(state.lastErrorAt),
          lastError: state.lastError,
        };
      }
      const waitingFor = [...unavailable].sort();
      return { ok: wedged.length === 0, checks: { wedged, waitingFor, wedgedAfterMs: options.wedgedAfterMs, loops: checks } };
    },
  };
}

/** A tracker nobody reports on: for a loop run outside a service (benchmarks, the fault simulation, tests). */
export function detachedLoop(name: string): LoopTracker {
  return createLoopHealth({ wedgedAfterMs: Number.POSITIVE_INFINITY }).loop(name);
}
