/**
 * The operator's replays (`pnpm republish`), run as scripts/replay/replay.ts `startReplay` and
 * `runReplay` run them, against the Mongo model:
 *   - the selection is fixed when the replay starts: published Updates created before then, of one
 *     recipient (`--user`) or a random sample of them (an `--ids-file`). (The CLI does not ask for
 *     `published: true`; the simulation does, so that every Update selected has a first delivery to
 *     be delivered again after);
 *   - chunk by chunk, half a second's worth at `rate`, oldest first: find the next chunk after the
 *     last one done, skipping what already carries the replay's id, then put it back in one ordered
 *     bulk at `w: 'majority'` (the write is `MongoModel.ops.replayWrite`), and pause so the count
 *     follows the rate;
 *   - a failed operation ends the CLI with the replay `failed`; the operator resumes it (`--resume`)
 *     after a pause, from the last chunk done, and the find skips whatever the failed write did put
 *     back. Pacing starts again from the resume, as it does in the CLI.
 * Every operation goes through the model (`op`), so outages, elections, failovers, slow and failing
 * queries (`replay.select`, `replay.find`, `replay.bulkWrite`) hit it like any client. The operator's
 * own host is never killed or partitioned. Not modelled: the writes of the `replays` record (one that
 * fails is a failed replay, resumed the same way).
 */
import type { Random } from '@chat3/simulator';
import type { StoredUpdate } from '@chat3/relay';
import type { MongoHost, MongoModel } from './models/mongo';

/** Whose Updates a replay takes: one recipient's, or `sample` drawn at random. */
export type ReplaySelection = { user: string } | { sample: number };

export interface ReplaySpec {
  select: ReplaySelection;
  /** Updates per second (`--rate`). */
  rate: number;
}

export class ReplayOperator {
  readonly host: MongoHost = { name: 'operator', dead: false, partitionedUntil: 0 };
  /** Replays started, with how many Updates each selected. */
  readonly started: Array<{ replayId: string; at: number; selected: number }> = [];
  private running = 0;
  private counter = 0;

  constructor(
    private readonly mongo: MongoModel,
    private readonly random: Random,
  ) {}

  /** No replay is running (they all finished). */
  get idle(): boolean {
    return this.running === 0;
  }

  start(spec: ReplaySpec): string {
    const replayId = `rpl_sim_${++this.counter}`;
    this.running++;
    void this.run(replayId, spec).finally(() => this.running--);
    return replayId;
  }

  private async run(replayId: string, spec: ReplaySpec): Promise<void> {
    const startedAt = Date.now();
    const { select } = spec;
    const pick = 'user' in select ? (d: StoredUpdate) => d.userId === select.user : () => true;
    let ids = await this.resuming(() => this.mongo.op(this.host, 'replay.select', () => this.mongo.ops.replaySelect(startedAt, pick)));
    if ('sample' in select) {
      const chosen = new Set<number>();
      while (chosen.size < Math.min(select.sample, ids.length)) chosen.add(this.random.int(0, ids.length - 1));
      ids = ids.filter((_, i) => chosen.has(i));
    }
    this.started.push({ replayId, at: startedAt, selected: ids.length });

    const chunk = Math.max(1, Math.min(1_000, Math.ceil(spec.rate / 2)));
    let after = -1;
    let done = 0;
    let pacedFrom = { at: Date.now(), done };
    for (;;) {
      try {
        const batch = await this.mongo.op(this.host, 'replay.find', () => this.mongo.ops.replayFind(ids, after, chunk, replayId));
        if (batch.length === 0) return;
        const chunkIds = batch.map((i) => ids[i]!);
        const republishedAt = Date.now();
        await this.mongo.op(this.host, 'replay.bulkWrite', () => this.mongo.ops.replayWrite(chunkIds, replayId, republishedAt), 'majority');
        after = batch.at(-1)!;
        done += batch.length;
        const dueAt = pacedFrom.at + ((done - pacedFrom.done) / spec.rate) * 1000;
        await sleep(Math.max(0, dueAt - Date.now()));
      } catch {
        await this.resumeLater();
        pacedFrom = { at: Date.now(), done };
      }
    }
  }

  /** Runs `fn` until it succeeds, resuming after a pause each time it fails. */
  private async resuming<T>(fn: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await fn();
      } catch {
        await this.resumeLater();
      }
    }
  }

  /** The operator notices the failed replay and resumes it. */
  private resumeLater(): Promise<void> {
    return sleep(this.random.int(500, 2_000));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
