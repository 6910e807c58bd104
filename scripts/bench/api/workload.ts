/**
 * The API benchmark's data: one recipient with `updates` numbered Updates (seq 1…n), and `noise`
 * Updates of others (other users of the tenant, and the same userId in another tenant), shaped like
 * the builder's MessageUpdates and interleaved in insertion order. Deterministic for a seed.
 */
import { partitionOf, routingKeyFor, type UpdateDocument } from '@chat3/core';
import { ObjectId } from 'mongodb';

export const BENCH_TENANT = 'tnt_bench';
export const BENCH_USER = 'carl';

/** Mulberry32: a small seeded generator, so two runs with one seed store the same data. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function benchUpdate(tenantId: string, userId: string, seq: number, n: number, text: string): UpdateDocument<ObjectId> {
  const createdAt = 1_763_551_369_397.6482 + n;
  return {
    _id: new ObjectId(),
    tenantId,
    userId,
    userType: 'user',
    entityId: `msg_${n}`,
    eventId: `evt_${n.toString(16).padStart(32, '0')}`,
    eventType: 'message.create',
    dialogId: 'dlg_bench',
    updateType: 'MessageUpdate',
    routingKey: routingKeyFor('MessageUpdate', 'user', userId),
    partition: partitionOf(tenantId, userId),
    data: {
      context: {
        eventType: 'message.create',
        dialogId: 'dlg_bench',
        entityId: `msg_${n}`,
        messageId: `msg_${n}`,
        includedSections: ['dialog', 'member', 'message'],
      },
      dialog: {
        dialogId: 'dlg_bench',
        tenantId,
        name: 'Bench dialog',
        createdBy: 'carl',
        createdAt: 1_763_000_000_000,
        updatedAt: createdAt,
        meta: {},
      },
      member: { userId, meta: {}, state: { unreadCount: n % 7, lastSeenAt: createdAt - 5_000, lastMessageAt: createdAt, isActive: true } },
      message: {
        messageId: `msg_${n}`,
        dialogId: 'dlg_bench',
        senderId: 'dora',
        type: 'internal.text',
        content: text,
        meta: {},
        statuses: [],
        senderInfo: { userId: 'dora', name: 'Dora', createdAt: 1_763_000_000_000, meta: {} },
      },
    },
    published: true,
    publishedAt: createdAt + 20,
    statsVersion: 0,
    createdAt,
    eventCreatedAt: createdAt - 3,
    seq,
  };
}

export function benchWorkload(seed: number, updates: number, noise: number): UpdateDocument<ObjectId>[] {
  const rnd = random(seed);
  const text = () => 'lorem ipsum dolor sit amet '.repeat(1 + Math.floor(rnd() * 6)).trim();
  const noiseUsers = Array.from({ length: 100 }, (_, i) => ({ tenantId: BENCH_TENANT, userId: `user_${i}`, seq: 0 }));
  noiseUsers.push({ tenantId: 'tnt_other', userId: BENCH_USER, seq: 0 });
  const docs: UpdateDocument<ObjectId>[] = [];
  let mine = 0;
  let others = 0;
  let n = 0;
  while (mine < updates || others < noise) {
    const pickMine = others >= noise || (mine < updates && rnd() < updates / (updates + noise));
    n += 1;
    if (pickMine) docs.push(benchUpdate(BENCH_TENANT, BENCH_USER, ++mine, n, text()));
    else {
      const who = noiseUsers[Math.floor(rnd() * noiseUsers.length)]!;
      docs.push(benchUpdate(who.tenantId, who.userId, ++who.seq, n, text()));
      others += 1;
    }
  }
  return docs;
}
