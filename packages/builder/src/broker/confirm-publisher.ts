/**
 * Publishing with publisher confirms over the current connection's confirm channel.
 *
 * `publish` writes synchronously, in call order, and returns a promise of the broker's confirm; it
 * rejects on a nack or when the channel closes first. When the channel's buffer is full, `writable()`
 * waits for `'drain'` before anything else is written (the "queued" vs "unconfirmed" split of
 * amqp-connection-manager).
 */
import { once } from 'node:events';
import type { ChannelModel, ConfirmChannel, Options } from 'amqplib';
import { restartConnection, type Logger } from '@chat3/runtime';

export class ChannelUnavailableError extends Error {
  override name = 'IllegalOperationError'; // classified as retryable
  constructor() {
    super('no open confirm channel (reconnecting)');
  }
}

export function createConfirmPublisher(logger: Logger) {
  let channel: ConfirmChannel | undefined;
  let blocked: Promise<unknown> | undefined;
  let stopped = false;

  return {
    async attach(model: ChannelModel): Promise<void> {
      const ch = await model.createConfirmChannel();
      ch.on('error', (err: Error) => logger.warn({ err }, 'confirm channel error'));
      ch.on('close', () => {
        if (channel !== ch) return;
        channel = undefined;
        blocked = undefined;
        if (!stopped) restartConnection(model, logger, 'confirm channel closed');
      });
      channel = ch;
      blocked = undefined;
    },

    publish(exchange: string, routingKey: string, body: Buffer, options: Options.Publish): Promise<void> {
      const ch = channel;
      if (!ch) return Promise.reject(new ChannelUnavailableError());
      return new Promise<void>((resolve, reject) => {
        const written = ch.publish(exchange, routingKey, body, options, (err: unknown) =>
          err ? reject(err instanceof Error ? err : new Error(`broker nacked the message: ${String(err)}`)) : resolve(),
        );
        if (!written) blocked ??= Promise.race([once(ch, 'drain'), once(ch, 'close')]).finally(() => (blocked = undefined));
      });
    },

    /** Resolves once the channel accepts more writes. */
    async writable(): Promise<void> {
      while (blocked) await blocked;
    },

    get ready(): boolean {
      return channel !== undefined;
    },

    stop(): void {
      stopped = true;
    },
  };
}

export type ConfirmPublisher = ReturnType<typeof createConfirmPublisher>;
