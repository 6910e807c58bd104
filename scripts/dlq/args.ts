/**
 * The `pnpm dlq` command line, parsed into one typed command (pure: no I/O). Each command has its own
 * flags, parsed by node's `util.parseArgs` with `strict: true`, so an unknown flag, a missing value or
 * an extra argument throws, and the caller turns that into one line and exit 2.
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../cli/errors';

export type ShowTarget = { position: number } | { id: string };

export type DlqCommand =
  | { name: 'help' }
  | { name: 'list' }
  | { name: 'show'; target: ShowTarget }
  | { name: 'requeue'; reasons: string[]; limit: number | undefined; dryRun: boolean }
  | { name: 'purge'; confirm: string | undefined };

export const COMMANDS = ['list', 'show', 'requeue', 'purge', 'help'] as const;

const HELP = { help: { type: 'boolean', short: 'h' } } as const;

export function parseDlqArgs(argv: string[]): DlqCommand {
  const [first, ...rest] = argv;
  if (first === undefined) throw new UsageError(`a command is required: ${COMMANDS.join(', ')}`, 'argument');
  if (first === 'help' || first === '--help' || first === '-h') {
    // `help requeue` is fine: there is one usage text for every command.
    parseArgs({ args: rest, options: HELP, strict: true, allowPositionals: true });
    return { name: 'help' };
  }
  switch (first) {
    case 'list': {
      const { values } = parseArgs({ args: rest, options: HELP, strict: true, allowPositionals: false });
      return values.help ? { name: 'help' } : { name: 'list' };
    }
    case 'show': {
      const { values, positionals } = parseArgs({ args: rest, options: HELP, strict: true, allowPositionals: true });
      if (values.help) return { name: 'help' };
      if (positionals.length !== 1)
        throw new UsageError('show takes one argument: a position (1 = the oldest) or a message id', 'argument');
      return { name: 'show', target: parseShowTarget(positionals[0]!) };
    }
    case 'requeue': {
      const { values } = parseArgs({
        args: rest,
        options: {
          ...HELP,
          reason: { type: 'string', multiple: true },
          limit: { type: 'string' },
          'dry-run': { type: 'boolean', default: false },
        },
        strict: true,
        allowPositionals: false,
      });
      if (values.help) return { name: 'help' };
      return {
        name: 'requeue',
        reasons: parseReasons(values.reason ?? []),
        limit: values.limit === undefined ? undefined : positiveInt('--limit', values.limit),
        dryRun: values['dry-run'],
      };
    }
    case 'purge': {
      const { values } = parseArgs({
        args: rest,
        options: { ...HELP, confirm: { type: 'string' } },
        strict: true,
        allowPositionals: false,
      });
      if (values.help) return { name: 'help' };
      return { name: 'purge', confirm: values.confirm };
    }
    default:
      if (first.startsWith('-'))
        throw new UsageError(`give the command before its flags: ${COMMANDS.join(', ')} (got ${first})`, 'argument');
      throw new UsageError(`unknown command '${first}': use one of ${COMMANDS.join(', ')}`, 'argument');
  }
}

/** A whole number ≥ 1 is a position in the queue (1 = the oldest); anything else is a message id. */
export function parseShowTarget(raw: string): ShowTarget {
  const text = raw.trim();
  if (text === '') throw new UsageError('show: the position or message id is empty', 'argument');
  if (/^\d+$/.test(text)) {
    const position = Number(text);
    if (!Number.isSafeInteger(position) || position < 1) throw new UsageError(`show: position must be 1 or more, got ${raw}`, 'argument');
    return { position };
  }
  return { id: text };
}

/** `--reason a --reason b,c` → ['a', 'b', 'c']; an empty name is refused. */
export function parseReasons(raw: string[]): string[] {
  const reasons = raw.flatMap((r) => r.split(',')).map((r) => r.trim());
  if (reasons.some((r) => r === '')) throw new UsageError('--reason: a reason is empty (use --reason schema,not-json)', 'argument');
  return [...new Set(reasons)];
}

export function positiveInt(flag: string, raw: string): number {
  const n = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`${flag} must be a whole number ≥ 1, got '${raw}'`, 'argument');
  return n;
}
