/**
 * Signal handling policy for both processes: the first SIGTERM/SIGINT starts a graceful stop bounded
 * by a timeout; a second signal, or the timeout, forces exit. main.ts wires it to `process`.
 */
import type { Logger } from './logger';

export interface ShutdownOptions {
  logger: Logger;
  timeoutMs: number;
  stop: () => Promise<void>;
  exit: (code: number) => void;
}

export function createShutdown(options: ShutdownOptions): (signal: string) => void {
  let started = false;
  return (signal) => {
    const { logger } = options;
    if (started) {
      logger.warn({ signal }, 'second signal: forcing exit');
      options.exit(130);
      return;
    }
    started = true;
    logger.info({ signal, timeoutMs: options.timeoutMs }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs: options.timeoutMs }, 'graceful shutdown timed out: forcing exit');
      options.exit(1);
    }, options.timeoutMs);
    timer.unref();
    options.stop().then(
      () => {
        clearTimeout(timer);
        logger.info('stopped');
        options.exit(0);
      },
      (err: unknown) => {
        clearTimeout(timer);
        logger.error({ err }, 'error during shutdown');
        options.exit(1);
      },
    );
  };
}
