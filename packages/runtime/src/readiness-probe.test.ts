import { afterEach, describe, expect, it, vi } from 'vitest';
import { createReadinessProbe, type ReadinessProbe } from './readiness-probe';

const waitFor = (condition: () => boolean) => vi.waitFor(() => expect(condition()).toBe(true), { timeout: 5_000, interval: 5 });

let probe: ReadinessProbe | undefined;
afterEach(async () => {
  await probe?.stop();
  probe = undefined;
});

describe('readiness probe', () => {
  it('is not ready before its first ping answers, then follows each ping', async () => {
    let healthy = true;
    const changes: string[] = [];
    probe = createReadinessProbe({
      ping: async () => {
        if (!healthy) throw new Error('connection refused mongodb://user:pw@db:27017');
      },
      intervalMs: 20,
      onChange: (state) => changes.push(state),
    });
    expect(probe.report()).toEqual({ ok: false, checks: { mongodb: 'starting' } });
    probe.start();
    await waitFor(() => probe!.state === 'up');
    expect(probe.report()).toMatchObject({ ok: true, checks: { mongodb: 'up' } });
    healthy = false;
    await waitFor(() => probe!.state === 'down');
    const report = probe.report();
    expect(report.ok).toBe(false);
    expect(report.checks.mongodbError).toBe('connection refused mongodb://user:***@db:27017');
    healthy = true;
    await waitFor(() => probe!.state === 'up');
    expect(changes).toEqual(['up', 'down', 'up']);
  });

  it('counts a ping that does not answer within the interval as down', async () => {
    probe = createReadinessProbe({ ping: () => new Promise(() => undefined), intervalMs: 30 });
    probe.start();
    await waitFor(() => probe!.state === 'down');
    expect(probe.report().checks.mongodbError).toBe('no answer within 30 ms');
  });

  it('stops', async () => {
    let pings = 0;
    probe = createReadinessProbe({ ping: async () => void (pings += 1), intervalMs: 10 });
    probe.start();
    await waitFor(() => pings >= 2);
    await probe.stop();
    const after = pings;
    await new Promise((r) => setTimeout(r, 50));
    expect(pings).toBe(after);
    expect(probe.report().ok).toBe(false);
  });
});
