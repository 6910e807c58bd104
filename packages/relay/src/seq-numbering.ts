/**
 * Numbers Updates per recipient (tenantId, userId) before their first publish: 1, 2, 3…, no gap, no
 * reuse. The relay holding a recipient's partition is its only numberer; the database stays the
 * arbiter (the unique index `recipient_seq`, see db/update-seqs.ts), so a stale guess costs a retry,
 * never a duplicate.
 *
 * State: a cache of each recipient's last seq (LRU, `capacity` entries), and a set of *suspect*
 * recipients whose last seq is unknown (a numbering write failed or stopped on a conflict).
 *   - A recipient not in the cache is looked up in the counters (`lastSeqs`, one query for the page),
 *     and raised to the highest seq already on its Updates of the page.
 *   - A suspect is repaired first (`repairSeqs`: the larger of its counter and the highest seq on its
 *     Updates, exact).
 *   - `forget()` empties the cache: a partition was (re)acquired, and another relay may have numbered
 *     its recipients meanwhile.
 * Numbering a page: the Updates that have no seq get the next ones, per recipient in page order, in one
 * ordered write (`assignSeqs`). A recipient all of whose Updates hold their seq goes out; one with a
 * seq it could not take is withheld for this page, becomes suspect and is repaired before its next
 * numbering (the Updates come back with the next sweep; the ones that were numbered keep their seq).
 * Then the counters are raised (`raiseSeqCounters`), while the page is published.
 */
import { errorMessage, type Logger } from '@chat3/runtime';
import type { RelayMetrics } from './metrics';
import { recipientKey, type Recipient, type SeqAssignment, type StoredUpdate } from './ports';

export interface SeqStore {
  lastSeqs(recipients: readonly Recipient[]): Promise<Map<string, number>>;
  repairSeqs(recipients: readonly Recipient[]): Promise<Map<string, number>>;
  assignSeqs(assignments: readonly SeqAssignment[]): Promise<Set<string>>;
  raiseSeqCounters(last: ReadonlyArray<{ recipient: Recipient; lastSeq: number }>): Promise<void>;
}

export interface SeqNumberingOptions {
  store: SeqStore;
  metrics: Pick<RelayMetrics, 'seqConflicts'>;
  logger: Logger;
  /** Recipients whose last seq is kept in memory. */
  capacity?: number;
}

export interface NumberedPage {
  /** Every Update of these recipients holds its seq now. */
  ready: StoredUpdate[];
  /** Updates of recipients that could not all be numbered: not published in this page. */
  withheld: StoredUpdate[];
  /** The counters being raised; resolves (never rejects) when done. */
  counters: Promise<void>;
}

export function createSeqNumbering(options: SeqNumberingOptions) {
  const { store, metrics, logger } = options;
  const capacity = options.capacity ?? 100_000;
  const last = new Map<string, number>();
  const suspects = new Set<string>();

  function remember(key: string, seq: number): void {
    last.delete(key);
    last.set(key, seq);
    if (last.size > capacity) last.delete(last.keys().next().value as string);
  }

  /** The last seq of each recipient of the page, from the cache, the counters or a repair. */
  async function lastOf(groups: Map<string, { recipient: Recipient; docs: StoredUpdate[] }>): Promise<Map<string, number>> {
    const known = new Map<string, number>();
    const unknown: Recipient[] = [];
    const suspect: Recipient[] = [];
    for (const [key, { recipient }] of groups) {
      if (suspects.has(key)) suspect.push(recipient);
      else if (last.has(key)) known.set(key, last.get(key)!);
      else unknown.push(recipient);
    }
    const [counted, repaired] = await Promise.all([
      unknown.length > 0 ? store.lastSeqs(unknown) : new Map<string, number>(),
      suspect.length > 0 ? store.repairSeqs(suspect) : new Map<string, number>(),
    ]);
    for (const r of unknown) known.set(recipientKey(r), counted.get(recipientKey(r)) ?? 0);
    for (const r of suspect) {
      const key = recipientKey(r);
      known.set(key, repaired.get(key) ?? 0);
      suspects.delete(key);
    }
    // Updates numbered before (by this relay or another) count too: their seqs are taken.
    for (const [key, { docs }] of groups) for (const d of docs) if (d.seq !== undefined) known.set(key, Math.max(known.get(key)!, d.seq));
    return known;
  }

  return {
    /**
     * Numbers the Updates of a page that have no seq yet (sets `seq` on them). Rejects when the last
     * seqs cannot be read; a failed numbering write makes its recipients suspect and withholds them.
     */
    async number(docs: readonly StoredUpdate[]): Promise<NumberedPage> {
      const groups = new Map<string, { recipient: Recipient; docs: StoredUpdate[] }>();
      for (const d of docs) {
        const key = recipientKey(d);
        const g = groups.get(key) ?? { recipient: { tenantId: d.tenantId, userId: d.userId }, docs: [] };
        g.docs.push(d);
        groups.set(key, g);
      }
      const wanted = [...groups].filter(([, g]) => g.docs.some((d) => d.seq === undefined));
      if (wanted.length === 0) return { ready: [...docs], withheld: [], counters: Promise.resolve() };

      const lastSeq = await lastOf(new Map(wanted));
      const assignments: SeqAssignment[] = [];
      const byId = new Map<string, StoredUpdate>();
      const next = new Map(lastSeq);
      for (const d of docs) {
        if (d.seq !== undefined) continue;
        const key = recipientKey(d);
        const seq = next.get(key)! + 1;
        next.set(key, seq);
        assignments.push({ id: d._id, recipient: groups.get(key)!.recipient, seq });
        byId.set(d._id.toHexString(), d);
      }

      let confirmed: Set<string>;
      try {
        confirmed = await store.assignSeqs(assignments);
      } catch (err) {
        logger.warn({ err: errorMessage(err), count: assignments.length }, 'numbering failed; its recipients wait for the next sweep');
        confirmed = new Set();
      }
      const failed = new Set<string>();
      for (const a of assignments) {
        const key = recipientKey(a.recipient);
        if (confirmed.has(a.id.toHexString())) byId.get(a.id.toHexString())!.seq = a.seq;
        else failed.add(key);
      }
      const raise: Array<{ recipient: Recipient; lastSeq: number }> = [];
      for (const [key, g] of wanted) {
        const top = Math.max(0, ...g.docs.map((d) => d.seq ?? 0));
        if (failed.has(key)) {
          last.delete(key);
          suspects.add(key);
        } else remember(key, next.get(key)!);
        if (top > (lastSeq.get(key) ?? 0)) raise.push({ recipient: g.recipient, lastSeq: top });
      }
      if (failed.size > 0) {
        metrics.seqConflicts.inc(failed.size);
        logger.info(
          { recipients: failed.size, numbered: confirmed.size, asked: assignments.length },
          'seq numbering stopped; withheld until repaired',
        );
      }
      const counters =
        raise.length === 0
          ? Promise.resolve()
          : store.raiseSeqCounters(raise).catch((err: unknown) => {
              // The counters lag; the unique index still arbitrates, and a conflict repairs them.
              logger.warn({ err: errorMessage(err), recipients: raise.length }, 'could not raise seq counters');
            });
      const ready: StoredUpdate[] = [];
      const withheld: StoredUpdate[] = [];
      for (const d of docs) (failed.has(recipientKey(d)) ? withheld : ready).push(d);
      return { ready, withheld, counters };
    },

    /** The cache may be stale (a partition was acquired): look every recipient up again. */
    forget(): void {
      last.clear();
    },

    /** The recipient's last seq as cached (tests and diagnostics). */
    cached(recipient: Recipient): number | undefined {
      return last.get(recipientKey(recipient));
    },
  };
}

export type SeqNumbering = ReturnType<typeof createSeqNumbering>;

/**
 * The same Updates with each recipient's in seq order, in the places its Updates had: the order across
 * recipients is kept, and a recipient's Updates go out in the order of their numbers.
 */
export function inSeqOrder(docs: readonly StoredUpdate[]): StoredUpdate[] {
  const groups = new Map<string, StoredUpdate[]>();
  for (const d of docs) {
    const g = groups.get(recipientKey(d));
    if (g) g.push(d);
    else groups.set(recipientKey(d), [d]);
  }
  for (const g of groups.values()) g.sort((a, b) => (a.seq ?? Infinity) - (b.seq ?? Infinity));
  const taken = new Map<string, number>();
  return docs.map((d) => {
    const key = recipientKey(d);
    const i = taken.get(key) ?? 0;
    taken.set(key, i + 1);
    return groups.get(key)![i]!;
  });
}
