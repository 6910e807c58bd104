/**
 * The one path from "an unpublished Update was found" to "published: true". Every source (backlog
 * sweep, polling, change stream, safety-net sweep) hands its batches here.
 *
 * For each batch, in submission order: drop Updates already in flight (sources overlap), and, for
 * change-stream batches, those just published or that the database says are no longer unpublished; drop
 * Updates of partitions this instance does not hold; park what can never be published; publish the
 * rest in `createdAt` order. Confirms are awaited in parallel with the next batch's publishing. Then,
 * only for confirmed messages: `updateMany({_id: {$in}, published: false}, {$set: {published: true}})`.
 *
 * Failure: a nack counts towards parking; a closed channel or a timeout leaves the Update unpublished
 * for the next sweep; nothing is ever marked without a confirm.
 *
 * A sweep's page is authoritative: it was read after the sweeper took the in-flight set, so every Update
 * on it was unpublished when read, even one this relay published an hour ago (an operator ran
 * `pnpm republish`). Only change events, which can be stale, consult the recently-published set.
 */
import { relayPartitionOf, toWireMessage, unpublishableReason } from '@chat3/core';
import {
  PublishError,
  backoffDelay,
  errorMessage,
  isRetryable,
  sleep,
  type Confirmed,
  type Logger,
  type PublishFailure,
} from '@chat3/runtime';
import type { ObjectId } from 'mongodb';
import type { StoredUpdate } from './ports';
import type { RelayMetrics } from './metrics';

export interface DispatchStore {
  stillUnpublished(ids: ObjectId[]): Promise<Set<string>>;
  markPublished(ids: ObjectId[], publishedAt: number): Promise<void>;
  recordRejection(id: ObjectId, reason: string): Promise<boolean>;
  park(id: ObjectId, reason: string): Promise<void>;
}

export interface DispatchPublisher {
  /** Waits for room to publish; resolves with the channel generation, or null once stopped. */
  ready(): Promise<number | null>;
  send(message: ReturnType<typeof toWireMessage>): Promise<Confirmed>;
  readonly connected: boolean;
}

export interface DispatcherOptions {
  store: DispatchStore;
  publisher: DispatchPublisher;
  partitions: number;
  /** True while this instance may publish the relay partition. */
  mayPublish: (partition: number) => boolean;
  maxMessageBytes: number;
  clock: () => number;
  metrics: RelayMetrics;
  logger: Logger;
  /** How many recently published ids to remember for skipping stale change events. */
  recentCapacity?: number;
}

export interface DispatchResult {
  published: number;
  /** Updates not confirmed because of the connection; a sweep must pick them up. */
  retry: number;
  parked: number;
}

export function createDispatcher(options: DispatcherOptions) {
  const { store, publisher, metrics, logger } = options;
  const inFlight = new Map<string, number>(); // id → relay partition
  const perPartition = new Map<number, number>(); // relay partition → ids in flight
  const recent = new Set<string>();
  const recentCapacity = options.recentCapacity ?? 100_000;
  const idleWaiters = new Map<number, Array<() => void>>();
  let chain: Promise<unknown> = Promise.resolve();

  const partitionOf = (doc: StoredUpdate) => relayPartitionOf(doc.partition, options.partitions);

  function hold(id: string, p: number): void {
    inFlight.set(id, p);
    perPartition.set(p, (perPartition.get(p) ?? 0) + 1);
  }

  function release(id: string): void {
    const p = inFlight.get(id);
    if (p === undefined) return;
    inFlight.delete(id);
    const left = (perPartition.get(p) ?? 1) - 1;
    if (left > 0) return void perPartition.set(p, left);
    perPartition.delete(p);
    for (const wake of idleWaiters.get(p) ?? []) wake();
    idleWaiters.delete(p);
  }

  function remember(id: string): void {
    recent.add(id);
    if (recent.size > recentCapacity) recent.delete(recent.values().next().value as string);
  }

  /** Runs in chain order: filter, park, publish. Returns the confirm promises. */
  async function issue(docs: StoredUpdate[], verify: boolean) {
    let candidates = docs;
    if (verify && candidates.length > 0) {
      const open = await store.stillUnpublished(candidates.map((d) => d._id));
      const gone = candidates.filter((d) => !open.has(d._id.toHexString()));
      metrics.duplicatesSkipped.inc(gone.length);
      for (const d of gone) release(d._id.toHexString());
      candidates = candidates.filter((d) => open.has(d._id.toHexString()));
    }
    const sends: Array<{ doc: StoredUpdate; confirm: Promise<Confirmed> }> = [];
    const parked: StoredUpdate[] = [];
    for (const doc of candidates) {
      const id = doc._id.toHexString();
      if (!options.mayPublish(partitionOf(doc))) {
        release(id);
        continue;
      }
      const message = toWireMessage(doc);
      const reason = unpublishableReason(message, options.maxMessageBytes);
      if (reason) {
        await parkOne(doc, reason, 'unpublishable');
        parked.push(doc);
        release(id);
        continue;
      }
      await publisher.ready();
      sends.push({ doc, confirm: publisher.send(message) });
    }
    return { sends, parked: parked.length };
  }

  async function parkOne(doc: StoredUpdate, reason: string, label: string): Promise<void> {
    logger.warn({ id: doc._id.toHexString(), userId: doc.userId, reason }, 'update parked');
    metrics.parkedTotal.inc({ reason: label });
    await store.park(doc._id, reason).catch((err) => logger.warn({ err: errorMessage(err) }, 'could not park update'));
  }

  async function settle({ sends, parked }: Awaited<ReturnType<typeof issue>>): Promise<DispatchResult> {
    const outcomes = await Promise.all(
      sends.map(({ doc, confirm }) =>
        confirm.then(
          ({ latency }) => ({ doc, latency, failure: null as PublishFailure | null, message: '' }),
          (err: unknown) => ({
            doc,
            latency: 0,
            failure: err instanceof PublishError ? err.kind : ('closed' as PublishFailure),
            message: errorMessage(err),
          }),
        ),
      ),
    );
    const confirmed = outcomes.filter((o) => o.failure === null);
    const publishedAt = options.clock();
    const marked = await markWithRetry(confirmed.map((o) => o.doc._id));
    let retry = outcomes.length - confirmed.length;
    if (marked) {
      for (const o of confirmed) {
        metrics.confirmLatency.observe(o.latency);
        metrics.publishLatency.observe(Math.max(0, publishedAt - o.doc.createdAt) / 1000);
        remember(o.doc._id.toHexString());
      }
      metrics.published.inc(confirmed.length);
    } else {
      retry += confirmed.length;
    }
    for (const o of outcomes) {
      if (o.failure === null) continue;
      metrics.publishFailures.inc({ reason: o.failure });
      if (o.failure === 'nack') {
        const isParked = await store.recordRejection(o.doc._id, 'rejected by the broker').catch(() => false);
        if (isParked) metrics.parkedTotal.inc({ reason: 'rejected' });
      } else if (o.failure === 'invalid') {
        await parkOne(o.doc, o.message, 'invalid');
      }
    }
    for (const o of outcomes) release(o.doc._id.toHexString());
    return { published: marked ? confirmed.length : 0, retry, parked };
  }

  /** Confirmed but unmarked means "sent again later" (a duplicate); try hard before accepting that. */
  async function markWithRetry(ids: ObjectId[]): Promise<boolean> {
    for (let attempt = 0; attempt < 6; attempt++) {
      try {
        await store.markPublished(ids, options.clock());
        return true;
      } catch (err) {
        if (!isRetryable(err)) {
          logger.error({ err: errorMessage(err), count: ids.length }, 'marking published failed');
          return false;
        }
        await sleep(backoffDelay(attempt, { baseMs: 100, maxMs: 3_000 }));
      }
    }
    logger.warn({ count: ids.length }, 'could not mark confirmed updates; they will be published again');
    return false;
  }

  return {
    /**
     * Publishes a batch; resolves when every message is confirmed and marked, or known to need
     * another attempt. `verify` marks a batch of change events, which may be stale: Updates published
     * recently are skipped and `published` is re-checked first. Without it (a sweep's page) only what
     * is in flight is skipped.
     */
    dispatch(docs: readonly StoredUpdate[], { verify = false } = {}): Promise<DispatchResult> {
      const fresh: StoredUpdate[] = [];
      for (const doc of [...docs].sort(byCreatedAt)) {
        const id = doc._id.toHexString();
        if (inFlight.has(id) || (verify && recent.has(id))) {
          metrics.duplicatesSkipped.inc();
          continue;
        }
        recent.delete(id);
        hold(id, partitionOf(doc));
        fresh.push(doc);
      }
      const issued = chain.then(() => issue(fresh, verify));
      chain = issued.catch(() => undefined);
      return issued.then(settle, (err: unknown) => {
        for (const d of fresh) release(d._id.toHexString());
        throw err;
      });
    },

    /** Ids being published right now, of one partition or all (a sweep skips them). */
    inFlightIds(partition?: number): Set<string> {
      const ids = new Set<string>();
      for (const [id, p] of inFlight) if (partition === undefined || p === partition) ids.add(id);
      return ids;
    },

    /** Resolves when nothing of this partition is in flight. */
    waitIdle(partition: number): Promise<void> {
      if (!perPartition.has(partition)) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.set(partition, [...(idleWaiters.get(partition) ?? []), resolve]));
    },

    get inFlight(): number {
      return inFlight.size;
    },

    get canPublish(): boolean {
      return publisher.connected;
    },
  };
}

export type Dispatcher = ReturnType<typeof createDispatcher>;

function byCreatedAt(a: StoredUpdate, b: StoredUpdate): number {
  return a.createdAt - b.createdAt || (a._id.toHexString() < b._id.toHexString() ? -1 : 1);
}
