/** The AMQP message for one Update (SPEC §6). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { routingKeyFor } from './routing-key';
import { build, expectBuilt, makeEvent } from './test-fixtures';
import type { UpdateDocument } from './update';
import { idToHex, toWireMessage, unpublishableReason, WIRE_OMITTED_FIELDS } from './wire';

const HEX = '65a1b2c3d4e5f60718293a4b';

/** A stored Update as the relay reads it: the builder's draft plus `_id` and relay bookkeeping. */
function storedUpdate(id: UpdateDocument<unknown>['_id'] = HEX): UpdateDocument<string | { toHexString(): string }> {
  const event = makeEvent('message.create', { eventId: 'evt_0123456789abcdef0123456789abcdef' });
  const draft = expectBuilt(build(event)).updates.find((u) => u.userId === 'bot_123')!;
  return {
    ...draft,
    _id: id as string,
    published: false,
    publishedAt: null,
    publishAttempts: 2,
    parked: { reason: 'earlier failure', at: 1, attempts: 2 },
  };
}

/** Something shaped like a driver ObjectId. */
const objectIdLike = (hex: string) => ({ toHexString: () => hex, toString: () => hex });

describe('toWireMessage: body', () => {
  it('is the Update as JSON with _id as a 24-hex string', () => {
    const doc = storedUpdate();
    const body = JSON.parse(toWireMessage(doc).body.toString('utf8'));
    expect(body).toEqual({
      _id: HEX,
      tenantId: doc.tenantId,
      userId: 'bot_123',
      userType: 'bot',
      entityId: 'msg_1',
      eventId: 'evt_0123456789abcdef0123456789abcdef',
      eventType: 'message.create',
      dialogId: 'dlg_1',
      updateType: 'MessageUpdate',
      routingKey: 'update.dialog.bot.bot_123.messageupdate',
      data: JSON.parse(JSON.stringify(doc.data)),
      createdAt: doc.createdAt,
    });
  });

  it('turns a driver ObjectId _id into its hex string', () => {
    const message = toWireMessage(storedUpdate(objectIdLike(HEX)));
    expect(JSON.parse(message.body.toString())._id).toBe(HEX);
    expect(message.options.messageId).toBe(HEX);
  });

  it('leaves out relay bookkeeping and internals: published, publishedAt, partition, attempts, parked', () => {
    const body = JSON.parse(toWireMessage({ ...storedUpdate(), published: true, publishedAt: 1 }).body.toString());
    for (const field of ['published', 'publishedAt', 'partition', 'publishAttempts', 'parked', 'eventCreatedAt']) {
      expect(body).not.toHaveProperty(field);
    }
  });

  it('leaves out exactly WIRE_OMITTED_FIELDS and delivers every other field of the stored document', () => {
    const doc = {
      ...storedUpdate(),
      seq: 7,
      publishedDate: new Date(1_800_000_000_000),
      republishedAt: 1_800_000_000_000,
      replayId: 'rpl_1',
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    };
    const body = JSON.parse(toWireMessage(doc).body.toString());
    const stored = Object.keys(doc);
    const omitted = new Set<string>(WIRE_OMITTED_FIELDS);
    expect(WIRE_OMITTED_FIELDS.filter((field) => !stored.includes(field))).toEqual([]);
    // statsVersion is delivered only where it means something (user stats; 0 elsewhere).
    expect(Object.keys(body).sort()).toEqual(stored.filter((field) => !omitted.has(field) && field !== 'statsVersion').sort());
  });

  it('delivers statsVersion on a user-stats Update, where it numbers the user’s emissions', () => {
    const doc = { ...storedUpdate(), updateType: 'UserStatsUpdate' as const, statsVersion: 3 };
    expect(JSON.parse(toWireMessage(doc).body.toString()).statsVersion).toBe(3);
    expect(JSON.parse(toWireMessage(storedUpdate()).body.toString())).not.toHaveProperty('statsVersion');
  });

  it('carries the recipient’s seq in the body and the x-chat3-seq header once the relay numbered it', () => {
    const numbered = toWireMessage({ ...storedUpdate(), seq: 42 });
    expect(JSON.parse(numbered.body.toString()).seq).toBe(42);
    expect(numbered.options.headers['x-chat3-seq']).toBe(42);
    const unnumbered = toWireMessage(storedUpdate()); // first published before sequence numbers existed
    expect(JSON.parse(unnumbered.body.toString())).not.toHaveProperty('seq');
    expect(unnumbered.options.headers).not.toHaveProperty('x-chat3-seq');
  });

  it('names the replay in the x-chat3-replay header of a re-published Update, with the same messageId and body', () => {
    const first = toWireMessage(storedUpdate());
    const again = toWireMessage({ ...storedUpdate(), republishedAt: 1_800_000_000_000, replayId: 'rpl_1' });
    expect(again.options.headers['x-chat3-replay']).toBe('rpl_1');
    expect(again.options.messageId).toBe(first.options.messageId);
    expect(again.body.equals(first.body)).toBe(true);
    expect(first.options.headers).not.toHaveProperty('x-chat3-replay');
  });

  it('carries the event’s traceparent as the AMQP header of the same name, not in the body', () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const message = toWireMessage({ ...storedUpdate(), traceparent });
    expect(message.options.headers.traceparent).toBe(traceparent);
    expect(JSON.parse(message.body.toString())).not.toHaveProperty('traceparent');
    expect(toWireMessage(storedUpdate()).options.headers).not.toHaveProperty('traceparent');
  });

  it('is described truthfully by the README: its list of left-out fields is WIRE_OMITTED_FIELDS', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8').replace(/\s+/g, ' ');
    const sentence = /The body on `chat3_updates` is the document as JSON[^;]*? without ([^;]+);/.exec(readme);
    expect(sentence, 'README: "The body on `chat3_updates` is the document as JSON … without …;"').not.toBeNull();
    const listed = [...sentence![1]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    expect(listed.sort()).toEqual([...WIRE_OMITTED_FIELDS].sort());
  });

  it('keeps createdAt’s microsecond fraction', () => {
    const doc = { ...storedUpdate(), createdAt: 1763551369397.6482 };
    expect(JSON.parse(toWireMessage(doc).body.toString()).createdAt).toBe(1763551369397.6482);
  });

  it('carries unicode content intact as UTF-8', () => {
    const doc = storedUpdate();
    doc.data = { ...doc.data, context: { ...doc.data.context, updatedFields: ['Привет 👍'] } };
    expect(JSON.parse(toWireMessage(doc).body.toString('utf8')).data.context.updatedFields).toEqual(['Привет 👍']);
  });
});

describe('toWireMessage: properties', () => {
  it('is persistent JSON whose messageId is the Update _id and whose type is the update type', () => {
    const doc = storedUpdate();
    const { routingKey, options } = toWireMessage(doc);
    expect(routingKey).toBe('update.dialog.bot.bot_123.messageupdate');
    expect(options).toEqual({
      persistent: true,
      mandatory: true,
      contentType: 'application/json',
      messageId: HEX,
      timestamp: Math.floor(doc.createdAt / 1000),
      type: 'MessageUpdate',
      headers: {
        tenantId: 'tnt_default',
        userId: 'bot_123',
        eventType: 'message.create',
        eventId: 'evt_0123456789abcdef0123456789abcdef',
      },
    });
  });

  it('gives the AMQP timestamp in whole seconds (POSIX time), not milliseconds', () => {
    const doc = { ...storedUpdate(), createdAt: 1763551369397.6482 };
    expect(toWireMessage(doc).options.timestamp).toBe(1763551369);
  });

  it('produces the same messageId and body on every re-publish, so consumers can deduplicate', () => {
    const doc = storedUpdate();
    const first = toWireMessage(doc);
    const retry = toWireMessage({ ...doc, published: true, publishedAt: 123, publishAttempts: 5 });
    expect(retry.options.messageId).toBe(first.options.messageId);
    expect(retry.body.equals(first.body)).toBe(true);
  });

  it('names the derived eventType in the headers of a stats Update', () => {
    const doc = { ...storedUpdate(), eventType: 'user.stats.update', updateType: 'UserStatsUpdate' as const };
    const { options } = toWireMessage(doc);
    expect(options.type).toBe('UserStatsUpdate');
    expect(options.headers.eventType).toBe('user.stats.update');
  });
});

describe('idToHex', () => {
  it('accepts a hex string or anything with toHexString', () => {
    expect(idToHex(HEX)).toBe(HEX);
    expect(idToHex(objectIdLike(HEX))).toBe(HEX);
  });
});

describe('unpublishableReason', () => {
  it('accepts an ordinary message', () => {
    expect(unpublishableReason(toWireMessage(storedUpdate()), 1_000_000)).toBeNull();
  });

  it('rejects a routing key over 255 bytes, naming its size', () => {
    const doc = { ...storedUpdate(), routingKey: routingKeyFor('MessageUpdate', 'user', 'x'.repeat(230)) };
    const reason = unpublishableReason(toWireMessage(doc), 1_000_000);
    expect(reason).toMatch(/routing key is 26\d bytes/);
    expect(reason).toContain('255');
  });

  it('accepts a routing key of exactly 255 bytes', () => {
    const prefix = 'update.dialog.user.';
    const suffix = '.messageupdate';
    const userId = 'x'.repeat(255 - prefix.length - suffix.length);
    const doc = { ...storedUpdate(), routingKey: routingKeyFor('MessageUpdate', 'user', userId) };
    expect(Buffer.byteLength(doc.routingKey)).toBe(255);
    expect(unpublishableReason(toWireMessage(doc), 1_000_000)).toBeNull();
  });

  it('counts routing key bytes, not characters', () => {
    const doc = { ...storedUpdate(), routingKey: routingKeyFor('MessageUpdate', 'user', 'я'.repeat(120)) };
    expect(doc.routingKey.length).toBeLessThan(255);
    expect(unpublishableReason(toWireMessage(doc), 1_000_000)).toMatch(/routing key/);
  });

  it('rejects a body over the limit, naming its size and the limit', () => {
    const message = toWireMessage(storedUpdate());
    const reason = unpublishableReason(message, message.body.length - 1);
    expect(reason).toBe(`body is ${message.body.length} bytes, limit is ${message.body.length - 1}`);
    expect(unpublishableReason(message, message.body.length)).toBeNull();
  });
});
