/**
 * The checker: what one run delivered, judged against what it produced. Pure: it reads a `RunRecord`
 * and returns violations, so it is unit-tested with hand-made records and with deliberately broken
 * parts (test/checker.test.ts).
 *
 * Properties checked:
 *   lost          a committed, unparked Update never reached its recipient's queue; or a valid event
 *                 has no Update for a recipient; or a bad event is neither built nor dead-lettered
 *   phantom       a delivered Update is not in the database any more (rolled back), or one Update
 *                 (idempotency key) reached a client under two message ids
 *   duplicates    more re-deliveries than one in-flight window per incident that can cause them (the
 *                 copy a replay or a put-back by hand asks for is not a re-delivery; a second copy is)
 *   order         per recipient and dialog, a first delivery came after a newer one's (Updates whose
 *                 publish, or whose event's forward, the broker nacked are exempt: a nacked message is
 *                 sent again after newer ones, by design)
 *   stall         an Update waited longer than the limit while no fault window covered it; or a copy
 *                 a replay asked for went out longer than the limit after the Update was put back
 *   replay        an Update a replay put back was not sent again after that with a replay id in
 *                 `x-chat3-replay` (its replay's, or another's: two replays that put it back at nearly
 *                 the same time may share one copy), unless it ended parked; or, per replay (the id a
 *                 copy carries) and recipient, the copies came out of order: an Update
 *                 whose first copy came after that of one both newer (createdAt) and higher in seq
 *                 (the relay sends each page of a recipient in seq order, the pages oldest first;
 *                 nacked Updates exempt, as for order). The copies' seq and message id are those of the
 *                 Update (checked under seq and phantom, for every delivery)
 *   exclusivity   two relays took turns publishing one recipient within a lease TTL (A, B, A), by when
 *                 they wrote the messages (a broker alarm can hold a message written before a hand-over
 *                 and route it after: that is a duplicate, not two owners)
 *   seq           per recipient, the numbered Updates are not 1..N (a seq given twice, or a gap); a
 *                 delivered or parked Update has no seq; a delivery's seq (body or `x-chat3-seq`)
 *                 differs from its Update's; or a recipient's first deliveries are not in seq order
 *                 (nacked Updates exempt, as for order)
 *   stats         a user stats emission carries a value the read model did not hold at any time since
 *                 the previous emission (a stale read won), or the last one differs from the final counts
 *   exit          an unhandled rejection or fatal error (a real process would have exited)
 *   spin          a loop kept polling a closed change stream
 *   shutdown      a graceful stop took longer than SHUTDOWN_TIMEOUT_MS
 */
import type { UserStats } from '@chat3/core';
import type { StoredUpdate } from '@chat3/relay';
import type { Window } from './faults';
import type { SinkRecord } from './models/rabbitmq';
import type { Produced } from './workload';

export type ViolationKind =
  'lost' | 'phantom' | 'duplicates' | 'order' | 'seq' | 'stall' | 'replay' | 'exclusivity' | 'stats' | 'exit' | 'spin' | 'shutdown';

export interface Violation {
  kind: ViolationKind;
  detail: string;
}

export interface RunRecord {
  traffic: 'updates' | 'events';
  produced: Produced;
  /** Majority-committed Update documents at the end. */
  committed: StoredUpdate[];
  deliveries: SinkRecord[];
  /** Updates an operator put back by hand (no replay id), and when: each must be delivered again after that. */
  republished: ReadonlyArray<{ id: string; at: number }>;
  /** Updates replays put back (the writes that survived), in the order written, and when. */
  replays: ReadonlyArray<{ replayId: string; id: string; at: number }>;
  /** Message ids the broker nacked at least once (Update ids, and event ids of nacked forwards). */
  nacked: ReadonlySet<string>;
  /** Event ids found in the dead-letter queue. */
  deadLettered: ReadonlySet<string>;
  windows: Window[];
  /** Incidents that leave messages in doubt besides the fault windows (channels the broker closed). */
  otherIncidents: number;
  startAt: number;
  endAt: number;
  stallLimitMs: number;
  /** In-flight window of the relay (RELAY_WINDOW). */
  window: number;
  leaseTtlMs: number;
  exits: Array<{ at: number; process: string; what: string }>;
  spinning: string[];
  stops: Array<{ process: string; ms: number; timeoutMs: number }>;
  /**
   * User stats: every value each user's read-model stats took (and when), and the stats Updates
   * emitted, by createdAt.
   */
  stats?: { history: Map<string, Array<{ at: number; stats: UserStats }>>; emitted: Map<string, Array<{ at: number; stats: UserStats }>> };
}

export interface RunSummary {
  produced: number;
  delivered: number;
  duplicates: number;
  maxHealthyWaitMs: number;
  /** Put-backs by replays, and the longest wait for a copy after one outside fault windows. */
  replayed: number;
  maxReplayWaitMs: number;
}

/** A stats Update is built right after its claim; the claim of the next may read a moment earlier. */
const STATS_SLACK_MS = 2;

const DUPLICATE_CAUSES = new Set([
  'broker-close-connections',
  'broker-down',
  'network-drop',
  'alarm',
  'nack',
  'failover',
  'db-outage',
  'kill',
  'partition-db',
  'fail-ops',
  'invalidate',
  'start-relay',
  'stop',
]);

export function check(run: RunRecord): { violations: Violation[]; summary: RunSummary } {
  const violations: Violation[] = [];
  const add = (kind: ViolationKind, detail: string) => violations.push({ kind, detail });
  const key = (d: Pick<StoredUpdate, 'tenantId' | 'eventId' | 'userId' | 'updateType'>) =>
    `${d.tenantId}\u0000${d.eventId}\u0000${d.userId}\u0000${d.updateType}`;

  const byId = new Map(run.committed.map((d) => [d._id.toHexString(), d]));
  const firstAt = new Map<string, number>();
  /** Position of each message's first delivery: deliveries are recorded in the order the broker routed them. */
  const firstIndex = new Map<string, number>();
  const deliveredIds = new Map<string, string[]>(); // idempotency key → message ids delivered
  run.deliveries.forEach((r, i) => {
    if (firstIndex.has(r.messageId)) return;
    firstIndex.set(r.messageId, i);
    firstAt.set(r.messageId, r.at);
  });
  for (const r of run.deliveries) {
    const doc = byId.get(r.messageId);
    const body = doc ?? (JSON.parse(r.content.toString()) as Partial<StoredUpdate>);
    const k = `${key({ tenantId: String(r.headers.tenantId), eventId: String(r.headers.eventId), userId: String(r.headers.userId), updateType: typeFromKey(r.routingKey) as StoredUpdate['updateType'] })}\u0000${body.statsVersion ?? ''}`;
    const ids = deliveredIds.get(k) ?? [];
    if (!ids.includes(r.messageId)) ids.push(r.messageId);
    deliveredIds.set(k, ids);
  }

  // lost
  const lost = run.committed.filter((d) => !d.parked && !firstAt.has(d._id.toHexString()));
  if (lost.length > 0) add('lost', `${lost.length} committed Updates never delivered, e.g. ${describe(lost[0]!)}`);
  const lastAt = new Map<string, number>();
  for (const r of run.deliveries) lastAt.set(r.messageId, r.at);
  const notResent = run.republished.filter((r) => (lastAt.get(r.id) ?? -Infinity) < r.at);
  if (notResent.length > 0) add('lost', `${notResent.length} re-published Updates were never sent again, e.g. ${notResent[0]!.id}`);
  const committedKeys = new Set(run.committed.map(key));
  if (run.traffic === 'events') checkEvents(run, committedKeys, key, add);
  else {
    const missing = run.produced.updates.filter((u) => !committedKeys.has(u.key));
    if (missing.length > 0) add('lost', `${missing.length} Updates the writer wrote are not in the database, e.g. #${missing[0]!.index}`);
  }

  // phantom
  for (const r of new Set(run.deliveries.map((d) => d.messageId))) {
    if (!byId.has(r)) {
      add('phantom', `message ${r} was delivered but its Update is not in the database (rolled back)`);
      break;
    }
  }
  const twice = [...deliveredIds.entries()].filter(([, ids]) => ids.length > 1);
  if (twice.length > 0) add('phantom', `${twice.length} Updates reached clients under two message ids, e.g. ${twice[0]![1].join(' and ')}`);

  const replays = checkReplays(run, byId, add);

  // duplicates: what is left after the first delivery and the copies put-backs asked for
  const duplicates = run.deliveries.length - firstAt.size - replays.copies - (run.republished.length - notResent.length);
  const incidents = run.windows.filter((w) => DUPLICATE_CAUSES.has(w.kind)).length + run.otherIncidents;
  const allowed = incidents * run.window;
  if (duplicates > allowed)
    add('duplicates', `${duplicates} re-deliveries, more than one window (${run.window}) per incident (${incidents})`);

  // order, per recipient and dialog, among first deliveries
  const truth = truthOrder(run);
  const groups = new Map<string, StoredUpdate[]>();
  for (const d of run.committed) {
    if (d.updateType === 'UserStatsUpdate' || !firstAt.has(d._id.toHexString())) continue;
    const g = `${d.userId}\u0000${d.dialogId}`;
    groups.set(g, [...(groups.get(g) ?? []), d]);
  }
  let inversions = 0;
  let example = '';
  for (const docs of groups.values()) {
    docs.sort((a, b) => firstIndex.get(a._id.toHexString())! - firstIndex.get(b._id.toHexString())!);
    let newest = -Infinity;
    let newestDoc: StoredUpdate | undefined;
    for (const d of docs) {
      const rank = truth(d);
      if (rank < newest && !run.nacked.has(d._id.toHexString()) && !run.nacked.has(d.eventId)) {
        inversions++;
        example ||= `${describe(d)} first delivered at +${firstAt.get(d._id.toHexString())! - run.startAt} ms, after the newer ${describe(newestDoc!)} at +${firstAt.get(newestDoc!._id.toHexString())! - run.startAt} ms`;
      }
      if (rank > newest) {
        newest = rank;
        newestDoc = d;
      }
    }
  }
  if (inversions > 0) add('order', `${inversions} Updates delivered after a newer one of the same recipient and dialog; e.g. ${example}`);

  checkSeqs(run, byId, firstIndex, add);

  // stall: waits outside fault windows
  let maxWait = 0;
  let worst: StoredUpdate | undefined;
  for (const d of run.committed) {
    if (d.parked) continue;
    const end = firstAt.get(d._id.toHexString()) ?? run.endAt;
    const wait = end - d.createdAt - covered(run.windows, d.createdAt, end);
    if (wait > maxWait) {
      maxWait = wait;
      worst = d;
    }
  }
  if (maxWait > run.stallLimitMs)
    add('stall', `${describe(worst!)} waited ${Math.round(maxWait)} ms outside fault windows (limit ${run.stallLimitMs} ms)`);
  if (replays.maxWait > run.stallLimitMs)
    add(
      'stall',
      `${replays.waitExample} went out again ${Math.round(replays.maxWait)} ms after a replay put it back, outside fault windows (limit ${run.stallLimitMs} ms)`,
    );

  // exclusivity: A, B, A on one recipient within a lease TTL
  const byRecipient = new Map<string, Array<{ at: number; relay: string }>>();
  for (const r of [...run.deliveries].sort((a, b) => a.sentAt - b.sentAt)) {
    if (!r.publisher.startsWith('chat3-relay')) continue;
    const list = byRecipient.get(r.queue) ?? [];
    if (list.at(-1)?.relay !== r.publisher) list.push({ at: r.sentAt, relay: r.publisher });
    else list[list.length - 1] = { at: r.sentAt, relay: r.publisher };
    byRecipient.set(r.queue, list);
  }
  for (const [queue, turns] of byRecipient) {
    const clash = turns.findIndex((t, i) => i >= 2 && turns[i - 2]!.relay === t.relay && t.at - turns[i - 2]!.at < run.leaseTtlMs);
    if (clash >= 0) {
      const t = turns[clash]!;
      add(
        'exclusivity',
        `${queue}: ${turns[clash - 2]!.relay}, ${turns[clash - 1]!.relay} and ${t.relay} again took turns within ${run.leaseTtlMs} ms`,
      );
      break;
    }
  }

  // stats
  if (run.stats) {
    const same = (a: UserStats, b: UserStats) => a.dialogCount === b.dialogCount && a.unreadDialogsCount === b.unreadDialogsCount;
    const fmt = (x: UserStats) => `${x.dialogCount}/${x.unreadDialogsCount}`;
    outer: for (const [user, emissions] of run.stats.emitted) {
      const history = run.stats.history.get(user) ?? [];
      const valueAt = (t: number) => [...history].reverse().find((h) => h.at <= t)?.stats;
      for (let i = 0; i < emissions.length; i++) {
        const from = i === 0 ? run.startAt : emissions[i - 1]!.at - STATS_SLACK_MS;
        const to = emissions[i]!.at;
        const held = [valueAt(from), ...history.filter((h) => h.at > from && h.at <= to).map((h) => h.stats)].filter(
          (v): v is UserStats => !!v,
        );
        if (!held.some((v) => same(v, emissions[i]!.stats))) {
          add(
            'stats',
            `user ${user}: emitted ${fmt(emissions[i]!.stats)} at +${to - run.startAt} ms, but since the previous emission the read model held only ${held.map(fmt).join(', ')}`,
          );
          break outer;
        }
      }
      const final = history.at(-1)?.stats;
      if (final && emissions.length > 0 && !same(final, emissions.at(-1)!.stats)) {
        add('stats', `user ${user}: last stats emitted ${fmt(emissions.at(-1)!.stats)}, the read model ends at ${fmt(final)}`);
        break;
      }
    }
  }

  for (const e of run.exits) add('exit', `${e.process} at +${e.at - run.startAt} ms: ${e.what.split('\n')[0]}`);
  if (run.spinning.length > 0) add('spin', `${run.spinning.join(', ')} kept calling tryNext on a closed change stream`);
  for (const s of run.stops)
    if (s.ms > s.timeoutMs) add('shutdown', `${s.process} took ${s.ms} ms to stop (SHUTDOWN_TIMEOUT_MS ${s.timeoutMs})`);

  return {
    violations,
    summary: {
      produced: run.committed.length,
      delivered: firstAt.size,
      duplicates,
      maxHealthyWaitMs: Math.round(maxWait),
      replayed: run.replays.length,
      maxReplayWaitMs: Math.round(replays.maxWait),
    },
  };
}

/**
 * See `replay` in the header. Returns the copies replays account for (one per Update and replay id it
 * went out with) and the longest wait for a copy outside fault windows.
 */
function checkReplays(
  run: RunRecord,
  byId: ReadonlyMap<string, StoredUpdate>,
  add: (kind: ViolationKind, detail: string) => void,
): { copies: number; maxWait: number; waitExample: string } {
  /** Per Update, the deliveries that carried a replay id, in routing order. */
  const copies = new Map<string, Array<{ index: number; rec: SinkRecord; replayId: string }>>();
  run.deliveries.forEach((rec, index) => {
    const replayId = rec.headers['x-chat3-replay'];
    if (typeof replayId !== 'string') return;
    copies.set(rec.messageId, [...(copies.get(rec.messageId) ?? []), { index, rec, replayId }]);
  });
  let copyCount = 0;
  for (const list of copies.values()) copyCount += new Set(list.map((c) => c.replayId)).size;

  const putBacks = new Map<string, Array<{ replayId: string; at: number }>>();
  for (const p of run.replays) putBacks.set(p.id, [...(putBacks.get(p.id) ?? []), p]);
  let missing = 0;
  let missingExample = '';
  let maxWait = 0;
  let waitExample = '';
  /** replayId → recipient → the Updates with a copy of that replay, and where its first copy is. */
  const byReplay = new Map<string, Map<string, Array<{ doc: StoredUpdate; index: number }>>>();
  for (const [id, list] of putBacks) {
    const doc = byId.get(id);
    list.forEach((p) => {
      const copy = (copies.get(id) ?? []).find((c) => c.rec.sentAt >= p.at);
      if (!copy) {
        if (doc?.parked) return;
        missing++;
        missingExample ||= `${doc ? describe(doc) : id}, put back by ${p.replayId} at +${p.at - run.startAt} ms`;
        return;
      }
      const wait = copy.rec.at - p.at - covered(run.windows, p.at, copy.rec.at);
      if (wait > maxWait) {
        maxWait = wait;
        waitExample = `${doc ? describe(doc) : id} (${p.replayId})`;
      }
      const own = (copies.get(id) ?? []).find((c) => c.replayId === p.replayId);
      if (!own || !doc) return;
      const recipients = byReplay.get(p.replayId) ?? new Map<string, Array<{ doc: StoredUpdate; index: number }>>();
      const r = `${doc.tenantId}/${doc.userId}`;
      recipients.set(r, [...(recipients.get(r) ?? []), { doc, index: own.index }]);
      byReplay.set(p.replayId, recipients);
    });
  }
  if (missing > 0) add('replay', `${missing} Updates put back by a replay were not sent again with a replay id, e.g. ${missingExample}`);

  let inversions = 0;
  let example = '';
  for (const [replayId, recipients] of byReplay) {
    for (const arrivals of recipients.values()) {
      arrivals.sort((a, b) => a.index - b.index);
      arrivals.forEach(({ doc: d }, i) => {
        if (run.nacked.has(d._id.toHexString())) return;
        const before = arrivals
          .slice(0, i)
          .find(({ doc: e }) => newer(e, d) && (e.seq === undefined || d.seq === undefined || e.seq > d.seq));
        if (!before) return;
        inversions++;
        example ||= `${replayId}: ${describe(d)} (seq ${d.seq}) came after the newer ${describe(before.doc)} (seq ${before.doc.seq})`;
      });
    }
  }
  if (inversions > 0) add('replay', `${inversions} replay copies came after a newer one of the same recipient; e.g. ${example}`);
  return { copies: copyCount, maxWait, waitExample };
}

/** `a` is newer than `b` in the order replays and sweeps take (createdAt, then _id). */
function newer(a: StoredUpdate, b: StoredUpdate): boolean {
  return a.createdAt > b.createdAt || (a.createdAt === b.createdAt && a._id.toHexString() > b._id.toHexString());
}

/** See `seq` in the header. */
function checkSeqs(
  run: RunRecord,
  byId: ReadonlyMap<string, StoredUpdate>,
  firstIndex: ReadonlyMap<string, number>,
  add: (kind: ViolationKind, detail: string) => void,
): void {
  const recipient = (d: StoredUpdate) => `${d.tenantId}/${d.userId}`;
  const bySeq = new Map<string, Map<number, string[]>>();
  let unnumbered = 0;
  let unnumberedExample = '';
  for (const d of run.committed) {
    const id = d._id.toHexString();
    if (d.seq === undefined) {
      if (d.parked || firstIndex.has(id)) {
        unnumbered++;
        unnumberedExample ||= describe(d);
      }
      continue;
    }
    const seqs = bySeq.get(recipient(d)) ?? new Map<number, string[]>();
    seqs.set(d.seq, [...(seqs.get(d.seq) ?? []), id]);
    bySeq.set(recipient(d), seqs);
  }
  if (unnumbered > 0) add('seq', `${unnumbered} delivered or parked Updates have no seq, e.g. ${unnumberedExample}`);
  for (const [r, seqs] of bySeq) {
    const twice = [...seqs].find(([, ids]) => ids.length > 1);
    if (twice) {
      add('seq', `${r}: seq ${twice[0]} given twice (${twice[1].join(' and ')})`);
      return;
    }
    const top = Math.max(...seqs.keys());
    const missing = Array.from({ length: top }, (_, i) => i + 1).filter((n) => !seqs.has(n));
    if (missing.length > 0) {
      add('seq', `${r}: a gap, seq ${missing.slice(0, 5).join(', ')} of 1..${top} on no Update`);
      return;
    }
  }

  const newest = new Map<string, StoredUpdate>();
  let mismatch = '';
  let inversions = 0;
  let example = '';
  run.deliveries.forEach((rec, i) => {
    const d = byId.get(rec.messageId);
    if (!d) return;
    const body = (JSON.parse(rec.content.toString()) as { seq?: unknown }).seq;
    const header = rec.headers['x-chat3-seq'];
    if (!mismatch && (body !== d.seq || header !== d.seq))
      mismatch = `${describe(d)} holds seq ${d.seq}, its message carried ${String(body)} (body) and ${String(header)} (header)`;
    if (firstIndex.get(rec.messageId) !== i || d.seq === undefined) return;
    const before = newest.get(recipient(d));
    if (before && before.seq! > d.seq && !run.nacked.has(rec.messageId)) {
      inversions++;
      example ||= `${describe(d)} (seq ${d.seq}) first delivered after seq ${before.seq} (${before._id.toHexString()})`;
    }
    if (!before || before.seq! < d.seq) newest.set(recipient(d), d);
  });
  if (mismatch) add('seq', mismatch);
  if (inversions > 0) add('seq', `${inversions} Updates first delivered after a higher seq of the same recipient; e.g. ${example}`);
}

function checkEvents(
  run: RunRecord,
  committedKeys: Set<string>,
  key: (d: Pick<StoredUpdate, 'tenantId' | 'eventId' | 'userId' | 'updateType'>) => string,
  add: (kind: ViolationKind, detail: string) => void,
): void {
  let missing = 0;
  let example = '';
  for (const e of run.produced.events) {
    if (!e.valid) {
      if (!run.deadLettered.has(e.eventId)) {
        missing++;
        example ||= `bad event ${e.eventId} is not in the dead-letter queue`;
      }
      continue;
    }
    const members = run.produced.members.get(e.dialogId!) ?? [];
    const recipients = e.eventType === 'dialog.member.update' ? [] : members;
    const updateType = e.eventType === 'dialog.member.update' ? 'DialogMemberUpdate' : 'MessageUpdate';
    const tenantId = 'tnt_sim';
    for (const userId of recipients) {
      if (committedKeys.has(key({ tenantId, eventId: e.eventId, userId, updateType }))) continue;
      missing++;
      example ||= `event ${e.eventId} (${e.eventType}) has no Update for ${userId}`;
    }
    if (
      e.eventType === 'dialog.member.update' &&
      ![...committedKeys].some((k) => k.includes(`\u0000${e.eventId}\u0000`) && k.endsWith('DialogMemberUpdate'))
    ) {
      missing++;
      example ||= `event ${e.eventId} (dialog.member.update) has no Update`;
    }
    if (run.deadLettered.has(e.eventId)) add('lost', `valid event ${e.eventId} was dead-lettered`);
  }
  if (missing > 0) add('lost', `${missing} expected outcomes missing; e.g. ${example}`);
}

/** The workload's order: the writer's index (updates) or the event's publish index (events). */
function truthOrder(run: RunRecord): (d: StoredUpdate) => number {
  if (run.traffic === 'updates') {
    const index = new Map(run.produced.updates.map((u) => [u.key, u.index]));
    return (d) => index.get(`${d.tenantId}\u0000${d.eventId}\u0000${d.userId}\u0000${d.updateType}`) ?? Infinity;
  }
  const index = new Map(run.produced.events.map((e) => [e.eventId, e.index]));
  return (d) => index.get(d.eventId) ?? Infinity;
}

/** How much of [from, to] the windows cover. */
export function covered(windows: readonly Window[], from: number, to: number): number {
  const parts = windows
    .map((w) => [Math.max(from, w.from), Math.min(to, w.to)] as const)
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  let total = 0;
  let end = from;
  for (const [a, b] of parts) {
    if (b <= end) continue;
    total += b - Math.max(a, end);
    end = b;
  }
  return total;
}

function describe(d: StoredUpdate): string {
  return `${d.updateType} ${d._id.toHexString()} for ${d.userId} in ${d.dialogId ?? '-'} (event ${d.eventId.slice(-6)})`;
}

function typeFromKey(routingKey: string): string {
  const segment = routingKey.split('.').at(-1) ?? '';
  return (
    {
      dialogupdate: 'DialogUpdate',
      dialogmemberupdate: 'DialogMemberUpdate',
      messageupdate: 'MessageUpdate',
      typingupdate: 'TypingUpdate',
      userupdate: 'UserUpdate',
      userstatsupdate: 'UserStatsUpdate',
    }[segment] ?? segment
  );
}
