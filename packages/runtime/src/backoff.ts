/** Exponential backoff with full jitter, and a sleep that an AbortSignal can cut short. */

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

export function backoffDelay(attempt: number, { baseMs, maxMs }: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}

/**
 * Runs `attempt` until it succeeds, waiting with backoff after each retryable failure (start-up steps:
 * the database or broker may still be coming up). A non-retryable failure is thrown at once.
 */
export async function retrying<T>(
  attempt: () => Promise<T>,
  options: { isRetryable: (err: unknown) => boolean; onRetry: (err: unknown, delayMs: number) => void; signal?: AbortSignal },
): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (!options.isRetryable(err) || options.signal?.aborted) throw err;
      const delay = backoffDelay(n, { baseMs: 200, maxMs: 10_000 });
      options.onRetry(err, delay);
      await sleep(delay, options.signal);
    }
  }
}
