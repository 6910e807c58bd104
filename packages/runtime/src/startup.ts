/** Start-up steps that wait out a database or broker that is not there yet, with a log line per retry. */
import { retrying } from './backoff';
import { errorMessage, isRetryable } from './errors';
import type { Logger } from './logger';

export function retryingStartup<T>(what: string, logger: Logger, attempt: () => Promise<T>): Promise<T> {
  return retrying(attempt, {
    isRetryable,
    onRetry: (err, delayMs) => logger.warn({ step: what, err: errorMessage(err), delayMs }, 'start-up step failed; retrying'),
  });
}
