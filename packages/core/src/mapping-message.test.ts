/** SPEC §5 rows message.create / message.update / message.status.update / message.reaction.update. */
import { describe, expect, it } from 'vitest';
import { ReadModelView } from './read-model';
import type { ReactionMessageSection, StatusMessageSection } from './update';
import {
  ACTIVE_MEMBERS,
  build,
  byRecipient,
  DIALOG,
  dialogRow,
  expectBuilt,
  expectFailed,
  makeEvent,
  memberRow,
  MESSAGE,
  messageRow,
  standardView,
  statusRow,
  T0,
  TENANT,
  userRow,
} from './test-fixtures';

const DIALOG_SECTION = {
  dialogId: DIALOG,
  tenantId: TENANT,
  name: 'VIP чат',
  createdBy: 'carl',
  createdAt: T0 - 3_600_000,
  updatedAt: T0 - 60_000,
  meta: { topic: 'vip' },
};

const CARL_INFO = { userId: 'carl', name: 'Carl Johnson', createdAt: T0 - 86_400_000, meta: { vip: true } };

/** Status history of msg_1 (sent by carl). */
function withStatuses(view: ReadModelView = standardView()): ReadModelView {
  return view.addStatuses([
    statusRow('alice', 'delivered', T0 - 300),
    statusRow('alice', 'read', T0 - 100),
    statusRow('bot_123', 'delivered', T0 - 250, { userType: 'bot' }),
    statusRow('ghost', 'delivered', T0 - 200),
    statusRow('carl', 'read', T0 - 400), // the sender's own row never counts
  ]);
}

describe.each(['message.create', 'message.update'] as const)('%s', (eventType) => {
  it('goes to every active member, the sender included, and to no inactive one', () => {
    const { updates } = expectBuilt(build(makeEvent(eventType)));
    expect(updates.map((u) => u.userId)).toEqual(ACTIVE_MEMBERS);
  });

  it('is a MessageUpdate keyed by the message, routed with the messageupdate segment', () => {
    const updates = byRecipient(expectBuilt(build(makeEvent(eventType))).updates);
    for (const u of updates.values()) {
      expect(u).toMatchObject({ updateType: 'MessageUpdate', entityId: MESSAGE, dialogId: DIALOG, eventType });
    }
    expect(updates.get('carl')!.routingKey).toBe('update.dialog.user.carl.messageupdate');
    expect(updates.get('bot_123')!.routingKey).toBe('update.dialog.bot.bot_123.messageupdate');
    expect(updates.get('ghost')!.routingKey).toBe('update.dialog.user.ghost.messageupdate');
  });

  it('carries dialog, the full message with senderInfo and statuses, the recipient’s member and the context', () => {
    const alice = byRecipient(expectBuilt(build(makeEvent(eventType), withStatuses())).updates).get('alice')!;
    expect(alice.data).toEqual({
      dialog: DIALOG_SECTION,
      message: {
        messageId: MESSAGE,
        dialogId: DIALOG,
        senderId: 'carl',
        type: 'internal.text',
        content: 'Hello!',
        meta: eventType === 'message.update' ? { channel: 'web', updated: true } : { channel: 'web' },
        statuses: [
          { userId: 'carl', userType: 'user', status: 'read', readAt: T0 - 400, createdAt: T0 - 400 },
          { userId: 'bot_123', userType: 'bot', status: 'delivered', readAt: null, createdAt: T0 - 250 },
          { userId: 'ghost', userType: 'user', status: 'delivered', readAt: null, createdAt: T0 - 200 },
          { userId: 'alice', userType: 'user', status: 'read', readAt: T0 - 100, createdAt: T0 - 100 },
        ],
        senderInfo: CARL_INFO,
      },
      member: {
        userId: 'alice',
        meta: { role: 'member' },
        state: { unreadCount: 0, lastSeenAt: T0 - 1000, lastMessageAt: T0 - 2000, isActive: true },
      },
      context: {
        eventType,
        dialogId: DIALOG,
        entityId: MESSAGE,
        messageId: MESSAGE,
        includedSections: ['dialog', 'message', 'member'],
      },
    });
  });

  it('gives each recipient their own member section and the same message', () => {
    const updates = byRecipient(expectBuilt(build(makeEvent(eventType))).updates);
    for (const [userId, u] of updates) expect(u.data.member!.userId).toBe(userId);
    expect(updates.get('carl')!.data.member!.state.unreadCount).toBe(2);
    expect(updates.get('carl')!.data.message).toEqual(updates.get('alice')!.data.message);
  });

  it('has an empty statuses list when nobody has a status yet', () => {
    const [first] = expectBuilt(build(makeEvent(eventType))).updates;
    expect((first!.data.message as { statuses: unknown[] }).statuses).toEqual([]);
  });

  it('builds from the message snapshot when the read model does not have the message yet', () => {
    const event = makeEvent(eventType, {
      entityId: 'msg_new',
      data: {
        message: {
          messageId: 'msg_new',
          dialogId: DIALOG,
          senderId: 'alice',
          type: 'internal.text',
          content: 'Hi there',
          meta: { lang: 'en' },
        },
      },
    });
    const [first] = expectBuilt(build(event)).updates;
    expect(first!.entityId).toBe('msg_new');
    expect(first!.data.message).toMatchObject({
      messageId: 'msg_new',
      dialogId: DIALOG,
      senderId: 'alice',
      content: 'Hi there',
      senderInfo: { userId: 'alice', name: 'Alice', createdAt: T0 - 86_400_000, meta: {} },
    });
    expect(first!.data.context).toMatchObject({ entityId: 'msg_new', messageId: 'msg_new', dialogId: DIALOG });
  });

  it('sends the snapshot’s content: null over the row’s content, and the row’s content when the key is absent', () => {
    const cleared = expectBuilt(build(makeEvent(eventType, { data: { message: { messageId: MESSAGE, content: null } } }))).updates[0]!;
    expect((cleared.data.message as { content: unknown }).content).toBeNull();
    const untouched = expectBuilt(build(makeEvent(eventType, { data: { message: { messageId: MESSAGE } } }))).updates[0]!;
    expect((untouched.data.message as { content: unknown }).content).toBe('Hello!');
  });

  it('gives an unknown sender a senderInfo with what is known: the userId', () => {
    const view = standardView().addMessages([messageRow('msg_x', { senderId: 'stranger' })]);
    const [first] = expectBuilt(build(makeEvent(eventType, { entityId: 'msg_x' }), view)).updates;
    expect((first!.data.message as { senderInfo: unknown }).senderInfo).toEqual({
      userId: 'stranger',
      name: null,
      createdAt: null,
      meta: {},
    });
  });

  it('fails with a reason when the message is unknown and the event names no dialog', () => {
    const reason = expectFailed(build(makeEvent(eventType, { entityId: 'msg_unknown' })));
    expect(reason).toContain('msg_unknown');
  });

  it('fails with a reason when the dialog is unknown and has no snapshot', () => {
    const view = new ReadModelView().addMessages([messageRow(MESSAGE)]).addMembers([memberRow(DIALOG, 'carl')]);
    expect(expectFailed(build(makeEvent(eventType), view))).toContain(DIALOG);
  });

  it('finds the dialog through data.context.dialogId', () => {
    const event = makeEvent(eventType, { entityId: 'msg_ctx', data: { context: { dialogId: DIALOG, messageId: 'msg_ctx' } } });
    const { updates } = expectBuilt(build(event));
    expect(updates.map((u) => u.userId)).toEqual(ACTIVE_MEMBERS);
    expect(updates[0]!.entityId).toBe('msg_ctx');
  });
});

describe('message.create vs message.update', () => {
  it('marks an edited message with meta.updated: true, keeping its other meta', () => {
    const [first] = expectBuilt(build(makeEvent('message.update'))).updates;
    expect((first!.data.message as { meta: unknown }).meta).toEqual({ channel: 'web', updated: true });
  });

  it('does not mark a new message as updated', () => {
    const [first] = expectBuilt(build(makeEvent('message.create'))).updates;
    expect((first!.data.message as { meta: Record<string, unknown> }).meta).not.toHaveProperty('updated');
  });

  it('marks an edited message updated even when its snapshot meta is empty', () => {
    const event = makeEvent('message.update', { data: { message: { messageId: MESSAGE, dialogId: DIALOG, meta: {} } } });
    const [first] = expectBuilt(build(event)).updates;
    expect((first!.data.message as { meta: unknown }).meta).toEqual({ updated: true });
  });

  it('does not leak meta.updated into the read-model row shared by later events', () => {
    const view = standardView();
    expectBuilt(build(makeEvent('message.update'), view));
    expect(view.message(TENANT, MESSAGE)!.meta).toEqual({ channel: 'web' });
  });

  it('accepts the message.changed alias and stores message.update', () => {
    const [first] = expectBuilt(build(makeEvent('message.changed'))).updates;
    expect(first!.eventType).toBe('message.update');
    expect(first!.data.context.eventType).toBe('message.update');
    expect((first!.data.message as { meta: Record<string, unknown> }).meta.updated).toBe(true);
  });

  it('derives stats for every recipient of message.create and for nobody on message.update', () => {
    expect(expectBuilt(build(makeEvent('message.create'))).statsUserIds).toEqual(ACTIVE_MEMBERS);
    expect(expectBuilt(build(makeEvent('message.update'))).statsUserIds).toEqual([]);
  });
});

describe('message.status.update', () => {
  const statusEvent = (data: Record<string, unknown>, actorId: string | null = 'ghost') =>
    makeEvent('message.status.update', { actorId, data });
  const ghostRead = { statusUpdate: { userId: 'ghost', status: 'read', readAt: T0, createdAt: T0 } };
  const messageOf = (u: { data: { message?: unknown } }) => u.data.message as StatusMessageSection;

  it('goes to every active member as a MessageUpdate', () => {
    const { updates, statsUserIds } = expectBuilt(build(statusEvent(ghostRead), withStatuses()));
    expect(updates.map((u) => u.userId)).toEqual(ACTIVE_MEMBERS);
    for (const u of updates) {
      expect(u).toMatchObject({ updateType: 'MessageUpdate', entityId: MESSAGE, eventType: 'message.status.update' });
      expect(u.routingKey).toMatch(/\.messageupdate$/);
    }
    expect(statsUserIds).toEqual([]);
  });

  it('carries dialog, the message head with statusUpdate and statusMessageMatrix, and the context', () => {
    const alice = byRecipient(expectBuilt(build(statusEvent(ghostRead), withStatuses())).updates).get('alice')!;
    expect(alice.data).toEqual({
      dialog: DIALOG_SECTION,
      message: {
        messageId: MESSAGE,
        dialogId: DIALOG,
        senderId: 'carl',
        type: 'internal.text',
        statusUpdate: { userId: 'ghost', status: 'read', readAt: T0, createdAt: T0 },
        statusMessageMatrix: [
          { userType: 'bot', status: 'delivered', count: 1 },
          { userType: 'user', status: 'read', count: 2 },
        ],
      },
      context: {
        eventType: 'message.status.update',
        dialogId: DIALOG,
        entityId: MESSAGE,
        messageId: MESSAGE,
        includedSections: ['dialog', 'message', 'statusUpdate'],
      },
    });
  });

  it('counts each user’s latest status once, whatever order the history rows come in', () => {
    const view = standardView().addStatuses([
      statusRow('alice', 'read', T0 - 100),
      statusRow('alice', 'delivered', T0 - 300), // older, listed later
      statusRow('ghost', 'sent', T0 - 500),
      statusRow('ghost', 'delivered', T0 - 450),
      statusRow('ghost', 'read', T0 - 50),
    ]);
    const [first] = expectBuilt(build(statusEvent({}, 'alice'), view)).updates;
    expect(messageOf(first!).statusMessageMatrix).toEqual([{ userType: 'user', status: 'read', count: 2 }]);
  });

  it('excludes the sender from the matrix even when the sender has the newest status', () => {
    const view = standardView().addStatuses([statusRow('alice', 'read', T0 - 100)]);
    const event = statusEvent({ statusUpdate: { userId: 'carl', status: 'read', createdAt: T0 } }, 'carl');
    const [first] = expectBuilt(build(event, view)).updates;
    expect(messageOf(first!).statusUpdate.userId).toBe('carl');
    expect(messageOf(first!).statusMessageMatrix).toEqual([{ userType: 'user', status: 'read', count: 1 }]);
  });

  it('reflects a snapshot newer than the read model', () => {
    // The read model still says ghost only got it; the event says ghost read it.
    const [first] = expectBuilt(build(statusEvent(ghostRead), withStatuses())).updates;
    const matrix = messageOf(first!).statusMessageMatrix;
    expect(matrix).toContainEqual({ userType: 'user', status: 'read', count: 2 });
    expect(matrix).not.toContainEqual(expect.objectContaining({ userType: 'user', status: 'delivered' }));
  });

  it('counts a user once when the read model already holds the row the snapshot reports', () => {
    const view = withStatuses().addStatuses([statusRow('ghost', 'read', T0)]);
    const [first] = expectBuilt(build(statusEvent(ghostRead), view)).updates;
    expect(messageOf(first!).statusMessageMatrix).toEqual([
      { userType: 'bot', status: 'delivered', count: 1 },
      { userType: 'user', status: 'read', count: 2 },
    ]);
  });

  it('lets the snapshot win a tie with a read-model row of the same time', () => {
    const view = standardView().addStatuses([statusRow('ghost', 'delivered', T0)]);
    const [first] = expectBuilt(build(statusEvent(ghostRead), view)).updates;
    expect(messageOf(first!).statusMessageMatrix).toEqual([{ userType: 'user', status: 'read', count: 1 }]);
  });

  it('lets a newer read-model row win over an older, redelivered snapshot in the matrix', () => {
    const view = standardView().addStatuses([statusRow('ghost', 'read', T0 + 500)]);
    const stale = { statusUpdate: { userId: 'ghost', status: 'delivered', createdAt: T0 } };
    const [first] = expectBuilt(build(statusEvent(stale), view)).updates;
    expect(messageOf(first!).statusUpdate).toEqual({ userId: 'ghost', status: 'delivered', readAt: null, createdAt: T0 });
    expect(messageOf(first!).statusMessageMatrix).toEqual([{ userType: 'user', status: 'read', count: 1 }]);
  });

  it('keeps the row’s sender when the message snapshot says senderId: null (Chat3’s default), so the matrix still leaves the sender out', () => {
    const event = statusEvent({
      ...ghostRead,
      message: { messageId: MESSAGE, dialogId: DIALOG, senderId: null, type: null, content: null },
    });
    const message = messageOf(expectBuilt(build(event, withStatuses())).updates[0]!);
    expect(message).toMatchObject({ senderId: 'carl', type: 'internal.text' });
    expect(message.statusMessageMatrix).toEqual([
      { userType: 'bot', status: 'delivered', count: 1 },
      { userType: 'user', status: 'read', count: 2 },
    ]);
  });

  it('keeps a status snapshot’s readAt: null and dates a null createdAt at the event, as an absent one', () => {
    const event = statusEvent({ statusUpdate: { userId: 'ghost', status: 'delivered', readAt: null, createdAt: null } });
    expect(messageOf(expectBuilt(build(event)).updates[0]!).statusUpdate).toEqual({
      userId: 'ghost',
      status: 'delivered',
      readAt: null,
      createdAt: T0,
    });
  });

  it('accepts the snapshot under data.status and defaults its createdAt to the event’s', () => {
    const event = statusEvent({ status: { userId: 'ghost', status: 'delivered' } });
    const [first] = expectBuilt(build(event)).updates;
    expect(messageOf(first!).statusUpdate).toEqual({ userId: 'ghost', status: 'delivered', readAt: null, createdAt: T0 });
  });

  it('reads the statusUpdate inside a message snapshot shaped like the §5 message section', () => {
    const event = statusEvent({
      message: {
        messageId: MESSAGE,
        dialogId: DIALOG,
        senderId: 'carl',
        type: 'internal.text',
        statusUpdate: { userId: 'ghost', status: 'read', readAt: T0, createdAt: T0 },
      },
    });
    const [first] = expectBuilt(build(event, withStatuses())).updates;
    expect(messageOf(first!).statusUpdate).toEqual({ userId: 'ghost', status: 'read', readAt: T0, createdAt: T0 });
    expect(messageOf(first!).statusMessageMatrix).toEqual([
      { userType: 'bot', status: 'delivered', count: 1 },
      { userType: 'user', status: 'read', count: 2 },
    ]);
  });

  it('takes the status user from actorId when the nested statusUpdate omits it', () => {
    const event = statusEvent({ message: { messageId: MESSAGE, statusUpdate: { status: 'delivered' } } }, 'alice');
    const [first] = expectBuilt(build(event)).updates;
    expect(messageOf(first!).statusUpdate).toEqual({ userId: 'alice', status: 'delivered', readAt: null, createdAt: T0 });
  });

  it('uses the actor’s latest history row when the event carries no snapshot', () => {
    const [first] = expectBuilt(build(statusEvent({}, 'alice'), withStatuses())).updates;
    expect(messageOf(first!).statusUpdate).toEqual({ userId: 'alice', status: 'read', readAt: T0 - 100, createdAt: T0 - 100 });
    expect(messageOf(first!).statusMessageMatrix).toEqual([
      { userType: 'bot', status: 'delivered', count: 1 },
      { userType: 'user', status: 'delivered', count: 1 },
      { userType: 'user', status: 'read', count: 1 },
    ]);
  });

  it('fails with a reason when there is neither a snapshot nor a row for the actor', () => {
    expect(expectFailed(build(statusEvent({}, 'alice')))).toMatch(/statusUpdate/);
    expect(expectFailed(build(statusEvent({}, null), withStatuses()))).toMatch(/statusUpdate/);
  });

  it('takes a status row’s userType from users when the row lacks it, and user when the user is unknown', () => {
    const view = standardView().addStatuses([
      statusRow('bot_123', 'read', T0 - 10, { userType: null }),
      statusRow('stranger', 'read', T0 - 20, { userType: null }),
    ]);
    const [first] = expectBuilt(build(statusEvent({}, 'bot_123'), view)).updates;
    expect(messageOf(first!).statusMessageMatrix).toEqual([
      { userType: 'bot', status: 'read', count: 1 },
      { userType: 'user', status: 'read', count: 1 },
    ]);
  });

  it('reads Date timestamps on status rows as epoch milliseconds', () => {
    const view = standardView().addStatuses([
      statusRow('alice', 'read', 0, { createdAt: new Date(1_700_000_000_000), readAt: new Date(1_700_000_000_000) }),
    ]);
    const [first] = expectBuilt(build(statusEvent({}, 'alice'), view)).updates;
    expect(messageOf(first!).statusUpdate).toEqual({
      userId: 'alice',
      status: 'read',
      readAt: 1_700_000_000_000,
      createdAt: 1_700_000_000_000,
    });
  });

  it('accepts the message.status.changed alias and stores message.status.update', () => {
    const event = makeEvent('message.status.changed', { actorId: 'ghost', data: ghostRead });
    const [first] = expectBuilt(build(event)).updates;
    expect(first!.eventType).toBe('message.status.update');
    expect(first!.data.context.eventType).toBe('message.status.update');
  });
});

describe('message.reaction.update', () => {
  const reactionEvent = (data: Record<string, unknown>, actorId: string | null = 'alice') =>
    makeEvent('message.reaction.update', { actorId, data });
  const messageOf = (u: { data: { message?: unknown } }) => u.data.message as ReactionMessageSection;

  it('goes to every active member with dialog, message head + reactionUpdate, and the context', () => {
    const event = reactionEvent({ reactionUpdate: { userId: 'alice', reaction: '👍', createdAt: T0 } });
    const { updates, statsUserIds } = expectBuilt(build(event));
    expect(updates.map((u) => u.userId)).toEqual(ACTIVE_MEMBERS);
    expect(statsUserIds).toEqual([]);
    const bot = byRecipient(updates).get('bot_123')!;
    expect(bot).toMatchObject({
      updateType: 'MessageUpdate',
      routingKey: 'update.dialog.bot.bot_123.messageupdate',
      entityId: MESSAGE,
      eventType: 'message.reaction.update',
    });
    expect(bot.data).toEqual({
      dialog: DIALOG_SECTION,
      message: {
        messageId: MESSAGE,
        dialogId: DIALOG,
        senderId: 'carl',
        type: 'internal.text',
        reactionUpdate: { userId: 'alice', reaction: '👍', createdAt: T0 },
      },
      context: {
        eventType: 'message.reaction.update',
        dialogId: DIALOG,
        entityId: MESSAGE,
        messageId: MESSAGE,
        includedSections: ['dialog', 'message', 'reactionUpdate'],
      },
    });
  });

  it('takes the reacting user from actorId and the time from the event when the snapshot omits them', () => {
    const [first] = expectBuilt(build(reactionEvent({ reaction: { reaction: '❤️' } }, 'ghost'))).updates;
    expect(messageOf(first!).reactionUpdate).toEqual({ userId: 'ghost', reaction: '❤️', createdAt: T0 });
  });

  it('reads the reactionUpdate inside a message snapshot shaped like the §5 message section', () => {
    const event = reactionEvent(
      { message: { messageId: MESSAGE, dialogId: DIALOG, reactionUpdate: { userId: 'bot_123', reaction: '🔥', createdAt: T0 + 1 } } },
      'alice',
    );
    const [first] = expectBuilt(build(event)).updates;
    expect(messageOf(first!).reactionUpdate).toEqual({ userId: 'bot_123', reaction: '🔥', createdAt: T0 + 1 });
  });

  it('fails with a reason when the event carries no reaction', () => {
    expect(expectFailed(build(reactionEvent({})))).toMatch(/reactionUpdate/);
  });

  it('fails with a reason when nobody can be named as the reacting user', () => {
    expect(expectFailed(build(reactionEvent({ reactionUpdate: { reaction: '👍' } }, null)))).toMatch(/userId/);
  });

  it('accepts the message.reaction.changed alias and stores message.reaction.update', () => {
    const event = makeEvent('message.reaction.changed', { data: { reactionUpdate: { userId: 'alice', reaction: '👍' } } });
    const [first] = expectBuilt(build(event)).updates;
    expect(first!.eventType).toBe('message.reaction.update');
  });
});

describe('message events in a dialog with changed membership', () => {
  it('goes to the members active at processing time, not to those who left', () => {
    const view = new ReadModelView()
      .addUsers([userRow('carl'), userRow('alice')])
      .addDialogs([dialogRow(DIALOG)])
      .addMembers([memberRow(DIALOG, 'carl'), memberRow(DIALOG, 'alice', { isActive: false })])
      .addMessages([messageRow(MESSAGE)]);
    for (const type of ['message.create', 'message.update']) {
      expect(expectBuilt(build(makeEvent(type), view)).updates.map((u) => u.userId)).toEqual(['carl']);
    }
    const status = makeEvent('message.status.update', { data: { statusUpdate: { userId: 'carl', status: 'read' } } });
    expect(expectBuilt(build(status, view)).updates.map((u) => u.userId)).toEqual(['carl']);
  });
});
