/**
 * Change-stream mode: tails inserts into `updates` for the partitions this instance holds. The database
 * stays the source of truth: whenever the stream cannot vouch for something, an authoritative sweep
 * (see sweeper.ts) covers it, and the stream only ever speeds delivery up.
 *
 * States (`state`): idle (nothing held) → opening → catching-up → tailing → back to opening (a lease
 * change, an error) or to catching-up (a failed publish) → stopped.
 *
 *   opening      open the stream after `position` (the last point known to be covered), else after
 *                the oldest token saved on the held leases, else from now; the first `tryNext`
 *                establishes the cursor, so the server buffers every later change from here on;
 *   catching-up  sweep what the stream will not show: every held partition when it opened from now,
 *                else the newly acquired and the faulted ones; retried with backoff until complete;
 *   tailing      batches of inserts go to the dispatcher, two in flight; `position` advances
 *                only past batches that went out completely, and while idle to the post-batch resume
 *                token (so a quiet relay's token stays fresh). A failed publish faults its partition
 *                (nothing newer of it goes out) and the tailer catches up at once, before reading on.
 *                A replay putting Updates back (`pnpm republish`: an update, not an insert) wakes a
 *                sweep of the held partitions, at most every `replaySweepIntervalMs`, so the replay's
 *                pace is the relay's (not bursts at the safety net's period); `position` waits for
 *                that sweep. The safety-net sweep runs here too, on its own timer, and the position
 *                is saved on the leases every `tokenSaveIntervalMs`.
 *
 * Errors: a resumable one is retried by the driver; if it surfaces, the stream is reopened after
 * `position`. ChangeStreamHistoryLost (286) and every other non-resumable error forget the position,
 * reopen from now and sweep everything held. An invalidated stream (collection dropped or renamed)
 * resolves `tryNext` with null forever, exactly like an idle one; only `closed` tells, so the tailer
 * checks it and treats it like a lost history. "Not supported" (238, 115, 40573: FerretDB, a
 * standalone server) hands over to polling.
 */
import { bucketRanges } from '@chat3/core';
import { backoffDelay, errorMessage, isChangeStreamUnsupported, isRetryable, type Logger, type LoopTracker } from '@chat3/runtime';
import type { Dispatcher, DispatchResult } from './dispatcher';
import type { ChangeStreamPort, ReplayEvent, ResumeTokenStore, StoredUpdate, UpdateInsertEvent, WatchOptions } from './ports';
import type { Sweeper } from './sweeper';
import { createWakeableSleep } from './wakeable-sleep';

const HISTORY_LOST = 286;

export type TailerState = 'idle' | 'opening' | 'catching-up' | 'tailing' | 'stopped';

export interface ChangeStreamTailerOptions {
  watch: (options: WatchOptions) => ChangeStreamPort;
  /** The relay partition count now. */
  partitions: () => number;
  held: () => number[];
  dispatcher: Dispatcher;
  sweeper: Sweeper;
  tokens: () => ResumeTokenStore;
  batchSize: number;
  /** Safety-net sweep period, and how young an Update it leaves to the stream. */
  sweepIntervalMs: number;
  /** Least time between two sweeps woken by a replay's events. */
  replaySweepIntervalMs: number;
  sweepGraceMs: number;
  tokenSaveIntervalMs: number;
  maxAwaitTimeMS?: number;
  /** One stream's life is a step; every read from it (an empty one each maxAwaitTimeMS) and every sweep page is progress. */
  loop: LoopTracker;
  logger: Logger;
  onUnsupported: (err: unknown) => void;
}

type Change = UpdateInsertEvent | ReplayEvent;

/** The stream says it is closed (invalidated): nothing more will come from it. */
class StreamClosedError extends Error {
  override name = 'StreamClosedError';
}

export function createChangeStreamTailer(options: ChangeStreamTailerOptions) {
  const { dispatcher, sweeper, logger } = options;
  const pause = createWakeableSleep();
  const stopping = new AbortController();
  const needsSweep = new Set<number>();
  /** The stream position up to which every Update is published or covered by a sweep. */
  let position: unknown = null;
  /** After a non-resumable error the saved tokens are suspect too (they may be the cause). */
  let useSavedTokens = true;
  let stream: ChangeStreamPort | undefined;
  let reopen = false;
  let state: TailerState = 'idle';
  let loop: Promise<void> | undefined;
  let savedPosition: unknown = null;
  let savedAt = 0;
  let nextSafetyNet = Date.now() + options.sweepIntervalMs;
  /** A replay's event was read and no sweep has covered it yet: `position` must not move past it. */
  let replaySeen = false;
  let nextReplaySweep = 0;

  const stopped = () => stopping.signal.aborted;

  async function open(held: number[]): Promise<{ s: ChangeStreamPort; first: Change | null; fromNow: boolean }> {
    state = 'opening';
    const startAfter = position ?? (useSavedTokens ? await options.tokens().load(held) : null);
    const s = options.watch({
      ranges: bucketRanges(held, options.partitions()),
      maxAwaitTimeMS: options.maxAwaitTimeMS ?? 200,
      batchSize: options.batchSize,
      ...(startAfter ? { startAfter } : {}),
    });
    stream = s;
    // The first fetch establishes the cursor: from here on the server keeps every change for us.
    const first = await nextChange(s);
    logger.info({ partitions: held, resumed: Boolean(startAfter) }, 'change stream open');
    return { s, first, fromNow: !startAfter };
  }

  async function nextChange(s: ChangeStreamPort): Promise<Change | null> {
    const change = await s.tryNext();
    if (change && change.operationType !== 'insert' && change.operationType !== 'update') {
      throw new StreamClosedError(`change stream returned ${change.operationType}`);
    }
    if (!change && s.closed) throw new StreamClosedError('change stream closed by the server (invalidated)');
    return change as Change | null;
  }

  /** Sweeps until complete, backing off between attempts; false when stopped or a reopen is due. */
  async function catchUp(partitions: number[]): Promise<boolean> {
    if (partitions.length === 0) return true;
    state = 'catching-up';
    for (let failures = 0; ; failures++) {
      if (stopped() || reopen) return false;
      const outcome = await sweeper.sweep(partitions, { signal: stopping.signal, loop: options.loop });
      if (outcome.complete) {
        for (const p of partitions) needsSweep.delete(p);
        return true;
      }
      await pause.sleep(backoffDelay(failures, { baseMs: 100, maxMs: 5_000 }));
    }
  }

  /** Change batches handed to the dispatcher, two in flight; the position moves past one only once it is out. */
  function batchesInFlight(held: number[]) {
    const pending: Array<{ at: unknown; result: Promise<DispatchResult> }> = [];
    const settleOldest = async () => {
      const { at, result } = pending.shift()!;
      const r = await result;
      if (r.retry === 0 && dispatcher.faulted(held).length === 0 && !replaySeen) position = at;
    };
    return {
      async add(at: unknown, result: Promise<DispatchResult>): Promise<void> {
        pending.push({ at, result });
        if (pending.length >= 2) await settleOldest();
      },
      async settle(): Promise<void> {
        while (pending.length > 0) await settleOldest();
      },
    };
  }

  async function tail(held: number[]): Promise<void> {
    const { s, first, fromNow } = await open(held);
    if (fromNow) for (const p of held) needsSweep.add(p);
    const mark = s.resumeToken;
    if (!(await catchUp([...new Set([...needsSweep, ...dispatcher.faulted(held)])].filter((p) => held.includes(p))))) return;
    if (first === null && !replaySeen) position = mark ?? position;

    state = 'tailing';
    const batches = batchesInFlight(held);
    try {
      await follow(s, held, first, batches);
    } finally {
      // Batches already handed to the dispatcher still decide how far the position may move.
      await batches.settle().catch(() => undefined);
    }
    await saveToken(held, true);
  }

  async function follow(s: ChangeStreamPort, held: number[], first: Change | null, batches: ReturnType<typeof batchesInFlight>) {
    let next = first;
    while (!stopped() && !reopen) {
      const change = next ?? (await nextChange(s));
      next = null;
      options.loop.progress();
      if (change?.operationType === 'insert') {
        const batch: StoredUpdate[] = [change.fullDocument];
        while (batch.length < options.batchSize && s.bufferedCount() > 0) {
          const more = await nextChange(s);
          if (more?.operationType === 'insert') batch.push(more.fullDocument);
          else if (more) replaySeen = true;
        }
        await batches.add(s.resumeToken, dispatcher.dispatch(batch, { source: 'stream' }));
      } else if (change) {
        replaySeen = true;
      } else {
        // Idle: once what is in flight is out, the post-batch resume token covers everything read.
        await batches.settle();
        if (dispatcher.faulted(held).length === 0 && !replaySeen) position = s.resumeToken ?? position;
      }
      if (dispatcher.faulted(held).length > 0) {
        await batches.settle();
        const at = s.resumeToken;
        if (!(await catchUp(dispatcher.faulted(held)))) return;
        // Everything read from the stream so far is now published or was covered by the sweep (a
        // replay's event read meanwhile waits for its own sweep of every held partition).
        if (dispatcher.faulted(held).length === 0 && !replaySeen) position = at ?? position;
        state = 'tailing';
      }
      if (replaySeen && Date.now() >= nextReplaySweep) await replaySweep(s, held, batches);
      if (Date.now() >= nextSafetyNet) await safetyNet(held, batches);
      await saveToken(held);
    }
  }

  /**
   * A replay put Updates back: sweep the held partitions (authoritative, oldest first), which publishes
   * them and whatever else waits. Everything read from the stream before the sweep began is then out
   * or covered, so the position moves there. Incomplete (a failed publish, a lost lease): tried again.
   */
  async function replaySweep(s: ChangeStreamPort, held: number[], batches: ReturnType<typeof batchesInFlight>): Promise<void> {
    await batches.settle();
    const at = s.resumeToken;
    replaySeen = false;
    nextReplaySweep = Date.now() + options.replaySweepIntervalMs;
    const outcome = await sweeper.sweep(held, { signal: stopping.signal, loop: options.loop });
    if (!outcome.complete) replaySeen = true;
    else if (dispatcher.faulted(held).length === 0) position = at ?? position;
  }

  /** The last resort: whatever the stream may have missed, older than the grace period. */
  async function safetyNet(held: number[], batches: ReturnType<typeof batchesInFlight>): Promise<void> {
    await batches.settle();
    nextSafetyNet = Date.now() + options.sweepIntervalMs;
    const outcome = await sweeper.sweep(held, { before: Date.now() - options.sweepGraceMs, signal: stopping.signal, loop: options.loop });
    if (outcome.dispatched > 0) logger.warn({ count: outcome.dispatched }, 'safety-net sweep found Updates the stream had not delivered');
  }

  /** Saves the position on the held leases, at most every `tokenSaveIntervalMs` (or now, on the way out). */
  async function saveToken(held: number[], now = false): Promise<void> {
    if (!position || position === savedPosition) return;
    if (!now && Date.now() - savedAt < options.tokenSaveIntervalMs) return;
    const at = position;
    savedAt = Date.now();
    try {
      await options.tokens().save(held, at, Date.now());
      savedPosition = at;
    } catch (err) {
      options.loop.error(err);
      logger.warn({ err: errorMessage(err) }, 'resume token not saved');
    }
  }

  async function run(): Promise<void> {
    for (let failures = 0; !stopped();) {
      const held = options.held();
      reopen = false;
      if (held.length === 0) {
        state = 'idle';
        await pause.sleep(1_000);
        continue;
      }
      try {
        await options.loop.step(() => tailThenClose(held));
        failures = 0;
      } catch (err) {
        if (stopped()) break;
        if (isChangeStreamUnsupported(err)) {
          options.onUnsupported(err);
          return;
        }
        const code = (err as { code?: number }).code;
        if (err instanceof StreamClosedError || code === HISTORY_LOST || !isRetryable(err)) {
          logger.warn({ err: errorMessage(err), code }, 'change stream cannot resume; reopening from now and sweeping');
          position = null;
          useSavedTokens = false;
        } else {
          logger.warn({ err: errorMessage(err), code }, 'change stream interrupted; resuming');
        }
        await pause.sleep(backoffDelay(failures++, { baseMs: 100, maxMs: 5_000 }));
      }
    }
    state = 'stopped';
  }

  /** One stream's life, closing included (a close that hangs is a wedged loop too). */
  async function tailThenClose(held: number[]): Promise<void> {
    try {
      await tail(held);
    } finally {
      await stream?.close().catch(() => undefined);
      stream = undefined;
    }
  }

  return {
    start(): void {
      loop ??= run();
    },
    /** A partition was acquired: sweep it and widen the stream. */
    acquired(partition: number): void {
      needsSweep.add(partition);
      reopen = true;
      pause.wake();
    },
    /** A partition was released: narrow the stream. */
    released(partition: number): void {
      needsSweep.delete(partition);
      reopen = true;
      pause.wake();
    },
    get state(): TailerState {
      return state;
    },
    async stop(): Promise<void> {
      stopping.abort();
      pause.wake();
      await stream?.close().catch(() => undefined);
      await loop;
    },
  };
}
