/** The demo's verdict on the SDK client's gap recovery. */
import { describe, expect, it } from 'vitest';
import { summarizeGapRecovery, type GapDemoResult } from './gap-recovery';

const base: GapDemoResult = {
  userId: 'maxim',
  queueName: 'user_maxim_updates',
  delivered: [],
  unsequenced: 0,
  dropped: undefined,
  errors: [],
  position: 0,
};
const run = (sources: Array<'queue' | 'api'>, over: Partial<GapDemoResult> = {}): GapDemoResult => ({
  ...base,
  delivered: sources.map((source, i) => ({ seq: i + 1, source })),
  position: sources.length,
  ...over,
});

describe('summarizeGapRecovery', () => {
  it('says the gap was recovered when the dropped seq came from the API, in order', () => {
    const v = summarizeGapRecovery(run(['queue', 'queue', 'api', 'queue'], { dropped: { seq: 3 } }), 4);
    expect(v.problem).toBeNull();
    expect(v.lines.join('\n')).toMatch(/seq 3 was taken off the queue and dropped; .*fetched it from the API: recovered/);
    expect(v.lines.join('\n')).toContain('delivered seq 1..4 (4 Updates, in order');
  });

  it('fails when the dropped seq was never fetched although later ones were delivered', () => {
    const v = summarizeGapRecovery(run(['queue', 'queue', 'queue', 'queue'], { dropped: { seq: 3 } }), 4);
    expect(v.problem).toMatch(/did not fetch it/);
  });

  it('fails on out-of-order delivery', () => {
    const r = run(['queue', 'queue'], {
      delivered: [
        { seq: 2, source: 'queue' },
        { seq: 1, source: 'queue' },
      ],
    });
    expect(summarizeGapRecovery(r, 2).problem).toMatch(/out of order/);
  });

  it('degrades with a clear line, not a failure, when no Update carries a seq', () => {
    const v = summarizeGapRecovery({ ...base, unsequenced: 25, dropped: { seq: null } }, null);
    expect(v.problem).toBeNull();
    expect(v.lines[1]).toMatch(/no Update carried a seq .* nothing to recover; 25 unsequenced Updates reported, one message dropped/);
  });

  it('says so when the dropped Update was the last one and nothing revealed the gap', () => {
    const v = summarizeGapRecovery(run(['queue', 'queue'], { dropped: { seq: 3 } }), 3);
    expect(v.problem).toBeNull();
    expect(v.lines.join('\n')).toMatch(/no later Update arrived/);
  });
});
