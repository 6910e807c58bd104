/** SPEC §5 row dialog.typing. */
import { describe, expect, it } from 'vitest';
import { ReadModelView } from './read-model';
import { build, byRecipient, DIALOG, dialogRow, expectBuilt, expectFailed, makeEvent, memberRow, T0, TENANT } from './test-fixtures';

describe('dialog.typing', () => {
  it('goes to every active member except the typist', () => {
    const { updates, statsUserIds } = expectBuilt(build(makeEvent('dialog.typing', { actorId: 'carl' })));
    expect(updates.map((u) => u.userId)).toEqual(['alice', 'bot_123', 'ghost']);
    expect(statsUserIds).toEqual([]);
  });

  it('names the typist from data.typing.userId before actorId', () => {
    const event = makeEvent('dialog.typing', { actorId: 'carl', data: { typing: { userId: 'alice' } } });
    const { updates } = expectBuilt(build(event));
    expect(updates.map((u) => u.userId)).toEqual(['bot_123', 'carl', 'ghost']);
    for (const u of updates) expect(u.data.typing!.userId).toBe('alice');
  });

  it('is a TypingUpdate with dialog, typing, the recipient’s own member section and the context', () => {
    const updates = byRecipient(expectBuilt(build(makeEvent('dialog.typing', { actorId: 'carl' }))).updates);
    const bot = updates.get('bot_123')!;
    expect(bot).toMatchObject({
      updateType: 'TypingUpdate',
      routingKey: 'update.dialog.bot.bot_123.typingupdate',
      entityId: DIALOG,
      dialogId: DIALOG,
      eventType: 'dialog.typing',
    });
    expect(updates.get('alice')!.routingKey).toBe('update.dialog.user.alice.typingupdate');
    expect(bot.data).toEqual({
      dialog: {
        dialogId: DIALOG,
        tenantId: TENANT,
        name: 'VIP чат',
        createdBy: 'carl',
        createdAt: T0 - 3_600_000,
        updatedAt: T0 - 60_000,
        meta: { topic: 'vip' },
      },
      typing: { userId: 'carl', expiresInMs: 5000, timestamp: T0, userInfo: null },
      member: {
        userId: 'bot_123',
        meta: { role: 'member' },
        state: { unreadCount: 0, lastSeenAt: T0 - 1000, lastMessageAt: T0 - 2000, isActive: true },
      },
      context: { eventType: 'dialog.typing', dialogId: DIALOG, entityId: DIALOG, includedSections: ['dialog', 'typing', 'member'] },
    });
  });

  it('defaults expiresInMs to 5000, userInfo to null and timestamp to the event’s createdAt', () => {
    const event = makeEvent('dialog.typing', { actorId: 'carl', createdAt: 1763551369397.6482 });
    const [first] = expectBuilt(build(event)).updates;
    expect(first!.data.typing).toEqual({ userId: 'carl', expiresInMs: 5000, timestamp: 1763551369397.6482, userInfo: null });
  });

  it('keeps what the producer sent in the typing snapshot', () => {
    const userInfo = { name: 'Carl Johnson', avatar: null };
    const event = makeEvent('dialog.typing', {
      actorId: 'carl',
      data: { typing: { userId: 'carl', expiresInMs: 8000, timestamp: T0 + 5, userInfo } },
    });
    const [first] = expectBuilt(build(event)).updates;
    expect(first!.data.typing).toEqual({ userId: 'carl', expiresInMs: 8000, timestamp: T0 + 5, userInfo });
  });

  it('shows the indicator when expiresInMs is a fraction, rounded, instead of dead-lettering the event', () => {
    const event = makeEvent('dialog.typing', { actorId: 'carl', data: { typing: { userId: 'carl', expiresInMs: 2500.5 } } });
    const { updates } = expectBuilt(build(event));
    expect(updates.map((u) => u.userId)).toEqual(['alice', 'bot_123', 'ghost']);
    for (const u of updates) expect(u.data.typing!.expiresInMs).toBe(2501);
  });

  it.each([-1, 0, 'soon', null])('uses expiresInMs 5000 when the snapshot says %j', (expiresInMs) => {
    const event = makeEvent('dialog.typing', { actorId: 'carl', data: { typing: { userId: 'carl', expiresInMs } } });
    expect(expectBuilt(build(event)).updates[0]!.data.typing!.expiresInMs).toBe(5000);
  });

  it('dates the indicator at the event when the snapshot’s timestamp is unreadable or null', () => {
    for (const timestamp of ['not a time', null]) {
      const event = makeEvent('dialog.typing', { actorId: 'carl', createdAt: T0, data: { typing: { userId: 'carl', timestamp } } });
      expect(expectBuilt(build(event)).updates[0]!.data.typing!.timestamp).toBe(T0);
    }
  });

  it('excludes inactive members', () => {
    const { updates } = expectBuilt(build(makeEvent('dialog.typing', { actorId: 'carl' })));
    expect(updates.map((u) => u.userId)).not.toContain('dave');
  });

  it('goes to everyone active when the typist is not a member', () => {
    const { updates } = expectBuilt(build(makeEvent('dialog.typing', { actorId: 'outsider' })));
    expect(updates.map((u) => u.userId)).toEqual(['alice', 'bot_123', 'carl', 'ghost']);
  });

  it('produces nothing when the typist is the only active member', () => {
    const view = new ReadModelView()
      .addDialogs([dialogRow(DIALOG)])
      .addMembers([memberRow(DIALOG, 'carl'), memberRow(DIALOG, 'alice', { isActive: false })]);
    expect(expectBuilt(build(makeEvent('dialog.typing', { actorId: 'carl' }), view)).updates).toEqual([]);
  });

  it('fails with a reason when nobody is named as the typist', () => {
    expect(expectFailed(build(makeEvent('dialog.typing', { actorId: null })))).toMatch(/typist/);
  });

  it('fails with a reason when the dialog is unknown and has no snapshot', () => {
    expect(expectFailed(build(makeEvent('dialog.typing', { entityId: 'dlg_gone' })))).toContain('dlg_gone');
  });
});
