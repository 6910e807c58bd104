import { describe, expect, it } from 'vitest';
import { createProgress } from './progress';

describe('progress', () => {
  it('prints plain lines at most every interval, and the last state at the end, when not a TTY', () => {
    let text = '';
    let clock = 0;
    const progress = createProgress({
      label: 'requeue',
      total: 10,
      intervalMs: 1_000,
      now: () => clock,
      stream: { write: (s) => ((text += s), true), isTTY: false },
    });
    progress.update(1, 'requeued 1');
    clock = 1_000;
    progress.update(2, 'requeued 2');
    clock = 1_500;
    progress.update(3, 'requeued 3');
    progress.stop();
    progress.stop();
    expect(text).toBe('requeue: 2/10, requeued 2\nrequeue: 3/10, requeued 3\n');
  });

  it('draws a cli-progress bar on a TTY', () => {
    let text = '';
    const tty = {
      isTTY: true,
      columns: 120,
      write: (s: string) => ((text += s), true),
      cursorTo: () => true,
      clearLine: () => true,
      clearScreenDown: () => true,
      moveCursor: () => true,
      on: () => tty,
      removeListener: () => tty,
      off: () => tty,
    };
    const progress = createProgress({ label: 'requeue', total: 4, stream: tty });
    progress.update(2, 'requeued 2, kept 0');
    progress.stop();
    expect(text).toMatch(/requeue \[[=-]+\] 2\/4 \| \d+\/s \| ETA .* \| requeued 2, kept 0/);
  });
});
