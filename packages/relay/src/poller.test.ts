import { describe, expect, it } from 'vitest';
import { pollPause } from './poller';

describe('pollPause', () => {
  it('polls every interval measured start to start', () => {
    expect(pollPause(100, 30, true)).toBe(70);
    expect(pollPause(100, 30, false)).toBe(70);
  });

  it('goes straight on while a backlog takes longer than the interval to sweep', () => {
    expect(pollPause(100, 250, true)).toBe(0);
  });

  it('after a slow empty sweep pauses as long as it took, so idle polling holds the database at most half the time', () => {
    expect(pollPause(100, 250, false)).toBe(250);
  });
});
