/**
 * The slice of amqplib 2's promise API the services use, as narrow interfaces (ports). amqplib's own
 * objects satisfy them structurally; the fault simulation passes models of them. Semantics the code
 * relies on (see ../../../../../shared/reference/semantics.md §3):
 *   - `publish` on a confirm channel writes at once and calls back exactly once: `null` on ack, an
 *     Error on nack ("message nacked") or when the channel closes first ("channel closed"); it returns
 *     false when the socket buffer is full (the message is still queued; `'drain'` follows);
 *   - a server-side channel close emits `'error'` (with `code`) before failing the callbacks, and only
 *     then `'close'`; a connection loss fails the callbacks and emits `'close'` without `'error'`;
 *   - the connection emits `'blocked'`/`'unblocked'` around a RabbitMQ resource alarm.
 */
import type { EventEmitter } from 'node:events';
import type { ConsumeMessage, Message, Options } from 'amqplib';

export type { ConsumeMessage, Message, Options };

export interface AmqpChannel extends EventEmitter {
  prefetch(count: number): Promise<unknown>;
  assertExchange(exchange: string, type: string, options?: Options.AssertExchange): Promise<unknown>;
  assertQueue(queue: string, options?: Options.AssertQueue): Promise<unknown>;
  bindQueue(queue: string, source: string, pattern: string): Promise<unknown>;
  consume(queue: string, onMessage: (msg: ConsumeMessage | null) => void, options?: Options.Consume): Promise<{ consumerTag: string }>;
  cancel(consumerTag: string): Promise<unknown>;
  ack(message: Message, allUpTo?: boolean): void;
  nack(message: Message, allUpTo?: boolean, requeue?: boolean): void;
  close(): Promise<void>;
}

export interface AmqpConfirmChannel extends AmqpChannel {
  publish(exchange: string, routingKey: string, content: Buffer, options: Options.Publish, callback: (err: unknown) => void): boolean;
}

/** One live connection (amqplib's ChannelModel). */
export interface AmqpModel extends EventEmitter {
  createChannel(): Promise<AmqpChannel>;
  createConfirmChannel(): Promise<AmqpConfirmChannel>;
  close(): Promise<void>;
}

/** amqplib's RecoveringChannelModel: reconnects by itself and runs `setup` after every connect. */
export interface RecoveringAmqp extends EventEmitter {
  waitForConnect(): Promise<unknown>;
  close(): Promise<void>;
}

export interface AmqpRecoveryOptions {
  initialDelay: number;
  maxDelay: number;
  jitter: number;
  maxRetries: number;
  waitForConnect: false;
  setup: (model: AmqpModel) => Promise<void>;
}

/** `amqplib.connect` with opt-in recovery; the simulation passes its broker model instead. */
export type AmqpConnect = (
  url: string,
  options: { clientProperties: Record<string, string>; recovery: AmqpRecoveryOptions },
) => Promise<RecoveringAmqp>;
