import { describe, expect, it } from 'vitest';
import { describeFailure } from '../cli/errors';
import { parseDlqArgs } from './args';

function failure(argv: string[]) {
  try {
    parseDlqArgs(argv);
  } catch (err) {
    return describeFailure('dlq', err);
  }
  throw new Error(`parsed ${argv.join(' ')} without an error`);
}

describe('dlq arguments', () => {
  it('parses each command', () => {
    expect(parseDlqArgs(['list'])).toEqual({ name: 'list' });
    expect(parseDlqArgs(['show', '3'])).toEqual({ name: 'show', target: { position: 3 } });
    expect(parseDlqArgs(['show', 'evt_00ff'])).toEqual({ name: 'show', target: { id: 'evt_00ff' } });
    expect(parseDlqArgs(['requeue'])).toEqual({ name: 'requeue', reasons: [], limit: undefined, dryRun: false });
    expect(
      parseDlqArgs([
        'requeue',
        '--reason',
        'schema,not-json',
        '--reason',
        'unbuildable',
        '--reason',
        'schema',
        '--limit',
        '10',
        '--dry-run',
      ]),
    ).toEqual({
      name: 'requeue',
      reasons: ['schema', 'not-json', 'unbuildable'],
      limit: 10,
      dryRun: true,
    });
    expect(parseDlqArgs(['purge'])).toEqual({ name: 'purge', confirm: undefined });
    expect(parseDlqArgs(['purge', '--confirm', 'q.dlq'])).toEqual({ name: 'purge', confirm: 'q.dlq' });
    expect(parseDlqArgs(['purge', '--confirm=q.dlq'])).toEqual({ name: 'purge', confirm: 'q.dlq' });
  });

  it('answers help in every spelling', () => {
    for (const argv of [
      ['help'],
      ['--help'],
      ['-h'],
      ['help', 'requeue'],
      ['list', '--help'],
      ['requeue', '-h'],
      ['show', '--help'],
      ['purge', '--help'],
    ]) {
      expect(parseDlqArgs(argv)).toEqual({ name: 'help' });
    }
  });

  it.each([
    [[], /a command is required/],
    [['lsit'], /unknown command 'lsit'/],
    [['--reason', 'x'], /give the command before its flags/],
    [['list', '--bogus'], /Unknown option '--bogus'/],
    [['list', 'extra'], /Unexpected argument 'extra'/],
    [['show'], /show takes one argument/],
    [['show', '1', '2'], /show takes one argument/],
    [['show', '0'], /position must be 1 or more/],
    [['show', ' '], /empty/],
    [['requeue', '--limit'], /argument missing/],
    [['requeue', '--limit', '0'], /--limit must be a whole number ≥ 1, got '0'/],
    [['requeue', '--limit=-3'], /--limit must be a whole number ≥ 1/],
    [['requeue', '--limit', '-3'], /'--limit' argument is ambiguous/],
    [['requeue', '--limit', '2.5'], /--limit must be a whole number ≥ 1/],
    [['requeue', '--limit', 'ten'], /--limit must be a whole number ≥ 1/],
    [['requeue', '--reason', 'a,,b'], /a reason is empty/],
    [['requeue', '--reason='], /a reason is empty/],
    [['requeue', '--dry-run=yes'], /does not take an argument/],
    [['requeue', 'now'], /Unexpected argument 'now'/],
    [['purge', '--yes'], /Unknown option '--yes'/],
    [['purge', '--confirm'], /argument missing/],
  ])('%j is a usage error: one line, exit 2', (argv, message) => {
    const { code, line } = failure(argv as string[]);
    expect(code).toBe(2);
    expect(line).toMatch(message);
    expect(line).toMatch(/^dlq: /);
    expect(line).not.toContain('\n');
    expect(line).toMatch(/see: pnpm dlq --help/);
  });
});
