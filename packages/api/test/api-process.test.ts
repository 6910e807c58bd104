/**
 * The API as it runs in production: `node --import tsx packages/api/src/main.ts` as a child process,
 * answering over HTTP, reporting on its ops port, stopping on SIGTERM, and never logging a token.
 */
import { waitFor, type ManagedProcess } from '@chat3/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { createApiFixture, getJson, makeUpdate, TOKEN_A, TOKEN_ALL, TOKEN_B, TOKENS, type ApiFixture } from './fixture';

let fx: ApiFixture | undefined;

afterEach(async () => {
  await fx?.cleanUp();
  fx = undefined;
});

async function portOf(proc: ManagedProcess, msg: string): Promise<number> {
  const { entry } = await proc.waitForLog((e) => e.msg === msg, 60_000);
  return entry!.port as number;
}

describe('the API process', () => {
  it('serves pages and state, reports health, readiness and metrics, stops on SIGTERM, and logs no token', async () => {
    const f = (fx = await createApiFixture('api_proc'));
    await f.insert(Array.from({ length: 12 }, (_, i) => makeUpdate('tnt_a', 'carl', i + 1)));
    const proc = f.startProcess({ SHUTDOWN_TIMEOUT_MS: '8000' });
    const base = `http://127.0.0.1:${await portOf(proc, 'api listening')}`;
    const ops = `http://127.0.0.1:${await portOf(proc, 'ops server listening')}`;

    const page = await getJson(`${base}/v1/tenants/tnt_a/users/carl/updates?after=2&limit=5`, TOKEN_A);
    expect(page.status).toBe(200);
    expect(page.body).toMatchObject({ nextAfter: 7, hasMore: true });
    expect((page.body.updates as Array<{ seq: number }>).map((u) => u.seq)).toEqual([3, 4, 5, 6, 7]);
    expect(await getJson(`${base}/v1/tenants/tnt_a/users/carl/state`, TOKEN_ALL)).toEqual({ status: 200, body: { seq: 12 } });
    expect((await getJson(`${base}/v1/tenants/tnt_a/users/carl/state`, TOKEN_B)).status).toBe(403);
    const wrongToken = 'tok-wrong-but-plausible-5521';
    expect((await getJson(`${base}/v1/tenants/tnt_a/users/carl/state`, wrongToken)).status).toBe(401);
    expect((await getJson(`${base}/v1/tenants/tnt_a/users/carl/updates?limit=9999`, TOKEN_A)).status).toBe(400);

    expect((await fetch(`${ops}/healthz`)).status).toBe(200);
    await waitFor(async () => (await fetch(`${ops}/readyz`)).status === 200, { timeoutMs: 30_000, message: '/readyz answers 200' });
    const metrics = await (await fetch(`${ops}/metrics`)).text();
    expect(metrics).toMatch(
      /chat3_api_request_duration_seconds_count\{method="GET",route="\/v1\/tenants\/:tenantId\/users\/:userId\/updates",status="200"\} 1/,
    );
    expect(metrics).toMatch(
      /chat3_api_request_duration_seconds_count\{method="GET",route="\/v1\/tenants\/:tenantId\/users\/:userId\/state",status="403"\} 1/,
    );
    expect(metrics).toMatch(/chat3_api_updates_served_total 5/);
    expect(metrics).toMatch(/chat3_api_mongodb_up 1/);

    // A request in flight when SIGTERM arrives is still answered; then the process exits 0.
    const inFlight = getJson(`${base}/v1/tenants/tnt_a/users/carl/updates`, TOKEN_A);
    proc.kill('SIGTERM');
    const { code, signal } = await proc.exited;
    expect({ code, signal }, proc.tail(15)).toEqual({ code: 0, signal: null });
    const answered = await inFlight.catch((err: Error) => err);
    if (!(answered instanceof Error)) expect([200, 503]).toContain(answered.status);
    expect(proc.entries().some((e) => e.msg === 'stopped')).toBe(true);
    // `node --import tsx` runs the API in this one process: nothing of it is left.
    expect(() => process.kill(proc.pid, 0)).toThrow();
    await expect(fetch(`${base}/v1/tenants/tnt_a/users/carl/state`)).rejects.toThrow();

    // Requests were logged (debug), tokens never.
    const logs = proc.logs().join('\n');
    expect(proc.entries().filter((e) => e.msg === 'request').length).toBeGreaterThanOrEqual(5);
    for (const secret of [...TOKENS.map((t) => t.token), wrongToken]) expect(logs).not.toContain(secret);
    expect(logs.toLowerCase()).not.toContain('bearer');
  });

  it('exits 2 on a bad API_TOKENS with a clear message that shows no token', async () => {
    const f = (fx = await createApiFixture('api_badcfg'));
    const secret = 'tok-valid-and-long-enough-77';
    const proc = f.startProcess({ API_TOKENS: `${secret}=tnt_a,short=tnt_b,${secret}x` });
    const { code } = await proc.exited;
    expect(code).toBe(2);
    const out = proc.logs().join('\n');
    expect(out).toContain('API_TOKENS: entry 2 of 3: a token must have 16–512 characters (has 5)');
    expect(out).toContain('API_TOKENS: entry 3 of 3: expected token=tenantId or token=*');
    expect(out).not.toContain(secret);
    expect(out).not.toContain('short');
  });

  it('exits 2 when API_TOKENS is missing', async () => {
    const f = (fx = await createApiFixture('api_nocfg'));
    const proc = f.startProcess({ API_TOKENS: '' });
    expect((await proc.exited).code).toBe(2);
    expect(proc.logs().join('\n')).toContain('API_TOKENS');
  });
});
