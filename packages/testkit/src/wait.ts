/** Polling with a deadline: the tests' only way to wait (no sleeps). */
import { setTimeout as delay } from 'node:timers/promises';
import { inspect } from 'node:util';

export interface WaitForOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** What is being waited for; leads the error message on timeout. */
  message: string;
}

const pending = Symbol('pending');

/**
 * Calls `fn` until it returns a truthy value and returns that value. Errors thrown by `fn` count as
 * "not yet". On timeout, throws with the message, the last value and the last error. One call that
 * hangs (a query during a server restart) cannot stretch the deadline: it is raced against it.
 */
export async function waitFor<T>(fn: () => T | Promise<T>, opts: WaitForOptions): Promise<NonNullable<T>> {
  const started = Date.now();
  const deadline = started + opts.timeoutMs;
  const intervalMs = opts.intervalMs ?? 50;
  let attempts = 0;
  let lastValue: unknown = undefined;
  let lastError: unknown = undefined;
  for (;;) {
    attempts += 1;
    const remaining = Math.max(0, deadline - Date.now());
    const timer = new AbortController();
    try {
      const value = await Promise.race([Promise.resolve().then(fn), delay(remaining, pending, { signal: timer.signal })]);
      if (value === pending) {
        lastError = new Error(`the last call was still running at the deadline`);
      } else if (value) {
        return value as NonNullable<T>;
      } else {
        lastValue = value;
        lastError = undefined;
      }
    } catch (err) {
      lastError = err;
    } finally {
      timer.abort();
    }
    if (Date.now() >= deadline) break;
    await delay(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
  const show = (v: unknown) => inspect(v, { depth: 4, breakLength: Infinity, maxArrayLength: 20, maxStringLength: 500 });
  const errorText = lastError instanceof Error ? `${lastError.name}: ${lastError.message}` : show(lastError);
  throw new Error(
    `waitFor timed out after ${Date.now() - started} ms: ${opts.message} ` +
      `(${attempts} attempts; last value: ${show(lastValue)}; last error: ${lastError === undefined ? 'none' : errorText})`,
    { cause: lastError },
  );
}
