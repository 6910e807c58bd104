import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, loadConfig } from './config';
import { runService, type ProcessPort, type ServiceBaseConfig } from './service';

/** A ProcessPort that records what runService did to "the process". */
function fakeProcess(env: Record<string, string | undefined>) {
  const stderr: string[] = [];
  const exits: number[] = [];
  const listeners = new Map<string, Array<(arg: unknown) => void>>();
  const io: ProcessPort = {
    env,
    writeStderr: (text) => void stderr.push(text),
    exit: (code) => void exits.push(code),
    on: (event, listener) => void listeners.set(event, [...(listeners.get(event) ?? []), listener]),
  };
  return { io, stderr, exits, listeners };
}

const schema = z.object({
  MONGODB_URI: z.string().startsWith('mongodb://'),
  METRICS_PORT: z.coerce.number().int().default(0),
  METRICS_HOST: z.string().default('127.0.0.1'),
  READY_INTERVAL_MS: z.coerce.number().int().default(1000),
  HEALTH_WEDGED_MS: z.coerce.number().int().default(1000),
  LOG_LEVEL: z.string().default('silent'),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().default(1000),
});
const load = (env: Record<string, string | undefined>): ServiceBaseConfig => loadConfig(schema, env);

describe('runService', () => {
  it('prints a bad environment on stderr and exits 2, before any connection or part is made', async () => {
    const fake = fakeProcess({ MONGODB_URI: 'http://user:s3cret@db', METRICS_PORT: 'many' });
    let created = false;
    await runService(
      {
        name: 'chat3-test',
        loadConfig: load,
        create: () => {
          created = true;
          throw new Error('unreachable');
        },
      },
      fake.io,
    );
    expect(fake.exits).toEqual([2]);
    expect(created).toBe(false);
    const output = fake.stderr.join('');
    expect(output).toMatch(/^chat3-test: invalid configuration:/);
    expect(output).toContain('MONGODB_URI');
    expect(output).toContain('METRICS_PORT');
    expect(output).not.toContain('s3cret');
    expect(fake.listeners.size).toBe(0);
  });

  it('exits 1 with the error on stderr when start-up fails otherwise', async () => {
    const fake = fakeProcess({});
    await runService(
      {
        name: 'chat3-test',
        loadConfig: () => {
          throw new TypeError('config loader broke');
        },
        create: () => {
          throw new Error('unreachable');
        },
      },
      fake.io,
    );
    expect(fake.exits).toEqual([1]);
    expect(fake.stderr.join('')).toContain('chat3-test: TypeError: config loader broke');
  });

  it('tells a ConfigError apart from other errors', () => {
    expect(() => load({})).toThrow(ConfigError);
  });
});
