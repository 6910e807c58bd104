/**
 * A replay: puts the Updates a filter selects back to `published: false`, oldest first, at a steady
 * rate, and keeps a record of it in `replays` so it can be listed and resumed.
 *
 * - Each chunk is one ordered bulk of `updateOne`s by `_id` (a multi-document update is not atomic, and
 *   a relay running alongside would publish whatever it had already flipped, in storage order). Flipped
 *   in `createdAt` order, each recipient's Updates are published again in that order.
 * - Each Update gets `republishedAt` and `replayId`: the relay sends the replay id as `x-chat3-replay`
 *   and measures lag and publish latency from `republishedAt`, so a replay does not look like an outage.
 * - The record keeps how far the replay got (the last `createdAt`, `_id` done). `--resume` continues
 *   after it, and skips anything already carrying the replay's id, so nothing is done twice.
 */
import { randomBytes } from 'node:crypto';
import { ObjectId, type Collection, type Document, type Filter } from 'mongodb';
import { UsageError } from '../cli/errors';
import type { ReplayFilter } from './args';

export type ReplayStatus = 'running' | 'interrupted' | 'failed' | 'done';

export interface ReplayRecord {
  _id: string;
  operator: string;
  filter: ReplayFilter;
  limit: number | null;
  rate: number;
  status: ReplayStatus;
  /** Updates the filter selected when the replay started (capped by the limit). */
  selected: number;
  /** Updates put back so far. */
  done: number;
  /** The last Update put back, in (createdAt, _id) order. */
  cursor: { createdAt: number; id: string } | null;
  startedAt: number;
  updatedAt: number;
  finishedAt: number | null;
  resumes: Array<{ at: number; operator: string }>;
  error: string | null;
}

export interface ReplayProgress {
  done: number;
  total: number;
}

const OLDEST_FIRST = { createdAt: 1, _id: 1 } as const;

/**
 * The MongoDB query for a replay: its filter, over Updates created before the replay started (a filter
 * without `--until` would otherwise chase live traffic).
 */
export function replayQuery(filter: ReplayFilter, startedAt: number): Filter<Document> {
  return { $and: [filterQuery(filter), { createdAt: { $lt: startedAt } }] };
}

/** The MongoDB query for a filter. */
export function filterQuery(filter: ReplayFilter): Filter<Document> {
  const query: Filter<Document> = {};
  if (filter.tenant !== undefined) query.tenantId = filter.tenant;
  if (filter.user !== undefined) query.userId = filter.user;
  if (filter.dialog !== undefined) query.dialogId = filter.dialog;
  if (filter.event !== undefined) query.eventId = filter.event;
  if (filter.eventType !== undefined) query.eventType = filter.eventType;
  if (filter.updateType !== undefined) query.updateType = filter.updateType;
  if (filter.since !== undefined || filter.until !== undefined) {
    query.createdAt = {
      ...(filter.since !== undefined ? { $gte: filter.since } : {}),
      ...(filter.until !== undefined ? { $lt: filter.until } : {}),
    };
  }
  if (filter.ids !== undefined) query._id = { $in: filter.ids.map((id) => new ObjectId(id)) };
  if (filter.parked) query.parked = { $exists: true };
  return query;
}

/** `rpl_20261202T041500Z_3fa9c1`: sortable by start, readable in a header, unique enough to retry on. */
export function newReplayId(now: number, random: () => Buffer = () => randomBytes(3)): string {
  const stamp = new Date(now)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `rpl_${stamp}_${random().toString('hex')}`;
}

export interface DryRunSummary {
  count: number;
  byUpdateType: Record<string, number>;
  byTenant: Record<string, number>;
  firstCreatedAt: number | null;
  lastCreatedAt: number | null;
  sampleIds: string[];
}

/** What a replay with this filter and limit would put back. Writes nothing. */
export async function dryRun(updates: Collection, filter: ReplayFilter, limit: number | undefined, now: number): Promise<DryRunSummary> {
  const query = replayQuery(filter, now);
  const selection: Document[] = [{ $match: query }, { $sort: OLDEST_FIRST }, ...(limit ? [{ $limit: limit }] : [])];
  const groupBy = (field: string) =>
    updates
      .aggregate<{ _id: string; n: number }>([...selection, { $group: { _id: `$${field}`, n: { $sum: 1 } } }, { $sort: { _id: 1 } }])
      .toArray();
  const [byType, byTenant, sample] = await Promise.all([
    groupBy('updateType'),
    groupBy('tenantId'),
    updates
      .find(query, { projection: { _id: 1, createdAt: 1 } })
      .sort(OLDEST_FIRST)
      .limit(Math.min(5, limit ?? 5))
      .toArray(),
  ]);
  const count = byType.reduce((n, g) => n + g.n, 0);
  const [newest] =
    count === 0
      ? []
      : await updates
          .find(query, { projection: { createdAt: 1 } })
          .sort(OLDEST_FIRST)
          .skip(count - 1)
          .limit(1)
          .toArray();
  const counts = (groups: Array<{ _id: string; n: number }>) => Object.fromEntries(groups.map((g) => [g._id, g.n]));
  return {
    count,
    byUpdateType: counts(byType),
    byTenant: counts(byTenant),
    firstCreatedAt: (sample[0]?.createdAt as number | undefined) ?? null,
    lastCreatedAt: (newest?.createdAt as number | undefined) ?? null,
    sampleIds: sample.map((d) => String(d._id)),
  };
}
export interface ReplayDeps {
  updates: Collection;
  replays: Collection<ReplayRecord>;
  clock?: () => number;
  /** Resolves after `ms`, or early when `signal` aborts. */
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Aborted (SIGINT): the replay stops after the chunk in flight and is recorded as interrupted. */
  signal: AbortSignal;
  onProgress?: (progress: ReplayProgress) => void;
}

/** Starts a replay: counts what it selects, records it as running. */
export async function startReplay(
  deps: Pick<ReplayDeps, 'updates' | 'replays' | 'clock'>,
  spec: { filter: ReplayFilter; limit?: number; rate: number; operator: string },
): Promise<ReplayRecord> {
  const now = (deps.clock ?? Date.now)();
  const count = await deps.updates.countDocuments(replayQuery(spec.filter, now));
  const record: ReplayRecord = {
    _id: newReplayId(now),
    operator: spec.operator,
    filter: spec.filter,
    limit: spec.limit ?? null,
    rate: spec.rate,
    status: 'running',
    selected: spec.limit === undefined ? count : Math.min(count, spec.limit),
    done: 0,
    cursor: null,
    startedAt: now,
    updatedAt: now,
    finishedAt: null,
    resumes: [],
    error: null,
  };
  await deps.replays.insertOne(record, { writeConcern: { w: 'majority', journal: true } });
  return record;
}

export const STALE_RUNNING_MS = 60_000;

/** Takes an interrupted or failed replay up again (or a running one whose process died: no progress for a minute). */
export async function resumeReplay(
  deps: Pick<ReplayDeps, 'replays' | 'clock'>,
  id: string,
  spec: { rate?: number; operator: string },
): Promise<ReplayRecord> {
  const now = (deps.clock ?? Date.now)();
  const found = await deps.replays.findOne({ _id: id });
  if (!found) throw new ReplayError(`no replay ${id} (see --list)`);
  if (found.status === 'done') throw new ReplayError(`replay ${id} is done: ${found.done} of ${found.selected} put back`);
  // A running replay records progress every chunk; one silent for a minute lost its process (SIGKILL).
  const silentMs = now - found.updatedAt;
  if (found.status === 'running' && silentMs < STALE_RUNNING_MS) {
    throw new ReplayError(
      `replay ${id} is running (last progress ${Math.round(silentMs / 1000)} s ago); if its process is gone, resume it after ${STALE_RUNNING_MS / 1000} s of silence`,
    );
  }
  const rate = spec.rate ?? found.rate;
  const taken = await deps.replays.findOneAndUpdate(
    { _id: id, status: found.status, updatedAt: found.updatedAt },
    { $set: { status: 'running', rate, updatedAt: now, error: null }, $push: { resumes: { at: now, operator: spec.operator } } },
    { returnDocument: 'after' },
  );
  if (!taken) throw new ReplayError(`replay ${id} changed while resuming; try again`);
  return taken;
}

/** A replay that cannot be resumed as asked: a usage error (exit 2). */
export class ReplayError extends UsageError {}

/**
 * Puts Updates back chunk by chunk until the selection or the limit is exhausted, the signal aborts or a
 * write fails (recorded as `failed`, then thrown). Chunks are paced so `done` follows `rate` per second.
 */
export async function runReplay(deps: ReplayDeps, record: ReplayRecord): Promise<ReplayRecord> {
  const clock = deps.clock ?? Date.now;
  const { updates, replays, signal } = deps;
  const base = replayQuery(record.filter, record.startedAt);
  // Half a second's worth per chunk: small enough that a recipient's replay trickles in, large enough
  // that the three round trips a chunk takes fit in the time it is given.
  const chunk = Math.max(1, Math.min(1_000, Math.ceil(record.rate / 2)));
  const pacedFrom = { at: clock(), done: record.done };
  let state = record;

  const save = async (set: Partial<ReplayRecord>) => {
    state = { ...state, ...set, updatedAt: clock() };
    await replays.updateOne(
      { _id: state._id },
      { $set: { ...set, updatedAt: state.updatedAt } },
      { writeConcern: { w: 'majority', journal: true } },
    );
  };

  try {
    while (!signal.aborted) {
      const left = state.limit === null ? chunk : Math.min(chunk, state.limit - state.done);
      if (left <= 0) break;
      const after = state.cursor
        ? {
            $or: [
              { createdAt: { $gt: state.cursor.createdAt } },
              { createdAt: state.cursor.createdAt, _id: { $gt: new ObjectId(state.cursor.id) } },
            ],
          }
        : {};
      const batch = await updates
        .find({ $and: [base, after, { replayId: { $ne: state._id } }] }, { projection: { _id: 1, createdAt: 1 } })
        .sort(OLDEST_FIRST)
        .limit(left)
        .toArray();
      if (batch.length === 0) break;
      const republishedAt = clock();
      await updates.bulkWrite(
        batch.map(({ _id }) => ({
          updateOne: {
            filter: { _id },
            update: {
              $set: { published: false, publishedAt: null, republishedAt, replayId: state._id },
              // No `publishedDate`: retention never expires an Update waiting to go out again.
              $unset: { parked: '', publishAttempts: '', publishedDate: '' },
            },
          },
        })),
        { ordered: true, writeConcern: { w: 'majority', journal: true } },
      );
      const last = batch[batch.length - 1]!;
      await save({ done: state.done + batch.length, cursor: { createdAt: last.createdAt as number, id: String(last._id) } });
      deps.onProgress?.({ done: state.done, total: state.selected });
      const dueAt = pacedFrom.at + ((state.done - pacedFrom.done) / state.rate) * 1000;
      await deps.sleep(Math.max(0, dueAt - clock()), signal);
    }
  } catch (err) {
    await save({ status: 'failed', error: err instanceof Error ? err.message : String(err) }).catch(() => undefined);
    throw err;
  }
  if (signal.aborted) await save({ status: 'interrupted' });
  else await save({ status: 'done', finishedAt: clock() });
  return state;
}

export async function listReplays(replays: Collection<ReplayRecord>, limit: number): Promise<ReplayRecord[]> {
  return replays.find({}).sort({ startedAt: -1 }).limit(limit).toArray();
}
