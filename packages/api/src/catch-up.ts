/**
 * What the catch-up API answers, decided over a small store port (the Mongo one is in
 * db/update-reader.ts; the unit tests pass one in memory).
 *
 * Guarantees:
 * - A page never skips a seq: it holds Updates after+1, after+2, … and ends before the first one that is
 *   not stored (at most `limit`). A client that applies pages in order has seen every Update up to
 *   `nextAfter`.
 * - When seq after+1 is not stored although the recipient has newer Updates, the answer is `tooLong`
 *   (410), never an empty page: retention removed it (or it was deleted). The page query is re-read once
 *   first, as on a server without snapshot reads a numbering write can land in the middle of a scan.
 *   `oldestSeq` is the lowest stored seq above `after` (state + 1 when none is): `after = oldestSeq − 1`
 *   is where the stored history resumes.
 * - `state` is the latest seq assigned: the counter (raised after numbering, so it may lag) or the top
 *   stored Update, whichever is higher; 0 when the recipient has none.
 */
import type { PageQuery, Recipient } from './request-params';

/** A stored, numbered Update: its seq and its wire body (JSON text, exactly as published). */
export interface NumberedUpdate {
  seq: number;
  body: string;
}

/** The reads the catch-up API needs; every one filters by the recipient (tenantId and userId). */
export interface CatchUpStore {
  /** Numbered Updates with seq > after, in seq order, at most `count`. */
  updatesAfter(recipient: Recipient, after: number, count: number): Promise<NumberedUpdate[]>;
  /** The highest stored seq, or null. */
  topSeq(recipient: Recipient): Promise<number | null>;
  /** The counter's lastSeq, or null when there is no counter. */
  counterSeq(recipient: Recipient): Promise<number | null>;
}

export interface UpdatesPage {
  kind: 'page';
  updates: NumberedUpdate[];
  nextAfter: number;
  hasMore: boolean;
}

export interface TooLong {
  kind: 'too-long';
  oldestSeq: number;
}

export type PageResult = UpdatesPage | TooLong;

export async function readState(store: CatchUpStore, recipient: Recipient): Promise<number> {
  const [counter, top] = await Promise.all([store.counterSeq(recipient), store.topSeq(recipient)]);
  return Math.max(counter ?? 0, top ?? 0);
}

/** The longest run after+1, after+2, … at the head of `updates` (sorted by seq). */
export function gaplessPrefix(updates: readonly NumberedUpdate[], after: number): NumberedUpdate[] {
  let n = 0;
  while (n < updates.length && updates[n]!.seq === after + n + 1) n += 1;
  return updates.slice(0, n);
}

export function toPage(fetched: readonly NumberedUpdate[], query: PageQuery): UpdatesPage {
  const run = gaplessPrefix(fetched, query.after);
  const updates = run.slice(0, query.limit);
  const last = updates.at(-1);
  return {
    kind: 'page',
    updates,
    nextAfter: last ? last.seq : query.after,
    // Something numbered is stored after nextAfter: the (limit+1)th Update, or one beyond a hole.
    hasMore: fetched.length > updates.length,
  };
}

export async function readPage(store: CatchUpStore, recipient: Recipient, query: PageQuery): Promise<PageResult> {
  const fetch = () => store.updatesAfter(recipient, query.after, query.limit + 1);
  let fetched = await fetch();
  if (fetched[0]?.seq === query.after + 1) return toPage(fetched, query);
  if (fetched.length > 0) {
    fetched = await fetch();
    if (fetched[0]?.seq === query.after + 1) return toPage(fetched, query);
  }
  const first = fetched[0];
  if (first) return { kind: 'too-long', oldestSeq: first.seq };
  // Nothing stored after `after`: up to date, unless numbered Updates after it were removed.
  const counter = (await store.counterSeq(recipient)) ?? 0;
  if (counter > query.after) return { kind: 'too-long', oldestSeq: counter + 1 };
  return { kind: 'page', updates: [], nextAfter: query.after, hasMore: false };
}
