/**
 * The seq part of the UpdateStore port in memory, over documents someone else keeps (the benchmark's
 * memory store, unit tests). Semantics follow db/update-seqs.ts: `assignSeqs` is ordered and stops at
 * the first Update that has a seq already, belongs to another recipient than the assignment's (the
 * upsert's filter names both, so it does not match and inserts a duplicate `_id`), or whose seq is
 * taken for its recipient (the unique index `recipient_seq`); counters only go up.
 */
import { recipientKey, type Recipient, type SeqAssignment, type StoredUpdate } from './ports';
import type { SeqStore } from './seq-numbering';

export interface MemorySeqStore extends SeqStore {
  /** Counters by recipientKey. */
  readonly counters: Map<string, number>;
  /** Index a document that already holds a seq (added with one). */
  index(doc: StoredUpdate): void;
}

export function createMemorySeqStore(lookup: (id: string) => StoredUpdate | undefined): MemorySeqStore {
  const counters = new Map<string, number>();
  /** recipientKey → seq → Update id (the unique index). */
  const taken = new Map<string, Map<number, string>>();

  const seqsOf = (key: string) => taken.get(key) ?? taken.set(key, new Map()).get(key)!;
  const top = (key: string) => Math.max(0, ...(taken.get(key)?.keys() ?? []));

  return {
    counters,

    index(doc) {
      if (doc.seq !== undefined) seqsOf(recipientKey(doc)).set(doc.seq, doc._id.toHexString());
    },

    async lastSeqs(recipients: readonly Recipient[]) {
      const out = new Map<string, number>();
      for (const r of recipients) if (counters.has(recipientKey(r))) out.set(recipientKey(r), counters.get(recipientKey(r))!);
      return out;
    },

    async repairSeqs(recipients: readonly Recipient[]) {
      return new Map(recipients.map((r) => [recipientKey(r), Math.max(counters.get(recipientKey(r)) ?? 0, top(recipientKey(r)))]));
    },

    async assignSeqs(assignments: readonly SeqAssignment[]) {
      const done = new Set<string>();
      for (const a of assignments) {
        const id = a.id.toHexString();
        const doc = lookup(id);
        if (!doc) continue; // the upsert's stray, deleted at once
        const seqs = seqsOf(recipientKey(doc));
        if (doc.seq !== undefined || recipientKey(doc) !== recipientKey(a.recipient) || seqs.has(a.seq)) {
          // It stops here; an Update holding this very seq already (an earlier attempt) counts as done.
          if (doc.seq === a.seq) done.add(id);
          break;
        }
        doc.seq = a.seq;
        seqs.set(a.seq, id);
        done.add(id);
      }
      return done;
    },

    async raiseSeqCounters(last: ReadonlyArray<{ recipient: Recipient; lastSeq: number }>) {
      for (const { recipient, lastSeq } of last) {
        const key = recipientKey(recipient);
        counters.set(key, Math.max(counters.get(key) ?? 0, lastSeq));
      }
    },
  };
}
