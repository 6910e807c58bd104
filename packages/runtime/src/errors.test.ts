import { describe, expect, it } from 'vitest';
import { RetryableError, isDuplicateKey, isRetryable } from './errors';

describe('isRetryable', () => {
  it.each([
    ['a network error', Object.assign(new Error('x'), { name: 'MongoNetworkError' })],
    ['server selection', Object.assign(new Error('x'), { name: 'MongoServerSelectionError' })],
    ['a step-down', Object.assign(new Error('x'), { name: 'MongoServerError', code: 10107 })],
    ['a labelled error', Object.assign(new Error('x'), { name: 'MongoServerError', code: 1, errorLabels: ['RetryableWriteError'] })],
    ['a closed channel', Object.assign(new Error('Channel closed'), { name: 'IllegalOperationError' })],
    ['connection-forced (320)', Object.assign(new Error('x'), { code: 320 })],
    ['a refused socket', Object.assign(new Error('x'), { code: 'ECONNREFUSED' })],
    ['our own transient error', new RetryableError('lost a race')],
    [
      'SQLite lock contention behind a MongoDB-compatible server',
      Object.assign(new Error('database is locked (5) (SQLITE_BUSY)'), { name: 'MongoServerError', code: 1 }),
    ],
  ])('retries %s', (_, err) => expect(isRetryable(err)).toBe(true));

  it.each([
    ['a duplicate key', Object.assign(new Error('x'), { name: 'MongoServerError', code: 11000 })],
    ['a document too large', Object.assign(new Error('x'), { name: 'MongoServerError', code: 10334 })],
    ['access refused (403)', Object.assign(new Error('x'), { code: 403 })],
    ['precondition failed (406)', Object.assign(new Error('x'), { code: 406 })],
    ['a programming error', new TypeError('undefined is not a function')],
    ['not an error', 'nope'],
  ])('gives up on %s', (_, err) => expect(isRetryable(err)).toBe(false));

  it('recognises duplicate keys', () => {
    expect(isDuplicateKey({ code: 11000 })).toBe(true);
    expect(isDuplicateKey({ code: 11001 })).toBe(false);
  });
});
