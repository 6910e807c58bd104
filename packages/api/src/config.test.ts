import { ConfigError } from '@chat3/runtime';
import { describe, expect, it } from 'vitest';
import { loadApiConfig } from './config';

const TOKEN = 'tok-tenant-a-4f9c2e71b8d3';

describe('loadApiConfig', () => {
  it('applies the defaults and parses API_TOKENS', () => {
    const config = loadApiConfig({ MONGODB_URI: 'mongodb://db/', API_TOKENS: `${TOKEN}=tnt_a` });
    expect(config).toMatchObject({
      MONGODB_DB: 'chat3',
      UPDATES_COLLECTION: 'updates',
      SEQS_COLLECTION: 'update_seqs',
      API_HOST: '127.0.0.1',
      API_PORT: 8080,
      METRICS_PORT: 9466,
      API_QUERY_TIMEOUT_MS: 5000,
      SHUTDOWN_TIMEOUT_MS: 15000,
      API_TOKENS: [{ token: TOKEN, tenant: 'tnt_a' }],
    });
  });

  it('lists every problem, and never the tokens', () => {
    let error: ConfigError | undefined;
    try {
      loadApiConfig({ API_TOKENS: `${TOKEN}=tnt_a,${TOKEN}`, API_PORT: '70000' });
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.problems.map((p) => p.split(':')[0])).toEqual(expect.arrayContaining(['MONGODB_URI', 'API_TOKENS', 'API_PORT']));
    expect(error!.message).toContain('API_TOKENS: entry 2 of 2: expected token=tenantId or token=* (got 57 characters, not shown)');
    expect(error!.message).not.toContain(TOKEN);
  });

  it('requires API_TOKENS', () => {
    expect(() => loadApiConfig({ MONGODB_URI: 'mongodb://db/' })).toThrow(/API_TOKENS: .*\(got unset\)/);
  });
});
