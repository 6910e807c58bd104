/**
 * Deterministic Update documents for the relay benchmark: a synthetic Chat3 read model (users of types
 * user/bot/contact, dialogs of 2–50 members skewed small) and a stream of `message.create`,
 * `message.status.update` and `dialog.typing` events, turned into Updates by core's `buildUpdates`, so
 * bodies and routing keys have the sizes and shapes the builder really writes.
 *
 * The same seed gives the same events, recipients and bodies; only `_id` (a fresh ObjectId) and the
 * clock-derived timestamps differ between runs.
 */
import {
  ReadModelView,
  buildUpdates,
  createMonotonicClock,
  parseEvent,
  toWireMessage,
  type DialogMemberRow,
  type DialogRow,
  type MessageRow,
  type MessageStatusRow,
  type UpdateDraft,
  type UserRow,
  type WireMessage,
} from '@chat3/core';
import type { StoredUpdate } from '@chat3/relay';
import { ObjectId } from 'mongodb';
import { summarize } from '../report';
import type { RelayWorkload } from './results';

export const BENCH_TENANT = 'tnt_bench';

/** mulberry32: small, fast, and fixed forever (no dependency can change the sequence). */
export function createPrng(seed: number) {
  let a = seed >>> 0;
  const float = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number): number => min + Math.floor(float() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(float() * items.length)] as T;
  const hex = (length: number): string => {
    let out = '';
    while (out.length < length)
      out += Math.floor(float() * 0x100000000)
        .toString(16)
        .padStart(8, '0');
    return out.slice(0, length);
  };
  return { float, int, pick, hex };
}

export type Prng = ReturnType<typeof createPrng>;

export interface WorkloadOptions {
  seed: number;
  users?: number;
  dialogs?: number;
}

const WORDS = [
  'hello',
  'meeting',
  'tomorrow',
  'invoice',
  'delivery',
  'thanks',
  'please',
  'check',
  'the',
  'report',
  'attached',
  'привет',
  'спасибо',
  'заказ',
  'когда',
  'будет',
  'готово',
  'ok',
  'see',
  'you',
  'at',
  'noon',
  '👍',
  'call',
  'me',
  'back',
  'status',
  'update',
  'order',
  '#4711',
];

const EVENT_MIX: Array<{ type: 'message.create' | 'message.status.update' | 'dialog.typing'; weight: number }> = [
  { type: 'message.create', weight: 0.5 },
  { type: 'message.status.update', weight: 0.3 },
  { type: 'dialog.typing', weight: 0.2 },
];

interface World {
  view: ReadModelView;
  users: UserRow[];
  dialogs: Array<{ row: DialogRow; members: DialogMemberRow[]; active: DialogMemberRow[]; messages: MessageRow[] }>;
}

function buildWorld(rng: Prng, userCount: number, dialogCount: number, t0: number): World {
  const users: UserRow[] = [];
  for (let i = 0; i < userCount; i++) {
    const r = rng.float();
    const type = r < 0.85 ? 'user' : r < 0.93 ? 'contact' : 'bot';
    // A few e-mail-like ids exercise routing-segment encoding (`.` must be encoded).
    const userId =
      type === 'bot' ? `bot_${i}` : type === 'contact' ? `cnt_${i}` : rng.float() < 0.03 ? `user.${i}@example.com` : `usr_${i}`;
    users.push({
      tenantId: BENCH_TENANT,
      userId,
      type,
      name: `${rng.pick(['Anna', 'Boris', 'Carl', 'Dana', 'Egor', 'Fatima', 'Gleb'])} ${i}`,
      meta: { locale: rng.pick(['en', 'ru', 'de']), plan: rng.pick(['free', 'pro']) },
      createdAt: t0 - rng.int(1, 400) * 86_400_000,
    });
  }
  const dialogs: World['dialogs'] = [];
  for (let d = 0; d < dialogCount; d++) {
    // Skewed small: most dialogs are 2–10 people, a few are large groups (mean ≈ 14, max 50).
    const size = Math.min(50, 2 + Math.floor(48 * rng.float() ** 3));
    const chosen = new Set<number>();
    while (chosen.size < Math.min(size, users.length)) chosen.add(rng.int(0, users.length - 1));
    const dialogId = `dlg_${rng.hex(20)}`;
    const memberUsers = [...chosen].map((i) => users[i] as UserRow);
    const createdBy = (memberUsers[0] as UserRow).userId;
    const row: DialogRow = {
      tenantId: BENCH_TENANT,
      dialogId,
      name: size === 2 ? null : `Group ${d}`,
      createdBy,
      createdAt: t0 - rng.int(1, 90) * 86_400_000,
      updatedAt: t0 - rng.int(1, 3_600) * 1_000,
      meta: { topic: rng.pick(['support', 'sales', 'team', 'family']), archived: false },
    };
    const members = memberUsers.map((u, k): DialogMemberRow => ({
      tenantId: BENCH_TENANT,
      dialogId,
      userId: u.userId,
      meta: { role: k === 0 ? 'owner' : 'member' },
      unreadCount: rng.int(0, 20),
      lastSeenAt: t0 - rng.int(1, 86_400) * 1_000,
      lastMessageAt: t0 - rng.int(1, 86_400) * 1_000,
      // A few members have left: they get no Updates, as in production.
      isActive: k === 0 || rng.float() > 0.05,
      createdAt: t0 - rng.int(1, 90) * 86_400_000,
    }));
    dialogs.push({ row, members, active: members.filter((m) => m.isActive), messages: [] });
  }
  const view = new ReadModelView()
    .addUsers(users)
    .addDialogs(dialogs.map((d) => d.row))
    .addMembers(dialogs.flatMap((d) => d.members));
  return { view, users, dialogs };
}

/**
 * An endless, deterministic stream of Update drafts. `clock` stamps `createdAt` (epoch ms float), as
 * the builder does; callers that need insert-time stamps overwrite it.
 */
export function createUpdateStream(options: WorkloadOptions, clock: () => number) {
  const rng = createPrng(options.seed);
  const t0 = 1_763_551_369_397.6482;
  const world = buildWorld(rng, options.users ?? 800, options.dialogs ?? 250, t0);
  const buffered: UpdateDraft[] = [];
  let eventNo = 0;
  let events = 0;
  const perType = new Map<string, number>();
  const withMessages: World['dialogs'] = [];

  function text(): string {
    const n = rng.int(3, 60);
    const words: string[] = [];
    for (let i = 0; i < n; i++) words.push(rng.pick(WORDS));
    return words.join(' ');
  }

  function nextEvent(): void {
    let r = rng.float();
    let type = EVENT_MIX[0]!.type;
    for (const m of EVENT_MIX) {
      if (r < m.weight) {
        type = m.type;
        break;
      }
      r -= m.weight;
    }
    // Status changes are about a message already sent: they go to a dialog that has one.
    if (type === 'message.status.update' && withMessages.length === 0) type = 'message.create';
    const dialog = type === 'message.status.update' ? rng.pick(withMessages) : rng.pick(world.dialogs);
    if (dialog.active.length < 2) return;
    eventNo += 1;
    const eventId = `evt_${eventNo.toString(16).padStart(8, '0')}${rng.hex(24)}`;
    const createdAt = clock();
    const actor = rng.pick(dialog.active);
    const actorType = world.view.userType(BENCH_TENANT, actor.userId);
    const dialogId = dialog.row.dialogId;
    let body: Record<string, unknown>;
    let afterBuild: () => void = () => undefined;
    if (type === 'message.create') {
      const message: MessageRow = {
        tenantId: BENCH_TENANT,
        dialogId,
        messageId: `msg_${rng.hex(20)}`,
        senderId: actor.userId,
        type: rng.float() < 0.9 ? 'internal.text' : 'internal.file',
        content: text(),
        meta: { channel: rng.pick(['web', 'ios', 'android']) },
        createdAt,
      };
      world.view.addMessages([message]);
      if (dialog.messages.length === 0) withMessages.push(dialog);
      dialog.messages.push(message);
      if (dialog.messages.length > 20) dialog.messages.shift();
      body = {
        eventType: type,
        entityType: 'message',
        entityId: message.messageId,
        data: { message: { ...message } },
      };
    } else if (type === 'message.status.update') {
      const message = rng.pick(dialog.messages);
      const readers = dialog.active.filter((m) => m.userId !== message.senderId);
      const reader = readers.length > 0 ? rng.pick(readers) : actor;
      const status: MessageStatusRow = {
        tenantId: BENCH_TENANT,
        dialogId,
        messageId: message.messageId,
        userId: reader.userId,
        userType: world.view.userType(BENCH_TENANT, reader.userId),
        status: rng.float() < 0.6 ? 'read' : 'delivered',
        readAt: createdAt,
        createdAt,
      };
      if (status.status !== 'read') status.readAt = null;
      body = {
        eventType: type,
        entityType: 'message',
        entityId: message.messageId,
        actorId: reader.userId,
        data: { message: { messageId: message.messageId, dialogId }, statusUpdate: { ...status } },
      };
      // The mapping adds the snapshot to the history itself; the read model gets the row afterwards.
      afterBuild = () => world.view.addStatuses([status]);
    } else {
      body = {
        eventType: type,
        entityType: 'dialog',
        entityId: dialogId,
        data: { typing: { userId: actor.userId, expiresInMs: 5000, timestamp: createdAt } },
      };
    }
    const raw = { eventId, tenantId: BENCH_TENANT, actorId: actor.userId, actorType, createdAt, ...body };
    const parsed = parseEvent(JSON.stringify(raw), { maxBytes: 1_000_000 });
    if (!parsed.ok) throw new Error(`synthetic event does not parse: ${parsed.reason} ${parsed.detail}`);
    const outcome = buildUpdates(parsed.event, { view: world.view, clock });
    if (!outcome.ok) throw new Error(`synthetic event builds no Updates: ${outcome.reason}`);
    afterBuild();
    events += 1;
    perType.set(type, (perType.get(type) ?? 0) + outcome.updates.length);
    buffered.push(...outcome.updates);
  }

  function next(): UpdateDraft {
    while (buffered.length === 0) nextEvent();
    return buffered.shift() as UpdateDraft;
  }

  return {
    next,
    take(count: number): UpdateDraft[] {
      const out: UpdateDraft[] = [];
      for (let i = 0; i < count; i++) out.push(next());
      return out;
    },
    describe() {
      const sizes = world.dialogs.map((d) => d.active.length).sort((a, b) => a - b);
      const types = new Map<string, number>();
      for (const u of world.users) types.set(u.type ?? 'user', (types.get(u.type ?? 'user') ?? 0) + 1);
      return {
        users: world.users.length,
        userTypes: Object.fromEntries(types),
        dialogs: world.dialogs.length,
        activeMembersMedian: sizes[Math.floor(sizes.length / 2)] ?? 0,
        activeMembersMax: sizes.at(-1) ?? 0,
        events,
        updatesByEventType: Object.fromEntries(perType),
      };
    },
  };
}

export type UpdateStream = ReturnType<typeof createUpdateStream>;

/** Stored Update documents of these drafts, each with a fresh `_id`. */
export function toDocs(drafts: readonly UpdateDraft[]): StoredUpdate[] {
  return drafts.map((d) => ({ _id: new ObjectId(), ...d }));
}

export interface Backlog {
  docs: StoredUpdate[];
  /** The same Updates as the relay sends them. */
  messages: WireMessage[];
  workload: RelayWorkload;
}

/** `count` Updates of the seed's stream, their wire messages, and what they are like (toWireMessage timed). */
export function prepareBacklog(seed: number, count: number): Backlog {
  const stream = createUpdateStream({ seed }, createMonotonicClock());
  const docs = toDocs(stream.take(count));
  const messages = docs.map((d) => toWireMessage(d));
  const t = performance.now();
  for (const d of docs) toWireMessage(d);
  const encodeUsPerMsg = ((performance.now() - t) * 1000) / docs.length;
  return { docs, messages, workload: { ...stream.describe(), bodyBytes: summarize(messages.map((m) => m.body.length)), encodeUsPerMsg } };
}
