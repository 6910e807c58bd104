/**
 * The SPEC §5 table row by row, as one overview; the per-family files (mapping-dialog, mapping-message,
 * mapping-typing, mapping-user, stats) go into each row's details.
 */
import { describe, expect, it } from 'vitest';
import { buildUpdates, dialogIdOf, memberUserIdOf, messageIdOf, subjectUserIdOf } from './mapping';
import { parseEvent } from './event-schema';
import { partitionOf } from './partition';
import {
  ACTIVE_MEMBERS,
  build,
  buildContext,
  DIALOG,
  eventBody,
  expectBuilt,
  expectFailed,
  makeEvent,
  MESSAGE,
  standardView,
  TENANT,
} from './test-fixtures';

interface Row {
  source: string;
  data?: Record<string, unknown>;
  actorId?: string;
  updateType: string;
  category: 'dialog' | 'user';
  segment: string;
  recipients: string[];
  entityId: string;
  includedSections: string[];
  dataKeys: string[];
}

const dialogRow = (source: string): Row => ({
  source,
  updateType: 'DialogUpdate',
  category: 'dialog',
  segment: 'dialogupdate',
  recipients: ACTIVE_MEMBERS,
  entityId: DIALOG,
  includedSections: ['dialog', 'member'],
  dataKeys: ['context', 'dialog', 'member'],
});

const messageRow = (source: string, data: Record<string, unknown> = {}): Row => ({
  source,
  data,
  updateType: 'MessageUpdate',
  category: 'dialog',
  segment: 'messageupdate',
  recipients: ACTIVE_MEMBERS,
  entityId: MESSAGE,
  includedSections: ['dialog', 'message', 'member'],
  dataKeys: ['context', 'dialog', 'member', 'message'],
});

const userRow = (source: string): Row => ({
  source,
  updateType: 'UserUpdate',
  category: 'user',
  segment: 'userupdate',
  recipients: ['carl'],
  entityId: 'carl',
  includedSections: ['user'],
  dataKeys: ['context', 'user'],
});

const TABLE: Row[] = [
  dialogRow('dialog.create'),
  dialogRow('dialog.update'),
  dialogRow('dialog.delete'),
  { ...dialogRow('dialog.member.add'), data: { member: { userId: 'erin' } }, recipients: [...ACTIVE_MEMBERS, 'erin'] },
  { ...dialogRow('dialog.member.remove'), data: { member: { userId: 'alice' } } },
  {
    ...dialogRow('dialog.member.update'),
    data: { member: { userId: 'carl' } },
    updateType: 'DialogMemberUpdate',
    segment: 'dialogmemberupdate',
    recipients: ['carl'],
  },
  messageRow('message.create'),
  messageRow('message.update'),
  {
    ...messageRow('message.status.update', { statusUpdate: { userId: 'alice', status: 'read' } }),
    includedSections: ['dialog', 'message', 'statusUpdate'],
    dataKeys: ['context', 'dialog', 'message'],
  },
  {
    ...messageRow('message.reaction.update', { reactionUpdate: { userId: 'alice', reaction: '👍' } }),
    includedSections: ['dialog', 'message', 'reactionUpdate'],
    dataKeys: ['context', 'dialog', 'message'],
  },
  {
    source: 'dialog.typing',
    actorId: 'carl',
    updateType: 'TypingUpdate',
    category: 'dialog',
    segment: 'typingupdate',
    recipients: ['alice', 'bot_123', 'ghost'],
    entityId: DIALOG,
    includedSections: ['dialog', 'typing', 'member'],
    dataKeys: ['context', 'dialog', 'member', 'typing'],
  },
  userRow('user.add'),
  userRow('user.update'),
  userRow('user.remove'),
];

describe('SPEC §5: event → Update mapping', () => {
  it('covers every source type of the seed table', () => {
    expect(TABLE.map((r) => r.source)).toHaveLength(14);
  });

  describe.each(TABLE)('$source', (row) => {
    const event = makeEvent(row.source, { data: row.data ?? {}, actorId: row.actorId ?? 'carl' });
    const { updates } = expectBuilt(build(event));

    it(`goes to ${row.recipients.join(', ')}`, () => {
      expect(updates.map((u) => u.userId)).toEqual(row.recipients);
    });

    it(`is a ${row.updateType} in category ${row.category}, segment ${row.segment}`, () => {
      for (const u of updates) {
        expect(u.updateType).toBe(row.updateType);
        const expectedType = u.userId === 'bot_123' ? 'bot' : 'user';
        expect(u.userType).toBe(expectedType);
        expect(u.routingKey).toBe(`update.${row.category}.${expectedType}.${u.userId}.${row.segment}`);
      }
    });

    it(`is keyed by entityId ${row.entityId} and keeps the source eventType and eventId`, () => {
      for (const u of updates) {
        expect(u.entityId).toBe(row.entityId);
        expect(u.eventType).toBe(row.source);
        expect(u.eventId).toBe(event.eventId);
        expect(u.tenantId).toBe(TENANT);
        expect(u.partition).toBe(partitionOf(TENANT, u.userId));
        expect(u.published).toBe(false);
        expect(u.publishedAt).toBeNull();
      }
    });

    it(`carries ${row.dataKeys.join(', ')} with includedSections ${JSON.stringify(row.includedSections)}`, () => {
      for (const u of updates) {
        expect(Object.keys(u.data).sort()).toEqual(row.dataKeys);
        expect(u.data.context.includedSections).toEqual(row.includedSections);
        expect(u.data.context.eventType).toBe(row.source);
        expect(u.data.context.entityId).toBe(row.entityId);
      }
    });

    it('lists in includedSections only sections that are present (statusUpdate/reactionUpdate live in message)', () => {
      for (const u of updates) {
        for (const section of u.data.context.includedSections) {
          if (section === 'statusUpdate' || section === 'reactionUpdate') {
            expect(u.data.message).toHaveProperty(section);
          } else {
            expect(u.data).toHaveProperty(section);
          }
        }
      }
    });

    it('gives the Updates strictly increasing createdAt in array order', () => {
      for (let i = 1; i < updates.length; i++) expect(updates[i]!.createdAt).toBeGreaterThan(updates[i - 1]!.createdAt);
    });
  });
});

describe('*.changed aliases', () => {
  it.each([
    ['dialog.changed', 'dialog.update', {}],
    ['message.changed', 'message.update', {}],
    ['message.status.changed', 'message.status.update', { statusUpdate: { userId: 'alice', status: 'read' } }],
    ['message.reaction.changed', 'message.reaction.update', { reactionUpdate: { userId: 'alice', reaction: '👍' } }],
    ['dialog.member.changed', 'dialog.member.update', { member: { userId: 'carl' } }],
    ['user.changed', 'user.update', {}],
  ])('%s is stored as %s on every Update and in its context', (alias, seedName, data) => {
    const { updates } = expectBuilt(build(makeEvent(alias, { data })));
    expect(updates.length).toBeGreaterThan(0);
    for (const u of updates) {
      expect(u.eventType).toBe(seedName);
      expect(u.data.context.eventType).toBe(seedName);
    }
  });
});

describe('buildUpdates on events it cannot map', () => {
  it('fails with a reason for a type that produces no Update', () => {
    const parsed = parseEvent(JSON.stringify(eventBody('message.delete')), { maxBytes: 10_000 });
    if (!parsed.ok) throw new Error(parsed.detail);
    expect(expectFailed(buildUpdates(parsed.event, buildContext()))).toContain('message.delete');
  });

  it('does not touch the clock when it fails', () => {
    let ticks = 0;
    const ctx = { view: standardView(), clock: () => ++ticks };
    buildUpdates(makeEvent('dialog.update', { entityId: 'dlg_gone' }), ctx);
    expect(ticks).toBe(0);
  });
});

describe('where an event points', () => {
  it('finds a dialog event’s dialog in the snapshot, the context, the member snapshot, then entityId', () => {
    expect(dialogIdOf(makeEvent('dialog.update', { entityId: 'dlg_e', data: { dialog: { dialogId: 'dlg_d' } } }))).toBe('dlg_d');
    expect(dialogIdOf(makeEvent('dialog.update', { entityId: 'dlg_e', data: { context: { dialogId: 'dlg_c' } } }))).toBe('dlg_c');
    expect(dialogIdOf(makeEvent('dialog.member.add', { entityId: 'dlg_e', data: { member: { userId: 'u', dialogId: 'dlg_m' } } }))).toBe(
      'dlg_m',
    );
    expect(dialogIdOf(makeEvent('dialog.typing', { entityId: 'dlg_e' }))).toBe('dlg_e');
  });

  it('finds a message event’s dialog in the message snapshot, the context, the dialog snapshot, then the read model', () => {
    expect(dialogIdOf(makeEvent('message.create', { data: { message: { dialogId: 'dlg_s' } } }))).toBe('dlg_s');
    expect(dialogIdOf(makeEvent('message.create', { data: { context: { dialogId: 'dlg_c' } } }))).toBe('dlg_c');
    expect(dialogIdOf(makeEvent('message.create', { data: { dialog: { dialogId: 'dlg_d' } } }))).toBe('dlg_d');
    expect(dialogIdOf(makeEvent('message.create'), standardView())).toBe(DIALOG);
    expect(dialogIdOf(makeEvent('message.create'))).toBeNull();
  });

  it('asks the next source when a snapshot id is null (Chat3 fills the ids it does not know with null)', () => {
    const nulls = { context: { dialogId: null, messageId: null, userId: null } };
    expect(dialogIdOf(makeEvent('dialog.update', { entityId: 'dlg_e', data: { ...nulls, dialog: { dialogId: null } } }))).toBe('dlg_e');
    expect(
      dialogIdOf(makeEvent('message.create', { data: { ...nulls, message: { dialogId: null }, dialog: { dialogId: 'dlg_d' } } })),
    ).toBe('dlg_d');
    expect(messageIdOf(makeEvent('message.update', { entityId: 'msg_e', data: { ...nulls, message: { messageId: null } } }))).toBe('msg_e');
    expect(memberUserIdOf(makeEvent('dialog.member.update', { data: { ...nulls, member: { userId: 'erin' } } }))).toBe('erin');
    expect(subjectUserIdOf(makeEvent('user.update', { entityId: 'carl', data: { ...nulls, user: { userId: null } } }))).toBe('carl');
  });

  it('builds a dialog event shaped the way Chat3 composes it, null ids and all', () => {
    const event = makeEvent('dialog.update', {
      data: {
        context: {
          version: 2,
          eventType: 'dialog.update',
          dialogId: DIALOG,
          entityId: DIALOG,
          messageId: null,
          userId: null,
          updatedFields: [],
        },
        dialog: { dialogId: DIALOG, tenantId: TENANT, meta: { topic: 'vip' } },
      },
    });
    expect(expectBuilt(build(event)).updates.map((u) => u.userId)).toEqual(ACTIVE_MEMBERS);
  });

  it('gives user events no dialog', () => {
    expect(dialogIdOf(makeEvent('user.update', { data: { context: { dialogId: 'dlg_c' } } }))).toBeNull();
  });

  it('names the message, the member and the user an event is about', () => {
    expect(messageIdOf(makeEvent('message.update', { entityId: 'msg_e' }))).toBe('msg_e');
    expect(messageIdOf(makeEvent('message.update', { entityId: 'msg_e', data: { context: { messageId: 'msg_c' } } }))).toBe('msg_c');
    expect(memberUserIdOf(makeEvent('dialog.member.add', { data: { member: { userId: 'erin' } } }))).toBe('erin');
    expect(memberUserIdOf(makeEvent('dialog.member.add', { data: { context: { userId: 'erin' } } }))).toBe('erin');
    expect(memberUserIdOf(makeEvent('dialog.member.add'))).toBeNull();
    const chat3 = { context: { dialogId: DIALOG, userId: null } };
    expect(memberUserIdOf(makeEvent('dialog.member.add', { entityId: `${DIALOG}:erin`, data: chat3 }))).toBe('erin');
    expect(memberUserIdOf(makeEvent('dialog.member.add', { entityId: `${DIALOG}:a:b`, data: chat3 }))).toBe('a:b');
    expect(memberUserIdOf(makeEvent('dialog.member.add', { entityId: 'dlg_2:erin', data: chat3 }))).toBeNull();
    expect(memberUserIdOf(makeEvent('dialog.member.add', { entityId: `${DIALOG}:`, data: chat3 }))).toBeNull();
    expect(memberUserIdOf(makeEvent('dialog.member.add', { entityId: `${DIALOG}:erin` }))).toBeNull(); // the dialog is entityId itself
    expect(
      memberUserIdOf(makeEvent('dialog.member.add', { entityId: `${DIALOG}:erin`, data: { ...chat3, member: { userId: 'fay' } } })),
    ).toBe('fay');
    expect(subjectUserIdOf(makeEvent('user.add', { entityId: 'carl' }))).toBe('carl');
  });
});

describe('routing-key scope (ROUTING_KEY_SCOPE)', () => {
  it('uses the seed’s format unless told otherwise', () => {
    const { updates } = expectBuilt(build(makeEvent('message.create')));
    for (const u of updates) expect(u.routingKey).toBe(`update.dialog.${u.userType}.${u.userId}.messageupdate`);
  });

  it('puts the tenant into every key with scope tenant', () => {
    const { updates } = expectBuilt(buildUpdates(makeEvent('message.create'), { ...buildContext(), routingKeyScope: 'tenant' }));
    expect(updates.length).toBeGreaterThan(0);
    for (const u of updates) expect(u.routingKey).toBe(`update.dialog.${TENANT}.${u.userType}.${u.userId}.messageupdate`);
  });
});
