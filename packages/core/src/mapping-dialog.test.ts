/** SPEC §5 rows dialog.create / dialog.update / dialog.delete and dialog.member.add / remove / update. */
import { describe, expect, it } from 'vitest';
import { partitionOf } from './partition';
import { ReadModelView } from './read-model';
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
  standardView,
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

const ownMember = (userId: string, unreadCount = 0, meta: Record<string, unknown> = { role: 'member' }) => ({
  userId,
  meta,
  state: { unreadCount, lastSeenAt: T0 - 1000, lastMessageAt: T0 - 2000, isActive: true },
});

/** A view where `mutate` changed the standard read model's members. */
function viewWithMembers(members: Parameters<ReadModelView['addMembers']>[0]): ReadModelView {
  return new ReadModelView()
    .addUsers([userRow('carl'), userRow('alice'), userRow('bot_123', { type: 'bot' }), userRow('dave'), userRow('erin')])
    .addDialogs([dialogRow(DIALOG)])
    .addMembers(members);
}

describe.each(['dialog.create', 'dialog.update', 'dialog.delete'] as const)('%s', (eventType) => {
  it('goes to every active member and to no inactive one', () => {
    const { updates } = expectBuilt(build(makeEvent(eventType)));
    expect(updates.map((u) => u.userId)).toEqual(ACTIVE_MEMBERS);
    expect(updates.map((u) => u.userId)).not.toContain('dave');
  });

  it('is a DialogUpdate in category dialog, routed with the recipient’s type and the dialogupdate segment', () => {
    const updates = byRecipient(expectBuilt(build(makeEvent(eventType))).updates);
    for (const u of updates.values()) expect(u.updateType).toBe('DialogUpdate');
    expect(updates.get('carl')!.routingKey).toBe('update.dialog.user.carl.dialogupdate');
    expect(updates.get('bot_123')!.routingKey).toBe('update.dialog.bot.bot_123.dialogupdate');
    expect(updates.get('bot_123')!.userType).toBe('bot');
  });

  it('gives a member with no users row the type user, in the Update and in the routing key', () => {
    const ghost = byRecipient(expectBuilt(build(makeEvent(eventType))).updates).get('ghost')!;
    expect(ghost.userType).toBe('user');
    expect(ghost.routingKey).toBe('update.dialog.user.ghost.dialogupdate');
  });

  it('fills the document fields: entityId is the dialog, eventType the source type, unpublished', () => {
    const event = makeEvent(eventType);
    const carl = byRecipient(expectBuilt(build(event)).updates).get('carl')!;
    expect(carl).toMatchObject({
      tenantId: TENANT,
      userId: 'carl',
      entityId: DIALOG,
      dialogId: DIALOG,
      eventId: event.eventId,
      eventType,
      published: false,
      publishedAt: null,
      eventCreatedAt: T0,
      partition: partitionOf(TENANT, 'carl'),
    });
  });

  it('carries the dialog, the recipient’s own member section and the context', () => {
    const updates = byRecipient(expectBuilt(build(makeEvent(eventType))).updates);
    expect(updates.get('carl')!.data).toEqual({
      dialog: DIALOG_SECTION,
      member: ownMember('carl', 2, { role: 'owner' }),
      context: { eventType, dialogId: DIALOG, entityId: DIALOG, includedSections: ['dialog', 'member'] },
    });
    expect(updates.get('alice')!.data.member).toEqual(ownMember('alice'));
    for (const [userId, u] of updates) expect(u.data.member!.userId).toBe(userId);
  });

  it('derives no user stats', () => {
    expect(expectBuilt(build(makeEvent(eventType))).statsUserIds).toEqual([]);
  });

  it('produces no Update when the dialog has no active member', () => {
    const view = viewWithMembers([memberRow(DIALOG, 'dave', { isActive: false })]);
    expect(expectBuilt(build(makeEvent(eventType), view)).updates).toEqual([]);
  });

  it('prefers the event’s dialog snapshot field by field over the read model', () => {
    const event = makeEvent(eventType, { data: { dialog: { dialogId: DIALOG, name: 'Renamed', updatedAt: T0 } } });
    const carl = byRecipient(expectBuilt(build(event)).updates).get('carl')!;
    expect(carl.data.dialog).toEqual({ ...DIALOG_SECTION, name: 'Renamed', updatedAt: T0 });
  });
});

describe('dialog.create / dialog.update with the dialog missing', () => {
  it.each(['dialog.create', 'dialog.update'])('%s fails with a reason when the dialog is unknown and has no snapshot', (type) => {
    const reason = expectFailed(build(makeEvent(type, { entityId: 'dlg_gone' })));
    expect(reason).toContain('dlg_gone');
    expect(reason).toContain('not found');
  });

  it('builds from the snapshot alone when the read model does not have the dialog yet', () => {
    const view = viewWithMembers([memberRow('dlg_new', 'carl')]);
    const event = makeEvent('dialog.create', {
      entityId: 'dlg_new',
      data: { dialog: { dialogId: 'dlg_new', name: 'New', createdBy: 'carl', createdAt: T0, updatedAt: T0, meta: { a: 1 } } },
    });
    const [carl] = expectBuilt(build(event, view)).updates;
    expect(carl!.data.dialog).toEqual({
      dialogId: 'dlg_new',
      tenantId: TENANT,
      name: 'New',
      createdBy: 'carl',
      createdAt: T0,
      updatedAt: T0,
      meta: { a: 1 },
    });
  });

  it('accepts the dialog.changed alias and stores dialog.update', () => {
    const { updates } = expectBuilt(build(makeEvent('dialog.changed')));
    expect(updates).toHaveLength(ACTIVE_MEMBERS.length);
    for (const u of updates) {
      expect(u.eventType).toBe('dialog.update');
      expect(u.data.context.eventType).toBe('dialog.update');
    }
  });
});

describe('dialog.delete with the dialog gone', () => {
  const goneView = () =>
    new ReadModelView()
      .addUsers([userRow('carl'), userRow('alice')])
      .addMembers([memberRow(DIALOG, 'carl'), memberRow(DIALOG, 'alice'), memberRow(DIALOG, 'dave', { isActive: false })]);

  it('still reaches the active members with a tombstone dialog section', () => {
    const { updates } = expectBuilt(build(makeEvent('dialog.delete'), goneView()));
    expect(updates.map((u) => u.userId)).toEqual(['alice', 'carl']);
    expect(updates[0]!.data).toEqual({
      dialog: { dialogId: DIALOG, tenantId: TENANT, name: null, createdBy: null, createdAt: null, updatedAt: null, meta: {} },
      member: ownMember('alice'),
      context: { eventType: 'dialog.delete', dialogId: DIALOG, entityId: DIALOG, includedSections: ['dialog', 'member'] },
    });
  });

  it('uses the snapshot the producer sent with the delete', () => {
    const event = makeEvent('dialog.delete', { data: { dialog: { dialogId: DIALOG, name: 'Old name', createdBy: 'alice' } } });
    const [alice] = expectBuilt(build(event, goneView())).updates;
    expect(alice!.data.dialog).toMatchObject({ dialogId: DIALOG, name: 'Old name', createdBy: 'alice' });
  });
});

describe('read-model values on the wire', () => {
  it('turns Date timestamps into epoch milliseconds and null meta into {}', () => {
    const view = new ReadModelView()
      .addDialogs([dialogRow(DIALOG, { createdAt: new Date(1_700_000_000_000), updatedAt: null, meta: null, name: null })])
      .addMembers([
        memberRow(DIALOG, 'carl', {
          meta: null,
          unreadCount: null,
          lastSeenAt: new Date(1_700_000_000_500),
          lastMessageAt: null,
          isActive: null,
        }),
      ]);
    const [carl] = expectBuilt(build(makeEvent('dialog.update'), view)).updates;
    expect(carl!.data.dialog).toEqual({
      dialogId: DIALOG,
      tenantId: TENANT,
      name: null,
      createdBy: 'carl',
      createdAt: 1_700_000_000_000,
      updatedAt: null,
      meta: {},
    });
    // A membership row without isActive counts as active (Chat3's default).
    expect(carl!.data.member).toEqual({
      userId: 'carl',
      meta: {},
      state: { unreadCount: 0, lastSeenAt: 1_700_000_000_500, lastMessageAt: null, isActive: true },
    });
  });

  it('keeps tenants apart: members of the same dialogId in another tenant receive nothing', () => {
    const view = standardView().addMembers([{ ...memberRow(DIALOG, 'mallory'), tenantId: 'tnt_other' }]);
    const { updates } = expectBuilt(build(makeEvent('dialog.update'), view));
    expect(updates.map((u) => u.userId)).toEqual(ACTIVE_MEMBERS);
  });
});

describe('dialog.member.add', () => {
  const added = { userId: 'erin', meta: { role: 'guest' }, unreadCount: 0, isActive: true };

  it('goes to the active members and the added one, who appears once even if already active', () => {
    const view = standardView().addMembers([memberRow(DIALOG, 'erin', { meta: { role: 'guest' } })]);
    const { updates } = expectBuilt(build(makeEvent('dialog.member.add', { data: { member: added } }), view));
    expect(updates.map((u) => u.userId)).toEqual([...ACTIVE_MEMBERS, 'erin'].sort());
    expect(new Set(updates.map((u) => u.userId)).size).toBe(updates.length);
  });

  it('reaches the added member even when the read model does not list them yet', () => {
    const { updates } = expectBuilt(build(makeEvent('dialog.member.add', { data: { member: added } })));
    expect(updates.map((u) => u.userId)).toEqual([...ACTIVE_MEMBERS, 'erin']);
    expect(byRecipient(updates).get('erin')!.data.member).toEqual({
      userId: 'erin',
      meta: { role: 'guest' },
      state: { unreadCount: 0, lastSeenAt: null, lastMessageAt: null, isActive: true },
    });
  });

  it('re-adds an inactive member: the one who left hears about coming back', () => {
    const view = standardView();
    const event = makeEvent('dialog.member.add', { data: { member: { userId: 'dave', isActive: true } } });
    const updates = byRecipient(expectBuilt(build(event, view)).updates);
    expect([...updates.keys()]).toEqual([...ACTIVE_MEMBERS, 'dave']);
    expect(updates.get('dave')!.data.member!.state.isActive).toBe(true);
  });

  it('is a DialogUpdate with dialog, the recipient’s own member section and a context naming the member', () => {
    const event = makeEvent('dialog.member.add', { data: { member: added } });
    const updates = byRecipient(expectBuilt(build(event)).updates);
    const carl = updates.get('carl')!;
    expect(carl.updateType).toBe('DialogUpdate');
    expect(carl.routingKey).toBe('update.dialog.user.carl.dialogupdate');
    expect(carl.entityId).toBe(DIALOG);
    expect(carl.data).toEqual({
      dialog: DIALOG_SECTION,
      member: ownMember('carl', 2, { role: 'owner' }),
      context: {
        eventType: 'dialog.member.add',
        dialogId: DIALOG,
        entityId: DIALOG,
        userId: 'erin',
        includedSections: ['dialog', 'member'],
      },
    });
    for (const [userId, u] of updates) {
      expect(u.data.member!.userId).toBe(userId);
      expect(u.data.context.userId).toBe('erin');
    }
  });

  it('finds the member in data.context.userId when there is no member snapshot', () => {
    const view = standardView().addMembers([memberRow(DIALOG, 'erin')]);
    const event = makeEvent('dialog.member.add', { data: { context: { dialogId: DIALOG, userId: 'erin' } } });
    const updates = byRecipient(expectBuilt(build(event, view)).updates);
    expect(updates.has('erin')).toBe(true);
    expect(updates.get('erin')!.data.member).toEqual(ownMember('erin'));
    expect(updates.get('alice')!.data.context.userId).toBe('erin');
  });

  it('finds the member in Chat3’s composite entityId <dialogId>:<userId> when the data names none', () => {
    const view = standardView().addMembers([memberRow(DIALOG, 'erin')]);
    const event = makeEvent('dialog.member.add', {
      entityType: 'dialogMember',
      entityId: `${DIALOG}:erin`,
      data: { context: { dialogId: DIALOG, entityId: `${DIALOG}:erin`, userId: null }, dialog: { dialogId: DIALOG, tenantId: TENANT } },
    });
    const { updates, statsUserIds } = expectBuilt(build(event, view));
    expect(updates.map((u) => u.userId)).toEqual([...ACTIVE_MEMBERS, 'erin'].sort());
    for (const u of updates) expect(u.data.context).toMatchObject({ entityId: DIALOG, userId: 'erin' });
    expect(byRecipient(updates).get('erin')!.data.member).toEqual(ownMember('erin'));
    expect(statsUserIds).toEqual(['erin']);
  });

  it('derives the added member’s stats', () => {
    expect(expectBuilt(build(makeEvent('dialog.member.add', { data: { member: added } }))).statsUserIds).toEqual(['erin']);
  });
});

describe('dialog.member.remove', () => {
  /** After the removal Chat3 has marked alice inactive. */
  const afterRemoval = () =>
    viewWithMembers([
      memberRow(DIALOG, 'carl', { unreadCount: 2, meta: { role: 'owner' } }),
      memberRow(DIALOG, 'alice', { isActive: false, unreadCount: 3 }),
      memberRow(DIALOG, 'bot_123'),
      memberRow(DIALOG, 'dave', { isActive: false }),
    ]);
  const removeAlice = (data: Record<string, unknown> = { member: { userId: 'alice' } }) =>
    makeEvent('dialog.member.remove', { actorId: 'carl', data });

  it('goes to the active members and to the removed one, although no longer active', () => {
    const { updates } = expectBuilt(build(removeAlice(), afterRemoval()));
    expect(updates.map((u) => u.userId)).toEqual(['bot_123', 'carl', 'alice']);
  });

  it('gives the removed member member.state.isActive: false and the others their own active section', () => {
    const updates = byRecipient(expectBuilt(build(removeAlice(), afterRemoval())).updates);
    expect(updates.get('alice')!.data.member).toEqual({
      userId: 'alice',
      meta: { role: 'member' },
      state: { unreadCount: 3, lastSeenAt: T0 - 1000, lastMessageAt: T0 - 2000, isActive: false },
    });
    expect(updates.get('carl')!.data.member).toEqual(ownMember('carl', 2, { role: 'owner' }));
    expect(updates.get('bot_123')!.data.member).toEqual(ownMember('bot_123'));
  });

  it('marks the removed member inactive even when the read model or the snapshot still says active', () => {
    const stillActive = standardView(); // alice is still active here
    const event = removeAlice({ member: { userId: 'alice', state: { isActive: true } } });
    const updates = expectBuilt(build(event, stillActive)).updates;
    expect(updates.filter((u) => u.userId === 'alice')).toHaveLength(1);
    expect(byRecipient(updates).get('alice')!.data.member!.state.isActive).toBe(false);
  });

  it('reaches the removed member named only by Chat3’s composite entityId', () => {
    const event = makeEvent('dialog.member.remove', { entityId: `${DIALOG}:alice`, data: { context: { dialogId: DIALOG } } });
    const updates = byRecipient(expectBuilt(build(event, afterRemoval())).updates);
    expect([...updates.keys()]).toEqual(['bot_123', 'carl', 'alice']);
    expect(updates.get('alice')!.data.member!.state.isActive).toBe(false);
  });

  it('reaches the removed member when Chat3 deleted the membership row', () => {
    const view = viewWithMembers([memberRow(DIALOG, 'carl')]);
    const updates = byRecipient(expectBuilt(build(removeAlice(), view)).updates);
    expect([...updates.keys()]).toEqual(['carl', 'alice']);
    expect(updates.get('alice')!.data.member).toEqual({
      userId: 'alice',
      meta: {},
      state: { unreadCount: 0, lastSeenAt: null, lastMessageAt: null, isActive: false },
    });
  });

  it('is a DialogUpdate whose context names the removed member for every recipient', () => {
    const { updates, statsUserIds } = expectBuilt(build(removeAlice(), afterRemoval()));
    for (const u of updates) {
      expect(u.updateType).toBe('DialogUpdate');
      expect(u.routingKey).toMatch(/\.dialogupdate$/);
      expect(u.data.context).toEqual({
        eventType: 'dialog.member.remove',
        dialogId: DIALOG,
        entityId: DIALOG,
        userId: 'alice',
        includedSections: ['dialog', 'member'],
      });
    }
    expect(statsUserIds).toEqual(['alice']);
  });
});

describe('dialog.member.update', () => {
  it('goes to that member only, as a DialogMemberUpdate', () => {
    const event = makeEvent('dialog.member.update', { data: { member: { userId: 'carl', state: { unreadCount: 0 } } } });
    const { updates, statsUserIds } = expectBuilt(build(event));
    expect(updates).toHaveLength(1);
    const [carl] = updates;
    expect(carl).toMatchObject({
      userId: 'carl',
      updateType: 'DialogMemberUpdate',
      routingKey: 'update.dialog.user.carl.dialogmemberupdate',
      entityId: DIALOG,
      dialogId: DIALOG,
      eventType: 'dialog.member.update',
    });
    expect(carl!.data).toEqual({
      dialog: DIALOG_SECTION,
      member: {
        userId: 'carl',
        meta: { role: 'owner' },
        state: { unreadCount: 0, lastSeenAt: T0 - 1000, lastMessageAt: T0 - 2000, isActive: true },
      },
      context: {
        eventType: 'dialog.member.update',
        dialogId: DIALOG,
        entityId: DIALOG,
        userId: 'carl',
        includedSections: ['dialog', 'member'],
      },
    });
    expect(statsUserIds).toEqual(['carl']);
  });

  it('accepts a snapshot shaped like the read-model row (state fields at the top level)', () => {
    const event = makeEvent('dialog.member.update', {
      data: { member: { userId: 'alice', unreadCount: 7, lastSeenAt: T0, meta: { muted: true } } },
    });
    const [alice] = expectBuilt(build(event)).updates;
    expect(alice!.data.member).toEqual({
      userId: 'alice',
      meta: { muted: true },
      state: { unreadCount: 7, lastSeenAt: T0, lastMessageAt: T0 - 2000, isActive: true },
    });
  });

  it('routes a bot member’s update with the bot type', () => {
    const event = makeEvent('dialog.member.update', { data: { member: { userId: 'bot_123' } } });
    expect(expectBuilt(build(event)).updates[0]!.routingKey).toBe('update.dialog.bot.bot_123.dialogmemberupdate');
  });

  it('accepts the dialog.member.changed alias and stores dialog.member.update', () => {
    const event = makeEvent('dialog.member.changed', { data: { member: { userId: 'carl' } } });
    const [carl] = expectBuilt(build(event)).updates;
    expect(carl!.eventType).toBe('dialog.member.update');
    expect(carl!.updateType).toBe('DialogMemberUpdate');
    expect(carl!.data.context.eventType).toBe('dialog.member.update');
  });
});

describe('snapshot keys: present wins, even null; absent falls back to the read model', () => {
  it('sends dialog.member.update with the snapshot’s lastMessageAt: null although the row has a timestamp (the seed’s example)', () => {
    const seedMember = { userId: 'carl', meta: {}, state: { unreadCount: 0, lastSeenAt: T0, lastMessageAt: null, isActive: true } };
    const [carl] = expectBuilt(build(makeEvent('dialog.member.update', { data: { member: seedMember } }))).updates;
    expect(carl!.data.member).toEqual(seedMember);
  });

  it('reads a null top-level state field of a row-shaped member snapshot the same way', () => {
    const event = makeEvent('dialog.member.update', { data: { member: { userId: 'alice', lastSeenAt: null } } });
    const [alice] = expectBuilt(build(event)).updates;
    expect(alice!.data.member!.state).toEqual({ unreadCount: 0, lastSeenAt: null, lastMessageAt: T0 - 2000, isActive: true });
  });

  it('asks state before the top level: a null in state wins over a timestamp at the top level', () => {
    const event = makeEvent('dialog.member.update', { data: { member: { userId: 'alice', lastSeenAt: T0, state: { lastSeenAt: null } } } });
    expect(expectBuilt(build(event)).updates[0]!.data.member!.state.lastSeenAt).toBeNull();
  });

  it('keeps the row’s values for the state keys a member snapshot leaves out', () => {
    const event = makeEvent('dialog.member.update', { data: { member: { userId: 'carl', state: { lastMessageAt: null } } } });
    const [carl] = expectBuilt(build(event)).updates;
    expect(carl!.data.member).toEqual({
      userId: 'carl',
      meta: { role: 'owner' },
      state: { unreadCount: 2, lastSeenAt: T0 - 1000, lastMessageAt: null, isActive: true },
    });
  });

  it('clears the dialog name for every recipient when dialog.update says name: null', () => {
    const event = makeEvent('dialog.update', { data: { dialog: { dialogId: DIALOG, name: null, updatedAt: null } } });
    for (const u of expectBuilt(build(event)).updates) expect(u.data.dialog).toEqual({ ...DIALOG_SECTION, name: null, updatedAt: null });
  });

  it('keeps the row’s name when the dialog snapshot leaves the key out', () => {
    const event = makeEvent('dialog.update', { data: { dialog: { dialogId: DIALOG, updatedAt: T0 } } });
    expect(expectBuilt(build(event)).updates[0]!.data.dialog).toEqual({ ...DIALOG_SECTION, updatedAt: T0 });
  });

  it('reads null as "not known" for the creation facts: Chat3 sends createdBy: null on member events it did not fill in', () => {
    const chat3Dialog = { dialogId: DIALOG, tenantId: TENANT, createdBy: null, createdAt: null, meta: { topic: 'vip' } };
    const event = makeEvent('dialog.member.add', { data: { dialog: chat3Dialog, member: { userId: 'alice' } } });
    expect(expectBuilt(build(event)).updates[0]!.data.dialog).toEqual(DIALOG_SECTION);
  });

  it('reads null as "not known" where the member section cannot hold it: unreadCount, isActive and meta', () => {
    const event = makeEvent('dialog.member.update', {
      data: { member: { userId: 'carl', meta: null, state: { unreadCount: null, lastSeenAt: null, lastMessageAt: null, isActive: null } } },
    });
    expect(expectBuilt(build(event)).updates[0]!.data.member).toEqual({
      userId: 'carl',
      meta: { role: 'owner' },
      state: { unreadCount: 2, lastSeenAt: null, lastMessageAt: null, isActive: true },
    });
  });

  it('clears meta with an empty object, which is a value, not a null', () => {
    const event = makeEvent('dialog.update', { data: { dialog: { dialogId: DIALOG, meta: {} } } });
    expect(expectBuilt(build(event)).updates[0]!.data.dialog!.meta).toEqual({});
  });
});

describe('dialog.member.* without what they need', () => {
  it.each(['dialog.member.add', 'dialog.member.remove', 'dialog.member.update'])(
    '%s without a member userId fails with a reason naming the missing field',
    (type) => {
      const reason = expectFailed(build(makeEvent(type, { data: { dialog: { dialogId: DIALOG } } })));
      expect(reason).toContain(type);
      expect(reason).toContain('data.member.userId');
    },
  );

  it.each(['dialog.member.add', 'dialog.member.remove', 'dialog.member.update'])(
    '%s whose entityId is the dialog fails naming every field it looked in',
    (type) => {
      const reason = expectFailed(build(makeEvent(type, { entityId: DIALOG, data: { context: { dialogId: DIALOG, userId: null } } })));
      expect(reason).toBe(
        `${type} names no member: data.member.userId and data.context.userId are missing, and entityId ${DIALOG} is not ${DIALOG}:<userId>`,
      );
    },
  );

  it('does not take the actor for the member: on add and remove the actor is whoever acted', () => {
    const reason = expectFailed(build(makeEvent('dialog.member.add', { actorId: 'carl', data: { context: { dialogId: DIALOG } } })));
    expect(reason).toContain('names no member');
  });

  it('does not take a composite entityId of another dialog for the member', () => {
    const event = makeEvent('dialog.member.add', { entityId: 'dlg_2:erin', data: { context: { dialogId: DIALOG } } });
    expect(expectFailed(build(event))).toContain('entityId dlg_2:erin is not dlg_1:<userId>');
  });

  it.each(['dialog.member.add', 'dialog.member.remove', 'dialog.member.update'])(
    '%s fails with a reason when the dialog is unknown and has no snapshot',
    (type) => {
      const reason = expectFailed(build(makeEvent(type, { entityId: 'dlg_gone', data: { member: { userId: 'carl' } } })));
      expect(reason).toContain('dlg_gone');
    },
  );

  it('finds the dialog through the member snapshot’s dialogId', () => {
    const event = makeEvent('dialog.member.update', {
      entityId: 'carl', // some producers put the member here; the snapshot still names the dialog
      data: { member: { userId: 'carl', dialogId: DIALOG } },
    });
    const [carl] = expectBuilt(build(event)).updates;
    expect(carl!.dialogId).toBe(DIALOG);
  });
});
