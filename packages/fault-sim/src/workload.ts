/**
 * Traffic for a simulation run, from the run's PRNG.
 *
 * - `updates`: a stand-in builder writes Update documents straight into the Mongo model, in
 *   micro-batches of what queued up, in `createdAt` order, retrying a failed batch before anything
 *   newer (as the builder does), each retry with a fresh `createdAt` and the same idempotency keys. Recipients get
 *   seed-style client queues (sinks) on the updates exchange.
 * - `events`: the simulated Chat3 writes the read model (dialogs, memberships, unread counts) and then
 *   publishes the event to `chat3_events`: message.create in fixed dialogs, dialog.member.update that
 *   move unread counts (and so user stats), and now and then an event that fails the schema.
 *
 * Both remember what they produced, in order, for the checker.
 */
import { createMonotonicClock, partitionOf, routingKeyFor, type UpdateDraft } from '@chat3/core';
import type { Random } from '@chat3/simulator';
import type { Host, World } from './world';
import { EVENTS_EXCHANGE, UPDATES_EXCHANGE } from './world';

export const TENANT = 'tnt_sim';

export interface UpdatesTraffic {
  kind: 'updates';
  recipients: number;
  dialogs: number;
  perSecond: number;
  /** Extra body bytes for one Update in this many (0: none), to exceed a lowered max_message_size. */
  oversizeEvery?: number;
  /** No traffic between these times (ms since traffic started). */
  pause?: [number, number];
}

export interface EventsTraffic {
  kind: 'events';
  users: number;
  dialogs: number;
  membersPerDialog: number;
  perSecond: number;
  /** Shares of the mix; the rest are message.create. */
  memberUpdates: number;
  /** Events that fail the schema (dead-lettered by the router). */
  badEvents: number;
  /** message.create in a dialog the read model does not have (dead-lettered by the builder). */
  unbuildable?: number;
}

export type Traffic = UpdatesTraffic | EventsTraffic;

/** What the workload produced, for the checker. */
export interface Produced {
  /** For `updates`: the idempotency key of every Update written, in order per recipient. */
  updates: Array<{ key: string; userId: string; dialogId: string; index: number }>;
  /** For `events`: every event published, in order. */
  events: Array<{ eventId: string; eventType: string; dialogId: string | null; valid: boolean; index: number }>;
  /** Dialog membership (static): dialogId → member userIds. */
  members: Map<string, string[]>;
}

export function recipientQueue(userId: string): string {
  return `user_${userId}_updates`;
}

export function startTraffic(world: World, traffic: Traffic, random: Random, untilMs: () => boolean): Produced {
  const produced: Produced = { updates: [], events: [], members: new Map() };
  if (traffic.kind === 'updates') writeUpdates(world, traffic, random, untilMs, produced);
  else publishEvents(world, traffic, random, untilMs, produced);
  return produced;
}

function declareRecipient(world: World, userId: string): void {
  world.broker.addSink(recipientQueue(userId), UPDATES_EXCHANGE, [`update.*.user.${userId}.*`]);
}

function writeUpdates(world: World, t: UpdatesTraffic, random: Random, stopped: () => boolean, produced: Produced): void {
  const host: Host = { name: 'writer', dead: false, partitionedUntil: 0 };
  const clock = createMonotonicClock();
  const users = Array.from({ length: t.recipients }, (_, i) => `u${i}`);
  for (const u of users) declareRecipient(world, u);
  const queue: Array<() => UpdateDraft> = [];
  let index = 0;
  let writing = false;

  function make(userId: string, dialogId: string, i: number, big: boolean): () => UpdateDraft {
    const eventId = `evt_${i.toString(16).padStart(32, '0')}`;
    return () => ({
      tenantId: TENANT,
      userId,
      userType: 'user',
      entityId: `msg_${i}`,
      eventId,
      eventType: 'message.create',
      dialogId,
      updateType: 'MessageUpdate',
      routingKey: routingKeyFor('MessageUpdate', 'user', userId),
      partition: partitionOf(TENANT, userId),
      data: {
        context: { eventType: 'message.create', dialogId, entityId: `msg_${i}`, messageId: `msg_${i}`, includedSections: ['message'] },
        ...(big ? { padding: 'x'.repeat(4_096) } : {}),
      } as UpdateDraft['data'],
      published: false,
      publishedAt: null,
      statsVersion: 0,
      createdAt: clock(),
      eventCreatedAt: Date.now(),
    });
  }

  async function drain(): Promise<void> {
    if (writing) return;
    writing = true;
    for (let failures = 0; queue.length > 0;) {
      // One micro-batch of everything queued, built now, as the builder does.
      const batch = queue.slice(0, 500);
      try {
        await world.mongo.op(host, 'insertMany', () => world.mongo.ops.insertMany(batch.map((make) => make())));
        queue.splice(0, batch.length);
        failures = 0;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 50 * 2 ** failures++)));
      }
    }
    writing = false;
  }

  const began = Date.now();
  const tick = () => {
    if (stopped()) return;
    const since = Date.now() - began;
    if (t.pause && since >= t.pause[0] && since < t.pause[1]) return void setTimeout(tick, t.pause[1] - since);
    const userId = random.pick(users);
    const dialogId = `dlg_${random.int(0, t.dialogs - 1)}`;
    const i = index++;
    const big = (t.oversizeEvery ?? 0) > 0 && i % t.oversizeEvery! === t.oversizeEvery! - 1;
    produced.updates.push({
      key: `${TENANT}\u0000evt_${i.toString(16).padStart(32, '0')}\u0000${userId}\u0000MessageUpdate`,
      userId,
      dialogId,
      index: i,
    });
    queue.push(make(userId, dialogId, i, big));
    void drain();
    setTimeout(tick, random.exponential(1_000 / t.perSecond));
  };
  setTimeout(tick, 0);
}

function publishEvents(world: World, t: EventsTraffic, random: Random, stopped: () => boolean, produced: Produced): void {
  const users = Array.from({ length: t.users }, (_, i) => `u${i}`);
  for (const u of users) {
    declareRecipient(world, u);
    world.readModel.users.push({ tenantId: TENANT, userId: u, type: 'user', name: u, meta: {}, createdAt: 0 });
  }
  for (let d = 0; d < t.dialogs; d++) {
    const dialogId = `dlg_${d}`;
    const members = new Set<string>();
    while (members.size < Math.min(t.membersPerDialog, users.length)) members.add(random.pick(users));
    produced.members.set(dialogId, [...members]);
    world.readModel.dialogs.push({
      tenantId: TENANT,
      dialogId,
      name: dialogId,
      createdBy: [...members][0]!,
      createdAt: 0,
      updatedAt: 0,
      meta: {},
    });
    for (const userId of members)
      world.readModel.setMember({ tenantId: TENANT, dialogId, userId, unreadCount: 0, isActive: true, meta: {} });
  }
  const dialogs = [...produced.members.keys()];
  let index = 0;

  const tick = () => {
    if (stopped()) return;
    const i = index++;
    const eventId = `evt_${i.toString(16).padStart(32, '0')}`;
    const dialogId = random.pick(dialogs);
    const members = produced.members.get(dialogId)!;
    const draw = random.float();
    let body: Record<string, unknown>;
    let eventType: string;
    let valid = true;
    const unbuildable = t.unbuildable ?? 0;
    if (draw < unbuildable) {
      eventType = 'message.create';
      valid = false;
      const messageId = `msg_${i}`;
      body = event(eventId, eventType, messageId, members[0]!, {
        context: { dialogId: 'dlg_gone' },
        message: { messageId, dialogId: 'dlg_gone', senderId: members[0], type: 'internal.text', content: { text: 'x' }, meta: {} },
      });
    } else if (draw < unbuildable + t.badEvents) {
      eventType = 'message.create';
      valid = false;
      body = { eventId, eventType, tenantId: TENANT, entityId: 42 }; // fails the schema
    } else if (draw < unbuildable + t.badEvents + t.memberUpdates) {
      eventType = 'dialog.member.update';
      const userId = random.pick(members);
      const unreadCount = random.int(0, 2);
      world.readModel.setMember({ tenantId: TENANT, dialogId, userId, unreadCount, isActive: true, meta: {} });
      body = event(eventId, eventType, dialogId, userId, { context: { dialogId }, member: { userId, state: { unreadCount } } });
    } else {
      eventType = 'message.create';
      const senderId = random.pick(members);
      const messageId = `msg_${i}`;
      body = event(eventId, eventType, messageId, senderId, {
        context: { dialogId },
        message: { messageId, dialogId, senderId, type: 'internal.text', content: { text: `#${i}` }, meta: {} },
      });
    }
    produced.events.push({ eventId, eventType, dialogId: valid ? dialogId : null, valid, index: i });
    world.broker.inject(EVENTS_EXCHANGE, `${eventType}.${TENANT}`, Buffer.from(JSON.stringify(body)), {
      persistent: true,
      contentType: 'application/json',
      messageId: eventId,
    });
    setTimeout(tick, random.exponential(1_000 / t.perSecond));
  };
  setTimeout(tick, 0);
}

function event(
  eventId: string,
  eventType: string,
  entityId: string,
  actorId: string,
  data: Record<string, unknown>,
): Record<string, unknown> {
  return {
    eventId,
    tenantId: TENANT,
    eventType,
    entityType: eventType.split('.')[0],
    entityId,
    actorId,
    actorType: 'user',
    data,
    createdAt: Date.now(),
  };
}
