/** The builder benchmark's results: what each measurement returns, and the whole run's record. */
import type { QueueType } from '@chat3/builder';
import type { Environment } from '../common';
import type { CommandTiming } from '../db-timing';
import type { Summary } from '../report';

export interface BuilderBenchParams {
  events: number;
  users: number;
  dialogs: number;
  seed: number;
  repeat: number;
  /** Events/s of the latency phase; null: 50 % of the baseline's median throughput. */
  rate: number | null;
  latencySeconds: number;
  baselineSeconds: number;
  baselineStats: boolean;
  /**
   * The builder's queue types (BUILDER_QUEUE_TYPE) whose throughput is measured, each in every repetition.
   * The first is the primary type: its runs are the ones compared with the baseline and the insert
   * ceiling, and the latency phase runs on it.
   */
  queueTypes: QueueType[];
  quick: boolean;
}

export type BuilderSystem = 'builder' | 'baseline';

/** Events published as fast as confirms allow, timed until the system processed them all (or its time ran out). */
export interface ThroughputRun {
  system: BuilderSystem;
  /** Builder only: the type its intake, partition and dead-letter queues were declared as. */
  queueType?: QueueType;
  events: number;
  processed: number;
  reached: boolean;
  ms: number;
  publishMs: number;
  eventsPerSecond: number;
  updates: number;
  updatesPerSecond: number;
  updatesInDb: number;
  detail: Record<string, number>;
  /** Builder only: every batch's size and duration (s), and the database commands timed by the driver. */
  batchSizes?: number[];
  batchSeconds?: number[];
  db?: CommandTiming[];
}

/** One `insertMany` of the Update documents a builder run wrote, into a fresh `updates`: the raw write ceiling. */
export interface InsertCeilingRun {
  documents: number;
  /** The events those documents came from (the builder run's). */
  events: number;
  ms: number;
  updatesPerSecond: number;
  /** Events per second, had the builder's writes been this one insertMany and nothing else. */
  eventsPerSecond: number;
}

/** The run's events through one durable queue of one type and nothing else: the broker alone, no database. */
export interface BrokerCeilingRun {
  queueType: QueueType;
  events: number;
  /** From the first publish to the last ack. */
  ms: number;
  publishMs: number;
  eventsPerSecond: number;
}

export interface LatencyRun {
  system: BuilderSystem;
  offeredRate: number;
  sent: number;
  processed: number;
  keptUp: boolean;
  /** After the traffic stopped, how long until the last event was processed. */
  tailMs: number;
  updates: number;
  /** Update.createdAt − event createdAt (ms). */
  latency: Summary;
  /** Update.createdAt − the moment the event was handed to the broker (ms). */
  fromPublish: Summary;
  /** Builder only: batches written and their median duration (ms). */
  batches?: number;
  batchMsMedian?: number;
}

export interface BuilderWorkload {
  users: number;
  userTypes: Record<string, number>;
  dialogs: number;
  membersMedian: number;
  membersMax: number;
  eventsByType: Record<string, number>;
  stepWrites: number;
  /** Applying the read model (population and every step's writes) before timing. */
  readModelApplyMs: number;
}

export interface BuilderBenchResults {
  command: string;
  params: BuilderBenchParams;
  env: Environment & { mongoUri: string; builderEnv: Record<string, string> };
  builderConfig: { batchSize: number; batchWaitMs: number; partitions: number; prefetch: number };
  workload: BuilderWorkload;
  /** Every builder throughput run, of every queue type, in the order they ran. */
  builder: ThroughputRun[];
  baseline: ThroughputRun[];
  insertCeiling: InsertCeilingRun[];
  /** The broker alone on each queue type, in the order they ran (right after the builder run of that type). */
  brokerCeiling: BrokerCeilingRun[];
  /** The offered rate of the latency phase (events/s). */
  latencyRate: number;
  latency: LatencyRun[];
  /** The machine's 1-minute load average when the run started and when it ended. */
  load: { start: number; end: number };
  totalSeconds: number;
}
