/**
 * A RabbitMQ connection that recovers by itself (amqplib's opt-in recovery: exponential backoff with
 * jitter, forever). `onConnect` runs after every (re)connect and must rebuild the channels, topology and
 * consumers it needs; a channel that dies on its own should call `restart()` on its model, which turns a
 * channel-level failure into one clean reconnect instead of a half-working connection.
 */
import amqplib, { type ChannelModel, type RecoveringChannelModel } from 'amqplib';
import type { Logger } from './logger';
import { redactUrl } from './logger';
import { isRetryable } from './errors';

export type { ChannelModel };

export interface AmqpConnectionOptions {
  url: string;
  /** Shown in the RabbitMQ management UI and in `rabbitmqctl list_connections`. */
  name: string;
  logger: Logger;
  onConnect: (model: ChannelModel) => Promise<void>;
  onDisconnect?: (err: Error) => void;
  /** A set-up failure that reconnecting cannot fix (406 mismatched queue arguments, 403, …). */
  onFatal?: (err: Error) => void;
}

export interface AmqpConnection {
  readonly connected: boolean;
  close(): Promise<void>;
}

export async function connectAmqp(options: AmqpConnectionOptions): Promise<AmqpConnection> {
  const { logger } = options;
  let connected = false;
  const recovering: RecoveringChannelModel = await amqplib.connect(options.url, {
    clientProperties: { connection_name: options.name },
    recovery: {
      initialDelay: 200,
      maxDelay: 10_000,
      jitter: 0.5,
      maxRetries: Infinity,
      waitForConnect: false,
      setup: async (model: ChannelModel) => {
        try {
          await options.onConnect(model);
        } catch (err) {
          if (!isRetryable(err)) options.onFatal?.(err as Error);
          throw err;
        }
      },
    },
  });
  recovering.on('connect', () => {
    connected = true;
    logger.info({ url: redactUrl(options.url) }, 'rabbitmq connected');
  });
  recovering.on('disconnect', (err: Error) => {
    connected = false;
    logger.warn({ err }, 'rabbitmq connection lost; reconnecting');
    options.onDisconnect?.(err);
  });
  recovering.on('connect-failed', (err: Error) => logger.warn({ err }, 'rabbitmq connect failed'));
  recovering.on('error', (err: Error) => logger.warn({ err }, 'rabbitmq connection error'));
  await recovering.waitForConnect();
  let closing: Promise<void> | undefined;
  return {
    get connected() {
      return connected;
    },
    close() {
      closing ??= recovering.close().catch((err: Error) => logger.warn({ err }, 'rabbitmq close failed'));
      return closing;
    },
  };
}

/** Closes the connection under a failed channel; recovery then reconnects and reruns `onConnect`. */
export function restartConnection(model: ChannelModel, logger: Logger, reason: string): void {
  logger.warn({ reason }, 'restarting rabbitmq connection');
  model.close().catch(() => undefined);
}
