/**
 * runService against the real MongoDB-compatible server, with a fake `process`: the order of start-up
 * and shutdown, and that an unhandled rejection is fatal.
 */
import { testEnv, waitFor } from '@chat3/testkit';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { runService, type ProcessPort, type ServiceBaseConfig } from '../src';

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

function definition(steps: string[]) {
  return {
    name: 'chat3-test',
    loadConfig: (env: Record<string, string | undefined>): ServiceBaseConfig => ({
      MONGODB_URI: env.MONGODB_URI!,
      METRICS_PORT: 0,
      LOG_LEVEL: 'silent',
      SHUTDOWN_TIMEOUT_MS: 5_000,
    }),
    create: async ({ mongo }: { mongo: { db(): { command(c: object): Promise<unknown> } } }) => {
      await mongo.db().command({ ping: 1 });
      steps.push('created (mongo answers)');
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

  it('exits 1 on an unhandled rejection', async () => {
    const fake = fakeProcess({ MONGODB_URI: testEnv().mongoUri });
    await runService(definition([]), fake.io);
    fake.listeners.get('unhandledRejection')!(new Error('nobody caught me'));
    expect(fake.exits).toEqual([1]);
    fake.listeners.get('SIGTERM')!('SIGTERM');
    await waitFor(() => fake.exits.length > 1, { timeoutMs: 10_000, message: 'the ops server and client closed' });
  });
});
