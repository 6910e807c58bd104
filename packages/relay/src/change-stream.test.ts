import { createSilentLogger } from '@chat3/runtime';
import { waitFor } from '@chat3/testkit';
import { describe, expect, it } from 'vitest';
import { createChangeStreamTailer } from './change-stream';

// The tailer's loop against fakes of its I/O (the stream, dispatcher, sweeper and token store): what it
// does on each kind of stream failure. The real change stream runs in test/modes.test.ts, gated on a
// server that has change streams.

type Step = { id: number } | { error: Error & { code?: number } };

/** A change stream that plays a script: a change, an error, or (script empty) nothing for a while. */
class ScriptedStream {
  resumeToken: unknown = null;
  constructor(private readonly script: Step[]) {}
  async tryNext() {
    await new Promise((resolve) => setTimeout(resolve, 1));
    const step = this.script.shift();
    if (!step) return null;
    if ('error' in step) throw step.error;
    this.resumeToken = { _data: `t${step.id}` };
    return { operationType: 'insert', fullDocument: { _id: `u${step.id}` } };
  }
  bufferedCount() {
    return 0;
  }
  async close() {}
}

function mongoError(code: number, message: string) {
  return Object.assign(new Error(message), { name: 'MongoServerError', code });
}

function tailerHarness(scripts: Step[][], saved: unknown = null) {
  const opened: Array<{ startAfter?: unknown }> = [];
  const dispatched: Array<{ ids: string[]; verify: boolean }> = [];
  const swept: number[][] = [];
  const savedTokens: unknown[] = [];
  const unsupported: unknown[] = [];
  const tailer = createChangeStreamTailer({
    watch: (opts) => {
      opened.push({ startAfter: opts.startAfter });
      return new ScriptedStream(scripts.shift() ?? []) as never;
    },
    partitions: 4,
    held: () => [0, 1],
    dispatcher: {
      dispatch: async (docs: Array<{ _id: string }>, { verify = false } = {}) => {
        dispatched.push({ ids: docs.map((d) => d._id), verify });
        return { published: docs.length, retry: 0, parked: 0 };
      },
    } as never,
    sweeper: {
      sweep: async (partitions: number[]) => {
        swept.push([...partitions].sort());
        return { dispatched: 0, complete: true };
      },
    } as never,
    tokens: {
      load: async () => saved,
      save: async (_held: number[], token: unknown) => void savedTokens.push(token),
    } as never,
    batchSize: 100,
    logger: createSilentLogger(),
    onUnsupported: (err) => unsupported.push(err),
  });
  return { tailer, opened, dispatched, swept, savedTokens, unsupported };
}

describe('change-stream tailer', () => {
  it('publishes each change (re-checked against the database) and saves the token after it is confirmed', async () => {
    const h = tailerHarness([[{ id: 1 }, { id: 2 }]], { _data: 'saved' });
    h.tailer.start();
    await waitFor(() => h.savedTokens.length >= 2, { timeoutMs: 5_000, message: 'two tokens saved' });
    await h.tailer.stop();
    expect(h.opened[0]).toEqual({ startAfter: { _data: 'saved' } });
    expect(h.dispatched).toEqual([
      { ids: ['u1'], verify: true },
      { ids: ['u2'], verify: true },
    ]);
    expect(h.savedTokens).toEqual([{ _data: 't1' }, { _data: 't2' }]);
  });

  it('resumes after the last confirmed token when the stream fails with a resumable error', async () => {
    const h = tailerHarness([[{ id: 1 }, { error: mongoError(91, 'shutdown in progress') }], [{ id: 2 }]]);
    h.tailer.start();
    await waitFor(() => h.dispatched.length >= 2, { timeoutMs: 5_000, message: 'the change after the error published' });
    await h.tailer.stop();
    expect(h.opened).toEqual([{ startAfter: undefined }, { startAfter: { _data: 't1' } }]);
    expect(h.swept).toEqual([]);
  });

  it('after ChangeStreamHistoryLost forgets every token, sweeps the held partitions and reopens from now', async () => {
    const h = tailerHarness([[{ id: 1 }, { error: mongoError(286, 'history lost') }], [{ id: 2 }]], { _data: 'saved' });
    h.tailer.start();
    await waitFor(() => h.dispatched.length >= 2, { timeoutMs: 5_000, message: 'the change after reopening published' });
    await h.tailer.stop();
    expect(h.opened).toEqual([{ startAfter: { _data: 'saved' } }, { startAfter: undefined }]);
    expect(h.swept).toEqual([[0, 1]]);
  });

  it('hands over to polling when the server has no change streams', async () => {
    const h = tailerHarness([[{ error: mongoError(238, '$changeStream is not implemented') }]]);
    h.tailer.start();
    await waitFor(() => h.unsupported.length === 1, { timeoutMs: 5_000, message: 'onUnsupported called' });
    await h.tailer.stop();
    expect(h.opened).toHaveLength(1);
    expect(h.dispatched).toEqual([]);
  });
});
