/**
 * The requeue loop: letters, oldest first, go back to the events exchange with their original routing
 * key (see letters.ts for the rewrite). Guarantee: a letter leaves the DLQ only after the broker
 * confirmed its requeue. Its ack is sent from the confirm's callback; a nack, a return (no queue bound),
 * a timeout or a closed channel leaves it unacked, and the browse hands it back when it closes. The first
 * failure stops the run: nothing new is published, what is in flight settles, the rest stays put.
 *
 * States: browsing → (limit reached | queue snapshot exhausted | failure | interrupted) → settling
 * (awaiting the confirms in flight) → done. The caller closes the browse after `requeueLetters`
 * resolves, which returns every letter not acked to its place. Letters the filter does not select are
 * never touched. Ordering: requeued letters reach the builder in DLQ order, but after any live events
 * published meanwhile; a letter that failed mid-run keeps its place in the DLQ.
 *
 * Duplicates: if the DLQ channel dies between a confirm and its ack, the letter is both requeued and
 * back in the DLQ (counted as `duplicated`); the builder is idempotent per eventId.
 */
import { errorMessage } from '@chat3/runtime';
import type { Options } from 'amqplib';
import { matchesReasons, planRequeue, viewLetter, type RawLetter } from './letters';
import { emptyCounts, type RequeueCounts } from './summary';

export interface RequeueSource<M extends RawLetter> {
  next(): Promise<M | undefined>;
  ack(msg: M): boolean;
}

export interface RequeuePublisher {
  /** Waits for a free slot in the confirm window; false once stopped. */
  ready(): Promise<boolean>;
  /** Resolves once the broker confirmed the message (and did not return it). */
  publish(routingKey: string, content: Buffer, options: Options.Publish): Promise<void>;
  stop(): Promise<void>;
}

export interface RequeueOptions<M extends RawLetter> {
  source: RequeueSource<M>;
  /** Not needed with `dryRun`. */
  publisher?: RequeuePublisher;
  reasons: readonly string[];
  limit: number | undefined;
  dryRun: boolean;
  signal?: AbortSignal;
  onProgress?: (counts: RequeueCounts) => void;
}

export interface RequeueResult {
  counts: RequeueCounts;
  reasonsSeen: string[];
  stoppedBy: string | undefined;
}

export async function requeueLetters<M extends RawLetter>(options: RequeueOptions<M>): Promise<RequeueResult> {
  const { source, publisher, reasons, limit, dryRun, signal } = options;
  if (!dryRun && !publisher) throw new Error('requeueLetters: a publisher is needed unless dryRun');
  const counts = emptyCounts();
  const reasonsSeen = new Set<string>();
  const inFlight = new Set<Promise<void>>();
  let selected = 0;
  let stoppedBy: string | undefined;
  const report = () => options.onProgress?.(counts);

  function fail(why: string): void {
    stoppedBy ??= why;
    // Wake a loop waiting for a window slot or a channel; in-flight confirms still settle.
    if (publisher) void settled().then(() => publisher.stop());
  }

  const settled = () => Promise.all([...inFlight]).then(() => undefined);

  while (stoppedBy === undefined) {
    if (signal?.aborted) {
      stoppedBy = 'interrupted';
      break;
    }
    if (limit !== undefined && selected >= limit) break;
    let msg: M | undefined;
    try {
      msg = await source.next();
    } catch (err) {
      // The browse channel or the queue went away: what is in flight still settles below.
      stoppedBy = `reading the DLQ failed: ${errorMessage(err)}`;
      break;
    }
    if (!msg) break;
    counts.seen += 1;
    const view = viewLetter(msg, counts.seen);
    reasonsSeen.add(view.reason);
    if (!matchesReasons(view, reasons)) {
      counts.kept += 1;
      report();
      continue;
    }
    const plan = planRequeue(msg);
    if (!plan.ok) {
      counts.unroutable += 1;
      report();
      continue;
    }
    selected += 1;
    counts.byReason[view.reason] = (counts.byReason[view.reason] ?? 0) + 1;
    if (dryRun) {
      counts.requeued += 1;
      report();
      continue;
    }
    if (!(await publisher!.ready()) || stoppedBy !== undefined) {
      // Stopped while waiting: this letter was never published and stays in the DLQ.
      const left = (counts.byReason[view.reason] ?? 1) - 1;
      if (left === 0) delete counts.byReason[view.reason];
      else counts.byReason[view.reason] = left;
      stoppedBy ??= 'the publisher stopped';
      break;
    }
    const confirmed = publisher!.publish(plan.routingKey, msg.content, plan.options).then(
      () => {
        if (source.ack(msg)) counts.requeued += 1;
        else {
          counts.duplicated += 1;
          fail('the DLQ channel closed');
        }
        report();
      },
      (err: unknown) => {
        counts.failed += 1;
        report();
        fail(`requeue not confirmed: ${errorMessage(err)}`);
      },
    );
    inFlight.add(confirmed);
    void confirmed.finally(() => inFlight.delete(confirmed));
  }
  await settled();
  return { counts, reasonsSeen: [...reasonsSeen].sort(), stoppedBy };
}

interface TrackedPublish {
  routingKey: string;
  content: Buffer;
  messageId: string | undefined;
  returned: boolean;
}

/**
 * Ties a `basic.return` to its publish. RabbitMQ sends the return of a mandatory message before its
 * confirm, so by the time a publish is confirmed its entry knows whether it came back. A returned
 * message is matched by routing key, body and messageId; two identical letters are interchangeable.
 */
export function createReturnTracker() {
  const pending: TrackedPublish[] = [];
  return {
    track(routingKey: string, content: Buffer, messageId: string | undefined): TrackedPublish {
      const entry = { routingKey, content, messageId, returned: false };
      pending.push(entry);
      return entry;
    },
    onReturn(msg: { fields: { routingKey: string }; content: Buffer; properties: { messageId?: unknown } }): void {
      const entry = pending.find(
        (e) =>
          !e.returned &&
          e.routingKey === msg.fields.routingKey &&
          (e.messageId ?? undefined) === (msg.properties.messageId ?? undefined) &&
          e.content.equals(msg.content),
      );
      if (entry) entry.returned = true;
    },
    settle(entry: TrackedPublish): void {
      const at = pending.indexOf(entry);
      if (at >= 0) pending.splice(at, 1);
    },
    get size() {
      return pending.length;
    },
  };
}
