/**
 * Publishes events to the events exchange as Chat3 does: persistent JSON, one message per event, on a
 * confirm channel. `'drain'` is respected when the channel's buffer is full ("queued"), and broker
 * confirms are tracked separately ("unconfirmed"), so a caller can keep writing the next batch while
 * the previous one is being confirmed. A nack or a closed channel rejects the batch's confirmation.
 */
import type { Channel, ConfirmChannel, Options } from 'amqplib';
import { encodeEvent, eventIdOf, type EventBody } from './event-factory';

export interface PublishableStep {
  event: EventBody;
  routingKey: string;
}

/** `chat3_events`: topic, durable (SPEC §2). */
export async function assertEventsExchange(channel: Channel, exchange: string): Promise<void> {
  await channel.assertExchange(exchange, 'topic', { durable: true });
}

export function publishOptionsFor(event: EventBody): Options.Publish {
  return {
    persistent: true,
    contentType: 'application/json',
    messageId: eventIdOf(event),
    type: event.eventType,
    timestamp: Math.floor(event.createdAt / 1000),
  };
}

/**
 * Hands every step to the channel, waiting for `'drain'` whenever it says its buffer is full. Resolves
 * once all are handed over; `confirmed` settles when the broker has confirmed all of them.
 */
export async function sendEvents(
  channel: ConfirmChannel,
  exchange: string,
  steps: readonly PublishableStep[],
): Promise<{ confirmed: Promise<void> }> {
  let outstanding = steps.length;
  let settle!: (err?: Error) => void;
  const confirmed = new Promise<void>((resolve, reject) => {
    settle = (err) => (err ? reject(err) : resolve());
  });
  // The caller may await this later than a rejection happens; that is not an unhandled rejection.
  confirmed.catch(() => undefined);
  if (outstanding === 0) settle();
  for (const step of steps) {
    const id = eventIdOf(step.event);
    const onConfirm = (err: unknown) => {
      if (err) settle(new Error(`broker did not confirm event ${id} (${step.routingKey})`, { cause: err }));
      else if (--outstanding === 0) settle();
    };
    const accepted = channel.publish(exchange, step.routingKey, encodeEvent(step.event), publishOptionsFor(step.event), onConfirm);
    if (!accepted) await waitForDrain(channel);
  }
  return { confirmed };
}

/** Publishes and waits for the broker to confirm every event. */
export async function publishEvents(channel: ConfirmChannel, exchange: string, steps: readonly PublishableStep[]): Promise<void> {
  const { confirmed } = await sendEvents(channel, exchange, steps);
  await confirmed;
}

function waitForDrain(channel: Channel): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      channel.off('drain', onDrain);
      channel.off('close', onClose);
      channel.off('error', onError);
    };
    const onDrain = () => {
      cleanup();
      resolve();
    };
    const onClose = () => {
      cleanup();
      reject(new Error('channel closed while waiting for drain'));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    channel.on('drain', onDrain);
    channel.on('close', onClose);
    channel.on('error', onError);
  });
}
