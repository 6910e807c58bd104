import { PUBLISH_FAILURES } from '@chat3/runtime';
import { describe, expect, it } from 'vitest';
import { createRelayMetrics } from './metrics';

describe('chat3_relay_publish_failures_total', () => {
  it('has every failure reason from the start, at 0, so the first failure is an increase', async () => {
    const metrics = createRelayMetrics({ defaultMetrics: false });
    const values = (await metrics.publishFailures.get()).values;
    expect(values.map((v) => v.labels.reason)).toEqual([...PUBLISH_FAILURES]);
    expect(values.every((v) => v.value === 0)).toBe(true);
    expect(await metrics.registry.metrics()).toContain('chat3_relay_publish_failures_total{reason="timeout"} 0');
  });
});
