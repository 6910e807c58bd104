/**
 * The fault simulation in CI: every named scenario (one per defect of issue #7, then the seq and replay
 * ones) over a few seeds, and 200 random deployments over both relay modes and the builder, three in
 * ten with replays. Any violation fails the test with the command that replays it. The summary (runs,
 * faults injected by kind, violations) is printed.
 */
import { describe, expect, it } from 'vitest';
import { NAMED_SCENARIOS } from '../src/scenarios';
import { randomRuns, renderSweep, sweep } from '../src/sweep';

const NAMED_SEEDS = ['1', '2', '3'];
const RANDOM_RUNS = 200;

describe('the fault simulation', () => {
  it.each(NAMED_SCENARIOS.map((s) => [s.name, s] as const))('%s holds', async (_, scenario) => {
    const result = await sweep(NAMED_SEEDS.map((seed) => ({ scenario, seed })));
    expect(result.failed.length, renderSweep(result)).toBe(0);
  });

  it(`${RANDOM_RUNS} random deployments, traffic and fault schedules hold`, async () => {
    const runs = [...randomRuns(1, RANDOM_RUNS / 2, { mode: 'polling' }), ...randomRuns(1, RANDOM_RUNS / 2, { mode: 'change-stream' })];
    const result = await sweep(runs);
    console.log(`\n[fault simulation]\n${renderSweep(result)}\n`);
    expect(result.runs).toBe(RANDOM_RUNS);
    expect(Object.keys(result.faults).length).toBeGreaterThan(10);
    expect(result.failed.length, renderSweep(result)).toBe(0);
  });
});
