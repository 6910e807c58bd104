/** The HTTP edge of the catch-up API: URLs, the token, typed pages, tooLong, and which failures are worth retrying. */
import { describe, expect, it } from 'vitest';
import { CatchUpApiError, createHttpCatchUpApi } from './catch-up-api';

function fakeFetch(status: number, body: unknown, seen: Array<{ url: string; auth: string | null }> = []): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    seen.push({ url: String(input), auth: new Headers(init?.headers).get('authorization') });
    return new Response(typeof body === 'string' ? body : JSON.stringify(body), { status });
  }) as typeof fetch;
}

const base = { baseUrl: 'http://api.test/', token: 's3cret', tenantId: 'tnt/a', userId: 'a.b c' };

describe('createHttpCatchUpApi', () => {
  it('asks the contract’s URL with the bearer token and encoded ids', async () => {
    const seen: Array<{ url: string; auth: string | null }> = [];
    const api = createHttpCatchUpApi({ ...base, fetch: fakeFetch(200, { updates: [], nextAfter: 5, hasMore: false }, seen) });
    expect(await api.fetchUpdates(5, 100)).toEqual({ kind: 'page', updates: [], nextAfter: 5, hasMore: false });
    expect(seen).toEqual([{ url: 'http://api.test/v1/tenants/tnt%2Fa/users/a.b%20c/updates?after=5&limit=100', auth: 'Bearer s3cret' }]);
  });

  it('reads the state', async () => {
    const seen: Array<{ url: string; auth: string | null }> = [];
    const api = createHttpCatchUpApi({ ...base, fetch: fakeFetch(200, { seq: 42 }, seen) });
    expect(await api.fetchState()).toEqual({ seq: 42 });
    expect(seen[0]!.url).toBe('http://api.test/v1/tenants/tnt%2Fa/users/a.b%20c/state');
  });

  it('turns 410 tooLong into a typed result', async () => {
    const api = createHttpCatchUpApi({ ...base, fetch: fakeFetch(410, { error: 'too_long', tooLong: true, oldestSeq: 17 }) });
    expect(await api.fetchUpdates(3, 10)).toEqual({ kind: 'too-long', oldestSeq: 17 });
  });

  it.each([
    [401, false],
    [403, false],
    [400, false],
    [404, false],
    [408, true],
    [429, true],
    [500, true],
    [503, true],
  ])('treats HTTP %i as retryable: %s, and keeps the token out of the message', async (status, retryable) => {
    const api = createHttpCatchUpApi({ ...base, fetch: fakeFetch(status, { error: 'x', message: 'why' }) });
    const err = await api.fetchUpdates(0, 10).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CatchUpApiError);
    expect(err).toMatchObject({ retryable, status });
    expect((err as Error).message).toContain(`HTTP ${status} why`);
    expect((err as Error).message).not.toContain('s3cret');
  });

  it('retries a network failure and an unexpected body', async () => {
    const down = createHttpCatchUpApi({
      ...base,
      fetch: (async () => {
        throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
      }) as typeof fetch,
    });
    await expect(down.fetchState()).rejects.toMatchObject({ retryable: true, message: expect.stringContaining('ECONNREFUSED') });
    const odd = createHttpCatchUpApi({ ...base, fetch: fakeFetch(200, { updates: 'no' }) });
    await expect(odd.fetchUpdates(0, 1)).rejects.toMatchObject({ retryable: true });
    const html = createHttpCatchUpApi({ ...base, fetch: fakeFetch(200, '<html>') });
    await expect(html.fetchState()).rejects.toMatchObject({ retryable: true });
  });
});
