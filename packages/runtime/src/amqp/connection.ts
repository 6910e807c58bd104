/**
 * A RabbitMQ connection that recovers by itself (amqplib's opt-in recovery: exponential backoff with
 * jitter, forever). `onConnect` runs after every (re)connect and attaches the process's managed channels
 * to the new connection. The connection also tracks RabbitMQ's resource alarms (`blocked`), which
 * stall publishing without an error.
 */
import amqplib from 'amqplib';
import { isRetryable } from '../errors';
import type { Logger } from '../logger';
import { redactUrl } from '../logger';
import type { AmqpConnect, AmqpModel } from './ports';

export interface AmqpConnectionOptions {
  url: string;
  /** Shown in the RabbitMQ management UI and in `rabbitmqctl list_connections`. */
  name: string;
  logger: Logger;
  onConnect: (model: AmqpModel) => Promise<void>;
  /** A set-up failure that reconnecting cannot fix (406 mismatched queue arguments, 403, …). */
  onFatal?: (err: Error) => void;
  /** Called whenever the broker blocks or unblocks this connection (a memory or disk alarm). */
  onBlockedChange?: (blocked: boolean) => void;
  /** Called whenever publishing becomes possible or impossible: connected and not blocked, or not. */
  onAvailabilityChange?: (available: boolean) => void;
  connect?: AmqpConnect;
}

export interface AmqpConnection {
  readonly connected: boolean;
  readonly blocked: boolean;
  close(): Promise<void>;
}

const defaultConnect: AmqpConnect = (url, options) => amqplib.connect(url, options);

export async function connectAmqp(options: AmqpConnectionOptions): Promise<AmqpConnection> {
  const { logger } = options;
  let connected = false;
  let blocked = false;
  let available = true;
  const availability = () => {
    if (available === (connected && !blocked)) return;
    available = !available;
    options.onAvailabilityChange?.(available);
  };
  const setBlocked = (next: boolean, reason?: string) => {
    if (blocked === next) return;
    blocked = next;
    if (next) logger.warn({ reason }, 'rabbitmq blocked this connection (resource alarm); publishing stalls');
    else logger.info('rabbitmq unblocked this connection');
    options.onBlockedChange?.(next);
    availability();
  };
  const connect = options.connect ?? defaultConnect;
  const recovering = await connect(options.url, {
    clientProperties: { connection_name: options.name },
    recovery: {
      initialDelay: 200,
      maxDelay: 10_000,
      jitter: 0.5,
      maxRetries: Infinity,
      waitForConnect: false,
      setup: async (model) => {
        // amqplib's recovery listens for 'error' only once setup has finished; a connection that dies
        // during setup would emit 'error' with no listener, which throws and crashes the process.
        model.on('error', (err: Error) => logger.warn({ err }, 'rabbitmq connection error'));
        // A new connection starts unblocked; the broker blocks it again if the alarm is still on.
        setBlocked(false);
        model.on('blocked', (reason: string) => setBlocked(true, reason));
        model.on('unblocked', () => setBlocked(false));
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
    availability();
  });
  recovering.on('disconnect', (err: Error) => {
    connected = false;
    logger.warn({ err }, 'rabbitmq connection lost; reconnecting');
    availability();
  });
  recovering.on('connect-failed', (err: Error) => logger.warn({ err }, 'rabbitmq connect failed'));
  recovering.on('error', (err: Error) => logger.warn({ err }, 'rabbitmq connection error'));
  await recovering.waitForConnect();
  let closing: Promise<void> | undefined;
  return {
    get connected() {
      return connected;
    },
    get blocked() {
      return blocked;
    },
    close() {
      closing ??= recovering.close().catch((err: Error) => logger.warn({ err }, 'rabbitmq close failed'));
      return closing;
    },
  };
}
