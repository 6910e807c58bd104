import { describe, expect, it } from 'vitest';
import { idProblem, parsePageQuery, parseRecipient } from './request-params';

describe('idProblem', () => {
  it('accepts free strings up to 256 bytes', () => {
    expect(idProblem('carl')).toBeNull();
    expect(idProblem('a.b*#/ü')).toBeNull();
    expect(idProblem('x'.repeat(256))).toBeNull();
  });

  it('refuses empty, too long (in bytes) and control characters', () => {
    expect(idProblem('')).toBe('is empty');
    expect(idProblem('x'.repeat(257))).toBe('is 257 bytes long, at most 256 allowed');
    expect(idProblem('ü'.repeat(129))).toBe('is 258 bytes long, at most 256 allowed');
    expect(idProblem('a\nb')).toBe('contains a control character');
    expect(idProblem('a\u0000')).toBe('contains a control character');
    expect(idProblem('a\u007f')).toBe('contains a control character');
  });
});

describe('parseRecipient', () => {
  it('names every bad id', () => {
    expect(parseRecipient({ tenantId: 'tnt_a', userId: 'carl' })).toEqual({ ok: true, value: { tenantId: 'tnt_a', userId: 'carl' } });
    expect(parseRecipient({ tenantId: '', userId: 'a\tb' })).toEqual({
      ok: false,
      message: 'tenantId is empty; userId contains a control character',
    });
  });
});

describe('parsePageQuery', () => {
  it('defaults after to 0 and limit to 100', () => {
    expect(parsePageQuery({})).toEqual({ ok: true, value: { after: 0, limit: 100 } });
    expect(parsePageQuery(undefined)).toEqual({ ok: true, value: { after: 0, limit: 100 } });
    expect(parsePageQuery({ after: '42', limit: '1000', other: 'x' })).toEqual({ ok: true, value: { after: 42, limit: 1000 } });
  });

  it.each([
    [{ after: '-1' }, 'after must be an integer ≥ 0'],
    [{ after: '1.5' }, 'after must be an integer ≥ 0'],
    [{ after: '1e3' }, 'after must be an integer ≥ 0'],
    [{ after: '' }, 'after must be an integer ≥ 0'],
    [{ after: ' 1' }, 'after must be an integer ≥ 0'],
    [{ after: '99999999999999999999' }, `after must be ≤ ${Number.MAX_SAFE_INTEGER}`],
    [{ after: ['1', '2'] }, 'after must be given once'],
    [{ limit: '0' }, 'limit must be ≥ 1'],
    [{ limit: '1001' }, 'limit must be ≤ 1000'],
    [{ limit: 'ten' }, 'limit must be an integer ≥ 1'],
  ])('refuses %j: %s', (query, message) => {
    expect(parsePageQuery(query)).toEqual({ ok: false, message });
  });
});
