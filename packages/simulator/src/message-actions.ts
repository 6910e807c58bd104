/**
 * Message traffic: sends, edits, delivery and read statuses, reactions, and the message events that
 * produce no Update. Each action mutates the tenant state, then emits writes + event (SPEC §2, §3).
 */
import { ActionContext, memberSnapshot, messageSnapshot } from './action-context';
import { newMessageId } from './ids';
import { deleteRow, memberKey, messageKey, setFields, insertRow } from './read-model-writes';
import { PHRASES, REACTIONS } from './vocabulary';
import { messageRow, type SimDialog, type SimMember, type SimMessage, type StatusValue } from './world-state';

const hasMessages = (d: SimDialog) => d.recent.length > 0;
const hasTwoActive = (d: SimDialog) => d.active.size >= 2;

export function createMessage(ctx: ActionContext): boolean {
  const dialog = ctx.pickDialog(hasTwoActive);
  const senderId = dialog && ctx.pickActive(dialog);
  if (!dialog || !senderId) return false;
  const { random, now } = ctx;
  const isFile = random.chance(0.1);
  const message: SimMessage = {
    tenantId: dialog.tenantId,
    dialogId: dialog.dialogId,
    messageId: newMessageId(random),
    senderId,
    type: isFile ? 'internal.file' : 'internal.text',
    content: isFile ? { fileName: `file-${random.hex(6)}.pdf`, size: random.int(1_000, 9_000_000) } : random.pick(PHRASES),
    meta: random.chance(0.2) ? { client: random.pick(['ios', 'android', 'web']) } : {},
    createdAt: now,
    statuses: new Map(),
  };
  ctx.world.remember(dialog, message);
  // Every active member but the sender has one more unread message (absolute values: see read-model-writes).
  const recipients = dialog.active
    .values()
    .filter((userId) => userId !== senderId)
    .map((userId) => dialog.members.get(userId) as SimMember);
  for (const member of recipients) {
    member.unreadCount += 1;
    member.lastMessageAt = now;
  }
  ctx.emit(
    {
      eventType: 'message.create',
      entityType: 'message',
      entityId: message.messageId,
      actorId: senderId,
      actorType: ctx.userType(senderId),
      data: {
        message: messageSnapshot(message, ctx.withSnapshot()),
        context: { dialogId: dialog.dialogId, messageId: message.messageId },
      },
    },
    [
      insertRow('messages', messageRow(message)),
      ...recipients.map((m) => setFields('dialogMembers', memberKey(m), { unreadCount: m.unreadCount, lastMessageAt: now })),
    ],
  );
  return true;
}

export function editMessage(ctx: ActionContext): boolean {
  const dialog = ctx.pickDialog(hasMessages);
  const message = dialog && ctx.pickRecent(dialog);
  if (!dialog || !message || typeof message.content !== 'string') return false;
  message.content = `${ctx.random.pick(PHRASES)} (edited)`;
  message.meta = { ...message.meta, updated: true };
  ctx.emit(
    {
      eventType: 'message.update',
      entityType: 'message',
      entityId: message.messageId,
      actorId: message.senderId,
      actorType: ctx.userType(message.senderId),
      data: {
        message: messageSnapshot(message, ctx.withSnapshot()),
        context: { dialogId: dialog.dialogId, messageId: message.messageId, updatedFields: ['message.content'] },
      },
    },
    [setFields('messages', messageKey(message), { content: message.content, meta: { ...message.meta } })],
  );
  return true;
}

/**
 * A member reports `delivered` or `read`. A read also clears the member's unread count, and Chat3
 * follows with `dialog.member.update` for that member, whose write it makes just before publishing it.
 */
export function updateStatus(ctx: ActionContext): boolean {
  const dialog = ctx.pickDialog((d) => hasMessages(d) && hasTwoActive(d));
  const message = dialog && ctx.pickRecent(dialog);
  if (!dialog || !message) return false;
  const candidates = dialog.active.values().filter((id) => id !== message.senderId && message.statuses.get(id) !== 'read');
  if (candidates.length === 0) return false;
  const { random, now } = ctx;
  const userId = random.pick(candidates);
  const status: StatusValue = message.statuses.get(userId) === 'delivered' || random.chance(0.5) ? 'read' : 'delivered';
  const readAt = status === 'read' ? now : null;
  const userType = ctx.userType(userId);
  message.statuses.set(userId, status);
  ctx.emit(
    {
      eventType: 'message.status.update',
      entityType: 'message',
      entityId: message.messageId,
      actorId: userId,
      actorType: userType,
      data: {
        statusUpdate: { userId, status, readAt, createdAt: now },
        message: ctx.withSnapshot() ? messageSnapshot(message, false) : undefined,
        context: { dialogId: dialog.dialogId, messageId: message.messageId },
      },
    },
    [
      insertRow('messageStatuses', {
        tenantId: dialog.tenantId,
        dialogId: dialog.dialogId,
        messageId: message.messageId,
        userId,
        userType,
        status,
        readAt,
        createdAt: now,
      }),
    ],
  );
  if (status !== 'read') return true;

  const member = dialog.members.get(userId) as SimMember;
  member.unreadCount = 0;
  member.lastSeenAt = now;
  ctx.later();
  ctx.emit(
    {
      eventType: 'dialog.member.update',
      entityType: 'dialog',
      entityId: dialog.dialogId,
      actorId: userId,
      actorType: userType,
      data: {
        member: ctx.withSnapshot() ? memberSnapshot(member) : undefined,
        context: { dialogId: dialog.dialogId, userId, updatedFields: ['member.state.unreadCount', 'member.state.lastSeenAt'] },
      },
    },
    [setFields('dialogMembers', memberKey(member), { unreadCount: 0, lastSeenAt: now })],
  );
  return true;
}

/** Reactions live outside the read model this product reads, so they write nothing here. */
export function react(ctx: ActionContext, eventType: 'message.reaction.update' | 'message.reaction.add'): boolean {
  const dialog = ctx.pickDialog(hasMessages);
  const message = dialog && ctx.pickRecent(dialog);
  const userId = dialog && ctx.pickActive(dialog);
  if (!dialog || !message || !userId) return false;
  const snapshot = { userId, reaction: ctx.random.pick(REACTIONS), createdAt: ctx.now };
  const header = ctx.withSnapshot() ? messageSnapshot(message, false) : undefined;
  ctx.emit(
    {
      eventType,
      entityType: 'message',
      entityId: message.messageId,
      actorId: userId,
      actorType: ctx.userType(userId),
      data: {
        ...(eventType === 'message.reaction.update' ? { reactionUpdate: snapshot } : { reaction: snapshot }),
        message: header,
        context: { dialogId: dialog.dialogId, messageId: message.messageId },
      },
    },
    [],
  );
  return true;
}

/** Produces no Update. The row goes away and the message leaves the simulation. */
export function deleteMessage(ctx: ActionContext): boolean {
  const dialog = ctx.pickDialog(hasMessages);
  const message = dialog && ctx.pickRecent(dialog);
  if (!dialog || !message) return false;
  ctx.world.forget(dialog, message.messageId);
  ctx.emit(
    {
      eventType: 'message.delete',
      entityType: 'message',
      entityId: message.messageId,
      actorId: message.senderId,
      actorType: ctx.userType(message.senderId),
      data: {
        message: messageSnapshot(message, false),
        context: { dialogId: dialog.dialogId, messageId: message.messageId },
      },
    },
    [deleteRow('messages', messageKey(message))],
  );
  return true;
}

/** Produces no Update: the sender's own `sent` status, announced when the status record is created. */
export function createStatus(ctx: ActionContext): boolean {
  const dialog = ctx.pickDialog(hasMessages);
  const message = dialog && dialog.recent[dialog.recent.length - 1];
  if (!dialog || !message) return false;
  ctx.emit(
    {
      eventType: 'message.status.create',
      entityType: 'message',
      entityId: message.messageId,
      actorId: message.senderId,
      actorType: ctx.userType(message.senderId),
      data: {
        status: { userId: message.senderId, status: 'sent', readAt: null, createdAt: ctx.now },
        context: { dialogId: dialog.dialogId, messageId: message.messageId },
      },
    },
    [],
  );
  return true;
}
