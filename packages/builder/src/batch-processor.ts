/**
 * Turns one micro-batch of events into written Updates:
 *   1. load the read model the batch needs (a few `$in` queries);
 *   2. build every Update with the pure core;
 *   3. derive user stats and claim the emissions that changed;
 *   4. write everything with one unordered `insertMany`.
 *
 * Guarantees: when `processBatch` resolves, every event is either fully written or listed as a dead
 * letter; only then may the caller acknowledge. Redelivery is harmless: the unique idempotency key turns
 * re-inserts into duplicates and a stats claim remembers its event. Retryable failures (network, primary
 * change) retry the whole batch with backoff, forever; an event that fails for any other reason is
 * isolated by retrying the batch one event at a time, and only that event is dead-lettered.
 */
import {
  buildStatsUpdate,
  buildUpdates,
  decideStats,
  parseEvent,
  type BuildContext,
  type ChatEvent,
  type EmittedStats,
  type ReadModelView,
  type RoutingKeyScope,
  type UpdateDraft,
  type UserStats,
} from '@chat3/core';
import { RetryableError, backoffDelay, errorMessage, isRetryable, sleep, type Logger, type LoopTracker } from '@chat3/runtime';
import type { InsertOutcome } from './db/update-store';
import type { BuilderMetrics } from './metrics';

export interface BatchStore {
  loadReadModel(events: readonly ChatEvent[]): Promise<ReadModelView>;
  insertUpdates(drafts: UpdateDraft[]): Promise<InsertOutcome>;
  computeStats(tenantId: string, userIds: readonly string[]): Promise<Map<string, UserStats>>;
  loadEmitted(tenantId: string, userIds: readonly string[]): Promise<Map<string, EmittedStats>>;
  claimEmission(previous: EmittedStats | null, next: EmittedStats): Promise<boolean>;
}

/** A parsed event of a batch: its index among the batch's items, and its trace context. */
interface BatchEvent {
  index: number;
  event: ChatEvent;
  traceparent?: string;
}

/** One event of a batch: its body, and whether it is still ours (its delivery's channel is open). */
export interface BatchItem {
  body: Buffer;
  /** The delivery's W3C `traceparent` header, when valid: the event's Updates carry it on. */
  traceparent?: string;
  live(): boolean;
}

export interface DeadLetterNote {
  /** Index into the batch's inputs. */
  index: number;
  reason: string;
  detail: string;
}

export interface BatchProcessorOptions {
  store: BatchStore;
  clock: () => number;
  /** How routing keys are scoped (ROUTING_KEY_SCOPE); the seed's format when absent. */
  routingKeyScope?: RoutingKeyScope;
  maxEventBytes: number;
  metrics: BuilderMetrics;
  logger: Logger;
  /** Aborted on shutdown: retries stop waiting (the batch stays unacknowledged and is redelivered). */
  signal?: AbortSignal;
  /** The flushing loop: each retried failure is recorded as its error (/healthz). */
  loop?: LoopTracker;
  now?: () => number;
}

export class BatchAbortedError extends Error {
  constructor() {
    super('batch abandoned during shutdown; it will be redelivered');
  }
}

export function createBatchProcessor(options: BatchProcessorOptions) {
  const { store, metrics, logger } = options;
  const now = options.now ?? Date.now;

  /**
   * Returns the dead letters; throws only `BatchAbortedError`. Before every attempt the events whose
   * delivery is no longer live are dropped: their partition went to another builder with them, and a
   * write from here could land after that builder's newer ones.
   */
  async function processBatch(items: readonly BatchItem[]): Promise<DeadLetterNote[]> {
    const started = performance.now();
    const deadLetters: DeadLetterNote[] = [];
    const events: BatchEvent[] = [];
    items.forEach(({ body, traceparent }, index) => {
      const parsed = parseEvent(body, { maxBytes: options.maxEventBytes });
      if (!parsed.ok) deadLetters.push({ index, reason: parsed.reason, detail: parsed.detail });
      else if (parsed.class.kind === 'update') events.push({ index, event: parsed.event, traceparent });
    });
    const live = (list: readonly BatchEvent[]) => list.filter((e) => items[e.index]!.live());

    try {
      deadLetters.push(...(await withRetries(() => writeEvents(live(events)))));
    } catch (err) {
      if (err instanceof BatchAbortedError) throw err;
      logger.warn({ err: errorMessage(err), events: events.length }, 'batch failed; isolating events one by one');
      for (const one of events) {
        try {
          deadLetters.push(...(await withRetries(() => writeEvents(live([one])))));
        } catch (oneErr) {
          if (oneErr instanceof BatchAbortedError) throw oneErr;
          deadLetters.push({ index: one.index, reason: 'build-error', detail: errorMessage(oneErr) });
        }
      }
    }
    metrics.batchSize.observe(items.length);
    metrics.batchDuration.observe((performance.now() - started) / 1000);
    return deadLetters.sort((a, b) => a.index - b.index);
  }

  async function withRetries<T>(attempt: () => Promise<T>): Promise<T> {
    for (let n = 0; ; n++) {
      if (options.signal?.aborted) throw new BatchAbortedError();
      try {
        return await attempt();
      } catch (err) {
        if (!isRetryable(err)) throw err;
        metrics.batchRetries.inc();
        options.loop?.error(err);
        const delay = backoffDelay(n, { baseMs: 100, maxMs: 10_000 });
        logger.warn({ err: errorMessage(err), attempt: n + 1, delayMs: delay }, 'batch write failed; retrying');
        await sleep(delay, options.signal);
      }
    }
  }

  async function writeEvents(events: readonly BatchEvent[]): Promise<DeadLetterNote[]> {
    if (events.length === 0) return [];
    const view = await store.loadReadModel(events.map((e) => e.event));
    const ctx: BuildContext = { view, clock: options.clock, routingKeyScope: options.routingKeyScope };
    const deadLetters: DeadLetterNote[] = [];
    const drafts: UpdateDraft[] = [];
    const owner: number[] = []; // drafts[i] belongs to events[owner[i]]
    const statsTargets = new Map<string, { tenantId: string; userId: string; at: number }>();

    events.forEach(({ index, event, traceparent }, at) => {
      const outcome = buildUpdates(event, ctx);
      if (!outcome.ok) {
        deadLetters.push({ index, reason: 'unbuildable', detail: outcome.reason });
        return;
      }
      for (const d of outcome.updates) {
        drafts.push(traceparent ? { ...d, traceparent } : d);
        owner.push(at);
      }
      // The last event of the batch that touches a user carries that user's stats.
      for (const userId of outcome.statsUserIds)
        statsTargets.set(`${event.tenantId}\u0000${userId}`, { tenantId: event.tenantId, userId, at });
    });

    for (const stats of await deriveStats(events, [...statsTargets.values()], ctx)) {
      const traceparent = events[stats.at]!.traceparent; // the event the stats Update is attributed to
      drafts.push(traceparent ? { ...stats.draft, traceparent } : stats.draft);
      owner.push(stats.at);
    }

    const result = await store.insertUpdates(drafts);
    const rejectedEvents = new Map<number, string>();
    for (const [i, why] of result.rejected) rejectedEvents.set(owner[i] as number, why);
    for (const [at, why] of rejectedEvents) {
      deadLetters.push({ index: events[at]!.index, reason: 'write-rejected', detail: why });
    }

    const writtenAt = now();
    const dead = new Set(deadLetters.map((d) => d.index));
    for (const { index, event } of events) {
      if (dead.has(index)) continue;
      metrics.eventsBuilt.inc();
      metrics.eventToUpdate.observe(Math.max(0, writtenAt - event.createdAt) / 1000);
    }
    drafts.forEach((d, i) => {
      if (!result.rejected.has(i) && !result.duplicates.has(i)) metrics.updatesWritten.inc({ update_type: d.updateType });
    });
    metrics.updatesDuplicate.inc(result.duplicates.size);
    return deadLetters;
  }

  async function deriveStats(
    events: ReadonlyArray<{ index: number; event: ChatEvent }>,
    targets: Array<{ tenantId: string; userId: string; at: number }>,
    ctx: BuildContext,
  ): Promise<Array<{ draft: UpdateDraft; at: number }>> {
    const byTenant = new Map<string, typeof targets>();
    for (const t of targets) byTenant.set(t.tenantId, [...(byTenant.get(t.tenantId) ?? []), t]);
    const out: Array<{ draft: UpdateDraft; at: number }> = [];
    await Promise.all(
      [...byTenant].map(async ([tenantId, list]) => {
        const userIds = list.map((t) => t.userId);
        // The last emission first, the counts second: an emission claimed by anyone after our read of
        // it makes our compare-and-set fail, so counts read before that emission can never win.
        const emitted = await store.loadEmitted(tenantId, userIds);
        const current = await store.computeStats(tenantId, userIds);
        const batchEventIds = new Set(events.map((e) => e.event.eventId));
        await Promise.all(
          list.map(async ({ userId, at }) => {
            const event = events[at]!.event;
            const claimed = await claimStats(event, userId, emitted.get(userId) ?? null, current.get(userId)!, ctx.clock, batchEventIds);
            if (!claimed) return;
            const draft = buildStatsUpdate(
              event,
              userId,
              claimed.stats,
              claimed.updatedFields,
              { ...ctx, clock: () => claimed.createdAt },
              claimed.version,
            );
            out.push({ draft, at });
          }),
        );
      }),
    );
    return out.sort((a, b) => a.at - b.at);
  }

  /**
   * Decides and, if needed, claims one user's emission. A lost race means another event emitted since
   * our reads: read the emission and then the counts again, and decide again.
   */
  async function claimStats(
    event: ChatEvent,
    userId: string,
    previous: EmittedStats | null,
    current: UserStats,
    clock: () => number,
    batchEventIds: ReadonlySet<string>,
  ): Promise<{ stats: UserStats; updatedFields: string[]; createdAt: number; version: number } | null> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const decision = decideStats(previous, current, event.eventId, batchEventIds);
      if (!decision.emit) return null;
      if (!decision.claim) return { ...decision, createdAt: previous?.createdAt ?? clock(), version: previous?.version ?? 0 };
      const createdAt = Math.max(clock(), Math.round(((previous?.createdAt ?? 0) + 0.001) * 1000) / 1000);
      const version = (previous?.version ?? 0) + 1;
      const next: EmittedStats = {
        tenantId: event.tenantId,
        userId,
        stats: decision.stats,
        eventId: event.eventId,
        updatedFields: decision.updatedFields,
        createdAt,
        version,
      };
      if (await store.claimEmission(previous, next)) return { ...decision, createdAt, version };
      previous = (await store.loadEmitted(event.tenantId, [userId])).get(userId) ?? null;
      current = (await store.computeStats(event.tenantId, [userId])).get(userId)!;
    }
    throw new RetryableError(`stats claim for ${userId} kept losing races`);
  }

  return { processBatch };
}

export type BatchProcessor = ReturnType<typeof createBatchProcessor>;
