import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, commonEnv, describeConfig, intVar, loadConfig } from './config';

const schema = z.object({ ...commonEnv, BATCH: intVar(10, 1, 100, 'batch size') });

describe('loadConfig', () => {
  it('applies defaults and coerces numbers', () => {
    const config = loadConfig(schema, { MONGODB_URI: 'mongodb://db/', BATCH: '25' });
    expect(config.BATCH).toBe(25);
    expect(config.MONGODB_DB).toBe('chat3');
    expect(config.RABBITMQ_URL).toBe('amqp://localhost:5672');
  });

  it('lists every problem in one error, with credentials redacted', () => {
    let error: ConfigError | undefined;
    try {
      loadConfig(schema, { RABBITMQ_URL: 'http://guest:secret@host', BATCH: '0', LOG_LEVEL: 'loud' });
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const names = error!.problems.map((p) => p.split(':')[0]);
    expect(names).toEqual(expect.arrayContaining(['MONGODB_URI', 'RABBITMQ_URL', 'BATCH', 'LOG_LEVEL']));
    expect(error!.message).not.toContain('secret');
    expect(error!.message).toContain('guest:***@host');
  });

  it('never shows the value of a secret variable', () => {
    const withToken = z.object({ TOKENS: z.string().regex(/^[a-z]+$/, 'letters only') });
    let error: ConfigError | undefined;
    try {
      loadConfig(withToken, { TOKENS: 's3cret-token' }, { secrets: ['TOKENS'] });
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error!.problems).toEqual(['TOKENS: letters only (got 12 characters, not shown)']);
    expect(error!.message).not.toContain('s3cret');
  });

  it('describes each variable for the README table', () => {
    const rows = describeConfig(schema);
    expect(rows.find((r) => r.name === 'BATCH')).toEqual({ name: 'BATCH', default: '10', description: 'batch size' });
    expect(rows.find((r) => r.name === 'MONGODB_URI')?.default).toBe('(required)');
  });
});
