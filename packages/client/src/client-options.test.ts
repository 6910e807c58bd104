/** The client's options are checked before anything connects, every problem at once. */
import { describe, expect, it } from 'vitest';
import { optionProblems, type UpdatesClientOptions } from './client-options';
import { createUpdatesClient } from './updates-client';

const valid: UpdatesClientOptions = {
  rabbitUrl: 'amqp://guest:secret@localhost:5672',
  tenantId: 'tnt',
  userId: 'carl',
  fromSeq: 0,
  api: { baseUrl: 'http://api', token: 'tok-1234567890abcdef' },
  onUpdate: () => {},
  onResync: () => {},
};

describe('optionProblems', () => {
  it('accepts valid options', () => {
    expect(optionProblems(valid)).toEqual([]);
    expect(optionProblems({ ...valid, fromSeq: 'latest', scope: 'tenant', alsoBindSeed: true, prefetch: 1, pageSize: 1000 })).toEqual([]);
  });

  it('lists every problem, without the URL or the token', () => {
    const problems = optionProblems({
      ...valid,
      tenantId: '',
      fromSeq: -1,
      prefetch: 0,
      pageSize: 5000,
      scope: 'tenants' as never,
      api: { baseUrl: 'http://api', token: '' },
    });
    expect(problems).toEqual([
      'tenantId must be a non-empty string',
      'scope must be seed or tenant, got "tenants"',
      "fromSeq must be a whole number ≥ 0 or 'latest', got -1",
      'prefetch must be a whole number 1…65535, got 0',
      'pageSize must be a whole number 1…1000, got 5000',
      'api needs baseUrl and token, or fetchUpdates and fetchState',
    ]);
    expect(problems.join(' ')).not.toContain('secret');
  });

  it('refuses a userId whose queue name would be over 255 bytes', () => {
    expect(optionProblems({ ...valid, userId: 'x'.repeat(300) }).join()).toMatch(/255/);
  });

  it('makes createUpdatesClient throw before connecting', () => {
    expect(() => createUpdatesClient({ ...valid, userId: '' })).toThrow(
      /invalid updates client options: userId must be a non-empty string/,
    );
  });
});
