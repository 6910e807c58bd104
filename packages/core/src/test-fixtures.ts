/**
 * Small, readable fixtures for the core unit tests: Chat3 event bodies and a read model.
 *
 * Events go through `parseEvent`, exactly as the builder receives them, so snapshot parsing and the
 * `*.changed` aliases are exercised too.
 *
 * The standard dialog `dlg_1` ("VIP чат", created by carl):
 *   carl     user  active    unreadCount 2
 *   alice    user  active    unreadCount 0
 *   bot_123  bot   active    unreadCount 0
 *   ghost    —     active    (no `users` row: an unknown user)
 *   dave     user  inactive  (left the dialog)
 * and message `msg_1` in it, sent by carl.
 */
import { parseEvent, type ChatEvent } from './event-schema';
import { createMonotonicClock } from './clock';
import { buildUpdates, type BuildContext, type BuildOutcome } from './mapping';
import type { UpdateDraft } from './update';
import { ReadModelView, type DialogMemberRow, type DialogRow, type MessageRow, type MessageStatusRow, type UserRow } from './read-model';

export const TENANT = 'tnt_default';
export const DIALOG = 'dlg_1';
export const MESSAGE = 'msg_1';
/** A Chat3 timestamp: epoch ms with a microsecond fraction. */
export const T0 = 1763551369397.6482;

let eventCounter = 0;

/** A fresh `evt_` + 32 hex id. */
export function newEventId(): string {
  eventCounter += 1;
  return `evt_${eventCounter.toString(16).padStart(32, '0')}`;
}

export interface EventOverrides {
  eventId?: string;
  tenantId?: string;
  entityId?: string;
  entityType?: string;
  actorId?: string | null;
  actorType?: string | null;
  data?: Record<string, unknown>;
  createdAt?: unknown;
}

/** A raw event body as Chat3 publishes it. */
export function eventBody(eventType: string, over: EventOverrides = {}): Record<string, unknown> {
  return {
    eventId: over.eventId ?? newEventId(),
    tenantId: over.tenantId ?? TENANT,
    eventType,
    entityType: over.entityType ?? eventType.split('.')[0],
    entityId: over.entityId ?? defaultEntityId(eventType),
    actorId: over.actorId === undefined ? 'carl' : over.actorId,
    actorType: over.actorType === undefined ? 'user' : over.actorType,
    data: over.data ?? {},
    createdAt: over.createdAt ?? T0,
  };
}

/** Parses an event body as the builder would; throws if it does not parse. */
export function makeEvent(eventType: string, over: EventOverrides = {}): ChatEvent {
  const parsed = parseEvent(JSON.stringify(eventBody(eventType, over)), { maxBytes: 1_000_000 });
  if (!parsed.ok) throw new Error(`fixture event does not parse: ${parsed.reason} ${parsed.detail}`);
  return parsed.event;
}

function defaultEntityId(eventType: string): string {
  if (eventType.startsWith('message.')) return MESSAGE;
  if (eventType.startsWith('user.')) return 'carl';
  return DIALOG;
}

export const userRow = (userId: string, over: Partial<UserRow> = {}): UserRow => ({
  tenantId: TENANT,
  userId,
  type: 'user',
  name: userId[0]!.toUpperCase() + userId.slice(1),
  meta: {},
  createdAt: T0 - 86_400_000,
  ...over,
});

export const dialogRow = (dialogId: string, over: Partial<DialogRow> = {}): DialogRow => ({
  tenantId: TENANT,
  dialogId,
  name: 'VIP чат',
  createdBy: 'carl',
  createdAt: T0 - 3_600_000,
  updatedAt: T0 - 60_000,
  meta: { topic: 'vip' },
  ...over,
});

export const memberRow = (dialogId: string, userId: string, over: Partial<DialogMemberRow> = {}): DialogMemberRow => ({
  tenantId: TENANT,
  dialogId,
  userId,
  meta: { role: 'member' },
  unreadCount: 0,
  lastSeenAt: T0 - 1000,
  lastMessageAt: T0 - 2000,
  isActive: true,
  createdAt: T0 - 3_600_000,
  ...over,
});

export const messageRow = (messageId: string, over: Partial<MessageRow> = {}): MessageRow => ({
  tenantId: TENANT,
  dialogId: DIALOG,
  messageId,
  senderId: 'carl',
  type: 'internal.text',
  content: 'Hello!',
  meta: { channel: 'web' },
  createdAt: T0 - 500,
  ...over,
});

export const statusRow = (userId: string, status: string, createdAt: number, over: Partial<MessageStatusRow> = {}): MessageStatusRow => ({
  tenantId: TENANT,
  dialogId: DIALOG,
  messageId: MESSAGE,
  userId,
  userType: 'user',
  status,
  readAt: status === 'read' ? createdAt : null,
  createdAt,
  ...over,
});

/** The standard read model described in the header. */
export function standardView(): ReadModelView {
  return new ReadModelView()
    .addUsers([
      userRow('carl', { name: 'Carl Johnson', meta: { vip: true } }),
      userRow('alice'),
      userRow('bot_123', { type: 'bot', name: 'Helper bot' }),
      userRow('dave'),
    ])
    .addDialogs([dialogRow(DIALOG)])
    .addMembers([
      memberRow(DIALOG, 'carl', { unreadCount: 2, meta: { role: 'owner' } }),
      memberRow(DIALOG, 'alice'),
      memberRow(DIALOG, 'bot_123'),
      memberRow(DIALOG, 'ghost'),
      memberRow(DIALOG, 'dave', { isActive: false }),
    ])
    .addMessages([messageRow(MESSAGE)]);
}

/** The active members of the standard dialog, in the order the mapping emits them (by userId). */
export const ACTIVE_MEMBERS = ['alice', 'bot_123', 'carl', 'ghost'];

/** A clock that ticks 1 µs per call from a fixed start, so `createdAt` values are predictable. */
export function fixedClock(start = 1_800_000_000_000): () => number {
  return createMonotonicClock(() => start);
}

export function buildContext(view: ReadModelView = standardView()): BuildContext {
  return { view, clock: fixedClock() };
}

/** The Updates of a successful build; throws with the reason otherwise. */
export function expectBuilt(outcome: BuildOutcome): { updates: UpdateDraft[]; statsUserIds: string[] } {
  if (!outcome.ok) throw new Error(`expected Updates, the build failed: ${outcome.reason}`);
  return outcome;
}

/** The failure reason of a build that must fail. */
export function expectFailed(outcome: BuildOutcome): string {
  if (outcome.ok) throw new Error(`expected a failure, got ${outcome.updates.length} Updates`);
  return outcome.reason;
}

/** Updates keyed by recipient, for "each recipient gets their own …" assertions. */
export function byRecipient(updates: readonly UpdateDraft[]): Map<string, UpdateDraft> {
  return new Map(updates.map((u) => [u.userId, u]));
}

/** Builds the Updates of one event against a read model (the standard one by default). */
export function build(event: ChatEvent, view: ReadModelView = standardView()): BuildOutcome {
  return buildUpdates(event, buildContext(view));
}
