import { ConfigError } from '@chat3/runtime';
import { describe, expect, it } from 'vitest';
import { durationSeconds, loadRelayConfig, retentionSeconds } from './config';

const base = { MONGODB_URI: 'mongodb://db/' };

describe('UPDATES_RETENTION', () => {
  it('defaults to 7 days', () => {
    expect(retentionSeconds(loadRelayConfig(base))).toBe(7 * 86_400);
  });

  it('reads days, hours, minutes and seconds, and 0 for keep everything', () => {
    expect(durationSeconds('7d')).toBe(604_800);
    expect(durationSeconds('36h')).toBe(129_600);
    expect(durationSeconds('90m')).toBe(5_400);
    expect(durationSeconds('3600s')).toBe(3_600);
    expect(durationSeconds('0')).toBe(0);
    expect(retentionSeconds(loadRelayConfig({ ...base, UPDATES_RETENTION: '36h' }))).toBe(129_600);
    expect(retentionSeconds(loadRelayConfig({ ...base, UPDATES_RETENTION: '0' }))).toBe(0);
  });

  it.each(['7', '1.5d', '7 d', '-1d', '7w', 'P7D', '', '3d12h'])('rejects %j with a message that shows the format', (value) => {
    let error: ConfigError | undefined;
    try {
      loadRelayConfig({ ...base, UPDATES_RETENTION: value });
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.problems).toHaveLength(1);
    expect(error!.problems[0]).toMatch(/^UPDATES_RETENTION: expected .*`7d`, `36h`, `90m`, `3600s`.*`0` to keep everything/);
  });

  it('rejects a retention longer than a TTL index can hold', () => {
    expect(() => loadRelayConfig({ ...base, UPDATES_RETENTION: '24856d' })).toThrow(/UPDATES_RETENTION: at most 2147483647 seconds/);
    expect(retentionSeconds(loadRelayConfig({ ...base, UPDATES_RETENTION: '24855d' }))).toBe(24_855 * 86_400);
  });

  it('bounds the deleter: batch and interval', () => {
    const config = loadRelayConfig(base);
    expect([config.RELAY_RETENTION_BATCH, config.RELAY_RETENTION_INTERVAL_MS]).toEqual([1_000, 1_000]);
    expect(() => loadRelayConfig({ ...base, RELAY_RETENTION_BATCH: '0' })).toThrow(/RELAY_RETENTION_BATCH/);
    expect(() => loadRelayConfig({ ...base, RELAY_RETENTION_INTERVAL_MS: '5' })).toThrow(/RELAY_RETENTION_INTERVAL_MS/);
  });
});
