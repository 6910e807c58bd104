import { ADVISORY_FIELDS } from '@chat3/core';
import { describe, expect, it } from 'vitest';
import { createBuilderMetrics } from './metrics';

describe('chat3_builder_fields_corrected_total', () => {
  it('has one series per advisory field from the start, at 0, and no other', async () => {
    const metrics = createBuilderMetrics({ defaultMetrics: false });
    const values = (await metrics.fieldsCorrected.get()).values;
    expect(values.map((v) => v.labels.field)).toEqual([...ADVISORY_FIELDS]);
    expect(values.every((v) => v.value === 0)).toBe(true);
    expect(await metrics.registry.metrics()).toContain('chat3_builder_fields_corrected_total{field="typing.expiresInMs"} 0');
  });
});
