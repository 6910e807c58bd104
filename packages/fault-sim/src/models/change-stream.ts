/**
 * A change stream on `updates` as driver 7 presents it in iterator mode (`tryNext`), over the Mongo
 * model's oplog. Sources, as summarised in shared/reference/semantics.md §1 (letters are that file's):
 *   - `watch()` is lazy; the first `tryNext` sends `aggregate` (a retryable read, retried once by the
 *     driver; its errors are never resumable: the stream closes and the call rejects) [M1, M3, S2];
 *   - each later fetch is a `getMore` that waits up to `maxAwaitTimeMS` for majority-committed
 *     matching events; an empty batch resolves null and carries a post-batch resume token (PBRT), so
 *     `resumeToken` advances while idle [M2, S1, K1];
 *   - `resumeToken` is the `_id` of the change just returned, or the batch's PBRT when it was the last
 *     one buffered [M2 cacheResumeToken, read in node_modules/mongodb/lib/cursor/change_stream_cursor.js];
 *   - a resumable `getMore` error (network, not primary) is handled inside the driver: it waits for a
 *     server (up to server selection timeout) and re-aggregates with `resumeAfter` the cached token;
 *     if no server is found the stream closes and the ORIGINAL error is thrown [M1 _resume];
 *   - resuming from a token older than the oplog window fails with 286 ChangeStreamHistoryLost, and
 *     from an event token whose event fails a changed `$match` with 280; both close the stream [K2, J4];
 *   - after an invalidate (drop, rename) the server cursor is dead: with a `$match` on inserts the
 *     event itself is filtered out, `tryNext()` resolves null at once forever and only `closed` tells
 *     (checked in node_modules/mongodb/lib/cursor/abstract_cursor.js: fetchBatch returns early once
 *     the cursor is closed, and ChangeStream.tryNext maps that to null) [M3, M7];
 *   - after `close()`, a pending call resolves null and later calls reject (MongoAPIError) [M1];
 *   - the relay's `$match` (relay/src/db/update-store.ts `changeStreamPipeline`) keeps inserts into its
 *     bucket ranges and every `update` whose `updateDescription.updatedFields` has `replayId` (what a
 *     replay writes; see mongo.ts). An update event carries `documentKey` and `updateDescription`, and
 *     no `fullDocument`: that needs `fullDocument: 'updateLookup'`, which the relay does not ask for
 *     [S1, K1; MongoDB manual, "update Event" and "Lookup Full Document for Update Operations"]. So a
 *     replay's events are not narrowed to the ranges (the pipeline has no partition to match on).
 *     They count towards batches, carry tokens and end batches with the PBRT like inserts.
 * A relay that keeps calling `tryNext` on a dead stream spins; the model notes it (`spins`) and, past
 * a limit, answers with a 1 ms delay so the run can go on and report it.
 */
import type { ChangeStreamPort, ReplayEvent, StoredUpdate, UpdateChangeEvent, WatchOptions } from '@chat3/relay';
import { mongoError, type MongoHost, type MongoModel, type OplogEntry } from './mongo';

interface Token {
  _data: string;
  /** Test-only decoding aids; real tokens are opaque. */
  opTime: number;
  highWaterMark: boolean;
}

const token = (opTime: number, highWaterMark: boolean): Token => ({
  _data: `${highWaterMark ? 'H' : 'E'}${opTime.toString(16).padStart(12, '0')}`,
  opTime,
  highWaterMark,
});

const SPIN_LIMIT = 1_000;

export class ChangeStreamModel implements ChangeStreamPort {
  resumeToken: unknown;
  /** Calls on a dead stream that resolved at once (a busy loop in the caller). */
  spins = 0;
  private started = false;
  private isClosed = false;
  private dead = false;
  private position = 0;
  /** Where the first aggregate started (the driver's startAtOperationTime when no token is cached yet). */
  private startPosition = 0;
  private buffer: Array<{ event: UpdateChangeEvent; token: Token }> = [];
  private pending: Array<(v: null) => void> = [];

  constructor(
    private readonly model: MongoModel,
    private readonly host: MongoHost,
    private readonly options: WatchOptions,
    private readonly onSpin: (stream: ChangeStreamModel) => void,
    /** False: a pipeline that matches inserts only, as the relay's was before replays (checker self-test). */
    private readonly matchReplays = true,
  ) {
    this.resumeToken = options.startAfter ?? null;
  }

  get closed(): boolean {
    return this.isClosed || (this.dead && this.buffer.length === 0);
  }

  bufferedCount(): number {
    return this.buffer.length;
  }

  async close(): Promise<void> {
    this.isClosed = true;
    for (const resolve of this.pending.splice(0)) resolve(null);
  }

  async tryNext(): Promise<UpdateChangeEvent | null> {
    if (this.isClosed) throw mongoError('MongoAPIError', 'ChangeStream is closed');
    const buffered = this.buffer.shift();
    if (buffered) {
      this.resumeToken = buffered.token;
      return buffered.event;
    }
    if (this.dead) {
      if (++this.spins > SPIN_LIMIT) {
        this.onSpin(this);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      return null;
    }
    return new Promise<UpdateChangeEvent | null>((resolve, reject) => {
      this.pending.push(resolve);
      this.fetch().then(
        (event) => {
          const i = this.pending.indexOf(resolve);
          if (i < 0) return; // closed meanwhile: already resolved null
          this.pending.splice(i, 1);
          resolve(event);
        },
        (err: Error) => {
          const i = this.pending.indexOf(resolve);
          if (i < 0) return;
          this.pending.splice(i, 1);
          this.isClosed = true;
          reject(err);
        },
      );
    });
  }

  private async fetch(): Promise<UpdateChangeEvent | null> {
    if (!this.started) {
      // aggregate: a retryable read; errors close the stream
      await this.model.op(this.host, 'aggregate', () => ({ value: this.openAt(this.resumeToken as Token | null) }));
      this.startPosition = this.position;
      this.started = true;
    }
    for (;;) {
      try {
        return await this.getMore();
      } catch (err) {
        if (!isResumable(err)) throw err;
        await this.resume(err as Error);
      }
    }
  }

  /** Positions the cursor; throws 286 / 280 for tokens it cannot resume from. */
  private openAt(from: Token | null): void {
    if (!from) {
      this.position = this.model.majorityPoint();
      return;
    }
    if (from.opTime < this.model.oplogStart) {
      throw mongoError('MongoServerError', 'Resume of change stream was not possible, as the resume point may no longer be in the oplog', {
        code: 286,
        codeName: 'ChangeStreamHistoryLost',
      });
    }
    if (!from.highWaterMark) {
      const entry = this.model.oplog.find((e) => e.opTime === from.opTime);
      if (entry && !this.matches(entry)) {
        throw mongoError('MongoServerError', 'cannot resume stream; the resume token was not found', {
          code: 280,
          codeName: 'ChangeStreamFatalError',
        });
      }
    }
    this.position = from.opTime;
  }

  private async getMore(): Promise<UpdateChangeEvent | null> {
    const deadline = Date.now() + this.options.maxAwaitTimeMS;
    for (;;) {
      const batch = await this.model.op(this.host, 'getMore', () => ({ value: this.scan() }));
      if (this.isClosed) return null;
      if (batch === 'invalidated') {
        this.dead = true;
        return null;
      }
      if (batch.length > 0) {
        this.buffer = batch;
        const first = this.buffer.shift()!;
        this.resumeToken = first.token;
        return first.event;
      }
      const left = deadline - Date.now();
      this.resumeToken = token(this.position, true);
      if (left <= 0) return null;
      await this.model.waitForCommit(left);
      if (Date.now() >= deadline) {
        // one last look, as the server does at the end of maxAwaitTimeMS
        const last = await this.model.op(this.host, 'getMore', () => ({ value: this.scan() }));
        if (last === 'invalidated') {
          this.dead = true;
          return null;
        }
        if (last.length > 0) {
          this.buffer = last;
          const first = this.buffer.shift()!;
          this.resumeToken = first.token;
          return first.event;
        }
        this.resumeToken = token(this.position, true);
        return null;
      }
    }
  }

  /** Majority-committed matching changes after the position, up to the batch size; the last one carries the PBRT. */
  private scan(): Array<{ event: UpdateChangeEvent; token: Token }> | 'invalidated' {
    const point = this.model.majorityPoint();
    const out: Array<{ event: UpdateChangeEvent; token: Token }> = [];
    for (const entry of this.model.oplog) {
      if (entry.opTime <= this.position || entry.opTime > point) continue;
      if (entry.kind === 'invalidate') {
        if (out.length > 0) return this.finishBatch(out); // the invalidate comes with the next getMore
        this.position = entry.opTime;
        return 'invalidated';
      }
      if (!this.matches(entry)) continue;
      out.push({ event: this.event(entry), token: token(entry.opTime, false) });
      this.position = entry.opTime;
      if (out.length >= this.options.batchSize) return this.finishBatch(out);
    }
    if (out.length === 0 || out.length < this.options.batchSize) this.position = Math.max(this.position, point);
    return this.finishBatch(out);
  }

  private finishBatch(out: Array<{ event: UpdateChangeEvent; token: Token }>) {
    if (out.length > 0) out[out.length - 1]!.token = token(this.position, true);
    return out;
  }

  /** The event as the server sends it: an insert with its document, an update with only what changed. */
  private event(entry: OplogEntry): UpdateChangeEvent {
    const _id = token(entry.opTime, false);
    if (entry.kind === 'insert') return { _id, operationType: 'insert', fullDocument: { ...(entry.doc as StoredUpdate) } };
    const { id, updatedFields, removedFields } = entry.update!;
    const event: ReplayEvent & { documentKey: { _id: unknown }; updateDescription: unknown } = {
      _id,
      operationType: 'update',
      documentKey: { _id: id },
      updateDescription: { updatedFields: { ...updatedFields }, removedFields: [...removedFields], truncatedArrays: [] },
    };
    return event;
  }

  /** The relay's `$match` (see the header). */
  private matches(entry: OplogEntry): boolean {
    if (entry.kind === 'update') return this.matchReplays && entry.update !== undefined && 'replayId' in entry.update.updatedFields;
    const p = entry.doc?.partition;
    return entry.kind === 'insert' && p !== undefined && this.options.ranges.some((r) => p >= r.from && p < r.to);
  }

  /** The driver's resume: wait for a server, then aggregate again after the cached token. */
  private async resume(original: Error): Promise<void> {
    try {
      const from = (this.resumeToken as Token | null) ?? token(this.startPosition, true);
      await this.model.op(this.host, 'aggregate', () => ({ value: this.openAt(from) }));
    } catch (err) {
      const e = err as { code?: number };
      if (e.code === 286 || e.code === 280) throw err;
      throw original;
    }
  }
}

function isResumable(err: unknown): boolean {
  const e = err as { name?: string; code?: number; errorLabels?: string[] };
  return (
    e.name === 'MongoNetworkError' || e.code === 10107 || e.code === 43 || (e.errorLabels ?? []).includes('ResumableChangeStreamError')
  );
}
