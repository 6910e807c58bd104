import { describe, expect, it } from 'vitest';
import { createLoopHealth } from './loop-health';

/** Loop health on a hand-driven clock. */
function harness(wedgedAfterMs = 1_000) {
  let t = 1_800_000_000_000;
  const health = createLoopHealth({ wedgedAfterMs, now: () => t });
  const advance = (ms: number) => void (t += ms);
  /** A step that stays open until `end()` (or `fail()`). */
  function open(name: string) {
    let end!: () => void;
    let fail!: (err: Error) => void;
    const done = health
      .loop(name)
      .step(() => new Promise<void>((resolve, reject) => ((end = resolve), (fail = reject))))
      .catch(() => undefined);
    return { end: () => (end(), done), fail: (err: Error) => (fail(err), done) };
  }
  return { health, advance, open, wedged: () => health.report().checks.wedged };
}

describe('loop health', () => {
  it('never calls an idle loop wedged, however long since it last did anything', () => {
    const h = harness();
    h.health.loop('consumer');
    h.advance(3_600_000);
    expect(h.health.report().ok).toBe(true);
  });

  it('calls a loop wedged once it has been inside one step past the threshold, and healthy again when the step ends', async () => {
    const h = harness();
    const step = h.open('flush');
    h.advance(1_000);
    expect(h.wedged()).toEqual([]);
    h.advance(1);
    expect(h.health.report()).toMatchObject({ ok: false, checks: { wedged: ['flush'] } });
    await step.end();
    expect(h.health.report().ok).toBe(true);
  });

  it('counts progress and errors inside a long step as signs of life', async () => {
    const h = harness();
    const loop = h.health.loop('sweep');
    const step = h.open('sweep');
    for (let i = 0; i < 10; i++) {
      h.advance(900);
      if (i % 2 === 0) loop.progress();
      else loop.error(new Error('page read failed'));
    }
    expect(h.wedged()).toEqual([]);
    h.advance(1_001);
    expect(h.wedged()).toEqual(['sweep']);
    await step.end();
  });

  it('keeps a loop with overlapping steps busy until the last one ends', async () => {
    const h = harness();
    const first = h.open('router');
    h.advance(500);
    const second = h.open('router');
    await first.end(); // progress at 500
    h.advance(1_001);
    expect(h.wedged()).toEqual(['router']);
    await second.end();
    expect(h.wedged()).toEqual([]);
  });

  it('reports the last progress and the last error, without credentials, per loop', async () => {
    const h = harness();
    const failing = h.open('leases');
    await failing.fail(new Error('connect ECONNREFUSED mongodb://admin:hunter2@db:27017'));
    h.advance(10);
    await h.open('leases').end();
    const loops = h.health.report().checks.loops as Record<string, Record<string, unknown>>;
    expect(loops.leases).toEqual({
      busy: false,
      lastProgressAt: new Date(1_800_000_000_010).toISOString(),
      lastErrorAt: new Date(1_800_000_000_000).toISOString(),
      lastError: 'connect ECONNREFUSED mongodb://admin:***@db:27017',
    });
  });

  it('rethrows what a step throws', async () => {
    const h = harness();
    await expect(h.health.loop('x').step(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  });
});

describe('loop health with a dependency', () => {
  it('calls no loop wedged while a dependency it waits on is away, and counts silence again from its return', async () => {
    const h = harness();
    const rabbit = h.health.dependency('rabbitmq');
    const step = h.open('router');
    rabbit.set(false);
    h.advance(3_600_000);
    expect(h.health.report()).toMatchObject({ ok: true, checks: { wedged: [], waitingFor: ['rabbitmq'] } });
    rabbit.set(true);
    h.advance(1_000);
    expect(h.health.report()).toMatchObject({ ok: true, checks: { waitingFor: [] } });
    h.advance(1);
    expect(h.wedged()).toEqual(['router']);
    await step.end();
  });
});
