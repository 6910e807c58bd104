/**
 * runService against the real MongoDB-compatible server, with a fake `process`: the order of start-up
 * and shutdown, that an unhandled rejection is fatal, and what its ops server adds to a service's
 * health (a wedged loop) and readiness (MongoDB).
 */
import { createServer } from 'node:net';
import { testEnv, waitFor } from '@chat3/testkit';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { runService, type LoopHealth, type ProcessPort, type ServiceBaseConfig } from '../src';

function fakeProcess(env: Record<string, string | undefined>) {
  const exits: number[] = [];
  const listeners = new Map<string, (arg: unknown) => void>();
  const io: ProcessPort = {
    env,
    writeStderr: () => undefined,
    exit: (code) => void exits.push(code),
    on: (event, listener) => void listeners.set(event, listener),
  };
  return { io, exits, listeners };
}

/** A port nothing listens on now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function definition(steps: string[], options: { port?: number; withLoops?: (loops: LoopHealth) => void } = {}) {
  return {
    name: 'chat3-test',
    loadConfig: (env: Record<string, string | undefined>): ServiceBaseConfig => ({
      MONGODB_URI: env.MONGODB_URI!,
      METRICS_PORT: options.port ?? 0,
      METRICS_HOST: '127.0.0.1',
      READY_INTERVAL_MS: 200,
      HEALTH_WEDGED_MS: 1_000,
      LOG_LEVEL: 'silent',
      SHUTDOWN_TIMEOUT_MS: 5_000,
    }),
    create: async ({ mongo, loops }: { mongo: { db(): { command(c: object): Promise<unknown> } }; loops: LoopHealth }) => {
      await mongo.db().command({ ping: 1 });
      steps.push('created (mongo answers)');
      options.withLoops?.(loops);
      return {
        registry: new Registry(),
        health: () => ({ ok: true, checks: {} }),
        readiness: () => ({ ok: true, checks: {} }),
        start: async () => void steps.push('started'),
        stop: async () => void steps.push('stopped'),
      };
    },
  };
}

describe('runService', () => {
  it('connects MongoDB before the parts, starts them, and on SIGTERM stops them and exits 0', async () => {
    const fake = fakeProcess({ MONGODB_URI: testEnv().mongoUri });
    const steps: string[] = [];
    await runService(definition(steps), fake.io);
    expect(steps).toEqual(['created (mongo answers)', 'started']);
    expect([...fake.listeners.keys()].sort()).toEqual(['SIGINT', 'SIGTERM', 'unhandledRejection']);
    fake.listeners.get('SIGTERM')!('SIGTERM');
    await waitFor(() => fake.exits.length > 0, { timeoutMs: 10_000, message: 'exit after SIGTERM' });
    expect(fake.exits).toEqual([0]);
    expect(steps.at(-1)).toBe('stopped');
  });

  it('answers /healthz 503 naming a wedged loop, and /readyz only once MongoDB answers its ping', async () => {
    const fake = fakeProcess({ MONGODB_URI: testEnv().mongoUri });
    const port = await freePort();
    let release: () => void = () => undefined;
    const withLoops = (loops: LoopHealth) => {
      void loops.loop('idle-consumer'); // registered, never in a step: never wedged
      void loops.loop('stuck-flush').step(() => new Promise<void>((resolve) => (release = resolve)));
    };
    await runService(definition([], { port, withLoops }), fake.io);
    const get = async (path: string) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      return { status: res.status, body: (await res.json()) as { ok: boolean; checks: Record<string, unknown> } };
    };

    await waitFor(async () => (await get('/readyz')).status === 200, { timeoutMs: 10_000, message: 'ready once MongoDB answers' });
    expect((await get('/readyz')).body.checks).toMatchObject({ mongodb: 'up' });

    // Inside a step for longer than HEALTH_WEDGED_MS (1 s) without progress or error.
    await waitFor(async () => (await get('/healthz')).status === 503, { timeoutMs: 10_000, message: 'healthz 503' });
    const wedged = (await get('/healthz')).body;
    expect(wedged.ok).toBe(false);
    expect(wedged.checks.wedged).toEqual(['stuck-flush']);
    release();
    await waitFor(async () => (await get('/healthz')).status === 200, { timeoutMs: 10_000, message: 'healthy once the step ends' });

    fake.listeners.get('SIGTERM')!('SIGTERM');
    await waitFor(() => fake.exits.length > 0, { timeoutMs: 10_000, message: 'exit after SIGTERM' });
    expect(fake.exits).toEqual([0]);
  });

  it('exits 1 on an unhandled rejection', async () => {
    const fake = fakeProcess({ MONGODB_URI: testEnv().mongoUri });
    await runService(definition([]), fake.io);
    fake.listeners.get('unhandledRejection')!(new Error('nobody caught me'));
    expect(fake.exits).toEqual([1]);
    fake.listeners.get('SIGTERM')!('SIGTERM');
    await waitFor(() => fake.exits.length > 1, { timeoutMs: 10_000, message: 'the ops server and client closed' });
  });
});
