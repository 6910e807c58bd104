/**
 * The ordering core of the SDK, as pure functions over an immutable state: which Update the handler gets
 * next, which queue messages are acked away, and when the catch-up API is asked. No I/O and no clock;
 * `updates-client.ts` runs the steps.
 *
 * Modes: `catching-up` (from the stored position, through the API, until a page says `hasMore: false`)
 * → `live` (the queue, and the API only for gaps). In both, messages from the queue are held here until
 * their turn, so those arriving during the catch-up are neither lost nor delivered early.
 *
 * Guarantees, for `last` = the seq last delivered:
 *   - the handler receives seq last+1, last+2, … and nothing else, each once per process;
 *   - a queue message whose seq ≤ last is a duplicate: acked, never delivered;
 *   - a queue message is acked only after the Update with its seq was delivered (the handler resolved);
 *   - a gap (the lowest held seq > last + 1) is filled from the API before anything newer is delivered;
 *   - a resync (the API no longer has last+1) moves `last` to the state the app reloaded.
 * `M` is the driver's handle for a queue message (what it acks); the core only carries it.
 */
import type { SequencedUpdate } from './update-body';

export type SequencerMode = 'catching-up' | 'live';

export interface Held<M> {
  seq: number;
  update: SequencedUpdate;
  message: M;
}

export interface SequencerState<M> {
  readonly mode: SequencerMode;
  /** The seq of the last Update delivered: the client's position. */
  readonly last: number;
  /** Queue messages not yet delivered or acked, ascending by seq (copies of one seq side by side). */
  readonly held: ReadonlyArray<Held<M>>;
  /** Updates from the API with seq > last, ascending, one per seq. */
  readonly fetched: ReadonlyArray<SequencedUpdate>;
}

export type Step<M> =
  /** Queue messages whose seq was delivered already. */
  | { kind: 'ack'; messages: M[] }
  /** Give `update` to the handler; then `delivered(seq)` and ack `messages` (queue copies of that seq). */
  | { kind: 'deliver'; update: SequencedUpdate; source: 'queue' | 'api'; messages: M[] }
  /** Ask the API for Updates after `after`; `until` is the end of the gap, when there is one. */
  | { kind: 'fetch'; after: number; reason: 'catch-up' | 'gap'; until?: number }
  /** Nothing to do until a message arrives. */
  | { kind: 'idle' };

export function initialState<M>(fromSeq: number): SequencerState<M> {
  if (!Number.isInteger(fromSeq) || fromSeq < 0) throw new RangeError(`fromSeq must be a whole number ≥ 0, got ${fromSeq}`);
  return { mode: 'catching-up', last: fromSeq, held: [], fetched: [] };
}

/** A message from the queue, held until its turn. */
export function receive<M>(state: SequencerState<M>, entry: Held<M>): SequencerState<M> {
  const at = state.held.findIndex((h) => h.seq > entry.seq);
  const held = at < 0 ? [...state.held, entry] : [...state.held.slice(0, at), entry, ...state.held.slice(at)];
  return { ...state, held };
}

export function nextStep<M>(state: SequencerState<M>): Step<M> {
  const { last, held, fetched } = state;
  const duplicates = held.filter((h) => h.seq <= last);
  if (duplicates.length > 0) return { kind: 'ack', messages: duplicates.map((h) => h.message) };
  const copiesOf = (seq: number) => held.filter((h) => h.seq === seq).map((h) => h.message);
  const fromApi = fetched[0];
  if (fromApi && fromApi.seq === last + 1) return { kind: 'deliver', update: fromApi, source: 'api', messages: copiesOf(fromApi.seq) };
  const fromQueue = held[0];
  if (fromQueue && fromQueue.seq === last + 1)
    return { kind: 'deliver', update: fromQueue.update, source: 'queue', messages: copiesOf(fromQueue.seq) };
  if (state.mode === 'catching-up') return { kind: 'fetch', after: last, reason: 'catch-up' };
  const ahead = Math.min(held[0]?.seq ?? Infinity, fromApi?.seq ?? Infinity);
  if (ahead !== Infinity) return { kind: 'fetch', after: last, reason: 'gap', until: ahead - 1 };
  return { kind: 'idle' };
}

/** The handler resolved for `seq` (which must be last + 1). The queue copies of it are the driver's to ack. */
export function delivered<M>(state: SequencerState<M>, seq: number): SequencerState<M> {
  if (seq !== state.last + 1) throw new Error(`delivered seq ${seq} out of order (last ${state.last})`);
  return { ...state, last: seq, held: state.held.filter((h) => h.seq !== seq), fetched: state.fetched.filter((u) => u.seq > seq) };
}

/** Queue messages the driver acked (duplicates), or can no longer ack (their channel closed). */
export function forget<M>(state: SequencerState<M>, drop: (message: M) => boolean): SequencerState<M> {
  const held = state.held.filter((h) => !drop(h.message));
  return held.length === state.held.length ? state : { ...state, held };
}

export interface Page {
  updates: readonly SequencedUpdate[];
  hasMore: boolean;
}

/**
 * One page from the API. `stalled` means the page moved nothing forward although something was missing
 * (a gap the API does not show yet, or `hasMore` without new Updates): the driver backs off before asking
 * again, so a lagging or inconsistent API never becomes a hot loop nor an out-of-order delivery.
 */
export function applyPage<M>(
  state: SequencerState<M>,
  reason: 'catch-up' | 'gap',
  page: Page,
): { state: SequencerState<M>; stalled: boolean } {
  const known = new Set(state.fetched.map((u) => u.seq));
  const fresh = page.updates.filter((u) => u.seq > state.last && !known.has(u.seq) && (known.add(u.seq), true));
  const fetched = fresh.length === 0 ? state.fetched : [...state.fetched, ...fresh].sort((a, b) => a.seq - b.seq);
  const mode = state.mode === 'catching-up' && !page.hasMore ? 'live' : state.mode;
  const stalled = fresh.length === 0 && (reason === 'gap' || page.hasMore);
  return { state: { ...state, mode, fetched }, stalled };
}

/**
 * The API no longer holds last + 1 (`tooLong`): the app reloaded its state as of `seq` (the API's latest
 * when asked), and delivery continues after it. Held messages up to `seq` become duplicates.
 */
export function resynced<M>(state: SequencerState<M>, seq: number): SequencerState<M> {
  return { ...state, last: seq, fetched: state.fetched.filter((u) => u.seq > seq) };
}
