import { describe, expect, it } from 'vitest';
import { parseCliArgs, parseMix } from './cli-args';

describe('parseCliArgs', () => {
  it('defaults to 100 events/s for 10 s with a seed drawn later', () => {
    const args = parseCliArgs([]);
    expect(args).toMatchObject({
      help: false,
      seed: undefined,
      rate: 100,
      durationMs: 10_000,
      count: undefined,
      clock: 'wall',
      maxBatch: 500,
    });
    expect(args.simulation).toEqual({ canonicalOnly: false, dangerousUserIds: false });
  });

  it('reads every flag', () => {
    const args = parseCliArgs([
      '--seed',
      '42',
      '--tenants',
      '2',
      '--users',
      '50',
      '--dialogs',
      '20',
      '--rate',
      'max',
      '--count',
      '1000',
      '--mix',
      'message.create=50, dialog.typing=0',
      '--canonical',
      '--dangerous-ids',
      '--snapshot-rate',
      '0.5',
      '--clock',
      'sim',
      '--start-time',
      '1700000000000',
      '--batch',
      '100',
      '--skip-population',
      '--skip-indexes',
    ]);
    expect(args).toMatchObject({
      seed: 42,
      rate: 'max',
      count: 1000,
      durationMs: undefined,
      clock: 'sim',
      maxBatch: 100,
      skipPopulation: true,
      skipIndexes: true,
    });
    expect(args.simulation).toEqual({
      tenants: 2,
      users: 50,
      dialogs: 20,
      mix: { 'message.create': 50, 'dialog.typing': 0 },
      canonicalOnly: true,
      dangerousUserIds: true,
      snapshotRate: 0.5,
      startTime: 1_700_000_000_000,
    });
  });

  it('keeps a non-numeric seed as text and stops on duration when both limits are given', () => {
    expect(parseCliArgs(['--seed', 'demo-1', '--duration', '2.5', '--count', '9']).seed).toBe('demo-1');
    expect(parseCliArgs(['--duration', '2.5', '--count', '9'])).toMatchObject({ durationMs: 2500, count: 9 });
  });

  it('rejects what it cannot use, naming the flag', () => {
    expect(() => parseCliArgs(['--users', 'many'])).toThrow(/--users/);
    expect(() => parseCliArgs(['--count', '1.5'])).toThrow(/--count/);
    expect(() => parseCliArgs(['--rate', '-3'])).toThrow(/--rate/);
    expect(() => parseCliArgs(['--clock', 'moon'])).toThrow(/--clock/);
    expect(() => parseCliArgs(['--bogus'])).toThrow();
    expect(() => parseMix('message.explode=3')).toThrow(/message.explode/);
  });
});
