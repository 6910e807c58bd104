/**
 * Sample clients for the demo: each subscribes exactly as the seed's example code does (the code lives,
 * unchanged, in packages/relay/test/seed-subscriber.ts) and records what it received.
 */
import type { Population } from '@chat3/simulator';
import { subscribeAsTheSeedDoes } from '../../packages/relay/test/seed-subscriber';

export interface SampleUser {
  userId: string;
  type: string;
  /** Active memberships in the population: how busy the user will be. */
  dialogs: number;
}

export interface SampleConsumer extends SampleUser {
  queueName: string;
  received: number;
  byType: Record<string, number>;
  duplicates: number;
  close(): Promise<void>;
}

const SAFE_ID = /^[^.*#]+$/;

/** The busiest users of type `user` (up to `plainUsers`), plus the busiest bot and contact, if any. */
export function pickSampleUsers(population: Population, plainUsers = 3): SampleUser[] {
  const tenant = population.tenants[0];
  const dialogs = new Map<string, number>();
  for (const m of population.memberships) {
    if (m.tenantId === tenant && m.isActive !== false) dialogs.set(m.userId, (dialogs.get(m.userId) ?? 0) + 1);
  }
  const candidates = population.users
    .filter((u) => u.tenantId === tenant && SAFE_ID.test(u.userId))
    .map((u) => ({ userId: u.userId, type: u.type ?? 'user', dialogs: dialogs.get(u.userId) ?? 0 }))
    .sort((a, b) => b.dialogs - a.dialogs || (a.userId < b.userId ? -1 : 1));
  const ofType = (type: string, n: number) => candidates.filter((c) => c.type === type).slice(0, n);
  return [...ofType('user', plainUsers), ...ofType('bot', 1), ...ofType('contact', 1)];
}

export async function startSampleConsumer(url: string, user: SampleUser): Promise<SampleConsumer> {
  const seen = new Set<string>();
  const consumer: Omit<SampleConsumer, 'queueName' | 'close'> = { ...user, received: 0, byType: {}, duplicates: 0 };
  const sub = await subscribeAsTheSeedDoes(url, user.userId, user.type, (update: { _id?: string; updateType?: string }) => {
    consumer.received += 1;
    const type = update.updateType ?? 'unknown';
    consumer.byType[type] = (consumer.byType[type] ?? 0) + 1;
    // The body's _id is the Update's _id, which the relay also sends as the AMQP messageId.
    const id = String(update._id);
    if (seen.has(id)) consumer.duplicates += 1;
    seen.add(id);
  });
  return Object.assign(consumer, { queueName: sub.queueName, close: () => sub.close() });
}
