/**
 * The relay's I/O, as the narrow interfaces its loops take. `db/` implements them on MongoDB; the fault
 * simulation implements them on models of the driver's documented behaviour.
 */
import type { UpdateDocument } from '@chat3/core';
import type { ObjectId } from 'mongodb';

export type StoredUpdate = UpdateDocument<ObjectId>;

/** Half-open ranges of recipient buckets (`partition` on each Update). */
export type BucketRanges = ReadonlyArray<{ from: number; to: number }>;

export interface BacklogSample {
  backlog: number;
  /** The earliest `waitingSince` of the unpublished, unparked Updates. */
  oldestWaitingSince: number | null;
  parked: number;
}

/** An insert into `updates`, as a change stream returns it. */
export interface UpdateInsertEvent {
  _id: unknown;
  operationType: 'insert';
  fullDocument: StoredUpdate;
}

/**
 * `pnpm republish` put an Update back (`$set` of `replayId`, `published: false`): the event only says
 * so; which Updates, and of which partitions, a sweep finds out.
 */
export interface ReplayEvent {
  _id: unknown;
  operationType: 'update';
}

/** Any other event the stream returns (an `invalidate` after a drop or rename). */
export interface OtherChangeEvent {
  _id: unknown;
  operationType: Exclude<string, 'insert' | 'update'>;
}

export type UpdateChangeEvent = UpdateInsertEvent | ReplayEvent | OtherChangeEvent;

/**
 * A change stream as driver 7 presents it in iterator mode: `tryNext` resolves a change, or null after
 * an empty batch (idle, or closed: only `closed` tells them apart); it resumes by itself after
 * resumable errors and rejects on the others. `resumeToken` is the position after the last change
 * returned, or the post-batch resume token when a batch ends (so it also advances while idle).
 */
export interface ChangeStreamPort {
  tryNext(): Promise<UpdateChangeEvent | null>;
  readonly resumeToken: unknown;
  bufferedCount(): number;
  readonly closed: boolean;
  close(): Promise<void>;
}

export interface WatchOptions {
  ranges: BucketRanges;
  startAfter?: unknown;
  batchSize: number;
  maxAwaitTimeMS: number;
}

/** What the relay re-reads of an unpublished Update before it publishes a change event's copy of it. */
export interface OpenUpdate {
  /** null when not numbered yet. */
  seq: number | null;
  /** The replay that last put it back, if any. */
  replayId: string | null;
}

/** One recipient of Updates: sequence numbers count per recipient. */
export interface Recipient {
  tenantId: string;
  userId: string;
}

/** A recipient as a map key (and the `_id` of its counter): unambiguous whatever the ids contain. */
export function recipientKey(r: Recipient): string {
  return JSON.stringify([r.tenantId, r.userId]);
}

/**
 * One Update as a write to it names it: its `_id` and its recipient. The recipient is the shard key
 * `updates` can be sharded on, so such a write goes to one shard on any server version.
 */
export type UpdateRef = Pick<StoredUpdate, '_id' | 'tenantId' | 'userId'>;

/** `seq` to be set on Update `id` of `recipient`. */
export interface SeqAssignment {
  id: ObjectId;
  recipient: Recipient;
  seq: number;
}

export interface UpdateStore {
  /** Creates the indexes the relay's queries use. */
  ensureIndexes(): Promise<void>;
  /** Unpublished, unparked Updates in these buckets, oldest first (createdAt, then _id). */
  fetchUnpublished(ranges: BucketRanges, limit: number, before?: number): Promise<StoredUpdate[]>;
  /** Of these ids, the ones still unpublished and unparked, with their `seq` and `replayId` as stored now. */
  stillUnpublished(ids: readonly ObjectId[]): Promise<Map<string, OpenUpdate>>;
  markPublished(ids: readonly ObjectId[], publishedAt: number): Promise<void>;
  /** Counts a broker rejection; parks the Update (and returns true) at `maxAttempts`. */
  recordRejection(update: UpdateRef, reason: string, maxAttempts: number, at: number): Promise<boolean>;
  /** Sets the Update aside for good (while it is unpublished): sweeps skip it. */
  park(update: UpdateRef, reason: string, attempts: number, at: number): Promise<void>;
  sampleBacklog(): Promise<BacklogSample>;
  /** The recipients' seq counters (`update_seqs`), by `recipientKey`; absent when there is none. */
  lastSeqs(recipients: readonly Recipient[]): Promise<Map<string, number>>;
  /**
   * The true last seq of each recipient (by `recipientKey`, 0 for none): the larger of its counter and
   * the highest seq on its Updates. Counters are raised after numbering, so they can lag.
   */
  repairSeqs(recipients: readonly Recipient[]): Promise<Map<string, number>>;
  /**
   * Sets `seq` on Updates that have none, in order, in one write that stops at the first one that cannot
   * take its seq (it has one already, or the recipient's seq is taken). Resolves with the ids (hex)
   * that now hold the seq asked for; rejects when the outcome is unknown.
   */
  assignSeqs(assignments: readonly SeqAssignment[]): Promise<Set<string>>;
  /** Raises each recipient's counter to at least `lastSeq` (never lowers it). */
  raiseSeqCounters(last: ReadonlyArray<{ recipient: Recipient; lastSeq: number }>): Promise<void>;
  /** Resolves true when the server has change streams, false when it answers "not supported". */
  supportsChangeStreams(): Promise<boolean>;
  /** Inserts into the ranges, and every replay's putting back (see `changeStreamPipeline`). */
  watchChanges(options: WatchOptions): ChangeStreamPort;
}

/** Change-stream resume tokens, kept with the relay's partition leases. */
export interface ResumeTokenStore {
  save(partitions: readonly number[], token: unknown, at: number): Promise<void>;
  /** The oldest token saved for these partitions, or null if any of them has none. */
  load(partitions: readonly number[]): Promise<unknown>;
}

/** How the recipient space is split into relay partitions; `version` increases with every change. */
export interface PartitionLayout {
  version: number;
  partitions: number;
}

/** The relay partition layout, kept with the leases (see relay-leases.ts). */
export interface LayoutStore {
  /** The layout in force; created with `partitions` when there is none yet. */
  current(partitions: number): Promise<PartitionLayout>;
  /** Makes `partitions` the layout (a new version) unless it already is. */
  declare(partitions: number): Promise<PartitionLayout>;
  /** Retires every lease of the layouts before `version`: they can be neither renewed nor acquired again. */
  retireOlder(version: number): Promise<void>;
  /** True while a lease of a layout before `version` may still be in use (owned and not expired at `now`). */
  olderLeasesLive(version: number, now: number): Promise<boolean>;
}
