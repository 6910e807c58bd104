import { describe, expect, it } from 'vitest';
import { normalizeRate, planBatch } from './pacing';

describe('planBatch', () => {
  it('sends up to a full batch at once when unpaced', () => {
    expect(planBatch(0, 0, 0, 500)).toEqual({ take: 500, waitMs: 0 });
    expect(planBatch(10_000, 123, Infinity, 50)).toEqual({ take: 50, waitMs: 0 });
  });

  it('sends the first step at once, then waits until the next one is due', () => {
    expect(planBatch(0, 0, 100, 500)).toEqual({ take: 1, waitMs: 0 });
    expect(planBatch(1, 1, 100, 500)).toEqual({ take: 0, waitMs: 9 });
    expect(planBatch(10, 1, 100, 500)).toEqual({ take: 1, waitMs: 0 });
  });

  it('catches up in one bigger batch after falling behind, bounded by maxBatch', () => {
    expect(planBatch(1_000, 10, 100, 500)).toEqual({ take: 91, waitMs: 0 });
    expect(planBatch(60_000, 10, 1_000, 500)).toEqual({ take: 500, waitMs: 0 });
  });
});

describe('normalizeRate', () => {
  it("treats 'max', 0, Infinity and undefined as unpaced and rejects nonsense", () => {
    expect(normalizeRate('max')).toBe(0);
    expect(normalizeRate(undefined)).toBe(0);
    expect(normalizeRate(Infinity)).toBe(0);
    expect(normalizeRate(250)).toBe(250);
    expect(() => normalizeRate(-1)).toThrow();
    expect(() => normalizeRate(Number.NaN)).toThrow();
  });
});
