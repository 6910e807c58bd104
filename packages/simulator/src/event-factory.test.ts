import { parseEvent } from '@chat3/core';
import { describe, expect, it } from 'vitest';
import { decorateEvent, encodeEvent, eventIdOf, eventRoutingKey, type EventBody } from './event-factory';
import { createRandom } from './prng';
import { publishOptionsFor } from './publisher';

const body: EventBody = {
  eventId: 'evt_0123456789abcdef0123456789abcdef',
  tenantId: 'tnt_default',
  eventType: 'message.status.update',
  entityType: 'message',
  entityId: 'msg_1',
  actorId: 'a.b',
  actorType: 'user',
  data: {
    statusUpdate: { userId: 'a.b', status: 'read', readAt: 1.5, createdAt: 1.5 },
    context: { dialogId: 'dlg_1', messageId: 'msg_1' },
  },
  createdAt: 1763551369397.648,
};

describe('event bodies', () => {
  it('route as {entityType}.{action}.{tenantId}', () => {
    expect(eventRoutingKey(body)).toBe('message.status.update.tnt_default');
    expect(eventRoutingKey({ eventType: 'dialog.member.add', tenantId: 't' })).toBe('dialog.member.add.t');
  });

  it('publish persistent JSON with the event id as messageId', () => {
    expect(publishOptionsFor(body)).toEqual({
      persistent: true,
      contentType: 'application/json',
      messageId: body.eventId,
      type: 'message.status.update',
      timestamp: 1763551369,
    });
    expect(JSON.parse(encodeEvent(body).toString())).toEqual(body);
  });

  it('decorate into the *.changed alias and the legacy _id body, both of which core accepts', () => {
    const always = decorateEvent(body, createRandom(1), { alias: 1, legacy: 1 });
    expect(always.eventType).toBe('message.status.changed');
    expect(always.eventId).toBeUndefined();
    expect(always._id).toMatch(/^[0-9a-f]{24}$/);
    expect(eventIdOf(always)).toBe(always._id);
    const parsed = parseEvent(encodeEvent(always), { maxBytes: 1 << 20 });
    expect(parsed.ok && parsed.event.eventType).toBe('message.status.update');
    expect(parsed.ok && parsed.event.eventId).toBe(always._id);
    expect(decorateEvent(body, createRandom(1), { alias: 0, legacy: 0 })).toBe(body);
  });

  it('only alias types that end in .update', () => {
    const create = decorateEvent({ ...body, eventType: 'message.create' }, createRandom(1), { alias: 1, legacy: 0 });
    expect(create.eventType).toBe('message.create');
  });
});
