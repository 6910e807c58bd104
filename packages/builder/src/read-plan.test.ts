import { ReadModelView, parseEvent, type ChatEvent } from '@chat3/core';
import { describe, expect, it } from 'vitest';
import { byTenantFilter, dialogsToLoad, messagesToLoad, usersToLoad } from './read-plan';

function event(over: Record<string, unknown>): ChatEvent {
  const parsed = parseEvent(JSON.stringify({ eventId: 'evt_1', tenantId: 't1', entityId: 'dlg_1', data: {}, createdAt: 1, ...over }), {
    maxBytes: 10_000,
  });
  if (!parsed.ok) throw new Error(parsed.detail);
  return parsed.event;
}

describe('read plan', () => {
  it('loads messages first, then the dialogs they belong to, then everyone involved', () => {
    const events = [
      event({ eventType: 'message.update', entityId: 'msg_1', actorId: 'carl' }),
      event({ eventType: 'dialog.typing', entityId: 'dlg_2', data: { typing: { userId: 'dana' } } }),
      event({ eventType: 'user.update', tenantId: 't2', entityId: 'erin' }),
    ];
    const { messages, statuses } = messagesToLoad(events);
    expect(messages).toEqual(new Map([['t1', new Set(['msg_1'])]]));
    expect(statuses).toEqual(new Map([['t1', new Set(['msg_1'])]]));

    const view = new ReadModelView().addMessages([{ tenantId: 't1', dialogId: 'dlg_1', messageId: 'msg_1', senderId: 'bob' }]);
    expect(dialogsToLoad(events, view)).toEqual(new Map([['t1', new Set(['dlg_1', 'dlg_2'])]]));

    view.addMembers([
      { tenantId: 't1', dialogId: 'dlg_1', userId: 'alice' },
      { tenantId: 't1', dialogId: 'dlg_2', userId: 'frank' },
    ]);
    const users = usersToLoad(events, view);
    expect([...users.get('t1')!].sort()).toEqual(['alice', 'bob', 'carl', 'dana', 'frank']);
    expect(users.get('t2')).toEqual(new Set(['erin']));
  });

  it('builds one $in per tenant', () => {
    expect(byTenantFilter('userId', new Map([['t1', new Set(['a', 'b'])]]))).toEqual({ tenantId: 't1', userId: { $in: ['a', 'b'] } });
    expect(
      byTenantFilter(
        'userId',
        new Map([
          ['t1', new Set(['a'])],
          ['t2', new Set(['b'])],
        ]),
      ),
    ).toEqual({
      $or: [
        { tenantId: 't1', userId: { $in: ['a'] } },
        { tenantId: 't2', userId: { $in: ['b'] } },
      ],
    });
    expect(byTenantFilter('userId', new Map())).toBeNull();
  });
});
