/** Update createdAt: epoch ms with a µs fraction, strictly increasing per process (SPEC §4). */
import { describe, expect, it } from 'vitest';
import { createMonotonicClock } from './clock';

/** A fake time source that returns the given readings in turn (the last one repeats). */
function readings(...values: number[]): () => number {
  let i = 0;
  return () => values[Math.min(i++, values.length - 1)]!;
}

/** Distance in microseconds, rounded, so float noise does not matter. */
const micros = (a: number, b: number) => Math.round((b - a) * 1000);

describe('createMonotonicClock', () => {
  it('follows the time source when it moves forward', () => {
    const clock = createMonotonicClock(readings(1000, 1000.5, 2000));
    expect([clock(), clock(), clock()]).toEqual([1000, 1000.5, 2000]);
  });

  it('rounds to whole microseconds', () => {
    const clock = createMonotonicClock(readings(1763551369397.6482));
    expect(clock()).toBe(1763551369397.648);
  });

  it('keeps increasing by one microsecond while the time source stands still', () => {
    const clock = createMonotonicClock(() => 1763551369397.6482);
    const values = Array.from({ length: 1000 }, () => clock());
    for (let i = 1; i < values.length; i++) {
      expect(values[i]!).toBeGreaterThan(values[i - 1]!);
      expect(micros(values[i - 1]!, values[i]!)).toBe(1);
    }
    expect(micros(values[0]!, values.at(-1)!)).toBe(999);
  });

  it('keeps increasing when the time source goes backwards, and resumes when it catches up', () => {
    const clock = createMonotonicClock(readings(5000, 4000, 4999.999, 5000, 5000.0025, 6000));
    const values = [clock(), clock(), clock(), clock(), clock(), clock()];
    for (let i = 1; i < values.length; i++) expect(values[i]!).toBeGreaterThan(values[i - 1]!);
    expect(values.map((v) => micros(5000, v))).toEqual([0, 1, 2, 3, 4, 1_000_000]);
  });

  it('jumps back to the time source once it is ahead of the ticks', () => {
    const clock = createMonotonicClock(readings(100, 100, 100, 250.25));
    expect([clock(), clock(), clock(), clock()].map((v) => micros(100, v))).toEqual([0, 1, 2, 150_250]);
  });

  it('stays strictly increasing at today’s epoch magnitude over many ticks', () => {
    // At ~1.7e12 ms a double still resolves well below 1 µs, so no tick may collapse onto the previous one.
    const clock = createMonotonicClock(() => 1_763_551_369_397.999);
    let last = clock();
    for (let i = 0; i < 100_000; i++) {
      const next = clock();
      if (!(next > last)) throw new Error(`tick ${i} did not increase: ${last} -> ${next}`);
      last = next;
    }
    expect(micros(1_763_551_369_397.999, last)).toBe(100_000);
  });

  it('gives epoch milliseconds with a sub-millisecond fraction by default', () => {
    const clock = createMonotonicClock();
    const before = Date.now();
    const values = Array.from({ length: 50 }, () => clock());
    const after = Date.now();
    for (let i = 1; i < values.length; i++) expect(values[i]!).toBeGreaterThan(values[i - 1]!);
    expect(values[0]!).toBeGreaterThanOrEqual(before - 50);
    expect(values.at(-1)!).toBeLessThanOrEqual(after + 50);
    expect(values.some((v) => !Number.isInteger(v))).toBe(true);
  });

  it('keeps separate clocks independent', () => {
    const a = createMonotonicClock(() => 10);
    const b = createMonotonicClock(() => 10);
    a();
    a();
    expect(b()).toBe(10);
  });
});
