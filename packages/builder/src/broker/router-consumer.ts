/**
 * The router: the single active consumer of the intake queue. For each event, in delivery order, it
 * validates the body once, then forwards it to its dialog's partition queue, acknowledges and counts a
 * type that produces no Update, or dead-letters bad input with the reason. The intake message is acked
 * only after the broker confirmed the forward (or the dead letter); a failed confirm requeues it.
 *
 * Order: decisions run one at a time through a promise chain (a rare read-model lookup for a message
 * event without a dialogId must not let later events overtake it); confirms are awaited in parallel.
 */
import { eventTypeLabel, parseEvent } from '@chat3/core';
import {
  backoffDelay,
  createManagedChannel,
  errorMessage,
  sleep,
  type AmqpChannel,
  type AmqpModel,
  type ConfirmPublisher,
  type ConsumeMessage,
  type Logger,
  type LoopTracker,
  type Options,
} from '@chat3/runtime';
import type { BuilderMetrics } from '../metrics';
import { partitionAfterLookup, routeEvent } from '../routing';
import { deadLetterOptions } from './dead-letter';
import type { BuilderTopology } from './topology';

export interface RouterOptions {
  topology: BuilderTopology;
  partitions: number;
  prefetch: number;
  maxEventBytes: number;
  publisher: ConfirmPublisher;
  lookupDialogId: (tenantId: string, messageId: string) => Promise<string | null>;
  metrics: BuilderMetrics;
  /** Routing each event is a step; a failed lookup is an error (/healthz). */
  loop: LoopTracker;
  logger: Logger;
}

export function createRouter(options: RouterOptions) {
  const { topology, publisher, metrics, logger } = options;
  let consumerTag: string | undefined;
  let chain: Promise<void> = Promise.resolve();
  const inFlight = new Set<Promise<void>>();
  let stopped = false;

  async function route(ch: AmqpChannel, msg: ConsumeMessage): Promise<void> {
    const parsed = parseEvent(msg.content, { maxBytes: options.maxEventBytes });
    metrics.eventsConsumed.inc({ event_type: parsed.ok ? eventTypeLabel(parsed.event.eventType) : 'invalid' });
    if (parsed.ok) for (const { field } of parsed.corrections) metrics.fieldsCorrected.inc({ field });
    const decision = routeEvent(parsed, options.partitions);
    switch (decision.action) {
      case 'ignore':
        metrics.eventsIgnored.inc({ event_type: eventTypeLabel(decision.eventType), reason: decision.reason });
        ch.ack(msg);
        return;
      case 'dead-letter': {
        metrics.eventsDeadLettered.inc({ reason: decision.reason, stage: 'router' });
        logger.warn({ reason: decision.reason, detail: decision.detail, routingKey: msg.fields.routingKey }, 'event dead-lettered');
        const letter = { reason: decision.reason, detail: decision.detail, stage: 'router' as const };
        await send(ch, msg, topology.deadLetterExchange, '', deadLetterOptions(msg, letter, Date.now()));
        return;
      }
      case 'lookup': {
        const dialogId = await lookupWithRetry(decision.tenantId, decision.messageId);
        const partition = partitionAfterLookup(decision.tenantId, decision.messageId, dialogId, options.partitions);
        await send(ch, msg, topology.partitionExchange, String(partition), forwardOptions(msg));
        return;
      }
      case 'forward':
        await send(ch, msg, topology.partitionExchange, String(decision.partition), forwardOptions(msg));
    }
  }

  /** Writes in order; settles the intake message when the broker confirms. */
  async function send(ch: AmqpChannel, msg: ConsumeMessage, exchange: string, key: string, props: Options.Publish) {
    await publisher.ready();
    const confirmed = publisher
      .publish(exchange, key, msg.content, props)
      .then(
        () => ch.ack(msg),
        (err: unknown) => {
          logger.warn({ err: errorMessage(err) }, 'forward not confirmed; requeueing the event');
          try {
            ch.nack(msg, false, true);
          } catch {
            // channel gone: the broker requeues it anyway
          }
        },
      )
      .catch(() => undefined);
    inFlight.add(confirmed);
    void confirmed.finally(() => inFlight.delete(confirmed));
  }

  async function lookupWithRetry(tenantId: string, messageId: string): Promise<string | null> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await options.lookupDialogId(tenantId, messageId);
      } catch (err) {
        options.loop.error(err);
        logger.warn({ err: errorMessage(err), messageId }, 'message lookup for routing failed; retrying');
        await sleep(backoffDelay(attempt, { baseMs: 100, maxMs: 5_000 }));
      }
    }
  }

  const channel = createManagedChannel<AmqpChannel>({
    name: 'router',
    logger,
    open: (model) => model.createChannel(),
    async setup(ch) {
      await ch.prefetch(options.prefetch);
      const reply = await ch.consume(topology.intakeQueue, (msg) => {
        if (!msg) return logger.warn('intake consumer cancelled by the broker');
        chain = chain
          .then(() => options.loop.step(() => route(ch, msg)))
          .catch((err: unknown) => {
            logger.error({ err }, 'routing failed; requeueing the event');
            try {
              ch.nack(msg, false, true);
            } catch {
              // channel gone
            }
          });
      });
      consumerTag = reply.consumerTag;
    },
  });

  return {
    async attach(model: AmqpModel): Promise<void> {
      if (stopped) return;
      await channel.attach(model);
    },

    /** Stops taking events and waits until every routed one is confirmed and acked. */
    async stop(): Promise<void> {
      stopped = true;
      const ch = channel.current;
      if (ch && consumerTag) await ch.cancel(consumerTag).catch(() => undefined);
      await chain;
      await Promise.all(inFlight);
      await channel.stop();
    },
  };
}

/**
 * The forwarded copy keeps the producer's properties except `userId` (RabbitMQ checks it against the
 * publishing connection's user) and `expiration` (a routed event must not expire before it is built).
 */
export function forwardOptions(msg: ConsumeMessage): Options.Publish {
  const p = msg.properties;
  return {
    persistent: true,
    contentType: p.contentType,
    contentEncoding: p.contentEncoding,
    headers: { ...(p.headers ?? {}), 'x-chat3-routing-key': msg.fields.routingKey },
    messageId: p.messageId,
    correlationId: p.correlationId,
    timestamp: p.timestamp,
    type: p.type,
    appId: p.appId,
  };
}
