/**
 * One AMQP channel that outlives its connections, after amqp-connection-manager's ChannelWrapper.
 *
 * States: detached (no connection yet) → opening → open → (closed by the broker → opening …) →
 * stopped. `attach(model)` is called from the connection's `onConnect` after every (re)connect: it opens
 * a channel and runs `setup` (topology, prefetch, consumers) on it. When the open channel closes while
 * its connection lives on (a 404 or 406 channel exception), it is reopened on the same connection after
 * a backoff. Events of a channel that is no longer the current one are ignored, so a late `'close'` of
 * an old channel can never tear down its successor. `stop()` closes the channel for good.
 *
 * `generation` counts the channels opened so far: anything published on an older generation has an
 * unknown outcome unless it was confirmed before that channel closed.
 */
import { backoffDelay } from '../backoff';
import { errorMessage, isRetryable } from '../errors';
import type { Logger } from '../logger';
import type { AmqpChannel, AmqpModel } from './ports';

export interface ChannelCloseInfo {
  /** The AMQP reply code when the broker closed the channel (404, 406, …); undefined for a connection loss. */
  code?: number;
  message: string;
}

export interface ManagedChannelOptions<C extends AmqpChannel> {
  name: string;
  logger: Logger;
  open: (model: AmqpModel) => Promise<C>;
  /** Runs on every new channel before it becomes current. */
  setup?: (channel: C) => Promise<void>;
  /** The current channel closed (already not current when this runs). */
  onClose?: (channel: C, info: ChannelCloseInfo) => void;
  /** A set-up failure that reopening cannot fix. */
  onFatal?: (err: Error) => void;
}

export interface ManagedChannel<C extends AmqpChannel> {
  attach(model: AmqpModel): Promise<void>;
  readonly current: C | undefined;
  readonly generation: number;
  /** Resolves when a channel is open, or when the channel is stopped. */
  whenOpen(): Promise<void>;
  stop(): Promise<void>;
}

export function createManagedChannel<C extends AmqpChannel>(options: ManagedChannelOptions<C>): ManagedChannel<C> {
  const { logger } = options;
  let model: AmqpModel | undefined;
  let current: C | undefined;
  let generation = 0;
  let stopped = false;
  let failures = 0;
  let waiters: Array<() => void> = [];

  function wakeWaiters(): void {
    const woken = waiters;
    waiters = [];
    for (const wake of woken) wake();
  }

  async function open(on: AmqpModel): Promise<void> {
    if (stopped || on !== model) return;
    const ch = await options.open(on);
    let closeError: ChannelCloseInfo | undefined;
    ch.on('error', (err: Error & { code?: number }) => {
      closeError = { code: typeof err.code === 'number' ? err.code : undefined, message: err.message };
      logger.warn({ channel: options.name, code: closeError.code, err: err.message }, 'channel error');
    });
    ch.on('close', () => {
      if (current !== ch) return;
      current = undefined;
      options.onClose?.(ch, closeError ?? { message: 'channel closed' });
      if (!stopped && on === model) reopenLater(on);
    });
    try {
      await options.setup?.(ch);
    } catch (err) {
      await ch.close().catch(() => undefined);
      throw err;
    }
    if (stopped || on !== model) {
      await ch.close().catch(() => undefined);
      return;
    }
    current = ch;
    generation += 1;
    failures = 0;
    wakeWaiters();
  }

  function reopenLater(on: AmqpModel): void {
    const delay = backoffDelay(failures++, { baseMs: 100, maxMs: 5_000 });
    logger.info({ channel: options.name, delayMs: delay }, 'reopening channel');
    setTimeout(() => {
      open(on).catch((err: unknown) => {
        if (stopped || on !== model) return;
        // The connection itself is gone: the next `attach` (after recovery reconnects) reopens the channel.
        if ((err as Error).name === 'IllegalOperationError') return;
        if (!isRetryable(err)) return options.onFatal?.(err as Error);
        logger.warn({ channel: options.name, err: errorMessage(err) }, 'reopening channel failed');
        reopenLater(on);
      });
    }, delay);
  }

  return {
    async attach(next) {
      model = next;
      current = undefined;
      await open(next);
    },
    get current() {
      return current;
    },
    get generation() {
      return generation;
    },
    whenOpen() {
      if (current || stopped) return Promise.resolve();
      return new Promise((resolve) => waiters.push(resolve));
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      const ch = current;
      current = undefined;
      wakeWaiters();
      await ch?.close().catch(() => undefined);
    },
  };
}
