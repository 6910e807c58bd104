import { createSilentLogger } from '@chat3/runtime';
import { waitFor } from '@chat3/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuthorizer } from './auth';
import type { CatchUpStore } from './catch-up';
import { createMemoryCatchUpStore } from './memory-store';
import { createApiMetrics } from './metrics';
import { createApiServer, type ApiServer } from './server';

const A = 'token-for-tenant-a-0001';
const ALL = 'token-for-every-tenant-01';
const authorizer = createAuthorizer([
  { token: A, tenant: 'tnt_a' },
  { token: ALL, tenant: '*' },
]);

let app: ApiServer | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

function serve(store: CatchUpStore = createMemoryCatchUpStore()) {
  const metrics = createApiMetrics({ defaultMetrics: false });
  app = createApiServer({ store, authorizer, metrics, logger: createSilentLogger() });
  const get = (url: string, token: string | null = A) =>
    app!.inject({ method: 'GET', url, headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  return { app, metrics, get };
}

const carlOf = (tenantId: string) => ({ tenantId, userId: 'carl' });

describe('catch-up API routes', () => {
  it('serves a page of wire bodies as they are stored, with nextAfter and hasMore', async () => {
    const store = createMemoryCatchUpStore();
    for (const seq of [1, 2, 3]) store.put(carlOf('tnt_a'), seq, JSON.stringify({ _id: `id${seq}`, seq, data: { text: `"#${seq}"` } }));
    const { get } = serve(store);
    const res = await get('/v1/tenants/tnt_a/users/carl/updates?after=1&limit=1');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.json()).toEqual({ updates: [{ _id: 'id2', seq: 2, data: { text: '"#2"' } }], nextAfter: 2, hasMore: true });
  });

  it('answers /state with the latest seq', async () => {
    const store = createMemoryCatchUpStore();
    store.setCounter(carlOf('tnt_a'), 12);
    const { get } = serve(store);
    const res = await get('/v1/tenants/tnt_a/users/carl/state');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ seq: 12 });
  });

  it('answers 410 tooLong with oldestSeq', async () => {
    const store = createMemoryCatchUpStore();
    store.put(carlOf('tnt_a'), 9);
    const { get, metrics } = serve(store);
    const res = await get('/v1/tenants/tnt_a/users/carl/updates?after=2');
    expect(res.statusCode).toBe(410);
    expect(res.json()).toMatchObject({ error: 'too_long', tooLong: true, oldestSeq: 9 });
    expect((await metrics.tooLong.get()).values[0]?.value).toBe(1);
  });

  describe('auth', () => {
    it.each([
      ['no token', null, 401, 'unauthorized'],
      ['an unknown token', 'not-a-configured-token', 401, 'unauthorized'],
      ["another tenant's token", A, 403, 'forbidden'],
      ['a * token', ALL, 200, undefined],
    ])('%s → %i', async (_what, token, status, error) => {
      const { get } = serve();
      for (const path of ['updates', 'state']) {
        const res = await get(`/v1/tenants/tnt_b/users/carl/${path}`, token);
        expect(res.statusCode).toBe(status);
        if (error) expect(res.json()).toMatchObject({ error });
        if (status === 401) expect(res.headers['www-authenticate']).toBe('Bearer');
      }
    });

    it('a token for the tenant → 200', async () => {
      const { get } = serve();
      expect((await get('/v1/tenants/tnt_a/users/carl/updates')).statusCode).toBe(200);
    });

    it('checks the token before anything else (no 400 or 404 detail for strangers)', async () => {
      const { get } = serve();
      expect((await get('/v1/tenants/tnt_a/users/carl/updates?limit=0', null)).statusCode).toBe(401);
      expect((await get('/v1/tenants/tnt_a/users/a%01b/updates', null)).statusCode).toBe(401);
    });
  });

  describe('bad input → 400 with the reason', () => {
    it.each([
      ['/v1/tenants/tnt_a/users/carl/updates?after=-1', 'after must be an integer ≥ 0'],
      ['/v1/tenants/tnt_a/users/carl/updates?after=abc', 'after must be an integer ≥ 0'],
      ['/v1/tenants/tnt_a/users/carl/updates?after=1&after=2', 'after must be given once'],
      ['/v1/tenants/tnt_a/users/carl/updates?limit=0', 'limit must be ≥ 1'],
      ['/v1/tenants/tnt_a/users/carl/updates?limit=1001', 'limit must be ≤ 1000'],
      [`/v1/tenants/tnt_a/users/${'x'.repeat(257)}/updates`, 'userId is 257 bytes long, at most 256 allowed'],
      [`/v1/tenants/tnt_a/users/${'%C3%BC'.repeat(129)}/state`, 'userId is 258 bytes long, at most 256 allowed'],
      ['/v1/tenants/tnt_a/users/a%0Ab/state', 'userId contains a control character'],
      ['/v1/tenants/tnt_a/users/a%00b/updates', 'userId contains a control character'],
    ])('%s', async (url, message) => {
      const { get } = serve();
      const res = await get(url, ALL);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toEqual({ error: 'bad_request', message });
    });

    it('a path that is not valid percent-encoding', async () => {
      const { get } = serve();
      const res = await get('/v1/tenants/tnt_a/users/%ZZ/updates', ALL);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ error: 'bad_request' });
    });

    it('an empty id', async () => {
      const { get } = serve();
      expect((await get('/v1/tenants/tnt_a/users//updates', ALL)).json()).toEqual({ error: 'bad_request', message: 'userId is empty' });
      expect((await get('/v1/tenants//users/carl/state', ALL)).json()).toEqual({ error: 'bad_request', message: 'tenantId is empty' });
    });
  });

  it('answers unknown routes and methods with 404 JSON', async () => {
    const { get, app } = serve();
    const res = await get('/v2/anything', null);
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: 'not_found', message: 'no route GET /v2/anything' });
    const post = await app.inject({ method: 'POST', url: '/v1/tenants/tnt_a/users/carl/updates', payload: { a: 1 } });
    expect(post.statusCode).toBe(404);
    expect(post.json()).toMatchObject({ error: 'not_found' });
  });

  it('answers 503 without details on a database error, and 500 on anything else', async () => {
    const failing = (err: Error): CatchUpStore => ({
      updatesAfter: () => Promise.reject(err),
      topSeq: () => Promise.reject(err),
      counterSeq: () => Promise.reject(err),
    });
    const dbError = Object.assign(new Error('connection 3 to 10.0.0.1:27017 closed'), { name: 'MongoNetworkError' });
    const { get, metrics } = serve(failing(dbError));
    for (const path of ['updates', 'state']) {
      const res = await get(`/v1/tenants/tnt_a/users/carl/${path}`);
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({ error: 'unavailable', message: 'the database did not answer; try again' });
      expect(res.headers['retry-after']).toBe('1');
    }
    expect((await metrics.databaseErrors.get()).values[0]?.value).toBe(2);
    await app!.close();

    const other = serve(failing(new TypeError('boom')));
    const res = await other.get('/v1/tenants/tnt_a/users/carl/state');
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: 'internal', message: 'internal error' });
  });

  it('answers a request in flight when stopped, then closes its connection so the stop does not wait on keep-alive', async () => {
    const store = createMemoryCatchUpStore();
    let release!: () => void;
    let entered!: () => void;
    const inStore = new Promise<void>((resolve) => (entered = resolve));
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow: CatchUpStore = {
      ...store,
      async updatesAfter(r, after, count) {
        entered();
        await gate;
        return store.updatesAfter(r, after, count);
      },
    };
    const { app } = serve(slow);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as { port: number };
    const response = fetch(`http://127.0.0.1:${port}/v1/tenants/tnt_a/users/carl/updates`, { headers: { authorization: `Bearer ${A}` } });
    await inStore;
    const closed = app.close();
    await waitFor(() => !app.server.listening, { timeoutMs: 5_000, message: 'the listener closed' });
    release();
    const res = await response;
    expect(res.status).toBe(200);
    expect(res.headers.get('connection')).toBe('close');
    await closed; // hangs (test timeout) if the answered connection were kept alive
  });

  it('measures request durations by route template and status', async () => {
    const { get, metrics } = serve();
    await get('/v1/tenants/tnt_a/users/carl/updates');
    await get('/v1/tenants/tnt_a/users/dora/updates', null);
    await get('/nowhere');
    const text = await metrics.registry.metrics();
    expect(text).toContain(
      'chat3_api_request_duration_seconds_count{method="GET",route="/v1/tenants/:tenantId/users/:userId/updates",status="200"} 1',
    );
    expect(text).toContain(
      'chat3_api_request_duration_seconds_count{method="GET",route="/v1/tenants/:tenantId/users/:userId/updates",status="401"} 1',
    );
    expect(text).toContain('chat3_api_request_duration_seconds_count{method="GET",route="unmatched",status="404"} 1');
    expect(text).not.toContain('carl');
  });
});
