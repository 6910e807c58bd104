/**
 * The one path from "an unpublished Update was found" to "published: true". Every source (the sweeps,
 * polling, the change stream) hands its batches here; `dispatch` never rejects.
 *
 * For each batch, in submission order: drop Updates already in flight (sources overlap), and, for a
 * change-stream batch, those just published or that the database says are no longer unpublished;
 * number the rest per recipient (seq-numbering.ts: already-numbered ones keep their seq, a recipient
 * whose numbering conflicted is withheld like a faulted partition); park what can never be published
 * (numbered first, so its seq is taken and a client can fetch it); publish the rest in `createdAt`
 * order, each recipient's in seq order. Confirms are awaited in parallel
 * with the next batch's publishing. Then, only for confirmed messages: mark them published.
 *
 * Order: a partition whose Update failed (not confirmed, or withheld because the lease check was false
 * or the store failed), or that was just acquired, is *faulted*. Nothing newer of a faulted partition is published: its Updates are
 * withheld until an authoritative sweep has settled everything in flight of that partition and cleared
 * the fault (`settle` + `clearFaults`); the sweep then reads the partition oldest first, so the failed
 * Updates go out before the newer ones. A partition is also faulted when the channel changed under its
 * in-flight messages (their outcome is unknown), so a message published on a new channel never
 * overtakes one still unsettled on the old. The exception is a broker nack: it refuses one message
 * while newer ones may already be confirmed.
 *
 * Refused messages: when the broker closes the channel with 406 (a body over `max_message_size`), every
 * unconfirmed message is suspect. A suspect is next published alone, after everything before it is
 * confirmed: refused again, it is the culprit and is parked; confirmed, it is cleared. So one bad
 * Update never stalls the relay.
 *
 * Failure: a nack counts towards parking; a closed channel or a timeout leaves the Update unpublished
 * for the next sweep; nothing is ever marked without a confirm.
 */
import { relayPartitionOf, toWireMessage, unpublishableReason, waitingSince, type WireMessage } from '@chat3/core';
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
import type { RelayMetrics } from './metrics';
import type { OpenUpdate, StoredUpdate, UpdateRef } from './ports';
import { inSeqOrder, type SeqNumbering } from './seq-numbering';

export interface DispatchStore {
  /** Of these ids, the ones still unpublished and unparked, with their seq (null when not numbered). */
  stillUnpublished(ids: ObjectId[]): Promise<Map<string, OpenUpdate>>;
  markPublished(ids: ObjectId[], publishedAt: number): Promise<void>;
  recordRejection(update: UpdateRef, reason: string): Promise<boolean>;
  park(update: UpdateRef, reason: string): Promise<void>;
}

export interface DispatchPublisher {
  /** Waits for room to publish; resolves with the channel generation, or null once stopped. */
  ready(): Promise<number | null>;
  send(message: WireMessage): Promise<Confirmed>;
  /** Resolves when nothing is awaiting a confirm. */
  idle(): Promise<void>;
  readonly connected: boolean;
}

export interface DispatcherOptions {
  store: DispatchStore;
  /** Gives every Update its per-recipient seq before its first publish (see seq-numbering.ts). */
  numbering: SeqNumbering;
  publisher: DispatchPublisher;
  /** The relay partition count now (it can change at run time, see partition-layout.ts). */
  partitions: () => number;
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
  /** Updates not published now (failed or withheld); a sweep will take them. */
  retry: number;
  parked: number;
}

export type DispatchSource = 'sweep' | 'stream';

interface Send {
  doc: StoredUpdate;
  partition: number;
  confirm: Promise<Confirmed>;
}

interface Issued {
  sends: Send[];
  withheld: number;
  parked: number;
  /** The seq counters being raised for this page (awaited before it is marked). */
  counters: Promise<void>;
}

export function createDispatcher(options: DispatcherOptions) {
  const { store, numbering, publisher, metrics, logger } = options;
  const inFlight = new Map<string, { partition: number; generation: number }>();
  /** Per partition: channel generation → messages of it in flight. */
  const generations = new Map<number, Map<number, number>>();
  const faults = new Set<number>();
  const suspects = new Set<string>();
  const recent = new Set<string>();
  const recentCapacity = options.recentCapacity ?? 100_000;
  const idleWaiters = new Map<number, Array<() => void>>();
  let chain: Promise<unknown> = Promise.resolve();
  /** Shutting down: batches not issued yet are withheld, not numbered or published. */
  let closing = false;

  const partitionOf = (doc: StoredUpdate) => relayPartitionOf(doc.partition, options.partitions());

  function hold(id: string, partition: number): void {
    inFlight.set(id, { partition, generation: 0 });
    countGeneration(partition, 0, 1);
  }

  function countGeneration(partition: number, generation: number, delta: number): void {
    const byGen = generations.get(partition) ?? new Map<number, number>();
    const n = (byGen.get(generation) ?? 0) + delta;
    if (n > 0) byGen.set(generation, n);
    else byGen.delete(generation);
    if (byGen.size > 0) generations.set(partition, byGen);
    else generations.delete(partition);
  }

  function setGeneration(id: string, generation: number): void {
    const entry = inFlight.get(id)!;
    countGeneration(entry.partition, entry.generation, -1);
    entry.generation = generation;
    countGeneration(entry.partition, generation, 1);
  }

  /** True when the partition has messages unsettled on a channel older than `generation`. */
  function olderInFlight(partition: number, generation: number): boolean {
    for (const g of generations.get(partition)?.keys() ?? []) if (g > 0 && g < generation) return true;
    return false;
  }

  function release(id: string): void {
    const entry = inFlight.get(id);
    if (!entry) return;
    inFlight.delete(id);
    countGeneration(entry.partition, entry.generation, -1);
    if (generations.has(entry.partition)) return;
    for (const wake of idleWaiters.get(entry.partition) ?? []) wake();
    idleWaiters.delete(entry.partition);
  }

  function fault(partition: number, why: string): void {
    if (!faults.has(partition)) logger.debug({ partition, why }, 'partition needs a sweep before anything newer is published');
    faults.add(partition);
  }

  function remember(id: string): void {
    recent.add(id);
    if (recent.size > recentCapacity) recent.delete(recent.values().next().value as string);
  }

  async function parkOne(doc: StoredUpdate, reason: string, label: string): Promise<void> {
    logger.warn({ id: doc._id.toHexString(), userId: doc.userId, reason }, 'update parked');
    metrics.parkedTotal.inc({ reason: label });
    await store.park(doc, reason).catch((err) => logger.warn({ err: errorMessage(err) }, 'could not park update'));
  }

  /** Why a message of `partition` may not go out on channel `generation` now, or null. */
  function blocked(partition: number, generation: number): string | null {
    if (faults.has(partition)) return 'faulted';
    if (!options.mayPublish(partition)) return 'lease check false';
    if (olderInFlight(partition, generation)) return 'channel changed under in-flight messages';
    return null;
  }

  /** Runs in chain order: filter, number, park, publish. Returns the sends and what was withheld or parked. */
  async function issue(docs: StoredUpdate[], source: DispatchSource): Promise<Issued> {
    const sends: Send[] = [];
    let withheld = 0;
    let parked = 0;
    let counters = Promise.resolve();
    const withhold = (doc: StoredUpdate, partition: number, why: string) => {
      fault(partition, why);
      release(doc._id.toHexString());
      withheld++;
    };
    if (closing) {
      for (const d of docs) withhold(d, partitionOf(d), 'stopping');
      return { sends, withheld, parked, counters };
    }

    let candidates = docs;
    if (source === 'stream' && candidates.length > 0) {
      const live = candidates.filter((d) => !faults.has(partitionOf(d)));
      for (const d of candidates) if (faults.has(partitionOf(d))) withhold(d, partitionOf(d), 'faulted');
      candidates = live;
      let open: Map<string, OpenUpdate> | undefined;
      try {
        if (candidates.length > 0) open = await store.stillUnpublished(candidates.map((d) => d._id));
      } catch (err) {
        logger.warn({ err: errorMessage(err), count: candidates.length }, 'could not check change events against the database');
        for (const d of candidates) withhold(d, partitionOf(d), 'store failed');
        return { sends, withheld, parked, counters };
      }
      if (open) {
        const gone = candidates.filter((d) => !open.has(d._id.toHexString()));
        metrics.duplicatesSkipped.inc(gone.length);
        for (const d of gone) release(d._id.toHexString());
        candidates = candidates.filter((d) => open.has(d._id.toHexString()));
        // Put back by a replay since the event was written (a stream read again from an older position):
        // the event's copy would go out without the replay's header and its mark would cancel the
        // replay's own copy. A sweep publishes the Update as it is now, in order.
        const replayed = candidates.filter((d) => open.get(d._id.toHexString())!.replayId !== (d.replayId ?? null));
        for (const d of replayed) withhold(d, partitionOf(d), 'put back by a replay since');
        candidates = candidates.filter((d) => !replayed.includes(d));
        // The event holds the document as inserted; a seq given since is in the database.
        for (const d of candidates) {
          const { seq } = open.get(d._id.toHexString())!;
          if (typeof seq === 'number') d.seq = seq;
        }
      }
    }

    // Number what may go out now (the rest is withheld below, unnumbered), then publish each
    // recipient's Updates in seq order.
    const eligible = candidates.filter((d) => !faults.has(partitionOf(d)) && options.mayPublish(partitionOf(d)));
    if (eligible.length > 0) {
      let page;
      try {
        page = await numbering.number(eligible);
      } catch (err) {
        logger.warn({ err: errorMessage(err), count: eligible.length }, 'could not read seq counters');
        for (const d of candidates) withhold(d, partitionOf(d), 'store failed');
        return { sends, withheld, parked, counters };
      }
      if (closing) {
        // Stopping while this page was numbered: it keeps its seqs and goes out with the next holder;
        // the counters are raised in the background (a lagging counter only costs a repair).
        for (const d of candidates) withhold(d, partitionOf(d), 'stopping');
        return { sends, withheld, parked, counters };
      }
      counters = page.counters;
      const held = new Set(page.withheld);
      for (const d of page.withheld) withhold(d, partitionOf(d), 'seq conflict');
      candidates = inSeqOrder(candidates.filter((d) => !held.has(d)));
    }

    for (const doc of candidates) {
      const id = doc._id.toHexString();
      const partition = partitionOf(doc);
      if (faults.has(partition)) {
        withhold(doc, partition, 'faulted');
        continue;
      }
      if (!options.mayPublish(partition)) {
        withhold(doc, partition, 'lease check false');
        continue;
      }
      const message = toWireMessage(doc);
      const reason = unpublishableReason(message, options.maxMessageBytes);
      if (reason) {
        await parkOne(doc, reason, 'unpublishable');
        parked++;
        release(id);
        continue;
      }
      // Waiting for room can take long (a reconnect): everything is checked again after it, and the
      // message is sent with no await in between, so a lease lost meanwhile is never published under.
      const generation = await publisher.ready();
      const blocker = generation === null ? 'stopping' : blocked(partition, generation);
      if (blocker !== null || generation === null) {
        withhold(doc, partition, blocker ?? 'stopping');
        continue;
      }
      if (suspects.has(id)) {
        // Alone: wait until every earlier message is settled, then this one.
        await publisher.idle();
        const gen = await publisher.ready();
        const again = gen === null ? 'stopping' : blocked(partition, gen);
        if (again !== null || gen === null) {
          withhold(doc, partition, again ?? 'stopping');
          continue;
        }
        setGeneration(id, gen);
        const confirm = publisher.send(message);
        confirm.catch(() => fault(partition, 'not confirmed'));
        await confirm.catch(() => undefined);
        sends.push({ doc, partition, confirm });
        continue;
      }
      setGeneration(id, generation);
      const confirm = publisher.send(message);
      // Fault at once, before anything newer of the partition can be issued.
      confirm.catch(() => fault(partition, 'not confirmed'));
      sends.push({ doc, partition, confirm });
    }
    return { sends, withheld, parked, counters };
  }

  async function settle({ sends, withheld, parked, counters }: Issued): Promise<DispatchResult> {
    const outcomes = await Promise.all(
      sends.map(({ doc, partition, confirm }) =>
        confirm.then(
          ({ latency }) => ({ doc, partition, latency, failure: null as PublishFailure | null, message: '' }),
          (err: unknown) => ({
            doc,
            partition,
            latency: 0,
            failure: err instanceof PublishError ? err.kind : ('closed' as PublishFailure),
            message: errorMessage(err),
          }),
        ),
      ),
    );
    await counters;
    const confirmed = outcomes.filter((o) => o.failure === null);
    for (const o of confirmed) suspects.delete(o.doc._id.toHexString());
    const marked = await markWithRetry(confirmed.map((o) => o.doc._id));
    let retry = withheld + outcomes.length - confirmed.length;
    if (marked) {
      const publishedAt = options.clock();
      for (const o of confirmed) {
        metrics.confirmLatency.observe(o.latency);
        metrics.publishLatency.observe(Math.max(0, publishedAt - waitingSince(o.doc)) / 1000);
        remember(o.doc._id.toHexString());
      }
      metrics.published.inc(confirmed.length);
    } else {
      // Delivered but not marked: the next sweep sends them again (a duplicate, never a loss).
      for (const o of confirmed) fault(o.partition, 'confirmed but not marked');
      retry += confirmed.length;
    }
    for (const o of outcomes) {
      if (o.failure === null) continue;
      metrics.publishFailures.inc({ reason: o.failure });
      const id = o.doc._id.toHexString();
      if (o.failure === 'nack') {
        const isParked = await store.recordRejection(o.doc, 'rejected by the broker').catch(() => false);
        if (isParked) metrics.parkedTotal.inc({ reason: 'rejected' });
      } else if (o.failure === 'invalid') {
        await parkOne(o.doc, o.message, 'invalid');
      } else if (o.failure === 'refused') {
        if (suspects.has(id)) {
          suspects.delete(id);
          await parkOne(o.doc, `the broker closed the channel for it: ${o.message}`, 'refused');
        } else suspects.add(id);
      }
    }
    for (const o of outcomes) release(o.doc._id.toHexString());
    return { published: marked ? confirmed.length : 0, retry, parked };
  }

  /** Confirmed but unmarked means "sent again later" (a duplicate); try hard before accepting that. */
  async function markWithRetry(ids: ObjectId[]): Promise<boolean> {
    if (ids.length === 0) return true;
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
     * another attempt. A `stream` batch (change events, which may be stale) skips Updates published
     * recently and re-checks `published` first; a `sweep` page (read after the in-flight set was
     * taken) is authoritative and skips only what is in flight.
     */
    dispatch(docs: readonly StoredUpdate[], { source = 'sweep' }: { source?: DispatchSource } = {}): Promise<DispatchResult> {
      const fresh: StoredUpdate[] = [];
      for (const doc of [...docs].sort(byCreatedAt)) {
        const id = doc._id.toHexString();
        if (inFlight.has(id) || (source === 'stream' && recent.has(id))) {
          metrics.duplicatesSkipped.inc();
          continue;
        }
        recent.delete(id);
        hold(id, partitionOf(doc));
        fresh.push(doc);
      }
      const issued = chain.then(() => issue(fresh, source));
      chain = issued.catch(() => undefined);
      return issued.then(settle).catch((err: unknown) => {
        // Only a bug gets here; keep the promise of "never rejects" and the order guarantee.
        logger.error({ err }, 'dispatch failed');
        for (const d of fresh) {
          fault(partitionOf(d), 'dispatch failed');
          release(d._id.toHexString());
        }
        return { published: 0, retry: fresh.length, parked: 0 };
      });
    },

    /**
     * Shutdown: what is in flight finishes (confirmed and marked), batches still waiting for their turn
     * are withheld (they stay unpublished; the next holder takes them), so a stop waits for one page at
     * most.
     */
    close(): void {
      closing = true;
    },

    /** Held partitions that need an authoritative sweep before anything newer is published. */
    faulted(held: readonly number[]): number[] {
      return held.filter((p) => faults.has(p));
    },

    /** Resolves when nothing of these partitions is in flight. */
    settle(partitions: readonly number[]): Promise<void> {
      return Promise.all(partitions.map((p) => this.waitIdle(p))).then(() => undefined);
    },

    /** An authoritative sweep of these partitions starts: they may publish again. */
    clearFaults(partitions: readonly number[]): void {
      for (const p of partitions) faults.delete(p);
    },

    /**
     * A partition was (re)acquired: it publishes nothing until its first authoritative sweep. Change
     * batches read before it was acquired may still wait in the chain; they must not go out first.
     */
    requireSweep(partition: number): void {
      fault(partition, 'acquired');
      // Another relay may have numbered its recipients while this one did not hold it.
      numbering.forget();
    },

    /** Ids being published right now, of one partition or all (a sweep skips them). */
    inFlightIds(partition?: number): Set<string> {
      const ids = new Set<string>();
      for (const [id, e] of inFlight) if (partition === undefined || e.partition === partition) ids.add(id);
      return ids;
    },

    /** Resolves when nothing of this partition is in flight. */
    waitIdle(partition: number): Promise<void> {
      if (!generations.has(partition)) return Promise.resolve();
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
