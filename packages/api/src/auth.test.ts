import { describe, expect, it } from 'vitest';
import { createAuthorizer, mayRead, parseApiTokens } from './auth';

const A = 'token-for-tenant-a-0001';
const ALL = 'token-for-every-tenant-01';

describe('parseApiTokens', () => {
  it('reads token=tenant and token=* entries', () => {
    expect(parseApiTokens(` ${A}=tnt_a , ${ALL}=*`)).toEqual({
      ok: true,
      tokens: [
        { token: A, tenant: 'tnt_a' },
        { token: ALL, tenant: '*' },
      ],
    });
  });

  it('lists every problem by entry position and never shows a token', () => {
    const short = 'short';
    const result = parseApiTokens(`${A}=tnt_a,${short}=tnt_b,${A}=tnt_c,novalue-but-long-enough,${ALL}=,${ALL}x=a=b`);
    expect(result.ok).toBe(false);
    const problems = result.ok ? [] : result.problems;
    expect(problems).toEqual([
      'entry 2 of 6: a token must have 16–512 characters (has 5)',
      'entry 3 of 6: the same token is configured twice',
      'entry 4 of 6: expected token=tenantId or token=*',
      'entry 5 of 6: the tenant is empty',
      "entry 6 of 6: the tenant contains '='",
    ]);
    for (const secret of [A, ALL, short, 'novalue-but-long-enough']) expect(problems.join('\n')).not.toContain(secret);
  });

  it('refuses an empty list', () => {
    expect(parseApiTokens(' ')).toMatchObject({ ok: false });
  });
});

describe('authenticate', () => {
  const auth = createAuthorizer([
    { token: A, tenant: 'tnt_a' },
    { token: ALL, tenant: '*' },
  ]);

  it('returns the scope of a configured bearer token (scheme case-insensitive)', () => {
    expect(auth.authenticate(`Bearer ${A}`)).toEqual({ ok: true, scope: 'tnt_a' });
    expect(auth.authenticate(`bearer ${ALL}`)).toEqual({ ok: true, scope: '*' });
  });

  it('refuses a missing, malformed or unknown token with 401', () => {
    expect(auth.authenticate(undefined)).toMatchObject({ ok: false, status: 401, message: 'missing Authorization: Bearer <token>' });
    expect(auth.authenticate(`Basic ${A}`)).toMatchObject({ ok: false, status: 401 });
    expect(auth.authenticate('Bearer')).toMatchObject({ ok: false, status: 401 });
    expect(auth.authenticate(`Bearer ${A}x`)).toMatchObject({ ok: false, status: 401, message: 'unknown token' });
    expect(auth.authenticate(`Bearer ${A.slice(0, -1)}`)).toMatchObject({ ok: false, status: 401 });
    expect(auth.authenticate(`Bearer ${A} extra`)).toMatchObject({ ok: false, status: 401 });
  });
});

describe('mayRead', () => {
  it('lets a token read its own tenant, and * every tenant', () => {
    expect(mayRead('tnt_a', 'tnt_a')).toBe(true);
    expect(mayRead('tnt_a', 'tnt_b')).toBe(false);
    expect(mayRead('*', 'tnt_b')).toBe(true);
  });
});
