import { createLoopHealth, createSilentLogger } from '@chat3/runtime';
import { waitFor } from '@chat3/testkit';
import { describe, expect, it } from 'vitest';
import { createChangeStreamTailer } from './change-stream';

// The tailer's loop against fakes of its I/O (the stream, dispatcher, sweeper and token store): what it
// does on each kind of stream failure. The real change stream runs in test/modes.test.ts, gated on a
// server that has change streams.

type Step = { id: number } | { error: Error & { code?: number } } | { idle: string } | { replay: string } | 'invalidated' | 'hang';

/**
 * A change stream that plays a script: an insert, a replay's update, an error, an idle batch with a
 * post-batch token, a read that never answers (a socket gone silent) until closed, or (script empty)
 * nothing for a while.
 */
class ScriptedStream {
  resumeToken: unknown = null;
  closed = false;
  private hung = () => undefined as void;
  constructor(private readonly script: Step[]) {}
  async tryNext() {
    await new Promise((resolve) => setTimeout(resolve, 1));
    if (this.closed) return null;
    const step = this.script.shift();
    if (!step) return null;
    if (step === 'hang') return new Promise<null>((resolve) => (this.hung = () => resolve(null)));
    if (step === 'invalidated') {
      this.closed = true;
      return null;
    }
    if ('error' in step) throw step.error;
    if ('idle' in step) {
      this.resumeToken = { _data: step.idle };
      return null;
    }
    if ('replay' in step) {
      this.resumeToken = { _data: step.replay };
      return { operationType: 'update' };
    }
    this.resumeToken = { _data: `t${step.id}` };
    return { operationType: 'insert', fullDocument: { _id: `u${step.id}` } };
  }
  bufferedCount() {
    return 0;
  }
  async close() {
    this.closed = true;
    this.hung();
  }
}

function mongoError(code: number, message: string) {
  return Object.assign(new Error(message), { name: 'MongoServerError', code });
}

function tailerHarness(scripts: Step[][], saved: unknown = null, options: { failPublishOf?: string; replaySweepIntervalMs?: number } = {}) {
  const opened: Array<{ startAfter?: unknown }> = [];
  const log: string[] = [];
  const dispatched: Array<{ ids: string[]; source: string }> = [];
  const faults = new Set<number>();
  const swept: number[][] = [];
  const sweptAt: number[] = [];
  const savedTokens: unknown[] = [];
  const unsupported: unknown[] = [];
  const health = createLoopHealth({ wedgedAfterMs: 200 });
  const tailer = createChangeStreamTailer({
    watch: (opts) => {
      opened.push({ startAfter: opts.startAfter });
      return new ScriptedStream(scripts.shift() ?? []) as never;
    },
    partitions: () => 4,
    held: () => [0, 1],
    dispatcher: {
      dispatch: async (docs: Array<{ _id: string }>, { source = 'sweep' } = {}) => {
        dispatched.push({ ids: docs.map((d) => d._id), source });
        log.push(`dispatch ${docs.map((d) => d._id).join()}`);
        const failed = docs.some((d) => d._id === options.failPublishOf);
        if (failed) faults.add(1);
        return { published: failed ? 0 : docs.length, retry: failed ? docs.length : 0, parked: 0 };
      },
      faulted: (held: number[]) => held.filter((p) => faults.has(p)),
    } as never,
    sweeper: {
      sweep: async (partitions: number[]) => {
        swept.push([...partitions].sort());
        sweptAt.push(Date.now());
        log.push(`sweep ${partitions.join()}`);
        for (const p of partitions) faults.delete(p);
        return { dispatched: 0, complete: true };
      },
    } as never,
    tokens: () =>
      ({
        load: async () => saved,
        save: async (_held: number[], token: unknown) => {
          savedTokens.push(token);
          log.push(`save ${(token as { _data: string })._data}`);
        },
      }) as never,
    batchSize: 100,
    sweepIntervalMs: 3_600_000,
    replaySweepIntervalMs: options.replaySweepIntervalMs ?? 0,
    sweepGraceMs: 0,
    tokenSaveIntervalMs: 0,
    loop: health.loop('change-stream'),
    logger: createSilentLogger(),
    onUnsupported: (err) => unsupported.push(err),
  });
  return { tailer, opened, log, dispatched, swept, sweptAt, savedTokens, unsupported, health };
}

describe('change-stream tailer', () => {
  it('publishes each change (re-checked against the database) and saves the position once it is out', async () => {
    const h = tailerHarness([[{ id: 1 }, { id: 2 }]], { _data: 'saved' });
    h.tailer.start();
    await waitFor(() => h.savedTokens.length >= 2, { timeoutMs: 5_000, message: 'two tokens saved' });
    await h.tailer.stop();
    expect(h.opened[0]).toEqual({ startAfter: { _data: 'saved' } });
    expect(h.dispatched).toEqual([
      { ids: ['u1'], source: 'stream' },
      { ids: ['u2'], source: 'stream' },
    ]);
    expect(h.savedTokens).toEqual([{ _data: 't1' }, { _data: 't2' }]);
    expect(h.swept).toEqual([]);
  });

  it("keeps a quiet relay's position fresh with the post-batch resume token", async () => {
    const h = tailerHarness([[{ idle: 'pbrt-1' }, { idle: 'pbrt-2' }]], { _data: 'saved' });
    h.tailer.start();
    await waitFor(() => h.savedTokens.some((t) => (t as { _data: string })._data === 'pbrt-2'), {
      timeoutMs: 5_000,
      message: 'the latest post-batch token saved',
    });
    await h.tailer.stop();
    expect(h.dispatched).toEqual([]);
  });

  it('opened from now, sweeps every held partition after the cursor is established', async () => {
    const h = tailerHarness([[{ id: 1 }]]);
    h.tailer.start();
    await waitFor(() => h.dispatched.length >= 1, { timeoutMs: 5_000, message: 'the change published' });
    await h.tailer.stop();
    expect(h.opened).toEqual([{ startAfter: undefined }]);
    expect(h.swept).toEqual([[0, 1]]);
  });

  it('resumes after the last position that went out when the stream fails with a resumable error', async () => {
    const h = tailerHarness([[{ id: 1 }, { error: mongoError(91, 'shutdown in progress') }], [{ id: 2 }]], { _data: 'saved' });
    h.tailer.start();
    await waitFor(() => h.dispatched.length >= 2, { timeoutMs: 5_000, message: 'the change after the error published' });
    await h.tailer.stop();
    expect(h.opened).toEqual([{ startAfter: { _data: 'saved' } }, { startAfter: { _data: 't1' } }]);
    expect(h.swept).toEqual([]);
  });

  it('after ChangeStreamHistoryLost forgets every token, reopens from now and sweeps the held partitions', async () => {
    const h = tailerHarness([[{ id: 1 }, { error: mongoError(286, 'history lost') }], [{ id: 2 }]], { _data: 'saved' });
    h.tailer.start();
    await waitFor(() => h.dispatched.length >= 2, { timeoutMs: 5_000, message: 'the change after reopening published' });
    await h.tailer.stop();
    expect(h.opened).toEqual([{ startAfter: { _data: 'saved' } }, { startAfter: undefined }]);
    expect(h.swept).toEqual([[0, 1]]);
  });

  it('treats a stream that says it is closed (invalidated) like a lost history, instead of spinning on it', async () => {
    const h = tailerHarness([[{ id: 1 }, 'invalidated'], [{ id: 2 }]], { _data: 'saved' });
    h.tailer.start();
    await waitFor(() => h.dispatched.length >= 2, { timeoutMs: 5_000, message: 'the change after reopening published' });
    await h.tailer.stop();
    expect(h.opened).toEqual([{ startAfter: { _data: 'saved' } }, { startAfter: undefined }]);
    expect(h.swept).toEqual([[0, 1]]);
  });

  it('catches a faulted partition up before it reads on, and keeps the position before the failure', async () => {
    const h = tailerHarness([[{ id: 1 }, { id: 2 }, { id: 3 }]], { _data: 'saved' }, { failPublishOf: 'u2' });
    h.tailer.start();
    await waitFor(() => h.dispatched.length >= 3, { timeoutMs: 5_000, message: 'the change after the failure published' });
    await h.tailer.stop();
    // The sweep comes before anything newer is read, and no position is saved before it.
    expect(h.log.slice(0, 5)).toEqual(['dispatch u1', 'dispatch u2', 'sweep 1', 'save t2', 'dispatch u3']);
  });

  it("sweeps for a replay's events (at most once per interval) and keeps the position before them until swept", async () => {
    const h = tailerHarness(
      [[{ id: 1 }, { replay: 'r1' }, { idle: 'p1' }, { replay: 'r2' }, { replay: 'r3' }, { idle: 'p2' }]],
      { _data: 'saved' },
      {
        replaySweepIntervalMs: 300,
      },
    );
    h.tailer.start();
    await waitFor(() => h.savedTokens.some((t) => (t as { _data: string })._data === 'p2'), { timeoutMs: 5_000, message: 'p2 saved' });
    await h.tailer.stop();
    // The replay's events themselves are never dispatched: the sweep finds what they put back.
    expect(h.dispatched).toEqual([{ ids: ['u1'], source: 'stream' }]);
    // r1: swept at once, then the position moves to it; r2 and r3 wait for the interval, one sweep for
    // both, and nothing read after them (p2) is saved before it.
    expect(h.log).toEqual(['dispatch u1', 'sweep 0,1', 'save r1', 'save p1', 'sweep 0,1', 'save p2']);
    expect(h.sweptAt[1]! - h.sweptAt[0]!).toBeGreaterThanOrEqual(250);
  });

  it('hands over to polling when the server has no change streams', async () => {
    const h = tailerHarness([[{ error: mongoError(238, '$changeStream is not implemented') }]]);
    h.tailer.start();
    await waitFor(() => h.unsupported.length === 1, { timeoutMs: 5_000, message: 'onUnsupported called' });
    await h.tailer.stop();
    expect(h.opened).toHaveLength(1);
    expect(h.dispatched).toEqual([]);
  });

  it('is wedged (for /healthz) when a read from the stream never answers, and not while the stream is only quiet', async () => {
    const quiet = tailerHarness([[{ id: 1 }]], { _data: 'saved' });
    quiet.tailer.start();
    await new Promise((resolve) => setTimeout(resolve, 600)); // three times wedgedAfterMs, reading nothing
    expect(quiet.health.report()).toMatchObject({ ok: true, checks: { wedged: [] } });
    await quiet.tailer.stop();

    const stuck = tailerHarness([[{ id: 1 }, 'hang']], { _data: 'saved' });
    stuck.tailer.start();
    await waitFor(() => !stuck.health.report().ok, { timeoutMs: 5_000, message: 'wedged' });
    expect(stuck.health.report().checks.wedged).toEqual(['change-stream']);
    expect(stuck.dispatched).toEqual([{ ids: ['u1'], source: 'stream' }]);
    await stuck.tailer.stop();
  });
});
