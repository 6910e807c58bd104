/** The relay's Prometheus metrics (one registry per process). */
import { PUBLISH_FAILURES } from '@chat3/runtime';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export const RELAY_MODES = ['change-stream', 'polling', 'starting'] as const;
export type RelayMode = (typeof RELAY_MODES)[number];

export function createRelayMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'chat3_relay_' });
  const registers = [registry];
  const publishFailures = new Counter({
    name: 'chat3_relay_publish_failures_total',
    help: 'Publishes that were not confirmed (sent again later)',
    labelNames: ['reason'],
    registers,
  });
  // Every reason exists from the start, at 0: Prometheus's increase() cannot see the first increment of
  // a series that appears with it, and the first failure is the one an alert is for.
  for (const reason of PUBLISH_FAILURES) publishFailures.inc({ reason }, 0);
  return {
    registry,
    publishFailures,
    backlog: new Gauge({ name: 'chat3_relay_backlog', help: 'Unpublished Updates (parked ones excluded)', registers }),
    publishedLag: new Gauge({
      name: 'chat3_relay_published_lag_seconds',
      help: 'How long the oldest unpublished Update has waited, since createdAt or, when a replay put it back, republishedAt (0 when none)',
      registers,
    }),
    parked: new Gauge({ name: 'chat3_relay_parked', help: 'Updates parked as unpublishable', registers }),
    publishLatency: new Histogram({
      name: 'chat3_relay_publish_latency_seconds',
      help: 'Update createdAt (republishedAt for a replayed one) → publishedAt',
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    confirmLatency: new Histogram({
      name: 'chat3_relay_confirm_latency_seconds',
      help: 'Publish → broker confirm',
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    published: new Counter({ name: 'chat3_relay_published_total', help: 'Updates confirmed and marked published', registers }),
    unroutable: new Counter({
      name: 'chat3_relay_unroutable_total',
      help: 'Updates returned by the broker because no queue was bound for the recipient',
      registers,
    }),

    parkedTotal: new Counter({
      name: 'chat3_relay_parked_total',
      help: 'Updates parked by this instance',
      labelNames: ['reason'],
      registers,
    }),
    duplicatesSkipped: new Counter({
      name: 'chat3_relay_duplicates_skipped_total',
      help: 'Updates seen twice (sweep and stream) and published once',
      registers,
    }),
    seqConflicts: new Counter({
      name: 'chat3_relay_seq_conflicts_total',
      help: 'Recipients whose Updates could not take the seq this relay gave them (withheld, repaired, numbered again)',
      registers,
    }),
    mode: new Gauge({ name: 'chat3_relay_mode', help: 'Current way of finding work (1 = active)', labelNames: ['mode'], registers }),
    changeStreamsSupported: new Gauge({
      name: 'chat3_relay_change_streams_supported',
      help: 'The server has change streams (a replica set or sharded cluster): 1 yes, 0 no or not probed yet',
      registers,
    }),
    ownedPartitions: new Gauge({ name: 'chat3_relay_owned_partitions', help: 'Relay partitions this instance holds', registers }),
    layoutPartitions: new Gauge({
      name: 'chat3_relay_layout_partitions',
      help: 'Relay partitions of the layout in force (all relays follow the last RELAY_PARTITIONS declared)',
      registers,
    }),
    retentionDeleted: new Counter({
      name: 'chat3_relay_retention_deleted_total',
      help: 'Published Updates past UPDATES_RETENTION deleted by this relay (servers without TTL indexes; a TTL index deletes uncounted)',
      registers,
    }),
    oldestRetained: new Gauge({
      name: 'chat3_relay_oldest_retained_seconds',
      help: 'Age of the oldest published Update still stored, since it was published (0 when none, or UPDATES_RETENTION=0)',
      registers,
    }),
    brokerBlocked: new Gauge({
      name: 'chat3_relay_broker_blocked',
      help: 'RabbitMQ is blocking this connection (a memory or disk alarm): 1 while blocked',
      registers,
    }),
  };
}

export type RelayMetrics = ReturnType<typeof createRelayMetrics>;

export function setMode(metrics: RelayMetrics, mode: RelayMode): void {
  for (const m of RELAY_MODES) metrics.mode.set({ mode: m }, m === mode ? 1 : 0);
}
