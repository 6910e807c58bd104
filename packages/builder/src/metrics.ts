/** The builder's Prometheus metrics (one registry per process, so tests can run several builders). */
import { ADVISORY_FIELDS, BAD_EVENT_REASONS } from '@chat3/core';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The dead-letter reasons each stage knows, so their series exist from the start at 0: Prometheus's
 * increase() cannot see the first increment of a series that appears with it, and the first dead letter
 * is the one the alert is for. A reason missing here still counts, from its second occurrence on.
 */
export const DEAD_LETTER_REASONS = {
  router: [...BAD_EVENT_REASONS],
  builder: [...BAD_EVENT_REASONS, 'build-error', 'unbuildable', 'write-rejected'],
} as const;

export function createBuilderMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'chat3_builder_' });
  const registers = [registry];
  const fieldsCorrected = new Counter({
    name: 'chat3_builder_fields_corrected_total',
    help: 'Advisory event fields replaced instead of dead-lettering the event, by field (a fixed list)',
    labelNames: ['field'],
    registers,
  });
  for (const field of ADVISORY_FIELDS) fieldsCorrected.inc({ field }, 0);
  const eventsDeadLettered = new Counter({
    name: 'chat3_builder_events_dead_lettered_total',
    help: 'Events sent to the dead-letter queue, by reason',
    labelNames: ['reason', 'stage'],
    registers,
  });
  for (const [stage, reasons] of Object.entries(DEAD_LETTER_REASONS)) {
    for (const reason of reasons) eventsDeadLettered.inc({ reason, stage }, 0);
  }
  return {
    registry,
    fieldsCorrected,
    eventsDeadLettered,
    eventsConsumed: new Counter({
      name: 'chat3_builder_events_consumed_total',
      help: 'Events taken from the intake queue, by event type (a known spelling as received, else other; invalid when unparsable)',
      labelNames: ['event_type'],
      registers,
    }),
    eventsIgnored: new Counter({
      name: 'chat3_builder_events_ignored_total',
      help: 'Events acknowledged without Updates (types that produce none, unknown types), by event type as in _consumed_total',
      labelNames: ['event_type', 'reason'],
      registers,
    }),

    eventsBuilt: new Counter({
      name: 'chat3_builder_events_built_total',
      help: 'Events whose Updates are written',
      registers,
    }),
    updatesWritten: new Counter({
      name: 'chat3_builder_updates_written_total',
      help: 'Update documents inserted (redelivered duplicates excluded)',
      labelNames: ['update_type'],
      registers,
    }),
    updatesDuplicate: new Counter({
      name: 'chat3_builder_updates_duplicate_total',
      help: 'Update inserts that hit the idempotency key (redelivery)',
      registers,
    }),
    batchSize: new Histogram({
      name: 'chat3_builder_batch_size',
      help: 'Events per written micro-batch',
      buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500],
      registers,
    }),
    batchDuration: new Histogram({
      name: 'chat3_builder_batch_duration_seconds',
      help: 'Load, build and write time of one micro-batch',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    eventToUpdate: new Histogram({
      name: 'chat3_builder_event_to_update_seconds',
      help: 'From the event createdAt to its Updates written',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    batchRetries: new Counter({
      name: 'chat3_builder_batch_retries_total',
      help: 'Micro-batch attempts that failed with a retryable error',
      registers,
    }),
    ownedPartitions: new Gauge({
      name: 'chat3_builder_owned_partitions',
      help: 'Partition queues this instance consumes',
      registers,
    }),
    partitions: new Gauge({
      name: 'chat3_builder_partitions',
      help: 'Partition queues there are (BUILDER_PARTITIONS): the builders between them should own this many',
      registers,
    }),
    publishedLag: new Gauge({
      name: 'chat3_builder_published_lag_seconds',
      help: 'How long the oldest unpublished Update has waited, as the relay measures it (0 when none); sampled here too, so lag stays visible while no relay runs',
      registers,
    }),
  };
}

export type BuilderMetrics = ReturnType<typeof createBuilderMetrics>;
