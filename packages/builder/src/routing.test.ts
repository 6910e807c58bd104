import { parseEvent } from '@chat3/core';
import { describe, expect, it } from 'vitest';
import { partitionAfterLookup, partitionKeyOf, partitionOfKey, routeEvent } from './routing';

const body = (over: Record<string, unknown>) =>
  JSON.stringify({ eventId: 'evt_' + 'a'.repeat(32), tenantId: 't1', entityId: 'dlg_1', data: {}, createdAt: 1, ...over });
const parse = (over: Record<string, unknown>) => parseEvent(body(over), { maxBytes: 10_000 });

describe('routeEvent', () => {
  it('sends every event of one dialog to the same partition, whatever its type', () => {
    const partitions = new Set(
      [
        parse({ eventType: 'dialog.update', entityId: 'dlg_42' }),
        parse({ eventType: 'dialog.member.add', entityId: 'dlg_42', data: { member: { userId: 'u1' } } }),
        parse({ eventType: 'message.create', entityId: 'msg_1', data: { message: { dialogId: 'dlg_42' } } }),
        parse({ eventType: 'message.status.update', entityId: 'msg_1', data: { context: { dialogId: 'dlg_42' } } }),
        parse({ eventType: 'dialog.typing', entityId: 'dlg_42', actorId: 'u1' }),
      ].map((p) => JSON.stringify(routeEvent(p, 8))),
    );
    expect(partitions.size).toBe(1);
    expect(JSON.parse([...partitions][0]!)).toMatchObject({ action: 'forward' });
  });

  it('keys user events by the user', () => {
    const a = parse({ eventType: 'user.update', entityId: 'carl' });
    expect(a.ok && partitionKeyOf(a.event)).toEqual(['t1', 'user', 'carl']);
  });

  it('asks for a lookup when a message event names no dialog', () => {
    expect(routeEvent(parse({ eventType: 'message.update', entityId: 'msg_9' }), 8)).toEqual({
      action: 'lookup',
      tenantId: 't1',
      messageId: 'msg_9',
    });
    expect(partitionAfterLookup('t1', 'msg_9', 'dlg_42', 8)).toBe(partitionOfKey(['t1', 'dialog', 'dlg_42'], 8));
  });

  it('acknowledges types that produce no Update, with the reason', () => {
    expect(routeEvent(parse({ eventType: 'message.delete', entityId: 'msg_1' }), 8)).toEqual({
      action: 'ignore',
      eventType: 'message.delete',
      reason: 'no-update-type',
    });
    expect(routeEvent(parse({ eventType: 'dialog.archived', entityId: 'dlg_1' }), 8)).toMatchObject({ reason: 'unknown-type' });
  });

  it('dead-letters bad input with the reason', () => {
    expect(routeEvent(parseEvent('{', { maxBytes: 100 }), 8)).toMatchObject({ action: 'dead-letter', reason: 'not-json' });
    expect(routeEvent(parse({ tenantId: undefined, eventType: 'dialog.update' }), 8)).toMatchObject({
      action: 'dead-letter',
      reason: 'schema',
      detail: expect.stringContaining('tenantId'),
    });
  });

  it('keeps tenants apart: the same dialog id in two tenants is two keys', () => {
    const a = parse({ eventType: 'dialog.update', tenantId: 'ta' });
    const b = parse({ eventType: 'dialog.update', tenantId: 'tb' });
    expect(a.ok && b.ok && partitionKeyOf(a.event)).not.toEqual(b.ok && partitionKeyOf(b.event));
  });
});
