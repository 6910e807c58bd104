import { describe, expect, it } from 'vitest';
import { matchesId, matchesReasons, planRequeue, requeueCountOf, viewLetter, type RawLetter } from './letters';

const body = { eventId: 'evt_1', tenantId: 'tnt_test', eventType: 'dialog.update' };

function letter(headers: Record<string, unknown>, content: Buffer | string = JSON.stringify(body), extra: object = {}): RawLetter {
  return {
    content: Buffer.from(content),
    properties: { contentType: 'application/json', messageId: 'm-1', timestamp: 1_764_000_000, headers, ...extra },
  };
}

const deadLetterHeaders = {
  'x-chat3-dead-letter-reason': 'unbuildable',
  'x-chat3-dead-letter-detail': 'dialog dlg_1 not found',
  'x-chat3-dead-letter-stage': 'builder',
  'x-chat3-dead-lettered-at': '2026-12-02T04:00:00.000Z',
  'x-chat3-original-routing-key': 'dialog.update.tnt_test',
  'x-chat3-routing-key': 'dialog.update.tnt_test',
};

describe('dead letters', () => {
  it('reads what the builder wrote', () => {
    expect(viewLetter(letter({ ...deadLetterHeaders, 'x-chat3-requeue-count': 2 }), 4)).toEqual({
      position: 4,
      messageId: 'm-1',
      eventId: 'evt_1',
      reason: 'unbuildable',
      detail: 'dialog dlg_1 not found',
      stage: 'builder',
      deadLetteredAt: '2026-12-02T04:00:00.000Z',
      originalRoutingKey: 'dialog.update.tnt_test',
      requeueCount: 2,
      bytes: JSON.stringify(body).length,
    });
  });

  it('copes with a letter that is not JSON, has no headers, or has a legacy _id', () => {
    const bare: RawLetter = { content: Buffer.from('{"this is": not json'), properties: {} };
    expect(viewLetter(bare, 1)).toMatchObject({ reason: '(none)', eventId: undefined, messageId: undefined, requeueCount: 0 });
    expect(viewLetter(letter({}, JSON.stringify({ _id: '0123456789abcdef01234567' })), 1).eventId).toBe('0123456789abcdef01234567');
    expect(viewLetter(letter({}, '[1,2]'), 1).eventId).toBeUndefined();
    expect(viewLetter(letter({ 'x-chat3-dead-letter-reason': Buffer.from('schema') }), 1).reason).toBe('schema');
  });

  it('reads the requeue count defensively', () => {
    expect(requeueCountOf(undefined)).toBe(0);
    expect(requeueCountOf({ 'x-chat3-requeue-count': 3 })).toBe(3);
    expect(requeueCountOf({ 'x-chat3-requeue-count': '4' })).toBe(4);
    for (const bad of [-1, 1.5, 'x', null, {}]) expect(requeueCountOf({ 'x-chat3-requeue-count': bad })).toBe(0);
  });

  it('matches by id and by reason', () => {
    const view = viewLetter(letter(deadLetterHeaders), 1);
    expect(matchesId(view, 'm-1')).toBe(true);
    expect(matchesId(view, 'evt_1')).toBe(true);
    expect(matchesId(view, 'evt_2')).toBe(false);
    expect(matchesReasons(view, [])).toBe(true);
    expect(matchesReasons(view, ['schema', 'unbuildable'])).toBe(true);
    expect(matchesReasons(view, ['schema'])).toBe(false);
  });
});

describe('requeue plan', () => {
  it('strips the dead-letter headers, keeps the producer headers and properties, and counts the requeue', () => {
    const plan = planRequeue(
      letter({ ...deadLetterHeaders, 'x-producer': 'api-7' }, JSON.stringify(body), {
        correlationId: 'c-1',
        type: 'dialog.update',
        appId: 'chat3',
        contentEncoding: 'utf-8',
        userId: 'guest',
        expiration: '1000',
        deliveryMode: 1,
      }),
    );
    expect(plan).toEqual({
      ok: true,
      routingKey: 'dialog.update.tnt_test',
      options: {
        mandatory: true,
        persistent: true,
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        messageId: 'm-1',
        correlationId: 'c-1',
        timestamp: 1_764_000_000,
        type: 'dialog.update',
        appId: 'chat3',
        headers: { 'x-producer': 'api-7', 'x-chat3-requeue-count': 1 },
      },
    });
  });

  it('increments a previous requeue count', () => {
    const plan = planRequeue(letter({ ...deadLetterHeaders, 'x-chat3-requeue-count': 2 }));
    expect(plan.ok && plan.options.headers).toEqual({ 'x-chat3-requeue-count': 3 });
  });

  it('does not change the letter it reads', () => {
    const headers = { ...deadLetterHeaders };
    planRequeue(letter(headers));
    expect(headers).toEqual(deadLetterHeaders);
  });

  it('refuses a letter without its original routing key', () => {
    const { 'x-chat3-original-routing-key': _, ...rest } = deadLetterHeaders;
    expect(planRequeue(letter(rest))).toEqual({ ok: false, problem: 'no-routing-key', detail: 'no x-chat3-original-routing-key header' });
    expect(planRequeue(letter({ ...rest, 'x-chat3-original-routing-key': '' })).ok).toBe(false);
    expect(planRequeue({ content: Buffer.from('x'), properties: {} }).ok).toBe(false);
  });
});
