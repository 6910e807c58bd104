/** The builder's environment: ROUTING_KEY_SCOPE (issue #10 §4). */
import { ConfigError } from '@chat3/runtime';
import { describe, expect, it } from 'vitest';
import { loadBuilderConfig } from './config';

const base = { MONGODB_URI: 'mongodb://localhost:27017' };

describe('ROUTING_KEY_SCOPE', () => {
  it('defaults to the seed’s format', () => {
    expect(loadBuilderConfig(base).ROUTING_KEY_SCOPE).toBe('seed');
  });

  it('accepts tenant', () => {
    expect(loadBuilderConfig({ ...base, ROUTING_KEY_SCOPE: 'tenant' }).ROUTING_KEY_SCOPE).toBe('tenant');
  });

  it('rejects anything else with a clear error naming the variable and the value', () => {
    let error: unknown;
    try {
      loadBuilderConfig({ ...base, ROUTING_KEY_SCOPE: 'tenants' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.join('\n')).toMatch(/ROUTING_KEY_SCOPE: .*"seed".*"tenant".*\(got "tenants"\)/);
  });
});
