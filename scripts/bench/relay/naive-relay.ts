/**
 * The baseline: a naive outbox relay like the original one. Every second it takes
 * `find({published: false}).limit(100)`, then, one Update at a time, publishes it, waits for that
 * message's confirm and `updateOne`s it to published. A poll that runs longer than a second is followed
 * by the next one at once (setInterval with an overlap guard), which is the most favourable reading.
 */
import { toWireMessage } from '@chat3/core';
import type { ConfirmChannel } from 'amqplib';
import type { Collection, ObjectId } from 'mongodb';
import type { StoredUpdate } from '@chat3/relay';
import { publishAndConfirm } from '../broker';

export interface NaiveOptions {
  collection: Collection<StoredUpdate>;
  channel: ConfirmChannel;
  exchange: string;
  clock: () => number;
  /** Stop after this long even if Updates are left. */
  maxMs: number;
  /** Stop as soon as this many are published (the whole backlog). */
  total: number;
  pollMs?: number;
  limit?: number;
}

export interface NaiveResult {
  published: number;
  ms: number;
  drained: boolean;
  polls: number;
  publishMs: number;
  updateMs: number;
  findMs: number;
}

export async function runNaiveRelay(o: NaiveOptions): Promise<NaiveResult> {
  const pollMs = o.pollMs ?? 1_000;
  const limit = o.limit ?? 100;
  const started = performance.now();
  const deadline = started + o.maxMs;
  const r: NaiveResult = { published: 0, ms: 0, drained: false, polls: 0, publishMs: 0, updateMs: 0, findMs: 0 };
  while (performance.now() < deadline && r.published < o.total) {
    const pollStarted = performance.now();
    r.polls += 1;
    const docs = await o.collection.find({ published: false }).limit(limit).toArray();
    r.findMs += performance.now() - pollStarted;
    for (const doc of docs) {
      if (performance.now() >= deadline) break;
      const t1 = performance.now();
      await publishAndConfirm(o.channel, o.exchange, toWireMessage(doc));
      const t2 = performance.now();
      await o.collection.updateOne({ _id: doc._id as ObjectId }, { $set: { published: true, publishedAt: o.clock() } });
      r.updateMs += performance.now() - t2;
      r.publishMs += t2 - t1;
      r.published += 1;
    }
    if (r.published >= o.total) break;
    const wait = pollStarted + pollMs - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(wait, deadline - performance.now())));
  }
  r.ms = performance.now() - started;
  r.drained = r.published >= o.total;
  return r;
}
