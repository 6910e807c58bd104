/**
 * The relay process, wired: leases on relay partitions, the dispatcher and its publisher, one way of
 * finding work (change stream, with its catch-up and safety-net sweeps, or polling) and the gauge
 * sampler.
 *
 * Lifecycle: start() ensures indexes, connects to RabbitMQ, picks the mode, joins the lease group
 * (each acquired partition is swept before it is tailed). stop() stops finding work (a sweep stops
 * between pages), lets every in-flight message be confirmed and marked, hands the leases back and
 * closes the connection.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { bucketRanges, createMonotonicClock } from '@chat3/core';
import {
  connectAmqp,
  createConfirmPublisher,
  detachedLoop,
  errorMessage,
  type AmqpConnect,
  type AmqpConnection,
  type LeaseStore,
  type Logger,
  type LoopHealth,
  retryingStartup,
} from '@chat3/runtime';
import { createChangeStreamTailer } from './change-stream';
import type { RelayConfig } from './config';
import { createDispatcher } from './dispatcher';
import { setMode, type RelayMetrics, type RelayMode } from './metrics';
import { createPoller } from './poller';
import type { LayoutStore, ResumeTokenStore, UpdateStore } from './ports';
import { createRelayLeases } from './relay-leases';
import { createSeqNumbering } from './seq-numbering';
import { createSweeper } from './sweeper';
import { createWakeableSleep } from './wakeable-sleep';

export interface RelayDeps {
  config: RelayConfig;
  store: UpdateStore;
  leases: LeaseStore;
  /** The relay partition layout, kept with the leases. */
  layouts: LayoutStore;
  /** Resume tokens kept with the leases of `group` by `owner`. */
  resumeTokens: (group: string, owner: string) => ResumeTokenStore;
  metrics: RelayMetrics;
  logger: Logger;
  onFatal: (err: Error) => void;
  /** amqplib's connect; the fault simulation passes its broker model. */
  connect?: AmqpConnect;
  /** Lease owner id, used as given (default: RELAY_INSTANCE_ID or the hostname, plus a random suffix). */
  instanceId?: string;
  /** Where every loop records progress and errors, for /healthz (runService's). */
  loops?: LoopHealth;
}

export interface Relay {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly mode: RelayMode;
  readiness(): { ok: boolean; checks: Record<string, boolean | number | string> };
}

export function createRelay(deps: RelayDeps): Relay {
  const { config, store, resumeTokens, metrics, logger, onFatal, connect } = deps;
  const instanceId = deps.instanceId ?? `${config.RELAY_INSTANCE_ID ?? hostname()}-${randomUUID().slice(0, 8)}`;
  const clock = createMonotonicClock();
  const draining = new Set<number>();
  let mode: RelayMode = 'starting';
  const loop = (name: string) => deps.loops?.loop(name) ?? detachedLoop(name);

  const leases = createRelayLeases({
    layouts: deps.layouts,
    leases: deps.leases,
    configured: config.RELAY_PARTITIONS,
    instanceId,
    ttlMs: config.LEASE_TTL_MS,
    logger: logger.child({ component: 'leases' }),
    onAcquire: async (p) => {
      dispatcher.requireSweep(p);
      draining.delete(p);
      metrics.ownedPartitions.set(held().length);
      if (mode === 'change-stream') tailer.acquired(p);
      else poller.wake();
    },
    onRelease: async (p) => {
      draining.add(p);
      tailer.released(p);
      await dispatcher.waitIdle(p);
      metrics.ownedPartitions.set(held().length);
    },
    onLayout: (layout) => {
      draining.clear();
      metrics.layoutPartitions.set(layout.partitions);
    },
    loop: loop('relay-leases'),
    layoutLoop: loop('relay-layout'),
  });
  const partitions = () => leases.partitions();
  const mayPublish = (p: number) => !draining.has(p) && leases.holds(p);
  const held = () => [...leases.owned().keys()].filter((p) => !draining.has(p)).sort((a, b) => a - b);

  const exchange = config.RABBITMQ_UPDATES_EXCHANGE;
  const publisher = createConfirmPublisher({
    name: 'updates',
    window: config.RELAY_WINDOW,
    confirmTimeoutMs: config.RELAY_CONFIRM_TIMEOUT_MS,
    logger: logger.child({ component: 'publisher' }),
    setup: async (ch) => void (await ch.assertExchange(exchange, 'topic', { durable: true })),
    onReturn: () => metrics.unroutable.inc(),
    onFatal,
  });
  const dispatcher = createDispatcher({
    numbering: createSeqNumbering({ store, metrics, logger: logger.child({ component: 'seq' }) }),
    store: {
      stillUnpublished: (ids) => store.stillUnpublished(ids),
      markPublished: (ids, at) => store.markPublished(ids, at),
      recordRejection: (update, reason) => store.recordRejection(update, reason, config.RELAY_MAX_ATTEMPTS, Date.now()),
      park: (update, reason) => store.park(update, reason, 0, Date.now()),
    },
    publisher: {
      ready: () => publisher.ready(),
      send: (m) => publisher.publish(exchange, m.routingKey, m.body, m.options),
      idle: () => publisher.idle(),
      get connected() {
        return publisher.connected;
      },
    },
    partitions,
    mayPublish,
    maxMessageBytes: config.RELAY_MAX_MESSAGE_BYTES,
    clock,
    metrics,
    logger: logger.child({ component: 'dispatcher' }),
  });
  const sweeper = createSweeper({
    fetch: (ps, limit, before) => store.fetchUnpublished(bucketRanges(ps, partitions()), limit, before),
    dispatcher,
    batchSize: config.RELAY_BATCH_SIZE,
    mayPublish,
    logger: logger.child({ component: 'sweeper' }),
  });
  const poller = createPoller({
    sweeper,
    held,
    intervalMs: config.RELAY_POLL_INTERVAL_MS,
    loop: loop('poller'),
    logger: logger.child({ component: 'poller' }),
  });
  const tailer = createChangeStreamTailer({
    watch: (options) => store.watchChanges(options),
    partitions,
    held,
    dispatcher,
    sweeper,
    tokens: () => resumeTokens(leases.group(), instanceId),
    batchSize: config.RELAY_BATCH_SIZE,
    sweepIntervalMs: config.RELAY_SWEEP_INTERVAL_MS,
    // A replay puts Updates back every half second (scripts/replay/replay.ts); sweeping more often would
    // only cost every change-stream relay queries while it runs.
    replaySweepIntervalMs: Math.max(config.RELAY_POLL_INTERVAL_MS, 500),
    sweepGraceMs: config.RELAY_SWEEP_GRACE_MS,
    tokenSaveIntervalMs: config.RELAY_TOKEN_SAVE_INTERVAL_MS,
    loop: loop('change-stream'),
    logger: logger.child({ component: 'change-stream' }),
    onUnsupported: (err) => {
      logger.warn({ err: errorMessage(err) }, 'change streams unavailable; switching to polling');
      metrics.changeStreamsSupported.set(0);
      enterMode('polling');
    },
  });

  function enterMode(next: RelayMode): void {
    mode = next;
    setMode(metrics, next);
    logger.info({ mode: next }, 'relay mode');
    if (next === 'polling') poller.start();
    if (next === 'change-stream') tailer.start();
  }

  async function chooseMode(): Promise<RelayMode> {
    if (config.RELAY_MODE === 'polling') {
      // Probed all the same, for chat3_relay_change_streams_supported: polling where the server has change
      // streams is worth an alert (a setting left over from a stand-in). Failing to probe is no reason to
      // hold up a relay that was told to poll.
      await probeChangeStreams().catch((err: unknown) => logger.warn({ err: errorMessage(err) }, 'change stream probe failed'));
      return 'polling';
    }
    if (await probeChangeStreams()) return 'change-stream';
    if (config.RELAY_MODE === 'change-stream') throw new Error('RELAY_MODE=change-stream, but the server cannot: it has no change streams');
    logger.warn('server has no change streams; polling');
    return 'polling';
  }

  async function probeChangeStreams(): Promise<boolean> {
    const supported = await store.supportsChangeStreams();
    metrics.changeStreamsSupported.set(supported ? 1 : 0);
    return supported;
  }

  // Gauges, on their own timer (the safety-net sweep is the tailer's, see change-stream.ts).
  const ticker = createWakeableSleep();
  const statsLoop = loop('relay-stats');
  let stopped = false;
  async function sampleGauges(): Promise<void> {
    // The first sample waits one interval: a starting relay's first sweep must not queue behind counting
    // the backlog it is about to drain.
    let delay = config.RELAY_STATS_INTERVAL_MS;
    while (!stopped) {
      await ticker.sleep(delay);
      if (stopped) break;
      const sampledAt = performance.now();
      try {
        const sample = await statsLoop.step(() => store.sampleBacklog());
        metrics.backlog.set(sample.backlog);
        metrics.parked.set(sample.parked);
        metrics.publishedLag.set(sample.oldestWaitingSince === null ? 0 : Math.max(0, Date.now() - sample.oldestWaitingSince) / 1000);
      } catch (err) {
        logger.warn({ err: errorMessage(err) }, 'backlog sampling failed');
      }
      delay = nextSampleDelay(config.RELAY_STATS_INTERVAL_MS, performance.now() - sampledAt);
    }
  }

  let amqp: AmqpConnection | undefined;
  let gaugeLoop: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;

  return {
    async start() {
      await retryingStartup('indexes', logger, () => store.ensureIndexes());
      amqp = await connectAmqp({
        connect,
        url: config.RABBITMQ_URL,
        name: `chat3-relay ${instanceId}`,
        logger,
        onFatal,
        onConnect: (model) => publisher.attach(model),
        onBlockedChange: (blocked) => metrics.brokerBlocked.set(blocked ? 1 : 0),
        // Publishing waits, silently, while the broker is away or blocks us: not a wedged loop.
        onAvailabilityChange: (available) => deps.loops?.dependency('rabbitmq').set(available),
      });
      enterMode(await retryingStartup('mode', logger, chooseMode));
      await retryingStartup('leases', logger, () => leases.start());
      gaugeLoop = sampleGauges();
      logger.info({ instanceId, mode, partitions: held() }, 'relay started');
    },

    stop() {
      stopping ??= (async () => {
        stopped = true;
        ticker.wake();
        dispatcher.close();
        await Promise.all([poller.stop(), tailer.stop(), gaugeLoop]);
        await leases.stop();
        await publisher.stop();
        await amqp?.close();
      })();
      return stopping;
    },

    get mode() {
      return mode;
    },

    readiness() {
      const connected = amqp?.connected ?? false;
      const blocked = amqp?.blocked ?? false;
      return {
        ok: connected && publisher.connected && !blocked && mode !== 'starting',
        checks: { rabbitmq: connected, blocked, mode, partitions: held().length, inFlight: dispatcher.inFlight },
      };
    },
  };
}

/**
 * The gauges are sampled every `intervalMs`, but never so often that sampling takes more than a fifth
 * of the database's time: counting a backlog of millions (or any backlog on a server without usable
 * indexes) takes long, and the relay's own queries must not queue behind its metrics.
 */
export function nextSampleDelay(intervalMs: number, tookMs: number): number {
  return Math.max(intervalMs, Math.round(4 * tookMs));
}
