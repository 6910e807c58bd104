import { describe, expect, it } from 'vitest';
import { DEFAULT_RATE, parseReplayArgs, UsageError, type ParseContext } from './args';
import { filterQuery, newReplayId, replayQuery } from './replay';

const files: Record<string, string> = {
  ids: '65a1b2c3d4e5f60718293a4b\n# a comment\n\n65A1B2C3D4E5F60718293A4C  # trailing\n65a1b2c3d4e5f60718293a4b\n',
  bad: '65a1b2c3d4e5f60718293a4b\nnot-an-id\n',
  empty: '# nothing\n',
};
const context: ParseContext = {
  env: { USER: 'ops' },
  readFile: (path) => {
    if (!(path in files)) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
    return files[path]!;
  },
};
const parse = (...argv: string[]) => parseReplayArgs(argv, context);
const usage = (...argv: string[]) => {
  expect(() => parse(...argv)).toThrow(UsageError);
  try {
    parse(...argv);
  } catch (err) {
    return (err as Error).message;
  }
};

describe('parseReplayArgs', () => {
  it('reads every filter, with the default rate and the operator from the environment', () => {
    expect(
      parse(
        ...['--tenant', 't1', '--user', 'carl', '--dialog', 'dlg_1', '--event', 'evt_1', '--event-type', 'message.create'],
        ...[
          '--update-type',
          'MessageUpdate',
          '--since',
          '2026-11-26T10:00:00Z',
          '--until',
          '1800000000000',
          '--ids-file',
          'ids',
          '--parked',
        ],
      ),
    ).toEqual({
      kind: 'run',
      filter: {
        tenant: 't1',
        user: 'carl',
        dialog: 'dlg_1',
        event: 'evt_1',
        eventType: 'message.create',
        updateType: 'MessageUpdate',
        since: Date.parse('2026-11-26T10:00:00Z'),
        until: 1_800_000_000_000,
        ids: ['65a1b2c3d4e5f60718293a4b', '65a1b2c3d4e5f60718293a4c'],
        parked: true,
      },
      limit: undefined,
      rate: DEFAULT_RATE,
      operator: 'ops',
    });
  });

  it('takes --limit, --rate, --operator, and REPLAY_OPERATOR before USER', () => {
    expect(parse('--user', 'u', '--limit', '50', '--rate', '12.5', '--operator', 'ann')).toMatchObject({
      limit: 50,
      rate: 12.5,
      operator: 'ann',
    });
    expect(parseReplayArgs(['--user', 'u'], { ...context, env: { USER: 'ops', REPLAY_OPERATOR: 'oncall' } })).toMatchObject({
      operator: 'oncall',
    });
  });

  it('--dry-run, --list, --resume and --help', () => {
    expect(parse('--parked', '--dry-run', '--limit', '3')).toEqual({ kind: 'dry-run', filter: { parked: true }, limit: 3 });
    expect(parse('--list')).toEqual({ kind: 'list', limit: 20 });
    expect(parse('--list', '--limit', '5')).toEqual({ kind: 'list', limit: 5 });
    expect(parse('--resume', 'rpl_x', '--rate', '10')).toEqual({ kind: 'resume', id: 'rpl_x', rate: 10, operator: 'ops' });
    expect(parse('--help')).toEqual({ kind: 'help' });
  });

  it('refuses an empty filter', () => {
    expect(usage()).toMatch(/refusing to re-publish everything/);
    expect(usage('--limit', '10')).toMatch(/at least one filter/);
  });

  it('names the problem in one line for unknown flags, stray words and bad values', () => {
    expect(usage('--tenat', 'x')).toMatch(/Unknown option '--tenat'/);
    expect(usage('--user', 'u', 'extra')).toMatch(/Unexpected argument 'extra'/);
    expect(usage('--user')).toMatch(/--user/);
    expect(usage('--resume', '--rate', '5')).toBe("Option '--resume' argument is ambiguous.");
    expect(usage('--user', 'u', '--rate', '0')).toMatch(/--rate must be a positive number/);
    expect(usage('--user', 'u', '--rate', 'fast')).toMatch(/--rate/);
    expect(usage('--user', 'u', '--rate', '1e9')).toMatch(/--rate/);
    expect(usage('--user', 'u', '--limit', '2.5')).toMatch(/--limit must be a whole number/);
    expect(usage('--user', 'u', '--limit', '-1')).toMatch(/--limit/);
    expect(usage('--since', 'yesterday')).toMatch(/--since must be an ISO 8601 time or epoch milliseconds; got yesterday/);
    expect(usage('--since', '2026-11-27', '--until', '2026-11-26')).toMatch(/--since must be before --until/);
    expect(usage('--update-type', 'MessageUpdat')).toMatch(/--update-type must be one of DialogUpdate, .*; got MessageUpdat/);
    expect(usage('--user', '')).toMatch(/--user must be a non-empty printable string/);
    expect(usage('--user', 'a\nb')).toMatch(/printable/);
    expect(usage('--ids-file', 'missing')).toMatch(/--ids-file missing: ENOENT/);
    expect(usage('--ids-file', 'bad')).toMatch(/--ids-file bad:2: not an Update _id/);
    expect(usage('--ids-file', 'empty')).toMatch(/no ids in it/);
    expect(usage('--list', '--user', 'u')).toMatch(/--list does not take --user/);
    expect(usage('--resume', 'r', '--tenant', 't')).toMatch(/--resume does not take --tenant/);
    expect(usage('--resume', 'r', '--dry-run')).toMatch(/--resume does not take --dry-run/);
  });
});

describe('replay queries', () => {
  it('match every filter field, and only Updates created before the replay started', () => {
    expect(
      filterQuery({ tenant: 't', user: 'u', dialog: 'd', event: 'e', eventType: 'x.y', updateType: 'UserUpdate', parked: true }),
    ).toEqual({
      tenantId: 't',
      userId: 'u',
      dialogId: 'd',
      eventId: 'e',
      eventType: 'x.y',
      updateType: 'UserUpdate',
      parked: { $exists: true },
    });
    expect(filterQuery({ since: 5, until: 9 })).toEqual({ createdAt: { $gte: 5, $lt: 9 } });
    expect(filterQuery({ until: 9 })).toEqual({ createdAt: { $lt: 9 } });
    expect(String((filterQuery({ ids: ['65a1b2c3d4e5f60718293a4b'] })._id as { $in: unknown[] }).$in[0])).toBe('65a1b2c3d4e5f60718293a4b');
    expect(replayQuery({ user: 'u' }, 100)).toEqual({ $and: [{ userId: 'u' }, { createdAt: { $lt: 100 } }] });
  });

  it('name a replay by its start, readable and sortable', () => {
    expect(newReplayId(Date.parse('2026-12-02T04:15:00.123Z'), () => Buffer.from([0x3f, 0xa9, 0xc1]))).toBe('rpl_20261202T041500Z_3fa9c1');
  });
});
