/**
 * Change-stream mode: tails inserts into `updates` for the partitions this instance holds.
 *
 * States: closed → open (cursor established) → catching up (sweeping partitions that need it, while
 * the server buffers new changes) → tailing → closed. The stream is (re)opened after the last token
 * held in memory, else the oldest one saved on the held leases, else from now; the sweep after opening
 * covers anything older, so no Update is skipped whichever way it opens.
 *
 * Errors: a resumable one reopens after the same token; ChangeStreamHistoryLost (286) and every other
 * non-resumable one forget the token, sweep, and reopen from the current point; "not supported" (238,
 * 115, 40573: FerretDB, a standalone server) hands over to polling. A change in the held partitions
 * reopens the stream with the new filter (after the current token) and sweeps the new partitions.
 */
import { bucketRanges } from '@chat3/core';
import { backoffDelay, errorMessage, isChangeStreamUnsupported, isRetryable, type Logger } from '@chat3/runtime';
import type { Dispatcher } from './dispatcher';
import type { ChangeStreamPort, ResumeTokenStore, UpdateInsertEvent, WatchOptions } from './ports';
import type { Sweeper } from './sweeper';
import { createWakeableSleep } from './wakeable-sleep';

const HISTORY_LOST = 286;

export interface ChangeStreamTailerOptions {
  watch: (options: WatchOptions) => ChangeStreamPort;
  partitions: number;
  held: () => number[];
  dispatcher: Dispatcher;
  sweeper: Sweeper;
  tokens: ResumeTokenStore;
  batchSize: number;
  logger: Logger;
  onUnsupported: (err: unknown) => void;
  now?: () => number;
}

export function createChangeStreamTailer(options: ChangeStreamTailerOptions) {
  const { dispatcher, sweeper, tokens, logger } = options;
  const now = options.now ?? Date.now;
  const pause = createWakeableSleep();
  const needsSweep = new Set<number>();
  let token: unknown = null;
  /** After a non-resumable error the saved tokens are suspect too (they may be the cause). */
  let useSavedTokens = true;
  let stream: ChangeStreamPort | undefined;
  let reopen = false;
  let stopped = false;
  let loop: Promise<void> | undefined;

  async function open(held: number[]) {
    const startAfter = token ?? (useSavedTokens ? await tokens.load(held) : null);
    const s = options.watch({
      ranges: bucketRanges(held, options.partitions),
      maxAwaitTimeMS: 200,
      batchSize: options.batchSize,
      ...(startAfter ? { startAfter } : {}),
    });
    // The first getMore establishes the cursor: from here on the server buffers every change.
    const first = await s.tryNext();
    logger.info({ partitions: held, resumed: Boolean(startAfter) }, 'change stream open');
    return { s, first };
  }

  async function catchUp(): Promise<void> {
    const partitions = [...needsSweep];
    if (partitions.length === 0) return;
    if ((await sweeper.sweep(partitions)).complete) for (const p of partitions) needsSweep.delete(p);
  }

  async function tail(held: number[]): Promise<void> {
    const opened = await open(held);
    stream = opened.s;
    let next = opened.first;
    await catchUp();
    const pending: Array<Promise<void>> = [];
    while (!stopped && !reopen) {
      const change = next ?? (await stream.tryNext());
      next = null;
      if (!change) {
        if (needsSweep.size > 0) await catchUp();
        continue;
      }
      const batch = [change];
      while (batch.length < options.batchSize && stream.bufferedCount() > 0) {
        const more = await stream.tryNext();
        if (more) batch.push(more);
      }
      const at = stream.resumeToken;
      const docs = batch.filter((c): c is UpdateInsertEvent => c.operationType === 'insert').map((c) => c.fullDocument);
      pending.push(
        dispatcher.dispatch(docs, { verify: true }).then(async (result) => {
          if (result.retry > 0) for (const p of held) needsSweep.add(p);
          token = at;
          useSavedTokens = true;
          await tokens.save(held, at, now()).catch((err) => logger.warn({ err: errorMessage(err) }, 'resume token not saved'));
        }),
      );
      if (pending.length >= 2) await pending.shift();
    }
    await Promise.all(pending);
  }

  async function run(): Promise<void> {
    for (let failures = 0; !stopped;) {
      const held = options.held();
      reopen = false;
      if (held.length === 0) {
        await pause.sleep(1_000);
        continue;
      }
      try {
        await tail(held);
        failures = 0;
      } catch (err) {
        if (stopped) break;
        if (isChangeStreamUnsupported(err)) {
          options.onUnsupported(err);
          return;
        }
        const code = (err as { code?: number }).code;
        if (code === HISTORY_LOST || !isRetryable(err)) {
          logger.warn({ err: errorMessage(err), code }, 'change stream cannot resume; sweeping and reopening from now');
          token = null;
          useSavedTokens = false;
          for (const p of held) needsSweep.add(p);
        } else {
          logger.warn({ err: errorMessage(err), code }, 'change stream interrupted; resuming');
        }
        await pause.sleep(backoffDelay(failures++, { baseMs: 100, maxMs: 5_000 }));
      } finally {
        await stream?.close().catch(() => undefined);
        stream = undefined;
      }
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
    },
    async stop(): Promise<void> {
      stopped = true;
      pause.wake();
      await stream?.close().catch(() => undefined);
      await loop;
    },
  };
}
