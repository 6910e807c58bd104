import { createLogger } from '@chat3/runtime';
import { describe, expect, it } from 'vitest';
import { createLagSampler, lagSeconds } from './lag-sampler';

const logger = createLogger({ name: 'test', level: 'silent' });

describe('lagSeconds', () => {
  it('is the age of the oldest waiting Update in seconds, 0 when none waits, never negative', () => {
    expect(lagSeconds(10_000, 12_500)).toBe(2.5);
    expect(lagSeconds(null, 12_500)).toBe(0);
    expect(lagSeconds(13_000, 12_500)).toBe(0);
  });
});

describe('createLagSampler', () => {
  it('sets the lag from each sample, survives a failed sample (no value set), and stops', async () => {
    const samples: Array<number | Error | null> = [1_000, new Error('server gone'), null];
    const set: number[] = [];
    let calls = 0;
    let allDone!: () => void;
    const done = new Promise<void>((resolve) => (allDone = resolve));
    const sampler = createLagSampler({
      oldestWaitingSince: async () => {
        const next = samples[calls++];
        if (next instanceof Error) throw next;
        return next ?? null;
      },
      setLagSeconds: (s) => {
        set.push(s);
        if (set.length === 2) allDone();
      },
      intervalMs: 1,
      logger,
      now: () => 4_000,
    });
    sampler.start();
    await done;
    await sampler.stop();
    expect(set.slice(0, 2)).toEqual([3, 0]);
    expect(calls).toBeGreaterThanOrEqual(3);
    await sampler.stop(); // safe twice
  });
});
