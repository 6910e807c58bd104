/** Where a body enters the SDK: what counts as an Update, and whose it is. */
import { toWireMessage, type UpdateDocument } from '@chat3/core';
import { describe, expect, it } from 'vitest';
import { classifyUpdate, parseUpdateMessage } from './update-body';

const me = { tenantId: 't1', userId: 'carl' };
const doc = (over: Partial<UpdateDocument<string>> = {}): UpdateDocument<string> => ({
  _id: 'a'.repeat(24),
  tenantId: 't1',
  userId: 'carl',
  userType: 'user',
  entityId: 'dlg',
  eventId: 'evt',
  eventType: 'message.create',
  dialogId: 'dlg',
  updateType: 'MessageUpdate',
  routingKey: 'update.dialog.user.carl.messageupdate',
  partition: 3,
  data: { context: { eventType: 'message.create', entityId: 'dlg', includedSections: [] } },
  published: true,
  publishedAt: 1,
  createdAt: 2,
  eventCreatedAt: 1,
  statsVersion: 0,
  ...over,
});

describe('parseUpdateMessage', () => {
  it('takes a wire body with seq as sequenced, exactly as toWireMessage built it', () => {
    const parsed = parseUpdateMessage(toWireMessage(doc({ seq: 7 })).body, me);
    expect(parsed.kind).toBe('sequenced');
    if (parsed.kind !== 'sequenced') return;
    expect(parsed.update.seq).toBe(7);
    expect(parsed.update).not.toHaveProperty('partition');
    expect(parsed.update.data.context.eventType).toBe('message.create');
  });

  it('takes a body without seq as unsequenced', () => {
    expect(parseUpdateMessage(toWireMessage(doc()).body, me).kind).toBe('unsequenced');
  });

  it('tells another tenant’s or user’s Update apart (tenants share seed queues)', () => {
    expect(parseUpdateMessage(toWireMessage(doc({ seq: 1, tenantId: 't2' })).body, me)).toMatchObject({
      kind: 'foreign',
      reason: expect.stringContaining('t2'),
    });
    expect(parseUpdateMessage(toWireMessage(doc({ seq: 1, userId: 'dana' })).body, me).kind).toBe('foreign');
  });

  it.each([
    ['not JSON', Buffer.from('{oops'), /not JSON/],
    ['an array', Buffer.from('[]'), /not an Update/],
    ['seq 0', Buffer.from(JSON.stringify({ ...JSON.parse(toWireMessage(doc()).body.toString()), seq: 0 })), /seq/],
    ['seq 1.5', Buffer.from(JSON.stringify({ ...JSON.parse(toWireMessage(doc()).body.toString()), seq: 1.5 })), /seq/],
    ['seq as text', Buffer.from(JSON.stringify({ ...JSON.parse(toWireMessage(doc()).body.toString()), seq: '3' })), /seq/],
    [
      'an unknown updateType',
      Buffer.from(JSON.stringify({ ...JSON.parse(toWireMessage(doc()).body.toString()), updateType: 'X' })),
      /updateType/,
    ],
    ['no data.context', Buffer.from(JSON.stringify({ ...JSON.parse(toWireMessage(doc()).body.toString()), data: {} })), /context/],
  ])('calls %s malformed, saying why', (_, body, reason) => {
    const parsed = parseUpdateMessage(body, me);
    expect(parsed.kind).toBe('malformed');
    if (parsed.kind === 'malformed') expect(parsed.reason).toMatch(reason);
  });

  it('classifies an already decoded API body the same way', () => {
    expect(classifyUpdate(JSON.parse(toWireMessage(doc({ seq: 2 })).body.toString()), me).kind).toBe('sequenced');
    expect(classifyUpdate(null, me).kind).toBe('malformed');
  });
});
