import { describe, expect, it } from 'vitest';
import { backoffDelay, sleep } from './backoff';

describe('backoffDelay', () => {
  it('grows exponentially within half and all of the ceiling', () => {
    const low = () => 0;
    const high = () => 0.999999;
    expect(backoffDelay(0, { baseMs: 100, maxMs: 10_000 }, low)).toBe(50);
    expect(backoffDelay(3, { baseMs: 100, maxMs: 10_000 }, low)).toBe(400);
    expect(backoffDelay(3, { baseMs: 100, maxMs: 10_000 }, high)).toBe(800);
  });

  it('never exceeds the maximum', () => {
    for (let attempt = 0; attempt < 60; attempt++) expect(backoffDelay(attempt, { baseMs: 100, maxMs: 5_000 })).toBeLessThanOrEqual(5_000);
  });
});

describe('sleep', () => {
  it('ends early when aborted', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const pending = sleep(60_000, controller.signal);
    controller.abort();
    await pending;
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
