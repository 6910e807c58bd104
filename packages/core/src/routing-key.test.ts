/** Routing keys on chat3_updates (SPEC §6) and the encoding that keeps data out of the topic syntax. */
import { describe, expect, it } from 'vitest';
import { buildRoutingKey, decodeRoutingSegment, encodeRoutingSegment, MAX_ROUTING_KEY_BYTES, routingKeyFor } from './routing-key';
import { topicMatches } from './topic-match';
import { UPDATE_TYPES, type UpdateType } from './update';

/** The seed's per-user binding, with the user's id encoded the documented way. */
const userBinding = (userType: string, userId: string) => `update.*.${encodeRoutingSegment(userType)}.${encodeRoutingSegment(userId)}.*`;

/** A deterministic PRNG so the property loops are reproducible. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = ['.', '*', '#', '%', '2', 'E', 'e', 'A', 'a', '3', '5', 'b', '_', '-', ' ', 'я', 'ü', '日', '👍', '\u0000'];

function randomString(rand: () => number, maxLength = 12): string {
  const length = Math.floor(rand() * (maxLength + 1));
  let s = '';
  for (let i = 0; i < length; i++) s += ALPHABET[Math.floor(rand() * ALPHABET.length)];
  return s;
}

describe('topicMatches (the test’s model of RabbitMQ)', () => {
  it('follows AMQP topic rules', () => {
    expect(topicMatches('update.*.user.carl.*', 'update.dialog.user.carl.messageupdate')).toBe(true);
    expect(topicMatches('update.*.user.carl.*', 'update.dialog.user.carla.messageupdate')).toBe(false);
    expect(topicMatches('update.*.*.*.*', 'update.dialog.user.a.b.messageupdate')).toBe(false);
    expect(topicMatches('update.#', 'update.dialog.user.a.b.messageupdate')).toBe(true);
    expect(topicMatches('#', '')).toBe(true);
    expect(topicMatches('update.#.messageupdate', 'update.messageupdate')).toBe(true);
  });
});

describe('routing keys for ordinary ids (the seed’s clients work unchanged)', () => {
  it.each([
    ['DialogUpdate', 'update.dialog.user.carl.dialogupdate'],
    ['DialogMemberUpdate', 'update.dialog.user.carl.dialogmemberupdate'],
    ['MessageUpdate', 'update.dialog.user.carl.messageupdate'],
    ['TypingUpdate', 'update.dialog.user.carl.typingupdate'],
    ['UserUpdate', 'update.user.user.carl.userupdate'],
    ['UserStatsUpdate', 'update.user.user.carl.userstatsupdate'],
  ] as const)('routes a %s as %s', (updateType, key) => {
    expect(routingKeyFor(updateType, 'user', 'carl')).toBe(key);
  });

  it('uses the seed’s categories and lower-case segments', () => {
    expect(UPDATE_TYPES).toEqual({
      DialogUpdate: { category: 'dialog', segment: 'dialogupdate' },
      DialogMemberUpdate: { category: 'dialog', segment: 'dialogmemberupdate' },
      MessageUpdate: { category: 'dialog', segment: 'messageupdate' },
      TypingUpdate: { category: 'dialog', segment: 'typingupdate' },
      UserUpdate: { category: 'user', segment: 'userupdate' },
      UserStatsUpdate: { category: 'user', segment: 'userstatsupdate' },
    });
  });

  it('reproduces the seed’s examples', () => {
    expect(routingKeyFor('MessageUpdate', 'bot', 'bot_123')).toBe('update.dialog.bot.bot_123.messageupdate');
    expect(routingKeyFor('UserStatsUpdate', 'user', 'carl')).toBe('update.user.user.carl.userstatsupdate');
    expect(buildRoutingKey('dialog', 'user', 'carl', 'dialogupdate')).toBe('update.dialog.user.carl.dialogupdate');
  });

  it('leaves ids without . * # % untouched, so the seed’s binding for them is unchanged', () => {
    for (const id of ['carl', 'bot_123', 'user-42', 'usr_0a1B', 'alice@example', 'Анна', '日本']) {
      expect(encodeRoutingSegment(id)).toBe(id);
      expect(topicMatches(`update.*.user.${id}.*`, routingKeyFor('MessageUpdate', 'user', id))).toBe(true);
    }
  });

  it('is matched by each of the seed’s broad bindings as the seed says', () => {
    const botMessage = routingKeyFor('MessageUpdate', 'bot', 'bot_123');
    const userDialog = routingKeyFor('DialogUpdate', 'user', 'carl');
    const userStats = routingKeyFor('UserStatsUpdate', 'user', 'carl');
    const botStats = routingKeyFor('UserStatsUpdate', 'bot', 'bot_123');
    expect(topicMatches('update.*.bot.*.*', botMessage)).toBe(true);
    expect(topicMatches('update.*.bot.*.*', userDialog)).toBe(false);
    expect(topicMatches('update.dialog.user.*.*', userDialog)).toBe(true);
    expect(topicMatches('update.dialog.user.*.*', userStats)).toBe(false);
    expect(topicMatches('update.user.*.*.userstatsupdate', userStats)).toBe(true);
    expect(topicMatches('update.user.*.*.userstatsupdate', botStats)).toBe(true);
    expect(topicMatches('update.user.*.*.userstatsupdate', botMessage)).toBe(false);
    for (const key of [botMessage, userDialog, userStats, botStats]) expect(topicMatches('update.*.*.*.*', key)).toBe(true);
  });
});

describe('encodeRoutingSegment', () => {
  it.each([
    ['a.b', 'a%2Eb'],
    ['*', '%2A'],
    ['#', '%23'],
    ['%', '%25'],
    ['a%2Eb', 'a%252Eb'],
    ['user.*.#', 'user%2E%2A%2E%23'],
    ['..', '%2E%2E'],
    ['100%', '100%25'],
  ])('encodes %j as %j', (raw, encoded) => {
    expect(encodeRoutingSegment(raw)).toBe(encoded);
    expect(decodeRoutingSegment(encoded)).toBe(raw);
  });

  it('keeps a.b and a%2Eb apart', () => {
    expect(encodeRoutingSegment('a.b')).not.toBe(encodeRoutingSegment('a%2Eb'));
  });

  it('passes unicode through unchanged', () => {
    for (const id of ['Юлия', 'ü', '日本語', '👍', 'emoji👍.dot']) {
      expect(decodeRoutingSegment(encodeRoutingSegment(id))).toBe(id);
    }
    expect(encodeRoutingSegment('emoji👍.dot')).toBe('emoji👍%2Edot');
  });

  it('never leaves . * or # in a segment and round-trips random strings', () => {
    const rand = mulberry32(0xc4a73);
    for (let i = 0; i < 5000; i++) {
      const raw = randomString(rand);
      const encoded = encodeRoutingSegment(raw);
      expect(encoded).not.toMatch(/[.*#]/);
      expect(decodeRoutingSegment(encoded)).toBe(raw);
    }
  });

  it('never maps two different random strings to the same segment', () => {
    const rand = mulberry32(42);
    const seen = new Map<string, string>();
    for (let i = 0; i < 5000; i++) {
      const raw = randomString(rand, 6);
      const encoded = encodeRoutingSegment(raw);
      const previous = seen.get(encoded);
      if (previous !== undefined) expect(previous).toBe(raw);
      seen.set(encoded, raw);
    }
  });

  it('encodes the userType segment too', () => {
    expect(routingKeyFor('MessageUpdate', 'weird.type', 'carl')).toBe('update.dialog.weird%2Etype.carl.messageupdate');
    expect(routingKeyFor('MessageUpdate', '*', 'carl')).toBe('update.dialog.%2A.carl.messageupdate');
  });
});

describe('a tricky userId never reaches another user’s queue', () => {
  const trickyIds = [
    'carl',
    'a',
    'b',
    'a.b',
    'a%2Eb',
    'a%252Eb',
    '*',
    '%2A',
    '#',
    '%23',
    '%',
    '%25',
    'a*',
    '#b',
    '.',
    '..',
    'carl.messageupdate',
    'user.carl',
    '*.carl',
    'carl.*',
    '#.#',
    'a%2eb',
    'Юлия',
    '👍',
  ];
  const userTypes = ['user', 'bot', 'contact', 'a.b', '*'];
  const updateTypes = Object.keys(UPDATE_TYPES) as UpdateType[];

  it('has exactly five words in every key', () => {
    for (const id of trickyIds) {
      for (const type of userTypes) {
        for (const updateType of updateTypes) {
          expect(routingKeyFor(updateType, type, id).split('.')).toHaveLength(5);
        }
      }
    }
  });

  it('is matched by the recipient’s own binding and by no other user’s binding', () => {
    for (const x of trickyIds) {
      for (const xType of userTypes) {
        for (const updateType of updateTypes) {
          const key = routingKeyFor(updateType, xType, x);
          for (const y of trickyIds) {
            for (const yType of userTypes) {
              const matched = topicMatches(userBinding(yType, y), key);
              const same = x === y && xType === yType;
              if (matched !== same) {
                throw new Error(`binding for ${yType}/${JSON.stringify(y)} ${matched ? 'matches' : 'misses'} key ${key}`);
              }
            }
          }
        }
      }
    }
  });

  it('keeps user * out of user carl’s queue and carl’s updates out of the queue of user *', () => {
    const starKey = routingKeyFor('MessageUpdate', 'user', '*');
    expect(starKey).toBe('update.dialog.user.%2A.messageupdate');
    expect(topicMatches('update.*.user.carl.*', starKey)).toBe(false);
    expect(topicMatches(userBinding('user', '*'), routingKeyFor('MessageUpdate', 'user', 'carl'))).toBe(false);
    expect(topicMatches(userBinding('user', '*'), starKey)).toBe(true);
  });

  it('keeps user a.b from being mistaken for user a or for a six-word key', () => {
    const key = routingKeyFor('DialogUpdate', 'user', 'a.b');
    expect(key).toBe('update.dialog.user.a%2Eb.dialogupdate');
    expect(topicMatches('update.*.user.a.*', key)).toBe(false);
    expect(topicMatches('update.*.*.*.*', key)).toBe(true);
  });
});

describe('routing key length', () => {
  it('publishes the AMQP short-string limit of 255 bytes', () => {
    expect(MAX_ROUTING_KEY_BYTES).toBe(255);
  });

  it('can exceed the limit for a very long userId (the relay parks such Updates, see wire.ts)', () => {
    const key = routingKeyFor('DialogMemberUpdate', 'user', 'x'.repeat(300));
    expect(Buffer.byteLength(key)).toBeGreaterThan(MAX_ROUTING_KEY_BYTES);
  });
});
