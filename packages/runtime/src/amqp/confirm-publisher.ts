/**
 * Publishing with publisher confirms on one managed confirm channel, shared by the builder (forwards,
 * dead letters) and the relay (Updates).
 *
 * Queued and unconfirmed are kept apart, as amqp-connection-manager does: `ready()` waits for an open
 * channel, for the socket buffer to drain (`publish` returned false) and for a slot in the window of
 * `window` unconfirmed messages; `publish()` then writes at once, in call order, and resolves when the
 * broker acks. A message that is not confirmed rejects with a `PublishError` whose kind says why:
 *
 *   nack     the broker refused it (an internal queue error, or `overflow: reject-publish`);
 *   refused  the broker closed the channel with 406 PRECONDITION_FAILED while it was unconfirmed, e.g.
 *            a body over `max_message_size`: one message of the window caused it, and only publishing
 *            each suspect alone tells which;
 *   closed   the channel or connection went away; the outcome is unknown (it may have been routed);
 *   timeout  no confirm within `confirmTimeoutMs` while the connection was not blocked; the connection
 *            is restarted (a silent socket) and the outcome is unknown;
 *   invalid  amqplib could not encode it (headers over 64 KiB, not a Buffer).
 *
 * Resource alarms: while RabbitMQ blocks the connection it reads nothing from it, so confirms stall by
 * design. A confirm timer that expires while blocked starts again, and every outstanding one gets a
 * full timeout from the unblock, so an alarm never turns into a storm of re-sends.
 * Returned messages (`mandatory` with no matching queue) are reported through `onReturn`; the broker
 * acks them afterwards, so they resolve normally.
 */
import { once } from 'node:events';
import type { Logger } from '../logger';
import { createManagedChannel, type ManagedChannel } from './managed-channel';
import type { AmqpConfirmChannel, AmqpModel, Message, Options } from './ports';

export const PUBLISH_FAILURES = ['nack', 'refused', 'closed', 'timeout', 'invalid'] as const;
export type PublishFailure = (typeof PUBLISH_FAILURES)[number];

export class PublishError extends Error {
  override name = 'PublishError';
  constructor(
    readonly kind: PublishFailure,
    message: string,
    /** The reply code the broker closed the channel with, if it did. */
    readonly code?: number,
  ) {
    super(message);
  }
}

/** Reply codes with which RabbitMQ closes a channel because of the message being published. */
const MESSAGE_FAULT_CODES = new Set([406]);

export interface ConfirmPublisherOptions {
  name: string;
  logger: Logger;
  /** Messages published but not yet confirmed, at most. */
  window: number;
  confirmTimeoutMs: number;
  /** Runs on every new channel (declare the exchange published to). */
  setup?: (channel: AmqpConfirmChannel) => Promise<void>;
  onReturn?: (message: Message) => void;
  onFatal?: (err: Error) => void;
}

export interface Confirmed {
  /** Seconds from publish to the broker's ack. */
  latency: number;
}

export interface ConfirmPublisher {
  attach(model: AmqpModel): Promise<void>;
  /**
   * Waits until a message can be written: an open channel, a drained buffer and a free window slot.
   * Resolves with the channel generation it will be written on, or `null` once stopped.
   */
  ready(): Promise<number | null>;
  publish(exchange: string, routingKey: string, content: Buffer, options: Options.Publish): Promise<Confirmed>;
  /** Resolves when nothing is awaiting a confirm. */
  idle(): Promise<void>;
  readonly connected: boolean;
  readonly blocked: boolean;
  readonly unconfirmed: number;
  readonly generation: number;
  stop(): Promise<void>;
}

interface Pending {
  timer: NodeJS.Timeout | undefined;
  sentAt: number;
  fail: (err: PublishError) => void;
  arm: (ms: number) => void;
}

export function createConfirmPublisher(options: ConfirmPublisherOptions): ConfirmPublisher {
  const { logger } = options;
  const closeErrors = new WeakMap<AmqpConfirmChannel, { code?: number; message: string }>();
  const pending = new Set<Pending>();
  let model: AmqpModel | undefined;
  let blocked = false;
  let drained: Promise<unknown> | undefined;
  let slotWaiters: Array<() => void> = [];
  let idleWaiters: Array<() => void> = [];
  let stopped = false;

  const channel: ManagedChannel<AmqpConfirmChannel> = createManagedChannel({
    name: options.name,
    logger,
    open: (m) => m.createConfirmChannel(),
    onFatal: options.onFatal,
    async setup(ch) {
      ch.on('error', (err: Error & { code?: number }) => closeErrors.set(ch, { code: err.code, message: err.message }));
      ch.on('return', (msg: Message) => options.onReturn?.(msg));
      await options.setup?.(ch);
      drained = undefined;
    },
    onClose: () => {
      drained = undefined;
    },
  });

  function onBlocked(): void {
    blocked = true;
  }

  function onUnblocked(): void {
    blocked = false;
    // Every outstanding confirm gets a full timeout from now: the broker is catching up.
    for (const p of pending) p.arm(options.confirmTimeoutMs);
  }

  function settled(p: Pending): void {
    clearTimeout(p.timer);
    pending.delete(p);
    slotWaiters.shift()?.();
    if (pending.size === 0) {
      const woken = idleWaiters;
      idleWaiters = [];
      for (const wake of woken) wake();
    }
  }

  function classify(ch: AmqpConfirmChannel, err: unknown): PublishError {
    const message = err instanceof Error ? err.message : String(err);
    if (/nack/i.test(message)) return new PublishError('nack', 'the broker rejected the message');
    const closed = closeErrors.get(ch);
    if (closed?.code !== undefined && MESSAGE_FAULT_CODES.has(closed.code)) {
      return new PublishError('refused', closed.message, closed.code);
    }
    return new PublishError('closed', closed ? closed.message : message, closed?.code);
  }

  function restart(on: AmqpModel | undefined, reason: string): void {
    if (!on || stopped) return;
    logger.warn({ publisher: options.name, reason }, 'restarting rabbitmq connection');
    on.close().catch(() => undefined);
  }

  return {
    async attach(next) {
      model = next;
      blocked = false;
      next.on('blocked', onBlocked);
      next.on('unblocked', onUnblocked);
      await channel.attach(next);
    },

    async ready() {
      for (;;) {
        if (stopped) return null;
        if (!channel.current) {
          await channel.whenOpen();
          continue;
        }
        if (drained) {
          await drained;
          continue;
        }
        if (pending.size >= options.window) {
          await new Promise<void>((resolve) => slotWaiters.push(resolve));
          continue;
        }
        return channel.generation;
      }
    },

    publish(exchange, routingKey, content, publishOptions) {
      const ch = channel.current;
      if (!ch || stopped) return Promise.reject(new PublishError('closed', 'no open publish channel (reconnecting)'));
      const on = model;
      return new Promise<Confirmed>((resolve, reject) => {
        let done = false;
        const p: Pending = {
          timer: undefined,
          sentAt: performance.now(),
          fail: (err) => {
            if (done) return;
            done = true;
            settled(p);
            reject(err);
          },
          arm: (ms) => {
            clearTimeout(p.timer);
            p.timer = setTimeout(onTimeout, ms);
          },
        };
        function onTimeout(): void {
          if (blocked) return p.arm(options.confirmTimeoutMs);
          p.fail(new PublishError('timeout', `no confirm within ${options.confirmTimeoutMs} ms`));
          if (channel.current === ch) restart(on, 'confirm timed out');
        }
        pending.add(p);
        p.arm(options.confirmTimeoutMs);
        try {
          const written = ch.publish(exchange, routingKey, content, publishOptions, (err: unknown) => {
            if (err) return p.fail(classify(ch, err));
            if (done) return;
            done = true;
            settled(p);
            resolve({ latency: (performance.now() - p.sentAt) / 1000 });
          });
          if (!written && !drained) {
            drained = Promise.race([once(ch, 'drain'), once(ch, 'close')]).finally(() => (drained = undefined));
          }
        } catch (err) {
          // amqplib throws IllegalOperationError on a closing channel, RangeError/TypeError on bad input.
          const closed = ch !== channel.current || (err as Error).name === 'IllegalOperationError';
          p.fail(new PublishError(closed ? 'closed' : 'invalid', (err as Error).message));
        }
      });
    },

    idle() {
      if (pending.size === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },

    get connected() {
      return channel.current !== undefined;
    },
    get blocked() {
      return blocked;
    },
    get unconfirmed() {
      return pending.size;
    },
    get generation() {
      return channel.generation;
    },

    async stop() {
      stopped = true;
      const woken = slotWaiters;
      slotWaiters = [];
      for (const wake of woken) wake();
      await channel.stop();
    },
  };
}
