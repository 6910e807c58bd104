/** The relay benchmark's results: what each measurement returns, and the whole run's record. */
import type { CommandTiming } from '../db-timing';
import type { Environment } from '../common';
import type { Summary } from '../report';
import type { NaiveResult } from './naive-relay';

export interface RelayBenchParams {
  updates: number;
  repeat: number;
  naiveSeconds: number;
  lagSeconds: number;
  loads: number[];
  /** Collection sizes the two marks are compared at. */
  markSizes: number[];
  seed: number;
  quick: boolean;
}

/** Raw publishing of the relay's wire messages on a confirm channel, no database. */
export interface CeilingRun {
  rate: number;
  ms: number;
  nacks: number;
  queueDepth: number;
  /** CPU time of this process (user + system, all threads) per message while publishing. */
  cpuUsPerMsg: number;
}

/** The real relay draining a backlog it finds at start(); `rate` counts from start(). */
export interface DrainRun {
  rate: number;
  ms: number;
  startMs: number;
  /** Rate over the time after start() resolved. */
  rateAfterStart: number;
  reached: boolean;
  published: number;
  queueDepth: number;
  unpublishedLeft: number;
  confirmMeanMs: number;
  failures: number;
  unroutable: number;
}

/** The drain on MongoDB (or the stand-in), with where its database time went. */
export interface MongoDrainRun extends DrainRun {
  /** When the relay's `published` counter was first seen above 0 (after the first mark), from start(). */
  firstPublishMs: number;
  db: CommandTiming[];
  /** Wall time with at least one command on `updates` running. */
  updatesBusyMs: number;
}

/** The drain over the in-memory stores: `storeBusyMs` is the time spent inside them. */
export interface MemoryDrainRun extends DrainRun {
  /** When the relay read its first page, from start(). */
  firstFetchMs: number;
  fetches: number;
  marks: number;
  storeBusyMs: number;
  /** CPU time of this process (user + system, all threads) per message, start() to the last mark. */
  cpuUsPerMsg: number;
}

/** One page of each relay step, timed alone (medians of up to 3 pages). */
export interface PageBreakdown {
  pageSize: number;
  collectionSize: number;
  fetchMs: number;
  encodeMs: number;
  publishMs: number;
  markMs: number;
}

export type MarkMethod = 'updateMany' | 'bulkWrite';

export interface MarkRun {
  method: MarkMethod;
  ms: number;
}

/** Both ways of marking a page published, alternating on one collection of `collectionSize` Updates. */
export interface MarkComparison {
  collectionSize: number;
  pageSize: number;
  runs: MarkRun[];
  /** Updates published after all the runs: runs × pageSize when every mark did its work. */
  marked: number;
}

export type NaiveRun = NaiveResult & { rate: number };

export interface LagRun {
  loadPct: number;
  targetRate: number;
  offeredRate: number;
  inserted: number;
  published: number;
  drained: boolean;
  drainTailMs: number;
  lag: Summary;
  insertMs: Summary;
  queueDepth: number;
  sweeps: number;
  marks: number;
  markMeanMs: number;
  findMeanMs: number;
  pollIntervalMs: number;
}

export interface RelayWorkload {
  users: number;
  userTypes: Record<string, number>;
  dialogs: number;
  activeMembersMedian: number;
  activeMembersMax: number;
  events: number;
  updatesByEventType: Record<string, number>;
  bodyBytes: Summary;
  encodeUsPerMsg: number;
}

export interface RelayBenchResults {
  command: string;
  params: RelayBenchParams;
  env: Environment & { changeStreams: boolean; mongoUri: string; relayEnv: Record<string, string> };
  relayConfig: { batchSize: number; window: number; pollIntervalMs: number; partitions: number };
  workload: RelayWorkload;
  ceiling: CeilingRun[];
  drain: MongoDrainRun[];
  memoryDrain: MemoryDrainRun[];
  page: PageBreakdown;
  marks: MarkComparison[];
  naive: NaiveRun;
  lag: LagRun[];
  /** The machine's 1-minute load average when the run started and when it ended (other work running). */
  load: { start: number; end: number };
  totalSeconds: number;
}
