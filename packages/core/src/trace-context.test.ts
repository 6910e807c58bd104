import { describe, expect, it } from 'vitest';
import { validTraceparent } from './trace-context';

const VALID = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('validTraceparent', () => {
  it('keeps a well-formed traceparent as received', () => {
    expect(validTraceparent(VALID)).toBe(VALID);
    expect(validTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00')).toBeDefined();
    expect(validTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future')).toBeDefined(); // a later version may add fields
  });

  it('drops anything else', () => {
    for (const bad of [
      undefined,
      null,
      42,
      Buffer.from(VALID),
      '',
      VALID.toUpperCase(),
      `${VALID}-extra`, // version 00 has four fields
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01',
      `01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-${'x'.repeat(600)}`,
    ]) {
      expect(validTraceparent(bad), String(bad).slice(0, 60)).toBeUndefined();
    }
  });
});
