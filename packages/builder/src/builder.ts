/**
 * The builder process, wired: router (intake → partition queues), partition consumers (leased), the
 * micro-batcher and the batch processor, over one recovering RabbitMQ connection and one MongoClient.
 *
 * Lifecycle: start() ensures indexes, connects, joins the `builder` lease group; stop() stops taking
 * work (router and partition consumers), flushes and acks what arrived, hands the leases back and
 * closes the connection. Anything not acked by then is redelivered to another instance.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { createMonotonicClock, validTraceparent } from '@chat3/core';
import {
  connectAmqp,
  createConfirmPublisher,
  createLeaseManager,
  detachedLoop,
  errorMessage,
  type AmqpConnect,
  type AmqpConnection,
  type LeaseManager,
  type LeaseStore,
  type Logger,
  type LoopHealth,
  type ReleaseReason,
  backoffDelay,
  retryingStartup,
  sleep,
} from '@chat3/runtime';
import { createBatchProcessor, BatchAbortedError, type BatchStore } from './batch-processor';
import { createBatcher } from './batcher';
import { deadLetterOptions, type DeadLetter } from './broker/dead-letter';
import { createPartitionConsumer, type Delivery } from './broker/partition-consumer';
import { createRouter } from './broker/router-consumer';
import { assertBuilderTopology, builderTopology } from './broker/topology';
import type { BuilderConfig } from './config';
import type { BuilderMetrics } from './metrics';

/** The builder's database I/O: the batch's reads and writes, plus routing's lookup and start-up's indexes. */
export interface BuilderStore extends BatchStore {
  ensureIndexes(): Promise<void>;
  /** For routing a message event that names no dialog. */
  findDialogIdOfMessage(tenantId: string, messageId: string): Promise<string | null>;
}

export interface BuilderDeps {
  config: BuilderConfig;
  store: BuilderStore;
  leases: LeaseStore;
  metrics: BuilderMetrics;
  logger: Logger;
  /** Called when the process cannot go on (e.g. the broker refuses our topology). */
  onFatal: (err: Error) => void;
  /** amqplib's connect; the fault simulation passes its broker model. */
  connect?: AmqpConnect;
  /** Lease owner id, used as given (default: BUILDER_INSTANCE_ID or the hostname, plus a random suffix). */
  instanceId?: string;
  /** Where every loop records progress and errors, for /healthz (runService's). */
  loops?: LoopHealth;
}

export interface Builder {
  start(): Promise<void>;
  stop(): Promise<void>;
  readiness(): { ok: boolean; checks: Record<string, boolean | number> };
}

/** Resolves once `condition` holds (checked every 100 ms) or the signal aborts. */
async function until(condition: () => boolean, signal: AbortSignal): Promise<void> {
  while (!condition() && !signal.aborted) await sleep(100, signal);
}

export function createBuilder(deps: BuilderDeps): Builder {
  const { config, store, leases: leaseStore, metrics, logger, onFatal, connect } = deps;
  const topology = builderTopology(
    config.RABBITMQ_EVENTS_EXCHANGE,
    config.BUILDER_QUEUE,
    config.BUILDER_PARTITIONS,
    config.BUILDER_QUEUE_TYPE,
  );
  const instanceId = deps.instanceId ?? `${config.BUILDER_INSTANCE_ID ?? hostname()}-${randomUUID().slice(0, 8)}`;
  const shutdown = new AbortController();
  const loop = (name: string) => deps.loops?.loop(name) ?? detachedLoop(name);
  const flushLoop = loop('batch-flush');
  metrics.partitions.set(config.BUILDER_PARTITIONS);
  const publisher = createConfirmPublisher({
    name: 'forwards',
    logger: logger.child({ component: 'publisher' }),
    window: config.BUILDER_ROUTER_PREFETCH,
    confirmTimeoutMs: config.BUILDER_CONFIRM_TIMEOUT_MS,
    onFatal,
  });

  const processor = createBatchProcessor({
    store,
    clock: createMonotonicClock(),
    routingKeyScope: config.ROUTING_KEY_SCOPE,
    maxEventBytes: config.BUILDER_MAX_EVENT_BYTES,
    metrics,
    logger: logger.child({ component: 'batch' }),
    signal: shutdown.signal,
    loop: flushLoop,
  });

  const consumer = createPartitionConsumer({
    topology,
    prefetch: config.BUILDER_PREFETCH,
    logger: logger.child({ component: 'partition-consumer' }),
    onDelivery: (d) => batcher.add(d),
  });

  const batcher = createBatcher<Delivery>({
    maxSize: config.BUILDER_BATCH_SIZE,
    maxWaitMs: config.BUILDER_BATCH_WAIT_MS,
    flush: (deliveries) => flushLoop.step(() => flushBatch(deliveries)),
  });

  const router = createRouter({
    topology,
    partitions: config.BUILDER_PARTITIONS,
    prefetch: config.BUILDER_ROUTER_PREFETCH,
    maxEventBytes: config.BUILDER_MAX_EVENT_BYTES,
    publisher,
    lookupDialogId: (tenantId, messageId) => store.findDialogIdOfMessage(tenantId, messageId),
    metrics,
    loop: loop('router'),
    logger: logger.child({ component: 'router' }),
  });

  /**
   * Write, dead-letter, then ack. A batch is always settled before the next one is: acknowledged, or
   * (when it cannot be finished) returned to its queue, so the next batch's `ack(…, allUpTo)` can never
   * cover an event that was neither written nor dead-lettered.
   */
  async function flushBatch(deliveries: Delivery[]): Promise<void> {
    try {
      const notes = await processor.processBatch(
        deliveries.map((d) => ({
          body: d.msg.content,
          traceparent: validTraceparent(d.msg.properties.headers?.traceparent),
          live: d.live,
        })),
      );
      for (const note of notes) {
        const delivery = deliveries[note.index]!;
        if (!delivery.live()) continue; // back in the queue: its next holder decides
        metrics.eventsDeadLettered.inc({ reason: note.reason, stage: 'builder' });
        logger.warn({ reason: note.reason, detail: note.detail }, 'event dead-lettered');
        await deadLetter(delivery, { reason: note.reason, detail: note.detail, stage: 'builder' });
      }
      consumer.settle(deliveries);
    } catch (err) {
      if (!(err instanceof BatchAbortedError)) {
        logger.warn({ err: errorMessage(err), events: deliveries.length }, 'batch not finished; returning it to the queue');
      }
      consumer.requeue(deliveries);
    }
  }

  /** Publishes a dead letter until the broker confirms it, while the delivery is still ours. */
  async function deadLetter(delivery: Delivery, letter: DeadLetter): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (shutdown.signal.aborted) throw new BatchAbortedError();
      if (!delivery.live()) return;
      try {
        if ((await publisher.ready()) === null) throw new BatchAbortedError();
        await publisher.publish(topology.deadLetterExchange, '', delivery.msg.content, deadLetterOptions(delivery.msg, letter, Date.now()));
        return;
      } catch (err) {
        if (err instanceof BatchAbortedError) throw err;
        const delayMs = backoffDelay(attempt, { baseMs: 100, maxMs: 5_000 });
        flushLoop.error(err);
        logger.warn({ err: errorMessage(err), delayMs }, 'dead letter not confirmed; retrying');
        await sleep(delayMs, shutdown.signal);
      }
    }
  }

  /**
   * Gives a partition back. Lost or expired: its channel is closed at once, which returns everything
   * unacknowledged to the queue before the next holder's consumer becomes active (see
   * partition-consumer.ts); the batch in progress drops those events. Graceful: deliveries stop, what
   * arrived is written and acknowledged while the lease is still valid, then the channel is closed.
   */
  async function release(p: number, reason: ReleaseReason): Promise<void> {
    if (reason === 'rebalance' || reason === 'shutdown') {
      await consumer.stopDeliveries(p);
      await Promise.race([batcher.drain(), until(() => !leases?.valid(p), shutdown.signal)]);
    }
    await consumer.giveBack(p);
    metrics.ownedPartitions.set(consumer.held().length);
  }

  let amqp: AmqpConnection | undefined;
  let leases: LeaseManager | undefined;
  let stopping: Promise<void> | undefined;

  return {
    async start() {
      await retryingStartup('indexes', logger, () => store.ensureIndexes());
      amqp = await connectAmqp({
        connect,
        url: config.RABBITMQ_URL,
        name: `chat3-builder ${instanceId}`,
        logger,
        onFatal,
        // Forwarding and dead-lettering wait, silently, while the broker is away or blocks us: not a wedged loop.
        onAvailabilityChange: (available) => deps.loops?.dependency('rabbitmq').set(available),
        async onConnect(model) {
          const setup = await model.createChannel();
          await assertBuilderTopology(setup, topology);
          await setup.close();
          await publisher.attach(model);
          await consumer.attach(model);
          await router.attach(model);
        },
      });
      leases = createLeaseManager({
        store: leaseStore,
        group: `builder:${config.BUILDER_QUEUE}`,
        partitions: config.BUILDER_PARTITIONS,
        instanceId,
        ttlMs: config.LEASE_TTL_MS,
        logger: logger.child({ component: 'leases' }),
        loop: loop('builder-leases'),
        onAcquire: async (p) => {
          await consumer.hold(p);
          metrics.ownedPartitions.set(consumer.held().length);
        },
        onRelease: release,
      });
      await retryingStartup('leases', logger, () => leases!.start());
      logger.info({ partitions: consumer.held(), queue: config.BUILDER_QUEUE }, 'builder started');
    },

    stop() {
      stopping ??= (async () => {
        await router.stop();
        await leases?.stop();
        await batcher.drain();
        shutdown.abort();
        await consumer.stop();
        await publisher.stop();
        await amqp?.close();
      })();
      return stopping;
    },

    readiness() {
      const held = consumer.held().length;
      const connected = amqp?.connected ?? false;
      return { ok: connected && publisher.connected, checks: { rabbitmq: connected, publisher: publisher.connected, partitions: held } };
    },
  };
}
