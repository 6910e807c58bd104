/** `@chat3/simulator`: deterministic Chat3 traffic (read-model writes + events) for tests, benchmarks and demos. */
export { createSimulation, type Simulation, type TrafficStep } from './simulation';
export { resolveSimulationOptions, type ResolvedSimulationOptions, type SimulationOptions } from './simulation-options';
export type { Population } from './population';
export { runTraffic, type RunTrafficOptions, type TrafficStats } from './traffic-runner';
export { applyWrites, ensureReadModelIndexes, type ApplyWritesOptions, type WriteCounts } from './apply-writes';
export { assertEventsExchange, publishEvents, publishOptionsFor, sendEvents, type PublishableStep } from './publisher';
export { MemoryReadModel } from './memory-read-model';
export {
  COLLECTION_KEYS,
  DEFAULT_COLLECTION_NAMES,
  rowObjectId,
  toBulkOperation,
  type CollectionKey,
  type CollectionNames,
  type ReadModelWrite,
} from './read-model-writes';
export {
  DEFAULT_VARIANT_RATES,
  encodeEvent,
  eventIdOf,
  eventRoutingKey,
  type EventBody,
  type EventData,
  type EventVariantRates,
} from './event-factory';
export { ALL_ACTIONS, CANONICAL_ACTIONS, DEFAULT_MIX, NOISE_ACTIONS, type Action, type Mix } from './mix';
export { DANGEROUS_USER_IDS } from './ids';
export { DEFAULT_START_TIME } from './sim-clock';
export { planBatch } from './pacing';
export { createRandom, type Random } from './prng';
