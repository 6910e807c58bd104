/**
 * Publishes Updates to `chat3_updates` on a confirm channel, with at most `window` messages awaiting a
 * confirm. Writes happen in call order; `send` resolves when the broker confirms and rejects with a
 * `PublishError` saying why it did not:
 *   - `nack`    the broker refused this message (counted towards parking);
 *   - `closed`  the channel or connection went away (not the message's fault; sent again later);
 *   - `timeout` no confirm in time (the connection is restarted; sent again later);
 *   - `invalid` the client could not encode it (parked).
 * Returned messages (`mandatory`, no queue bound for the recipient) are counted, not failed: the broker
 * still confirms them, and an unsubscribed user is not an error.
 */
import { once } from 'node:events';
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import type { WireMessage } from '@chat3/core';
import { restartConnection, type Logger } from '@chat3/runtime';

export type PublishFailure = 'nack' | 'closed' | 'timeout' | 'invalid';

export class PublishError extends Error {
  constructor(
    readonly kind: PublishFailure,
    message: string,
  ) {
    super(message);
    this.name = 'PublishError';
  }
}

export interface UpdatePublisherOptions {
  exchange: string;
  window: number;
  confirmTimeoutMs: number;
  logger: Logger;
  onReturn: () => void;
}

export function createUpdatePublisher(options: UpdatePublisherOptions) {
  const { logger } = options;
  let channel: ConfirmChannel | undefined;
  let model: ChannelModel | undefined;
  let unconfirmed = 0;
  let slotWaiters: Array<() => void> = [];
  let drained: Promise<unknown> | undefined;
  let stopped = false;

  function freeSlot(): void {
    unconfirmed -= 1;
    slotWaiters.shift()?.();
  }

  return {
    async attach(m: ChannelModel): Promise<void> {
      const ch = await m.createConfirmChannel();
      await ch.assertExchange(options.exchange, 'topic', { durable: true });
      ch.on('return', () => options.onReturn());
      ch.on('error', (err: Error) => logger.warn({ err }, 'publish channel error'));
      ch.on('close', () => {
        if (channel !== ch) return;
        channel = undefined;
        drained = undefined;
        if (!stopped) restartConnection(m, logger, 'publish channel closed');
      });
      channel = ch;
      model = m;
    },

    /** Waits for room in the window and in the socket buffer. Call before each `send`. */
    async ready(): Promise<void> {
      while (drained) await drained;
      while (unconfirmed >= options.window) await new Promise<void>((resolve) => slotWaiters.push(resolve));
    },

    send(message: WireMessage): Promise<number> {
      const ch = channel;
      if (!ch) return Promise.reject(new PublishError('closed', 'no open publish channel (reconnecting)'));
      const started = performance.now();
      unconfirmed += 1;
      return new Promise<number>((resolve, reject) => {
        let settled = false;
        const settle = (err: PublishError | null) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          freeSlot();
          if (err) reject(err);
          else resolve((performance.now() - started) / 1000);
        };
        const timer = setTimeout(() => {
          settle(new PublishError('timeout', `no confirm within ${options.confirmTimeoutMs} ms`));
          if (model && channel === ch) restartConnection(model, logger, 'confirm timed out');
        }, options.confirmTimeoutMs);
        try {
          const written = ch.publish(options.exchange, message.routingKey, message.body, message.options, (err: Error | null) => {
            if (!err) settle(null);
            else if (/nack/i.test(err.message)) settle(new PublishError('nack', 'the broker rejected the message'));
            else settle(new PublishError('closed', err.message));
          });
          if (!written) drained ??= Promise.race([once(ch, 'drain'), once(ch, 'close')]).finally(() => (drained = undefined));
        } catch (err) {
          // amqplib throws IllegalOperationError on a closing channel, RangeError/TypeError on bad input.
          const closed = ch !== channel || (err as Error).name === 'IllegalOperationError';
          settle(new PublishError(closed ? 'closed' : 'invalid', (err as Error).message));
        }
      });
    },

    get connected(): boolean {
      return channel !== undefined;
    },

    get unconfirmed(): number {
      return unconfirmed;
    },

    stop(): void {
      stopped = true;
      const waiters = slotWaiters;
      slotWaiters = [];
      for (const wake of waiters) wake();
    },
  };
}

export type UpdatePublisher = ReturnType<typeof createUpdatePublisher>;
