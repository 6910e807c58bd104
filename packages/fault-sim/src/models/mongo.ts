/**
 * A model of a MongoDB replica set (driver 7) holding `updates`, as the relay and builder use it.
 * Sources, as summarised in shared/reference/semantics.md §1–2 (letters are that file's):
 *   - every write is applied on the primary at once and becomes majority-committed a little later;
 *     reads at `local` see applied writes, reads at `majority` (and change streams [K1]) only
 *     majority-committed ones;
 *   - write concern: `w: 1` acknowledges when applied, `w: 'majority'` when majority-committed;
 *   - a failover [W1] rolls back every write not yet majority-committed (acknowledged `w: 1` writes
 *     included), fails the operations in flight with a retryable error (their outcome unknown: each
 *     may or may not have been applied), and leaves the set without a primary for the election;
 *     `updateMany` is never retried by the driver [M5];
 *   - during an outage an operation fails after server selection gives up (the services set
 *     `serverSelectionTimeoutMS` to 5 s); the driver's one retry is folded into that;
 *   - `insertMany({ordered: false})` assigns `_id`s to the documents it is given [driver behaviour] and
 *     reports duplicate keys of the unique idempotency index per document;
 *   - sequence numbers (relay/src/db/update-seqs.ts): an ordered bulk write stops at its first error,
 *     a seq already taken for the recipient is a duplicate key of the unique index `recipient_seq`
 *     (unless the model runs without it: `seqIndex: false`, to show what the index prevents), an
 *     Update that has a seq already (or another recipient than the upsert's filter names) makes the
 *     upsert a duplicate `_id`; the counters in `update_seqs` are documents like the Updates, so a
 *     failover rolls back the ones not majority-committed;
 *   - a replay (`pnpm republish`, scripts/replay/replay.ts `runReplay`; the operator that runs it is
 *     ../replays.ts) finds the next chunk of its selection, oldest first, skipping what already carries
 *     its id, then writes one ordered bulk of `updateOne`s by `_id` at `w: 'majority'`: `$set` of
 *     `published: false, publishedAt: null, republishedAt, replayId` and `$unset` of `parked,
 *     publishAttempts, publishedDate`. Each changed document is one oplog entry of kind `update`, with
 *     its `updateDescription` [MongoDB manual, "update Event": `updatedFields` holds the new values of
 *     the fields the update changed, `removedFields` the fields it removed]; a field `$set` to the
 *     value it had is not in `updatedFields`, and an update that changes nothing writes no entry
 *     (inference: the server logs a no-op update as nothing; `replayId` always changes, since the find
 *     skips documents that carry it). Other updates (the relay's marks) are not in this oplog: no
 *     change stream in this project matches them.
 * Change streams are in change-stream.ts; they read this model's oplog.
 *
 * Each process reaches the model through its own `client(name)`, so a killed process's calls can hang
 * forever and a partitioned one's can fail while the others carry on.
 */
import { waitingSince, type UpdateDraft } from '@chat3/core';
import type { Random } from '@chat3/simulator';
import { ObjectId } from 'mongodb';
import type { OpenUpdate, StoredUpdate, UpdateRef } from '@chat3/relay';

export type WriteConcern = 'majority' | 'w1';
export type ReadConcern = 'majority' | 'local';

export interface Durability {
  writes: WriteConcern;
  reads: ReadConcern;
}

interface Version {
  doc: StoredUpdate | null;
  appliedAt: number;
  majorityAt: number;
}

export interface OplogEntry {
  opTime: number;
  kind: 'insert' | 'update' | 'invalidate';
  /** insert: the document inserted. */
  doc?: StoredUpdate;
  /** update: which document, and its `updateDescription`. */
  update?: { id: ObjectId; updatedFields: Record<string, unknown>; removedFields: string[] };
  appliedAt: number;
  majorityAt: number;
}

/** One Update a replay put back, for the checker (only writes that survived: a failover drops the others). */
export interface ReplayWrite {
  replayId: string;
  id: string;
  /** When the write was applied. */
  at: number;
  majorityAt: number;
}

/** The fields `runReplay` sets and unsets (scripts/replay/replay.ts). */
const REPLAY_UNSET = ['parked', 'publishAttempts', 'publishedDate'] as const;

export interface MongoModelOptions {
  random: Random;
  /** Server round trip of one operation, ms. */
  opMs: () => number;
  /** Applied → majority-committed, ms. */
  majorityLagMs: () => number;
  durability: Durability;
  /** Driver server selection timeout, ms. */
  selectionTimeoutMs?: number;
  /** The unique index `recipient_seq` exists (default true). */
  seqIndex?: boolean;
}

const recipientOf = (d: { tenantId: string; userId: string }) => JSON.stringify([d.tenantId, d.userId]);

/** A client process's connection: `dead` makes every call hang, `partitionedUntil` fail. */
export interface MongoHost {
  name: string;
  dead: boolean;
  partitionedUntil: number;
}

export function mongoError(name: string, message: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { name, ...extra });
}

const networkError = () => mongoError('MongoNetworkError', 'connection reset by the fault simulation');
const notPrimary = () => mongoError('MongoServerError', 'not primary', { code: 10107, errorLabels: ['RetryableWriteError'] });

/** The unique index `idempotency_v3` (core/src/update-indexes.ts). */
const idempotencyKey = (d: { tenantId: string; eventId: string; userId: string; updateType: string; statsVersion: number }) =>
  `${d.tenantId}\u0000${d.userId}\u0000${d.eventId}\u0000${d.updateType}\u0000${d.statsVersion}`;

export class MongoModel {
  readonly oplog: OplogEntry[] = [];
  /** Documents rolled back by a failover, and the time, for the checker. */
  readonly rolledBack: Array<{ id: string; at: number }> = [];
  readonly faults: Record<string, number> = {};
  /** Updates an operator set back to unpublished by hand (no `replayId`: no change event), and when. */
  readonly republished: Array<{ id: string; at: number }> = [];
  /** Updates replays put back, in the order written. */
  readonly replayed: ReplayWrite[] = [];
  /** The oldest opTime a change stream can still resume from (oplog window). */
  oplogStart = 0;

  /**
   * An operator sets the `count` oldest published Updates back to `published: false` by hand (in
   * mongosh, say): no `replayId`, so no change stream sees it; only a sweep finds them.
   */
  republish(count: number): void {
    this.count('republish');
    const published = [...this.docs.keys()]
      .map((id) => this.read(id, 'local'))
      .filter((d): d is StoredUpdate => d !== null && d.published === true)
      .sort((a, b) => a.createdAt - b.createdAt)
      .slice(0, count);
    for (const d of published) {
      const id = d._id.toHexString();
      this.apply(id, { ...d, published: false, publishedAt: null });
      this.republished.push({ id, at: Date.now() });
    }
  }
  private readonly docs = new Map<string, Version[]>();
  /** `update_seqs`: recipientKey → versions of its counter. */
  private readonly counters = new Map<string, Array<{ lastSeq: number; majorityAt: number }>>();
  private readonly keys = new Map<string, string>();
  private opTime = 0;
  private idCounter = 0;
  private unavailableUntil = 0;
  private extraLatency = 0;
  private extraLag = 0;
  /** Majority commit follows the oplog: an entry is committed no earlier than the one before it. */
  private lastMajorityAt = 0;
  private failing: ((op: string) => boolean) | undefined;
  private readonly commitWaiters = new Set<() => void>();
  private readonly inFlight = new Set<{ fail: (err: Error) => void }>();

  constructor(readonly options: MongoModelOptions) {}

  private count(kind: string): void {
    this.faults[kind] = (this.faults[kind] ?? 0) + 1;
  }

  // -------------------------------------------------------------------------------------------------
  // Faults

  /** Failover: roll back what is not majority-committed, fail what is in flight, no primary for `electionMs`. */
  failover(electionMs: number): void {
    this.count('failover');
    const now = Date.now();
    for (const [id, versions] of this.docs) {
      const kept = versions.filter((v) => v.majorityAt <= now);
      if (kept.length === versions.length) continue;
      if (kept.length === 0 || kept.at(-1)!.doc === null) this.rolledBack.push({ id, at: now });
      if (kept.length === 0) {
        this.docs.delete(id);
        const doc = versions[0]!.doc;
        if (doc) this.keys.delete(idempotencyKey(doc));
      } else this.docs.set(id, kept);
    }
    for (const [key, versions] of this.counters) {
      const kept = versions.filter((v) => v.majorityAt <= now);
      if (kept.length === 0) this.counters.delete(key);
      else this.counters.set(key, kept);
    }
    for (let i = this.oplog.length - 1; i >= 0; i--) if (this.oplog[i]!.majorityAt > now) this.oplog.splice(i, 1);
    for (let i = this.replayed.length - 1; i >= 0; i--) if (this.replayed[i]!.majorityAt > now) this.replayed.splice(i, 1);
    this.lastMajorityAt = now;
    this.unavailableUntil = Math.max(this.unavailableUntil, now + electionMs);
    for (const op of [...this.inFlight]) op.fail(networkError());
  }

  /** Every operation from every client fails (network) for `ms`. */
  outage(ms: number): void {
    this.count('db-outage');
    this.unavailableUntil = Math.max(this.unavailableUntil, Date.now() + ms);
    for (const op of [...this.inFlight]) op.fail(networkError());
  }

  /** Operations named by `match` fail with a network error until cleared. */
  failOps(match: ((op: string) => boolean) | undefined): void {
    if (match) this.count('failing-queries');
    this.failing = match;
  }

  /** Secondaries fall behind: majority commit takes `ms` longer until set back to 0. */
  lagReplication(ms: number): void {
    if (ms > 0) this.count('replication-lag');
    this.extraLag = ms;
  }

  /** Every operation takes `ms` longer until set back to 0. */
  slowDown(ms: number): void {
    if (ms > 0) this.count('slow-queries');
    this.extraLatency = ms;
  }

  /** A `renameCollection`-style event: every change stream on `updates` is invalidated. */
  invalidate(): void {
    this.count('invalidate');
    const now = Date.now();
    this.lastMajorityAt = Math.max(this.lastMajorityAt, now);
    this.oplog.push({ opTime: ++this.opTime, kind: 'invalidate', appliedAt: now, majorityAt: this.lastMajorityAt });
    this.wakeCommitWaiters();
  }

  /** The oplog window moves past everything up to now: resuming from an older token fails with 286. */
  truncateOplog(): void {
    this.count('oplog-truncated');
    this.oplogStart = this.opTime;
  }

  // -------------------------------------------------------------------------------------------------
  // Reads of the state (the checker and the change stream model)

  /** The majority-committed version of every document (what survives any failover). */
  committedDocs(): StoredUpdate[] {
    const now = Date.now();
    const out: StoredUpdate[] = [];
    for (const versions of this.docs.values()) {
      const v = [...versions].reverse().find((x) => x.majorityAt <= now);
      if (v?.doc) out.push(v.doc);
    }
    return out;
  }

  latest(id: string): StoredUpdate | null {
    return this.docs.get(id)?.at(-1)?.doc ?? null;
  }

  /** The highest opTime that is majority-committed now. */
  majorityPoint(): number {
    const now = Date.now();
    let point = this.oplogStart;
    for (const e of this.oplog) {
      if (e.majorityAt > now) break;
      point = e.opTime;
    }
    return point;
  }

  /** Resolves when some entry becomes majority-committed, or after `ms`. */
  waitForCommit(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.commitWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.commitWaiters.add(done);
    });
  }

  private wakeCommitWaiters(): void {
    for (const w of [...this.commitWaiters]) w();
  }

  private read(id: string, concern: ReadConcern): StoredUpdate | null {
    const versions = this.docs.get(id);
    if (!versions) return null;
    if (concern === 'local') return versions.at(-1)!.doc;
    const now = Date.now();
    for (let i = versions.length - 1; i >= 0; i--) if (versions[i]!.majorityAt <= now) return versions[i]!.doc;
    return null;
  }

  private visible(concern: ReadConcern): StoredUpdate[] {
    const out: StoredUpdate[] = [];
    for (const id of this.docs.keys()) {
      const d = this.read(id, concern);
      if (d) out.push(d);
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------------
  // Writes (applied now; majority-committed after the lag)

  private apply(id: string, doc: StoredUpdate | null): number {
    const now = Date.now();
    // Whole milliseconds: fake timers fire on whole milliseconds, and an ack must never precede the commit.
    const majorityAt = Math.max(this.lastMajorityAt, Math.ceil(now + this.options.majorityLagMs() + this.extraLag));
    this.lastMajorityAt = majorityAt;
    const versions = this.docs.get(id) ?? [];
    versions.push({ doc, appliedAt: now, majorityAt });
    this.docs.set(id, versions);
    setTimeout(() => this.wakeCommitWaiters(), majorityAt - now);
    return majorityAt;
  }

  /** The builder's insertMany: returns per-draft outcome; duplicates hit the idempotency key. */
  private insert(drafts: UpdateDraft[]): { majorityAt: number; duplicates: Set<number> } {
    const duplicates = new Set<number>();
    let majorityAt = Date.now();
    drafts.forEach((draft, i) => {
      const key = idempotencyKey(draft);
      if (this.keys.has(key)) return void duplicates.add(i);
      const withId = draft as UpdateDraft & { _id?: ObjectId };
      withId._id ??= new ObjectId((++this.idCounter).toString(16).padStart(24, '0'));
      const doc = { ...withId } as unknown as StoredUpdate;
      this.keys.set(key, doc._id.toHexString());
      const at = this.apply(doc._id.toHexString(), doc);
      this.oplog.push({ opTime: ++this.opTime, kind: 'insert', doc, appliedAt: Date.now(), majorityAt: at });
      majorityAt = Math.max(majorityAt, at);
    });
    return { majorityAt, duplicates };
  }

  private update(id: string, concern: ReadConcern, change: (d: StoredUpdate) => StoredUpdate | null): number | null {
    const current = this.read(id, 'local');
    if (!current) return null;
    const next = change(current);
    if (!next) return null;
    void concern;
    return this.apply(id, next);
  }

  private counter(key: string, concern: ReadConcern): number | undefined {
    const versions = this.counters.get(key) ?? [];
    const now = Date.now();
    const v = concern === 'local' ? versions.at(-1) : [...versions].reverse().find((x) => x.majorityAt <= now);
    return v?.lastSeq;
  }

  /** The recipient's highest seq on Updates visible at `concern`, 0 for none. */
  private topSeq(key: string, concern: ReadConcern): number {
    let top = 0;
    for (const d of this.visible(concern)) if (d.seq !== undefined && recipientOf(d) === key) top = Math.max(top, d.seq);
    return top;
  }

  // -------------------------------------------------------------------------------------------------
  // Operations, as one client issues them

  /**
   * Runs `body` as one server operation of `host`: a round trip of latency, failing during outages and
   * for partitioned hosts, hanging for dead ones. A write's `body` returns its majority time; with
   * `w: 'majority'` the acknowledgement waits for it, and a failover before then fails the call.
   * `writes` overrides the services' write concern for one client's call (the replay CLI writes at
   * `w: 'majority'` whatever the services do).
   */
  op<T>(host: MongoHost, name: string, body: () => { value: T; majorityAt?: number }, writes?: WriteConcern): Promise<T> {
    if (host.dead) return new Promise(() => undefined);
    const latency = this.options.opMs() + this.extraLatency;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const handle = {
        fail: (err: Error) => {
          if (settled) return;
          settled = true;
          this.inFlight.delete(handle);
          reject(err);
        },
      };
      this.inFlight.add(handle);
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        this.inFlight.delete(handle);
        fn();
      };
      const unavailable = () => Date.now() < this.unavailableUntil || Date.now() < host.partitionedUntil;
      if (unavailable()) {
        // Server selection waits for a primary, up to its timeout.
        const waitMs = Math.min(
          this.options.selectionTimeoutMs ?? 5_000,
          Math.max(this.unavailableUntil, host.partitionedUntil) - Date.now(),
        );
        setTimeout(() => {
          if (unavailable()) finish(() => reject(mongoError('MongoServerSelectionError', 'Server selection timed out')));
          else
            this.op(host, name, body, writes).then(
              (v) => finish(() => resolve(v)),
              (e: Error) => finish(() => reject(e)),
            );
        }, waitMs);
        return;
      }
      setTimeout(() => {
        if (settled) return;
        if (host.dead) return; // never answers
        if (this.failing?.(name)) return finish(() => reject(networkError()));
        if (unavailable()) return finish(() => reject(notPrimary()));
        let result: { value: T; majorityAt?: number };
        try {
          result = body();
        } catch (err) {
          return finish(() => reject(err as Error));
        }
        const concern = writes ?? this.options.durability.writes;
        const ackAt = concern === 'majority' && result.majorityAt !== undefined ? result.majorityAt : Date.now();
        if (ackAt <= Date.now()) return finish(() => resolve(result.value));
        setTimeout(() => finish(() => resolve(result.value)), ackAt - Date.now());
      }, latency);
    });
  }

  // -------------------------------------------------------------------------------------------------
  // The queries the ports need

  readonly ops = {
    insertMany: (drafts: UpdateDraft[]) => {
      const { majorityAt, duplicates } = this.insert(drafts);
      return { value: duplicates, majorityAt };
    },
    fetchUnpublished: (ranges: ReadonlyArray<{ from: number; to: number }>, limit: number, before?: number) => {
      const rows = this.visible(this.options.durability.reads).filter(
        (d) =>
          d.published === false &&
          d.parked === undefined &&
          ranges.some((r) => d.partition >= r.from && d.partition < r.to) &&
          (before === undefined || d.createdAt < before),
      );
      rows.sort((a, b) => a.createdAt - b.createdAt || a._id.toHexString().localeCompare(b._id.toHexString()));
      return { value: rows.slice(0, limit).map((d) => ({ ...d })) };
    },
    stillUnpublished: (ids: readonly ObjectId[]) => {
      const open = new Map<string, OpenUpdate>();
      for (const id of ids) {
        const d = this.read(id.toHexString(), this.options.durability.reads);
        if (d && d.published === false && d.parked === undefined)
          open.set(id.toHexString(), { seq: d.seq ?? null, replayId: d.replayId ?? null });
      }
      return { value: open };
    },
    markPublished: (ids: readonly ObjectId[], publishedAt: number) => {
      let majorityAt = Date.now();
      for (const id of ids) {
        const at = this.update(id.toHexString(), 'local', (d) => (d.published ? null : { ...d, published: true, publishedAt }));
        if (at !== null) majorityAt = Math.max(majorityAt, at);
      }
      return { value: undefined, majorityAt };
    },
    /** `findOneAndUpdate({_id, tenantId, userId, published: false})`: 0 when nothing matches. */
    recordRejection: (ref: UpdateRef) => {
      let attempts = 0;
      const majorityAt = this.update(ref._id.toHexString(), 'local', (d) => {
        if (d.published || recipientOf(d) !== recipientOf(ref)) return null;
        attempts = (d.publishAttempts ?? 0) + 1;
        return { ...d, publishAttempts: attempts };
      });
      return { value: attempts, majorityAt: majorityAt ?? undefined };
    },
    park: (ref: UpdateRef, reason: string, attempts: number, at: number) => {
      const majorityAt = this.update(ref._id.toHexString(), 'local', (d) =>
        d.published || recipientOf(d) !== recipientOf(ref) ? null : { ...d, parked: { reason, at, attempts } },
      );
      return { value: undefined, majorityAt: majorityAt ?? undefined };
    },
    /**
     * The ordered numbering write: stops at the first Update that has a seq, is another recipient's than
     * the assignment's (the upsert's filter names `_id`, `tenantId` and `userId`), or whose seq is taken.
     */
    assignSeqs: (assignments: ReadonlyArray<{ id: ObjectId; recipient: { tenantId: string; userId: string }; seq: number }>) => {
      const taken = new Set<string>();
      if (this.options.seqIndex ?? true)
        for (const d of this.visible('local')) if (d.seq !== undefined) taken.add(`${recipientOf(d)}\u0000${d.seq}`);
      const applied = new Set<string>();
      let stopped = false;
      let majorityAt = Date.now();
      for (const a of assignments) {
        const id = a.id.toHexString();
        const doc = this.read(id, 'local');
        if (!doc) continue; // the upsert's stray is deleted at once
        const key = `${recipientOf(doc)}\u0000${a.seq}`;
        if (doc.seq !== undefined || recipientOf(doc) !== recipientOf(a.recipient) || taken.has(key)) {
          stopped = true;
          break;
        }
        taken.add(key);
        majorityAt = Math.max(majorityAt, this.apply(id, { ...doc, seq: a.seq }));
        applied.add(id);
      }
      return { value: { applied, stopped }, majorityAt };
    },
    /** Read-back after a stopped numbering: the ids that hold the seq asked for. */
    holdingSeqs: (assignments: ReadonlyArray<{ id: ObjectId; seq: number }>) => {
      const out = new Set<string>();
      for (const a of assignments)
        if (this.read(a.id.toHexString(), this.options.durability.reads)?.seq === a.seq) out.add(a.id.toHexString());
      return { value: out };
    },
    lastSeqs: (keys: readonly string[]) => {
      const out = new Map<string, number>();
      for (const k of keys) {
        const v = this.counter(k, this.options.durability.reads);
        if (v !== undefined) out.set(k, v);
      }
      return { value: out };
    },
    topSeqs: (keys: readonly string[]) => ({
      value: new Map(keys.map((k) => [k, this.topSeq(k, this.options.durability.reads)])),
    }),
    raiseSeqCounters: (last: ReadonlyArray<{ key: string; lastSeq: number }>) => {
      const now = Date.now();
      let majorityAt = now;
      for (const { key, lastSeq } of last) {
        const current = this.counter(key, 'local') ?? 0;
        if (lastSeq <= current) continue;
        const at = Math.max(this.lastMajorityAt, Math.ceil(now + this.options.majorityLagMs() + this.extraLag));
        this.lastMajorityAt = at;
        this.counters.set(key, [...(this.counters.get(key) ?? []), { lastSeq, majorityAt: at }]);
        majorityAt = Math.max(majorityAt, at);
      }
      return { value: undefined, majorityAt };
    },
    /**
     * A replay's selection: the published Updates created before `before` that `pick` keeps, oldest
     * first (createdAt, then _id, as runReplay sorts), read from the primary.
     */
    replaySelect: (before: number, pick: (d: StoredUpdate) => boolean) => {
      const rows = this.visible('local').filter((d) => d.published === true && d.createdAt < before && pick(d));
      rows.sort((a, b) => a.createdAt - b.createdAt || a._id.toHexString().localeCompare(b._id.toHexString()));
      return { value: rows.map((d) => d._id.toHexString()) };
    },
    /** runReplay's find: of `ids` after position `after`, the next `limit` that do not carry `replayId`. */
    replayFind: (ids: readonly string[], after: number, limit: number, replayId: string) => {
      const out: number[] = [];
      for (let i = after + 1; i < ids.length && out.length < limit; i++) {
        const d = this.read(ids[i]!, 'local');
        if (d && d.replayId !== replayId) out.push(i);
      }
      return { value: out };
    },
    /** runReplay's ordered bulk of `updateOne`s by `_id` (see the header). */
    replayWrite: (ids: readonly string[], replayId: string, republishedAt: number) => {
      const set = { published: false, publishedAt: null, republishedAt, replayId } as const;
      let majorityAt = Date.now();
      for (const id of ids) {
        const d = this.read(id, 'local');
        if (!d) continue;
        const updatedFields = Object.fromEntries(Object.entries(set).filter(([f, v]) => d[f as keyof typeof set] !== v));
        const removedFields = REPLAY_UNSET.filter((f) => d[f] !== undefined);
        if (Object.keys(updatedFields).length === 0 && removedFields.length === 0) continue;
        const next: StoredUpdate = { ...d, ...set };
        for (const f of REPLAY_UNSET) delete next[f];
        const at = this.apply(id, next);
        this.oplog.push({
          opTime: ++this.opTime,
          kind: 'update',
          update: { id: d._id, updatedFields, removedFields: [...removedFields] },
          appliedAt: Date.now(),
          majorityAt: at,
        });
        this.replayed.push({ replayId, id, at: Date.now(), majorityAt: at });
        majorityAt = Math.max(majorityAt, at);
      }
      return { value: undefined, majorityAt };
    },
    sampleBacklog: () => {
      const docs = this.visible('local').filter((d) => d.published === false);
      const open = docs.filter((d) => d.parked === undefined);
      const oldest = open.reduce<number | null>((m, d) => (m === null || waitingSince(d) < m ? waitingSince(d) : m), null);
      return { value: { backlog: open.length, oldestWaitingSince: oldest, parked: docs.length - open.length } };
    },
  };

  nextOpTime(): number {
    return this.opTime;
  }

  /** When the last outage or election ends (operations waiting for a server run right after it). */
  get unavailableUntilTime(): number {
    return this.unavailableUntil;
  }
}
