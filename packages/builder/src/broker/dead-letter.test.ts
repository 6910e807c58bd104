import type { Message } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { deadLetterOptions } from './dead-letter';

describe('deadLetterOptions', () => {
  it('keeps the original properties and puts the reason in headers', () => {
    const msg = {
      content: Buffer.from('{'),
      fields: { exchange: 'chat3_events', routingKey: 'message.create.t1' },
      properties: { contentType: 'application/json', messageId: 'm1', timestamp: 5, headers: { trace: 'x' } },
    } as unknown as Message;
    const options = deadLetterOptions(msg, { reason: 'not-json', detail: 'Unexpected end', stage: 'router' }, 0);
    expect(options).toMatchObject({
      persistent: true,
      contentType: 'application/json',
      messageId: 'm1',
      headers: {
        trace: 'x',
        'x-chat3-dead-letter-reason': 'not-json',
        'x-chat3-dead-letter-detail': 'Unexpected end',
        'x-chat3-dead-letter-stage': 'router',
        'x-chat3-original-routing-key': 'message.create.t1',
        'x-chat3-dead-lettered-at': '1970-01-01T00:00:00.000Z',
      },
    });
  });

  it('names the producer routing key for an event dead-lettered after routing', () => {
    const msg = {
      content: Buffer.from('{}'),
      fields: { exchange: 'q.partitions', routingKey: '3' },
      properties: { headers: { 'x-chat3-routing-key': 'dialog.update.t1' } },
    } as unknown as Message;
    const options = deadLetterOptions(msg, { reason: 'unbuildable', detail: 'dialog gone', stage: 'builder' }, 0);
    expect(options.headers?.['x-chat3-original-routing-key']).toBe('dialog.update.t1');
  });
});
