/**
 * Builders for the data sections of an Update (SPEC §5). A snapshot carried by the event wins over the
 * read model field by field, because it is what the producer saw when it emitted the event.
 *
 * Only a key the snapshot leaves out falls back to the read model. A key it sends as `null` wins where
 * `null` is a state the field can be in (`pickPresent`: a dialog without a name, a member without a last
 * message). Where the section cannot hold `null` (unreadCount, isActive, meta) or the field is a fact
 * fixed at creation (a dialog's createdBy and createdAt, a message's sender and type), `null` can only
 * mean "not known" and falls back like an absent key (`pickKnown`): Chat3's own buildDialogSection sends
 * `createdBy: null` on member events whenever its caller did not pass the creator.
 */
import type { ChatEvent, MemberSnapshot } from './event-schema';
import type { DialogMemberRow, MessageStatusRow, ReadModelView } from './read-model';
import { DEFAULT_USER_TYPE, toEpochMs } from './read-model';
import type { DialogSection, MemberSection, MessageSection, MessageStatusEntry, StatusMessageSection, UserSection } from './update';

export function dialogSection(event: ChatEvent, dialogId: string, view: ReadModelView): DialogSection | null {
  const row = view.dialog(event.tenantId, dialogId);
  const snap = event.data.dialog;
  if (!row && !snap) return null;
  return {
    dialogId,
    tenantId: event.tenantId,
    name: pickPresent(snap?.name, row?.name),
    createdBy: pickKnown(snap?.createdBy, row?.createdBy),
    createdAt: pickKnown(snap?.createdAt, toEpochMs(row?.createdAt)),
    updatedAt: pickPresent(snap?.updatedAt, toEpochMs(row?.updatedAt)),
    meta: snap?.meta ?? row?.meta ?? {},
  };
}

/** A dialog that is gone from the read model (deleted) and came without a snapshot. */
export function tombstoneDialogSection(tenantId: string, dialogId: string): DialogSection {
  return { dialogId, tenantId, name: null, createdBy: null, createdAt: null, updatedAt: null, meta: {} };
}

export function memberSectionFromRow(row: DialogMemberRow): MemberSection {
  return {
    userId: row.userId,
    meta: row.meta ?? {},
    state: {
      unreadCount: row.unreadCount ?? 0,
      lastSeenAt: toEpochMs(row.lastSeenAt),
      lastMessageAt: toEpochMs(row.lastMessageAt),
      isActive: row.isActive ?? true,
    },
  };
}

/**
 * The member snapshot on a `dialog.member.*` event, layered over the member's read-model row. A state
 * field may sit in `state` (the §5 section) or at the top level (the row's shape); `state` is asked first.
 */
export function memberSectionFromSnapshot(snap: MemberSnapshot, row: DialogMemberRow | undefined): MemberSection {
  const base = row ? memberSectionFromRow(row) : memberSectionFromRow({ tenantId: '', dialogId: '', userId: snap.userId });
  const state = snap.state;
  return {
    userId: snap.userId,
    meta: snap.meta ?? base.meta,
    state: {
      unreadCount: pickKnown(state?.unreadCount ?? snap.unreadCount, base.state.unreadCount) ?? 0,
      lastSeenAt: pickPresent(firstPresent(state?.lastSeenAt, snap.lastSeenAt), base.state.lastSeenAt),
      lastMessageAt: pickPresent(firstPresent(state?.lastMessageAt, snap.lastMessageAt), base.state.lastMessageAt),
      isActive: pickKnown(state?.isActive ?? snap.isActive, base.state.isActive) ?? true,
    },
  };
}

export function userSection(event: ChatEvent, userId: string, view: ReadModelView): UserSection {
  const row = view.user(event.tenantId, userId);
  const snap = event.data.user && (event.data.user.userId ?? userId) === userId ? event.data.user : undefined;
  return {
    userId,
    type: snap?.type || row?.type || DEFAULT_USER_TYPE,
    meta: snap?.meta ?? row?.meta ?? {},
  };
}

/** The current status of each user: their latest history row (createdAt, then row order, decides). */
export function latestStatuses(rows: readonly MessageStatusRow[], view: ReadModelView, tenantId: string): MessageStatusEntry[] {
  const latest = new Map<string, MessageStatusRow>();
  for (const row of rows) {
    const prev = latest.get(row.userId);
    if (!prev || (toEpochMs(row.createdAt) ?? 0) >= (toEpochMs(prev.createdAt) ?? 0)) latest.set(row.userId, row);
  }
  return [...latest.values()]
    .map((row) => ({
      userId: row.userId,
      userType: row.userType || view.userType(tenantId, row.userId),
      status: row.status,
      readAt: toEpochMs(row.readAt),
      createdAt: toEpochMs(row.createdAt),
    }))
    .sort((a, b) => (a.createdAt ?? 0) - (b.createdAt ?? 0) || cmp(a.userId, b.userId));
}

/** Each user's latest status, the sender excluded, counted by (userType, status). */
export function statusMatrix(current: readonly MessageStatusEntry[], senderId: string | null): StatusMessageSection['statusMessageMatrix'] {
  const counts = new Map<string, { userType: string; status: string; count: number }>();
  for (const entry of current) {
    if (entry.userId === senderId) continue;
    const k = `${entry.userType}\u0000${entry.status}`;
    const cell = counts.get(k);
    if (cell) cell.count += 1;
    else counts.set(k, { userType: entry.userType, status: entry.status, count: 1 });
  }
  return [...counts.values()].sort((a, b) => cmp(a.userType, b.userType) || cmp(a.status, b.status));
}

export interface MessageFacts {
  messageId: string;
  dialogId: string;
  senderId: string | null;
  type: string | null;
  content: unknown;
  meta: Record<string, unknown>;
}

export function messageFacts(event: ChatEvent, messageId: string, dialogId: string, view: ReadModelView): MessageFacts {
  const row = view.message(event.tenantId, messageId);
  const snap = event.data.message;
  return {
    messageId,
    dialogId,
    senderId: pickKnown(snap?.senderId, row?.senderId),
    type: pickKnown(snap?.type, row?.type),
    content: snap?.content !== undefined ? snap.content : (row?.content ?? null),
    meta: snap?.meta ?? row?.meta ?? {},
  };
}

export function fullMessageSection(
  event: ChatEvent,
  facts: MessageFacts,
  view: ReadModelView,
  options: { markUpdated: boolean },
): MessageSection {
  const sender = facts.senderId ? view.user(event.tenantId, facts.senderId) : undefined;
  return {
    messageId: facts.messageId,
    dialogId: facts.dialogId,
    senderId: facts.senderId,
    type: facts.type,
    content: facts.content,
    meta: options.markUpdated ? { ...facts.meta, updated: true } : facts.meta,
    statuses: latestStatuses(view.statuses(event.tenantId, facts.messageId), view, event.tenantId),
    senderInfo: facts.senderId
      ? {
          userId: facts.senderId,
          name: sender?.name ?? null,
          createdAt: toEpochMs(sender?.createdAt),
          meta: sender?.meta ?? {},
        }
      : null,
  };
}

/** A field that can be `null`: a key the snapshot sends wins, even as `null`; only an absent one falls back. */
function pickPresent<T>(snapshot: T | null | undefined, fallback: T | null | undefined): T | null {
  return snapshot !== undefined ? snapshot : (fallback ?? null);
}

/** A field that is never `null` or never changes: a `null` in the snapshot means "not known" and falls back. */
function pickKnown<T>(snapshot: T | null | undefined, fallback: T | null | undefined): T | null {
  return snapshot ?? fallback ?? null;
}

function firstPresent<T>(first: T | undefined, second: T | undefined): T | undefined {
  return first !== undefined ? first : second;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
