/**
 * A CatchUpStore in memory, for unit tests of the API and of its clients: numbered Updates per recipient
 * and the counters, with the same answers as the Mongo store (seq order, recipient filter).
 */
import type { CatchUpStore, NumberedUpdate } from './catch-up';
import type { Recipient } from './request-params';

export interface MemoryCatchUpStore extends CatchUpStore {
  /** Stores Updates (a wire body, or a default one naming the seq). */
  put(recipient: Recipient, seq: number, body?: string): void;
  remove(recipient: Recipient, seq: number): void;
  setCounter(recipient: Recipient, lastSeq: number): void;
}

const key = (r: Recipient) => JSON.stringify([r.tenantId, r.userId]);

export function createMemoryCatchUpStore(): MemoryCatchUpStore {
  const updates = new Map<string, Map<number, string>>();
  const counters = new Map<string, number>();
  const of = (r: Recipient) => [...(updates.get(key(r)) ?? new Map<number, string>()).entries()].sort(([a], [b]) => a - b);
  return {
    put(r, seq, body = JSON.stringify({ tenantId: r.tenantId, userId: r.userId, seq })) {
      const map = updates.get(key(r)) ?? new Map<number, string>();
      map.set(seq, body);
      updates.set(key(r), map);
    },
    remove(r, seq) {
      updates.get(key(r))?.delete(seq);
    },
    setCounter(r, lastSeq) {
      counters.set(key(r), lastSeq);
    },
    async updatesAfter(r, after, count): Promise<NumberedUpdate[]> {
      return of(r)
        .filter(([seq]) => seq > after)
        .slice(0, count)
        .map(([seq, body]) => ({ seq, body }));
    },
    async topSeq(r) {
      return of(r).at(-1)?.[0] ?? null;
    },
    async counterSeq(r) {
      return counters.get(key(r)) ?? null;
    },
  };
}
