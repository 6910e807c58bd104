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
import { READ_MODEL_INDEXES, UPDATE_INDEXES, USER_STATS_INDEXES, createMonotonicClock, type EmittedStats } from '@chat3/core';
import {
  connectAmqp,
  createConfirmPublisher,
  createLeaseManager,
  createMongoLeaseStore,
  ensureIndexes,
  errorMessage,
  type AmqpConnection,
  type LeaseDoc,
  type LeaseManager,
  type Logger,
  retryingStartup,
} from '@chat3/runtime';
import type { Document, MongoClient } from 'mongodb';
import { createBatchProcessor, BatchAbortedError } from './batch-processor';
import { createBatcher } from './batcher';
import { deadLetterOptions } from './broker/dead-letter';
import { createPartitionConsumer, type Delivery } from './broker/partition-consumer';
import { createRouter } from './broker/router-consumer';
import { assertBuilderTopology, builderTopology } from './broker/topology';
import type { BuilderConfig } from './config';
import { findDialogIdOfMessage, loadReadModel, readModelCollections } from './db/read-model-queries';
import { insertUpdates } from './db/update-store';
import { claimEmission, computeStats, loadEmitted } from './db/user-stats-store';
import type { BuilderMetrics } from './metrics';

export interface BuilderDeps {
  config: BuilderConfig;
  mongo: MongoClient;
  metrics: BuilderMetrics;
  logger: Logger;
  /** Called when the process cannot go on (e.g. the broker refuses our topology). */
  onFatal: (err: Error) => void;
}

export interface Builder {
  start(): Promise<void>;
  stop(): Promise<void>;
  readiness(): { ok: boolean; checks: Record<string, boolean | number> };
}

export function createBuilder({ config, mongo, metrics, logger, onFatal }: BuilderDeps): Builder {
  const db = mongo.db(config.MONGODB_DB);
  const updates = db.collection<Document>(config.UPDATES_COLLECTION);
  const userStats = db.collection<EmittedStats>(config.USER_STATS_COLLECTION);
  const readModel = readModelCollections(db, {
    users: config.USERS_COLLECTION,
    dialogs: config.DIALOGS_COLLECTION,
    dialogMembers: config.DIALOG_MEMBERS_COLLECTION,
    messages: config.MESSAGES_COLLECTION,
    messageStatuses: config.MESSAGE_STATUSES_COLLECTION,
  });
  const topology = builderTopology(config.RABBITMQ_EVENTS_EXCHANGE, config.BUILDER_QUEUE, config.BUILDER_PARTITIONS);
  const instanceId = `${config.BUILDER_INSTANCE_ID ?? hostname()}-${randomUUID().slice(0, 8)}`;
  const shutdown = new AbortController();
  const publisher = createConfirmPublisher({
    name: 'forwards',
    logger: logger.child({ component: 'publisher' }),
    window: config.BUILDER_ROUTER_PREFETCH,
    confirmTimeoutMs: config.BUILDER_CONFIRM_TIMEOUT_MS,
    onFatal,
  });

  const processor = createBatchProcessor({
    store: {
      loadReadModel: (events) => loadReadModel(readModel, events),
      insertUpdates: (drafts) => insertUpdates(updates, drafts),
      computeStats: (tenantId, userIds) => computeStats(readModel.dialogMembers, tenantId, userIds),
      loadEmitted: (tenantId, userIds) => loadEmitted(userStats, tenantId, userIds),
      claimEmission: (previous, next) => claimEmission(userStats, previous, next),
    },
    clock: createMonotonicClock(),
    maxEventBytes: config.BUILDER_MAX_EVENT_BYTES,
    metrics,
    logger: logger.child({ component: 'batch' }),
    signal: shutdown.signal,
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
    flush: flushBatch,
  });

  const router = createRouter({
    topology,
    partitions: config.BUILDER_PARTITIONS,
    prefetch: config.BUILDER_ROUTER_PREFETCH,
    maxEventBytes: config.BUILDER_MAX_EVENT_BYTES,
    publisher,
    lookupDialogId: (tenantId, messageId) => findDialogIdOfMessage(readModel, tenantId, messageId),
    metrics,
    logger: logger.child({ component: 'router' }),
  });

  /** Write, dead-letter, then ack. Anything that fails here stays unacked and is redelivered. */
  async function flushBatch(deliveries: Delivery[]): Promise<void> {
    try {
      const notes = await processor.processBatch(deliveries.map((d) => d.msg.content));
      for (const note of notes) {
        const { msg } = deliveries[note.index]!;
        metrics.eventsDeadLettered.inc({ reason: note.reason, stage: 'builder' });
        logger.warn({ reason: note.reason, detail: note.detail }, 'event dead-lettered');
        const letter = { reason: note.reason, detail: note.detail, stage: 'builder' as const };
        await publisher.ready();
        await publisher.publish(topology.deadLetterExchange, '', msg.content, deadLetterOptions(msg, letter, Date.now()));
      }
      consumer.settle(deliveries);
    } catch (err) {
      if (!(err instanceof BatchAbortedError)) {
        logger.warn({ err: errorMessage(err), events: deliveries.length }, 'batch not acknowledged; it will be redelivered');
      }
    }
  }

  let amqp: AmqpConnection | undefined;
  let leases: LeaseManager | undefined;
  let stopping: Promise<void> | undefined;

  return {
    async start() {
      await retryingStartup('indexes', logger, async () => {
        await ensureIndexes(updates, UPDATE_INDEXES, logger);
        await ensureIndexes(userStats as never, USER_STATS_INDEXES, logger);
        if (config.BUILDER_ENSURE_READ_MODEL_INDEXES) {
          for (const [name, specs] of Object.entries(READ_MODEL_INDEXES)) {
            await ensureIndexes(readModel[name as keyof typeof readModel] as never, specs, logger);
          }
        }
      });
      amqp = await connectAmqp({
        url: config.RABBITMQ_URL,
        name: `chat3-builder ${instanceId}`,
        logger,
        onFatal,
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
        store: createMongoLeaseStore(db.collection<LeaseDoc>(config.LEASES_COLLECTION)),
        group: `builder:${config.BUILDER_QUEUE}`,
        partitions: config.BUILDER_PARTITIONS,
        instanceId,
        ttlMs: config.LEASE_TTL_MS,
        logger: logger.child({ component: 'leases' }),
        onAcquire: async (p) => {
          await consumer.hold(p);
          metrics.ownedPartitions.set(consumer.held().length);
        },
        onRelease: async (p) => {
          await consumer.release(p);
          await batcher.drain();
          metrics.ownedPartitions.set(consumer.held().length);
        },
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
