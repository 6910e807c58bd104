/**
 * The catch-up API over HTTP against the real MongoDB-compatible server: auth, bad input, paging,
 * /state and tooLong, with the Mongo store and the recipient_seq index.
 */
import { toWireMessage } from '@chat3/core';
import { ObjectId } from 'mongodb';
import { afterEach, describe, expect, it } from 'vitest';
import { createApiFixture, getJson, makeUpdate, TOKEN_A, TOKEN_ALL, TOKEN_B, type ApiFixture } from './fixture';

let fx: ApiFixture | undefined;

afterEach(async () => {
  await fx?.cleanUp();
  fx = undefined;
});

const wire = (doc: ReturnType<typeof makeUpdate>) => JSON.parse(toWireMessage(doc).body.toString('utf8')) as Record<string, unknown>;

describe('catch-up API on MongoDB', () => {
  it('auth: no token 401, unknown token 401, another tenant 403, * token and own tenant 200', async () => {
    const f = (fx = await createApiFixture('api_auth'));
    await f.insert([makeUpdate('tnt_a', 'carl', 1)]);
    const { url } = await f.startInProcess();
    const at = (path: string) => `${url}/v1/tenants/tnt_a/users/carl/${path}`;
    for (const path of ['updates', 'state']) {
      expect(await getJson(at(path), null)).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
      expect(await getJson(at(path), 'tok-nobody-has-this-one-123')).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
      expect(await getJson(at(path), TOKEN_B)).toMatchObject({ status: 403, body: { error: 'forbidden' } });
      expect((await getJson(at(path), TOKEN_ALL)).status).toBe(200);
      expect((await getJson(at(path), TOKEN_A)).status).toBe(200);
    }
    expect((await getJson(at('updates'), TOKEN_A)).body).toMatchObject({ nextAfter: 1 });
  });

  it('bad input: 400 with the reason', async () => {
    const f = (fx = await createApiFixture('api_bad'));
    const { url } = await f.startInProcess();
    const cases: Array<[string, string]> = [
      ['tnt_a/users/carl/updates?after=-1', 'after must be an integer ≥ 0'],
      ['tnt_a/users/carl/updates?after=1.5', 'after must be an integer ≥ 0'],
      ['tnt_a/users/carl/updates?limit=0', 'limit must be ≥ 1'],
      ['tnt_a/users/carl/updates?limit=5000', 'limit must be ≤ 1000'],
      [`tnt_a/users/${'u'.repeat(300)}/updates`, 'userId is 300 bytes long, at most 256 allowed'],
      [`${'t'.repeat(257)}/users/carl/state`, 'tenantId is 257 bytes long, at most 256 allowed'],
      ['tnt_a/users/a%1Bb/state', 'userId contains a control character'],
    ];
    for (const [path, message] of cases) {
      expect(await getJson(`${url}/v1/tenants/${path}`)).toEqual({ status: 400, body: { error: 'bad_request', message } });
    }
    expect(await getJson(`${url}/v1/nothing-here`)).toMatchObject({ status: 404, body: { error: 'not_found' } });
  });

  it('pages in seq order with nextAfter and hasMore; bodies as on the wire; unnumbered and other recipients skipped', async () => {
    const f = (fx = await createApiFixture('api_pages'));
    const carl = Array.from({ length: 25 }, (_, i) => makeUpdate('tnt_a', 'carl', i + 1));
    await f.insert([
      // Stored out of order, with noise: Updates not numbered yet, the same userId in another tenant,
      // another user of the same tenant.
      ...carl.slice(10),
      makeUpdate('tnt_a', 'carl', undefined, 900),
      ...Array.from({ length: 30 }, (_, i) => makeUpdate('tnt_b', 'carl', i + 1, 500 + i)),
      ...Array.from({ length: 5 }, (_, i) => makeUpdate('tnt_a', 'dora', i + 1, 700 + i)),
      ...carl.slice(0, 10),
      makeUpdate('tnt_a', 'carl', undefined, 901),
    ]);
    const { url } = await f.startInProcess();
    const page = (after: number | null, limit: number | null) => {
      const q = new URLSearchParams();
      if (after !== null) q.set('after', String(after));
      if (limit !== null) q.set('limit', String(limit));
      return getJson(`${url}/v1/tenants/tnt_a/users/carl/updates?${q}`, TOKEN_A);
    };

    const seen: Array<Record<string, unknown>> = [];
    let after = 0;
    const shapes: Array<[number, boolean]> = [];
    for (;;) {
      const { status, body } = await page(after, 10);
      expect(status).toBe(200);
      const updates = body.updates as Array<Record<string, unknown>>;
      seen.push(...updates);
      shapes.push([updates.length, body.hasMore as boolean]);
      after = body.nextAfter as number;
      if (!body.hasMore) break;
    }
    expect(shapes).toEqual([
      [10, true],
      [10, true],
      [5, false],
    ]);
    expect(after).toBe(25);
    expect(seen).toEqual(carl.map(wire));
    expect(seen.every((u) => u.tenantId === 'tnt_a' && u.userId === 'carl')).toBe(true);

    // Defaults (after 0, limit 100), an exact fit, the head.
    expect((await page(null, null)).body).toMatchObject({ nextAfter: 25, hasMore: false });
    expect((await page(null, null)).body.updates).toHaveLength(25);
    expect((await page(15, 10)).body).toMatchObject({ nextAfter: 25, hasMore: false });
    expect((await page(24, 1)).body).toMatchObject({ nextAfter: 25, hasMore: false });
    expect((await page(23, 1)).body).toMatchObject({ nextAfter: 24, hasMore: true });
    expect((await page(25, 10)).body).toEqual({ updates: [], nextAfter: 25, hasMore: false });
    // The other tenant's carl has 30: its pages are its own.
    const other = await getJson(`${url}/v1/tenants/tnt_b/users/carl/updates?after=20`, TOKEN_B);
    expect(other.body).toMatchObject({ nextAfter: 30, hasMore: false });
    expect((other.body.updates as Array<Record<string, unknown>>).every((u) => u.tenantId === 'tnt_b')).toBe(true);
  });

  it('/state: counter ahead of the Updates, Updates ahead of the counter, none → 0', async () => {
    const f = (fx = await createApiFixture('api_state'));
    const { url } = await f.startInProcess();
    const state = async (userId: string) => (await getJson(`${url}/v1/tenants/tnt_a/users/${userId}/state`, TOKEN_A)).body;
    expect(await state('nobody')).toEqual({ seq: 0 });

    await f.insert([1, 2, 3].map((seq) => makeUpdate('tnt_a', 'carl', seq)));
    await f.setCounter('tnt_a', 'carl', 7);
    expect(await state('carl')).toEqual({ seq: 7 });

    await f.insert([1, 2, 3, 4, 5].map((seq) => makeUpdate('tnt_a', 'dora', seq)));
    await f.setCounter('tnt_a', 'dora', 2);
    expect(await state('dora')).toEqual({ seq: 5 });

    // Only numbered Updates count, and only the recipient's own counter.
    await f.insert([makeUpdate('tnt_a', 'emil', undefined, 1)]);
    await f.setCounter('tnt_b', 'emil', 40);
    expect(await state('emil')).toEqual({ seq: 0 });
  });

  it('tooLong: 410 with oldestSeq once the oldest Updates are deleted; served again from oldestSeq − 1', async () => {
    const f = (fx = await createApiFixture('api_toolong'));
    await f.insert(Array.from({ length: 20 }, (_, i) => makeUpdate('tnt_a', 'carl', i + 1)));
    await f.setCounter('tnt_a', 'carl', 20);
    const { url } = await f.startInProcess();
    const page = (after: number) => getJson(`${url}/v1/tenants/tnt_a/users/carl/updates?after=${after}&limit=5`, TOKEN_A);
    expect((await page(0)).status).toBe(200);

    await f.updates.deleteMany({ tenantId: 'tnt_a', userId: 'carl', seq: { $lte: 8 } });
    for (const after of [0, 3, 6]) {
      expect(await page(after)).toEqual({
        status: 410,
        body: {
          error: 'too_long',
          tooLong: true,
          oldestSeq: 9,
          message: `Updates after seq ${after} are no longer stored; fetch /state and resync`,
        },
      });
    }
    expect((await page(8)).body).toMatchObject({ nextAfter: 13, hasMore: true });
    expect((await page(20)).body).toEqual({ updates: [], nextAfter: 20, hasMore: false });

    // Everything deleted: the counter still knows seq 20 was assigned.
    await f.updates.deleteMany({ tenantId: 'tnt_a', userId: 'carl' });
    expect(await page(8)).toMatchObject({ status: 410, body: { tooLong: true, oldestSeq: 21 } });
    expect(await page(20)).toMatchObject({ status: 200, body: { updates: [], nextAfter: 20, hasMore: false } });
    expect((await getJson(`${url}/v1/tenants/tnt_a/users/carl/state`, TOKEN_A)).body).toEqual({ seq: 20 });
  });

  it('skips the stray a relay numbering upsert leaves for a deleted Update: it has the recipient and a seq, no eventId', async () => {
    const f = (fx = await createApiFixture('api_stray'));
    await f.insert([1, 2].map((seq) => makeUpdate('tnt_a', 'carl', seq)));
    await f.updates.insertOne({ _id: new ObjectId(), tenantId: 'tnt_a', userId: 'carl', seq: 3 });
    const { url } = await f.startInProcess();
    const at = (path: string) => getJson(`${url}/v1/tenants/tnt_a/users/carl/${path}`, TOKEN_A);
    const { status, body } = await at('updates');
    expect(status).toBe(200);
    expect(body).toMatchObject({ nextAfter: 2, hasMore: false });
    expect((body.updates as Array<Record<string, unknown>>).map((u) => u.seq)).toEqual([1, 2]);
    expect((await at('updates?after=2')).body).toEqual({ updates: [], nextAfter: 2, hasMore: false });
    expect((await at('state')).body).toEqual({ seq: 2 });
  });

  it('answers 503 JSON when the database is gone, and keeps serving', async () => {
    const f = (fx = await createApiFixture('api_dbdown'));
    const { url } = await f.startInProcess();
    await f.database.close();
    const res = await getJson(`${url}/v1/tenants/tnt_a/users/carl/updates`, TOKEN_A);
    expect(res).toEqual({ status: 503, body: { error: 'unavailable', message: 'the database did not answer; try again' } });
    expect((await getJson(`${url}/v1/tenants/tnt_a/users/carl/state`, null)).status).toBe(401);
    await f.database.client.connect();
  });
});
