/**
 * Virtual time for one simulation run (the FoundationDB / VOPR idea): the code under test keeps using
 * `setTimeout`, `Date.now()`, `performance.now()` and `Math.random()`, but all of them are driven by
 * the run. Timers are faked with @sinonjs/fake-timers; `Math.random` draws from the run's seeded PRNG.
 * The run advances time one timer at a time and, after each, lets every promise continuation settle on
 * the real event loop (one real `setImmediate` drains the microtask queue), so causality is kept and a
 * seed replays the exact same interleaving.
 *
 * Nothing in a run may touch real I/O: the models answer every call from memory, through timers.
 * A microtask loop that never yields (a busy spin) would freeze the run; the models guard the known
 * ways to spin and `step` budgets guard the rest.
 */
import { withGlobal } from '@sinonjs/fake-timers';
import { createRandom, type Random } from '@chat3/simulator';

const realSetImmediate = globalThis.setImmediate;
const realMathRandom = Math.random;

/** Lets every pending promise continuation run (the microtask queue drains before a macrotask). */
export function settle(): Promise<void> {
  return new Promise((resolve) => realSetImmediate(resolve));
}

export interface VirtualTime {
  readonly random: Random;
  /** Virtual epoch milliseconds. */
  now(): number;
  /** Milliseconds since the run started. */
  elapsed(): number;
  /**
   * Fires timers in time order until virtual time reaches `atMs` (since the start) or `until()` holds,
   * settling promises after each. Throws when more than `maxSteps` timers fire without time moving
   * (a timer loop that never waits).
   */
  runUntil(atMs: number, until?: () => boolean): Promise<void>;
  uninstall(): void;
}

export const SIM_EPOCH = Date.UTC(2026, 0, 1);

export function installVirtualTime(seed: string, { maxStepsPerInstant = 200_000 } = {}): VirtualTime {
  const random = createRandom(seed, 'virtual-time');
  const clock = withGlobal(globalThis).install({
    now: SIM_EPOCH,
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'Date', 'performance'],
    loopLimit: 10_000_000,
  });
  Math.random = () => random.float();
  const start = clock.now;

  return {
    random,
    now: () => clock.now,
    elapsed: () => clock.now - start,
    async runUntil(atMs, until) {
      const deadline = start + atMs;
      let reached = clock.now >= deadline;
      const sentinel = reached ? undefined : setTimeout(() => (reached = true), deadline - clock.now);
      let stepsAtInstant = 0;
      let instant = clock.now;
      try {
        await settle();
        while (!reached && !until?.()) {
          clock.next();
          await settle();
          if (clock.now !== instant) {
            instant = clock.now;
            stepsAtInstant = 0;
          } else if (++stepsAtInstant > maxStepsPerInstant) {
            throw new Error(`busy loop: ${maxStepsPerInstant} timers fired at virtual time +${clock.now - start} ms without time moving`);
          }
        }
      } finally {
        if (sentinel) clearTimeout(sentinel);
      }
    },
    uninstall() {
      clock.uninstall();
      Math.random = realMathRandom;
    },
  };
}
