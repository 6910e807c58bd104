import { ADVISORY_FIELDS } from '@chat3/core';
import { describe, expect, it } from 'vitest';
import { DEAD_LETTER_REASONS, createBuilderMetrics } from './metrics';

describe('chat3_builder_fields_corrected_total', () => {
  it('has one series per advisory field from the start, at 0, and no other', async () => {
    const metrics = createBuilderMetrics({ defaultMetrics: false });
    const values = (await metrics.fieldsCorrected.get()).values;
    expect(values.map((v) => v.labels.field)).toEqual([...ADVISORY_FIELDS]);
    expect(values.every((v) => v.value === 0)).toBe(true);
    expect(await metrics.registry.metrics()).toContain('chat3_builder_fields_corrected_total{field="typing.expiresInMs"} 0');
  });
});

describe('chat3_builder_events_dead_lettered_total', () => {
  it('has every known reason of each stage from the start, at 0, so the first dead letter is an increase', async () => {
    const metrics = createBuilderMetrics({ defaultMetrics: false });
    const values = (await metrics.eventsDeadLettered.get()).values;
    expect(values.map((v) => `${v.labels.stage}:${v.labels.reason}`)).toEqual([
      ...DEAD_LETTER_REASONS.router.map((r) => `router:${r}`),
      ...DEAD_LETTER_REASONS.builder.map((r) => `builder:${r}`),
    ]);
    expect(values.every((v) => v.value === 0)).toBe(true);
    expect(await metrics.registry.metrics()).toContain('chat3_builder_events_dead_lettered_total{reason="not-json",stage="router"} 0');
  });
});
