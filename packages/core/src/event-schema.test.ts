import { describe, expect, it } from 'vitest';
import { ADVISORY_FIELDS, DEFAULT_TYPING_EXPIRES_MS, parseEvent, type ParsedEvent } from './event-schema';
import { eventBody, T0 } from './test-fixtures';

const LIMIT = { maxBytes: 64 * 1024 };
const parse = (body: unknown, options = LIMIT): ParsedEvent => parseEvent(JSON.stringify(body), options);

function expectOk(result: ParsedEvent) {
  if (!result.ok) throw new Error(`expected ok, got ${result.reason}: ${result.detail}`);
  return result;
}

function expectBad(result: ParsedEvent) {
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.event)}`);
  return result;
}

const validBody = {
  eventId: 'evt_0123456789abcdef0123456789abcdef',
  tenantId: 'tnt_default',
  eventType: 'message.create',
  entityType: 'message',
  entityId: 'msg_1',
  actorId: 'carl',
  actorType: 'user',
  data: {
    message: { messageId: 'msg_1', dialogId: 'dlg_1', senderId: 'carl', type: 'internal.text', content: 'Hello!' },
    context: { dialogId: 'dlg_1', messageId: 'msg_1' },
  },
  createdAt: 1763551369397.6482,
};

describe('parseEvent: valid bodies', () => {
  it('parses a complete Chat3 body into a ChatEvent', () => {
    const result = expectOk(parse(validBody));
    expect(result.class).toEqual({ kind: 'update', eventType: 'message.create' });
    expect(result.event).toMatchObject({
      eventId: 'evt_0123456789abcdef0123456789abcdef',
      tenantId: 'tnt_default',
      eventType: 'message.create',
      entityType: 'message',
      entityId: 'msg_1',
      actorId: 'carl',
      actorType: 'user',
      createdAt: 1763551369397.6482,
    });
    expect(result.event.data.message).toMatchObject({ messageId: 'msg_1', dialogId: 'dlg_1', content: 'Hello!' });
    expect(result.event.data.context).toMatchObject({ dialogId: 'dlg_1', messageId: 'msg_1' });
  });

  it('accepts a Buffer body as it comes off the AMQP channel', () => {
    const result = expectOk(parseEvent(Buffer.from(JSON.stringify(validBody)), LIMIT));
    expect(result.event.eventId).toBe(validBody.eventId);
  });

  it('keeps the microsecond fraction of createdAt', () => {
    expect(expectOk(parse(validBody)).event.createdAt).toBe(1763551369397.6482);
  });

  it('accepts a 24-hex ObjectId eventId from older producers', () => {
    const result = expectOk(parse({ ...validBody, eventId: '65a1b2c3d4e5f60718293a4b' }));
    expect(result.event.eventId).toBe('65a1b2c3d4e5f60718293a4b');
  });

  it('takes the eventId from a legacy body that carries only a string _id', () => {
    const { eventId: _drop, ...legacy } = validBody;
    const result = expectOk(parse({ ...legacy, _id: '65a1b2c3d4e5f60718293a4b' }));
    expect(result.event.eventId).toBe('65a1b2c3d4e5f60718293a4b');
  });

  it('takes the eventId from a legacy body whose _id is an EJSON {$oid}', () => {
    const { eventId: _drop, ...legacy } = validBody;
    const result = expectOk(parse({ ...legacy, _id: { $oid: '65a1b2c3d4e5f60718293a4b' } }));
    expect(result.event.eventId).toBe('65a1b2c3d4e5f60718293a4b');
  });

  it('accepts an EJSON {$oid} eventId', () => {
    const result = expectOk(parse({ ...validBody, eventId: { $oid: '65a1b2c3d4e5f60718293a4b' } }));
    expect(result.event.eventId).toBe('65a1b2c3d4e5f60718293a4b');
  });

  it('prefers eventId over _id when a body carries both', () => {
    const result = expectOk(parse({ ...validBody, _id: '65a1b2c3d4e5f60718293a4b' }));
    expect(result.event.eventId).toBe(validBody.eventId);
  });

  it('reads an ISO createdAt as epoch milliseconds', () => {
    const result = expectOk(parse({ ...validBody, createdAt: '2025-11-19T11:09:29.397Z' }));
    expect(result.event.createdAt).toBe(Date.parse('2025-11-19T11:09:29.397Z'));
  });

  it('reads a numeric-string createdAt without losing the fraction', () => {
    const result = expectOk(parse({ ...validBody, createdAt: '1763551369397.6482' }));
    expect(result.event.createdAt).toBe(1763551369397.6482);
  });

  it('reads an EJSON {$date} createdAt given as a number, an ISO string or canonical {$numberLong}', () => {
    expect(expectOk(parse({ ...validBody, createdAt: { $date: 1763551369397 } })).event.createdAt).toBe(1763551369397);
    expect(expectOk(parse({ ...validBody, createdAt: { $date: { $numberLong: '1763551369397' } } })).event.createdAt).toBe(1763551369397);
    expect(expectOk(parse({ ...validBody, createdAt: { $date: '2025-11-19T11:09:29.397Z' } })).event.createdAt).toBe(
      Date.parse('2025-11-19T11:09:29.397Z'),
    );
  });

  it('reads timestamps inside snapshots the same way as the top-level createdAt', () => {
    const result = expectOk(
      parse({
        ...validBody,
        eventType: 'dialog.update',
        data: { dialog: { dialogId: 'dlg_1', createdAt: '1763551369397.6482', updatedAt: { $date: '2025-11-19T11:09:29.397Z' } } },
      }),
    );
    expect(result.event.data.dialog?.createdAt).toBe(1763551369397.6482);
    expect(result.event.data.dialog?.updatedAt).toBe(Date.parse('2025-11-19T11:09:29.397Z'));
  });

  it('keeps an absent snapshot field absent and a null one null, in every snapshot', () => {
    const data = {
      dialog: { dialogId: 'dlg_1', name: null, updatedAt: null },
      member: { userId: 'carl', lastSeenAt: null, state: { lastMessageAt: null, unreadCount: 3 } },
      message: { messageId: 'msg_1', senderId: null, content: null, createdAt: null },
      user: { userId: 'carl', type: null, createdAt: null },
      typing: { userId: 'carl', timestamp: null, userInfo: null },
      statusUpdate: { userId: 'alice', status: 'read', readAt: null },
      reaction: { reaction: '👍', createdAt: null },
      context: { dialogId: 'dlg_1', updatedFields: null },
    };
    const result = expectOk(parse({ ...validBody, data }));
    expect(result.event.data).toStrictEqual(data);
  });

  it('treats absent and null data as no snapshots at all', () => {
    const { data: _drop, ...noData } = validBody;
    expect(expectOk(parse(noData)).event.data).toEqual({});
    expect(expectOk(parse({ ...validBody, data: null })).event.data).toEqual({});
  });

  it('defaults the optional actor and entityType fields to null', () => {
    const { actorId: _a, actorType: _b, entityType: _c, ...bare } = validBody;
    const result = expectOk(parse(bare));
    expect(result.event).toMatchObject({ actorId: null, actorType: null, entityType: null });
  });

  it('keeps fields of snapshots it does not know (loose objects)', () => {
    const result = expectOk(parse({ ...validBody, data: { ...validBody.data, message: { ...validBody.data.message, extra: 42 } } }));
    expect(result.event.data.message).toMatchObject({ extra: 42 });
  });

  it('accepts the §5 message section as a snapshot, with statusUpdate or reactionUpdate inside', () => {
    const status = expectOk(
      parse({
        ...validBody,
        eventType: 'message.status.update',
        data: { message: { messageId: 'msg_1', statusUpdate: { status: 'read', readAt: '1763551369397.6482' }, statusMessageMatrix: [] } },
      }),
    );
    expect(status.event.data.message?.statusUpdate).toStrictEqual({ status: 'read', readAt: 1763551369397.6482 });
    const reaction = expectOk(
      parse({ ...validBody, eventType: 'message.reaction.update', data: { message: { reactionUpdate: { userId: 'a', reaction: '👍' } } } }),
    );
    expect(reaction.event.data.message?.reactionUpdate).toStrictEqual({ userId: 'a', reaction: '👍' });
  });

  it('stores the seed name for a *.changed alias', () => {
    const result = expectOk(parse({ ...validBody, eventType: 'message.status.changed' }));
    expect(result.event.eventType).toBe('message.status.update');
    expect(result.class).toEqual({ kind: 'update', eventType: 'message.status.update' });
  });
});

describe('parseEvent: ids and sections that are null', () => {
  /** `data` as Chat3's own eventUtils composes it for a dialog event: every id it does not know is null. */
  const chat3DialogData = {
    context: {
      version: 2,
      eventType: 'dialog.update',
      dialogId: 'dlg_1',
      entityId: 'dlg_1',
      messageId: null,
      userId: null,
      includedSections: ['dialog'],
      updatedFields: ['dialog.name'],
    },
    dialog: { dialogId: 'dlg_1', tenantId: null, meta: {} },
  };

  it('accepts the null ids Chat3 sends for what an event is not about, as "not named"', () => {
    const result = expectOk(parse({ ...validBody, eventType: 'dialog.update', entityId: 'dlg_1', data: chat3DialogData }));
    expect(result.event.data.context).toMatchObject({ dialogId: 'dlg_1', messageId: null, userId: null });
    expect(result.event.data.dialog).toMatchObject({ dialogId: 'dlg_1', tenantId: null });
  });

  it('accepts null ids in the message, typing, user and member snapshots and a null updatedFields', () => {
    const data = {
      context: { dialogId: null, messageId: null, userId: null, updatedFields: null },
      message: { messageId: null, dialogId: null },
      typing: { userId: null },
      user: { userId: null },
      member: { userId: 'carl', dialogId: null, state: null },
      reactionUpdate: { userId: null, reaction: '👍' },
    };
    const result = expectOk(parse({ ...validBody, data }));
    expect(result.event.data.context).toEqual({ dialogId: null, messageId: null, userId: null, updatedFields: null });
    expect(result.event.data.member).toMatchObject({ userId: 'carl', dialogId: null, state: null });
  });

  it('treats a null section as no snapshot', () => {
    const data = { context: null, dialog: null, member: null, message: null, typing: null, user: null, statusUpdate: null, reaction: null };
    const result = expectOk(parse({ ...validBody, data }));
    for (const section of Object.keys(data)) expect(result.event.data[section as keyof typeof data]).toBeNull();
  });

  it('still requires the member snapshot to name its member', () => {
    const result = expectBad(parse({ ...validBody, eventType: 'dialog.member.add', data: { member: { userId: null } } }));
    expect(result.detail).toMatch(/^data\.member\.userId: /);
  });
});

describe('parseEvent: advisory typing fields are corrected, not rejected', () => {
  const typing = (fields: Record<string, unknown>) =>
    expectOk(parse({ ...validBody, eventType: 'dialog.typing', entityId: 'dlg_1', data: { typing: { userId: 'carl', ...fields } } }));

  it('reports no correction for a body that needs none', () => {
    expect(expectOk(parse(validBody)).corrections).toEqual([]);
    const fine = typing({ expiresInMs: 8000, timestamp: '2025-11-19T11:09:29.397Z', userInfo: { name: 'Carl' } });
    expect(fine.corrections).toEqual([]);
    expect(fine.event.data.typing).toEqual({
      userId: 'carl',
      expiresInMs: 8000,
      timestamp: Date.parse('2025-11-19T11:09:29.397Z'),
      userInfo: { name: 'Carl' },
    });
  });

  it('rounds a fractional expiresInMs and reports it', () => {
    const result = typing({ expiresInMs: 2500.5 });
    expect(result.event.data.typing?.expiresInMs).toBe(2501);
    expect(result.corrections).toEqual([{ field: 'typing.expiresInMs', received: 2500.5 }]);
  });

  it.each([0, -3, 0.4, 'soon', '3000', true, {}, []])('uses the default of 5000 for expiresInMs %j and reports it', (expiresInMs) => {
    const result = typing({ expiresInMs });
    expect(result.event.data.typing?.expiresInMs).toBe(DEFAULT_TYPING_EXPIRES_MS);
    expect(result.corrections).toEqual([{ field: 'typing.expiresInMs', received: expiresInMs }]);
  });

  it('keeps a null or absent expiresInMs as it is, without a correction: the mapping applies the default', () => {
    expect(typing({ expiresInMs: null }).event.data.typing).toStrictEqual({ userId: 'carl', expiresInMs: null });
    expect(typing({}).event.data.typing).toStrictEqual({ userId: 'carl' });
    expect(typing({ expiresInMs: null }).corrections).toEqual([]);
  });

  it('drops a typing timestamp that is not a timestamp and reports it', () => {
    const result = typing({ timestamp: 'yesterday-ish', expiresInMs: 3000 });
    expect(result.event.data.typing).toStrictEqual({ userId: 'carl', expiresInMs: 3000 });
    expect(result.corrections).toEqual([{ field: 'typing.timestamp', received: 'yesterday-ish' }]);
  });

  it('reports each corrected field once, under a name from the fixed list', () => {
    const result = typing({ expiresInMs: -1, timestamp: { $date: 'soon' } });
    expect(result.corrections.map((c) => c.field)).toEqual(['typing.expiresInMs', 'typing.timestamp']);
    for (const c of result.corrections) expect(ADVISORY_FIELDS).toContain(c.field);
  });

  it('stays strict about the typist: a userId that is not a string is still a schema error', () => {
    const result = expectBad(parse({ ...validBody, eventType: 'dialog.typing', data: { typing: { userId: 42 } } }));
    expect(result.detail).toMatch(/^data\.typing\.userId: /);
  });
});

describe('parseEvent: types that produce no Update', () => {
  it.each(['message.delete', 'message.reaction.add', 'message.reaction.remove', 'message.status.create'])(
    'parses %s and classifies it as ignored: no-update-type',
    (eventType) => {
      const result = expectOk(parse({ ...validBody, eventType }));
      expect(result.class).toEqual({ kind: 'ignored', eventType, reason: 'no-update-type' });
      expect(result.event.eventType).toBe(eventType);
    },
  );

  it('parses an unknown type and classifies it as ignored: unknown-type', () => {
    const result = expectOk(parse({ ...validBody, eventType: 'dialog.archive' }));
    expect(result.class).toEqual({ kind: 'ignored', eventType: 'dialog.archive', reason: 'unknown-type' });
  });
});

describe('parseEvent: bad input never throws and names the problem', () => {
  it('rejects a body that is not JSON as not-json', () => {
    const result = expectBad(parseEvent('{"eventId": "evt_1", ', LIMIT));
    expect(result.reason).toBe('not-json');
    expect(result.detail).not.toBe('');
  });

  it('rejects an empty body as not-json', () => {
    expect(expectBad(parseEvent(Buffer.alloc(0), LIMIT)).reason).toBe('not-json');
  });

  it('rejects bytes that are not UTF-8 JSON as not-json', () => {
    expect(expectBad(parseEvent(Buffer.from([0xff, 0xfe, 0x00, 0x7b]), LIMIT)).reason).toBe('not-json');
  });

  it('rejects a body over the byte limit as oversized before parsing it', () => {
    const result = expectBad(parseEvent('x'.repeat(101), { maxBytes: 100 }));
    expect(result.reason).toBe('oversized');
    expect(result.detail).toContain('101');
    expect(result.detail).toContain('100');
  });

  it('measures the limit in UTF-8 bytes, not characters', () => {
    const body = JSON.stringify({ ...validBody, data: { message: { content: 'я'.repeat(60) } } });
    const chars = body.length;
    const bytes = Buffer.byteLength(body);
    expect(bytes).toBeGreaterThan(chars);
    expect(expectBad(parseEvent(body, { maxBytes: chars })).reason).toBe('oversized');
    expectOk(parseEvent(body, { maxBytes: bytes }));
  });

  it('accepts a body exactly at the byte limit', () => {
    const body = JSON.stringify(validBody);
    expectOk(parseEvent(body, { maxBytes: Buffer.byteLength(body) }));
  });

  it.each([
    ['a JSON array', []],
    ['a JSON string', 'message.create'],
    ['JSON null', null],
    ['a number', 42],
  ])('rejects %s as schema', (_label, json) => {
    expect(expectBad(parse(json)).reason).toBe('schema');
  });

  it('rejects a missing tenantId and names the field', () => {
    const { tenantId: _drop, ...body } = validBody;
    const result = expectBad(parse(body));
    expect(result.reason).toBe('schema');
    expect(result.detail).toMatch(/^tenantId: /);
  });

  it('rejects an empty or blank tenantId and names the field', () => {
    for (const tenantId of ['', '   ']) {
      const result = expectBad(parse({ ...validBody, tenantId }));
      expect(result.reason).toBe('schema');
      expect(result.detail).toBe('tenantId: must not be empty');
    }
  });

  it('keeps a tenantId exactly as sent (no trimming: it must match the read model byte for byte)', () => {
    expect(expectOk(parse({ ...validBody, tenantId: ' t1' })).event.tenantId).toBe(' t1');
  });

  it('rejects a non-string tenantId', () => {
    const result = expectBad(parse({ ...validBody, tenantId: 7 }));
    expect(result.reason).toBe('schema');
    expect(result.detail).toMatch(/tenantId/);
  });

  it('rejects a body with neither eventId nor _id', () => {
    const { eventId: _drop, ...body } = validBody;
    const result = expectBad(parse(body));
    expect(result.reason).toBe('schema');
    expect(result.detail).toBe('eventId: eventId (or legacy _id) is required');
  });

  it('rejects an eventId with spaces or control characters', () => {
    for (const eventId of ['evt 1', 'evt\n1', '']) {
      const result = expectBad(parse({ ...validBody, eventId }));
      expect(result.reason).toBe('schema');
      expect(result.detail).toMatch(/^eventId: /);
    }
  });

  it('rejects a numeric eventId', () => {
    const result = expectBad(parse({ ...validBody, eventId: 12345 }));
    expect(result.reason).toBe('schema');
    expect(result.detail).toMatch(/eventId/);
  });

  it('rejects a missing eventType and a missing entityId', () => {
    const { eventType: _t, ...noType } = validBody;
    expect(expectBad(parse(noType)).detail).toMatch(/^eventType: /);
    const { entityId: _e, ...noEntity } = validBody;
    expect(expectBad(parse(noEntity)).detail).toMatch(/^entityId: /);
  });

  it('rejects a non-object data.dialog and names the path', () => {
    const result = expectBad(parse({ ...validBody, eventType: 'dialog.update', data: { dialog: 'dlg_1' } }));
    expect(result.reason).toBe('schema');
    expect(result.detail).toMatch(/^data\.dialog: /);
  });

  it('rejects a non-object data', () => {
    const result = expectBad(parse({ ...validBody, data: 'oops' }));
    expect(result.reason).toBe('schema');
    expect(result.detail).toMatch(/^data: /);
  });

  it('rejects a member snapshot without a userId, naming data.member.userId', () => {
    const result = expectBad(parse({ ...validBody, eventType: 'dialog.member.add', data: { member: { meta: {} } } }));
    expect(result.reason).toBe('schema');
    expect(result.detail).toMatch(/^data\.member\.userId: /);
  });

  it('rejects a status change inside data.message that names no status', () => {
    const result = expectBad(
      parse({ ...validBody, eventType: 'message.status.update', data: { message: { statusUpdate: { userId: 'alice' } } } }),
    );
    expect(result.detail).toMatch(/^data\.message\.statusUpdate\.status: /);
  });

  it('rejects an array where a meta object is expected', () => {
    const result = expectBad(parse({ ...validBody, data: { dialog: { meta: ['x'] } } }));
    expect(result.detail).toMatch(/^data\.dialog\.meta: /);
  });

  it('rejects a createdAt that is not a timestamp', () => {
    for (const createdAt of ['yesterday', '', true, { $date: 'soon' }]) {
      const result = expectBad(parse({ ...validBody, createdAt }));
      expect(result.reason).toBe('schema');
      expect(result.detail).toMatch(/^createdAt: /);
    }
  });

  it('rejects a missing createdAt', () => {
    const { createdAt: _drop, ...body } = validBody;
    expect(expectBad(parse(body)).detail).toMatch(/^createdAt: /);
  });

  it('lists several problems in one detail', () => {
    const result = expectBad(parse({ eventId: 'evt_1', eventType: 'dialog.create', data: { dialog: 1 }, createdAt: T0 }));
    expect(result.reason).toBe('schema');
    expect(result.detail.split('; ').map((issue) => issue.split(':')[0])).toEqual(['tenantId', 'entityId', 'data.dialog']);
  });

  it('builds the fixtures used by the other tests from valid bodies', () => {
    expectOk(parse(eventBody('dialog.create')));
  });
});
