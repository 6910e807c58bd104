import { describe, expect, it } from 'vitest';
import { nextSampleDelay } from './relay';

describe('nextSampleDelay', () => {
  it('samples at the configured interval while sampling is cheap', () => {
    expect(nextSampleDelay(2_000, 30)).toBe(2_000);
  });

  it('backs off so that slow sampling takes at most a fifth of the time', () => {
    expect(nextSampleDelay(2_000, 2_200)).toBe(8_800);
  });
});
