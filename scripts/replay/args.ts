/**
 * `pnpm republish` command lines → a typed command, or a UsageError with a one-line reason (the CLI
 * prints it and exits 2). Pure but for reading `--ids-file`, which the caller passes in.
 */
import { parseArgs } from 'node:util';
import { UPDATE_TYPES, type UpdateType } from '@chat3/core';
import { UsageError } from '../cli/errors';

export { UsageError };

/** Everything this module rejects is about the command line: the message points at --help. */
const argumentError = (message: string) => new UsageError(message, 'argument');

/** What a replay selects. Stored on the replay record as given, so `--resume` rebuilds the same query. */
export interface ReplayFilter {
  tenant?: string;
  user?: string;
  dialog?: string;
  event?: string;
  eventType?: string;
  updateType?: UpdateType;
  /** createdAt ≥ since, epoch ms. */
  since?: number;
  /** createdAt < until, epoch ms. */
  until?: number;
  /** Update `_id`s as 24-hex strings. */
  ids?: string[];
  parked?: boolean;
}

export type ReplayCommand =
  | { kind: 'help' }
  | { kind: 'list'; limit: number }
  | { kind: 'dry-run'; filter: ReplayFilter; limit?: number }
  | { kind: 'run'; filter: ReplayFilter; limit?: number; rate: number; operator: string }
  | { kind: 'resume'; id: string; rate?: number; operator: string };

/** Updates per second when `--rate` is not given: a fraction of what one relay drains on MongoDB. */
export const DEFAULT_RATE = 100;
export const MAX_RATE = 100_000;

/** The usage text (`--help`); `command` is how the tool was started (`toolCommand`). */
export const replayUsage = (command = 'pnpm republish') => `usage: ${command} <filter…> [--limit N] [--rate N] [--dry-run] [--operator NAME]
       ${command} --resume <replay id> [--rate N]
       ${command} --list [--limit N]

Puts the selected Updates back for the running relay to publish again (same messageId, header
x-chat3-replay), oldest first, at --rate Updates per second (default ${DEFAULT_RATE}), and records the
replay in the \`replays\` collection. SIGINT stops it after the current chunk; --resume continues it.

filters (at least one; combined with AND):
  --tenant T  --user U  --dialog D  --event EVENT_ID  --event-type TYPE  --update-type TYPE
  --since TIME  --until TIME     createdAt range, ISO 8601 or epoch ms (since ≤ createdAt < until)
  --ids-file FILE                Update _ids, one 24-hex id per line (# comments allowed)
  --parked                       Updates the relay parked as unpublishable
options:
  --limit N        at most N Updates (with --list: the N most recent replays, default 20)
  --rate N         Updates per second (${MAX_RATE} at most)
  --dry-run        count what the filter selects, by update type and tenant; write nothing
  --operator NAME  who runs it, for the record (default: $REPLAY_OPERATOR, then $USER)
  --help

environment: MONGODB_URI (required), MONGODB_DB (chat3), UPDATES_COLLECTION (updates)`;

const OPTIONS = {
  tenant: { type: 'string' },
  user: { type: 'string' },
  dialog: { type: 'string' },
  event: { type: 'string' },
  'event-type': { type: 'string' },
  'update-type': { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  'ids-file': { type: 'string' },
  parked: { type: 'boolean' },
  limit: { type: 'string' },
  rate: { type: 'string' },
  'dry-run': { type: 'boolean' },
  operator: { type: 'string' },
  resume: { type: 'string' },
  list: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const FILTER_FLAGS = ['tenant', 'user', 'dialog', 'event', 'event-type', 'update-type', 'since', 'until', 'ids-file', 'parked'] as const;
const HEX_ID = /^[0-9a-f]{24}$/i;

export interface ParseContext {
  env: Record<string, string | undefined>;
  readFile: (path: string) => string;
}

export function parseReplayArgs(argv: string[], context: ParseContext): ReplayCommand {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (err) {
    // node's messages name the flag; keep their first line, not the hints about "--" after it.
    throw argumentError((err as Error).message.split('\n')[0]!.split('. To specify')[0]!);
  }
  if (values.help) return { kind: 'help' };

  const given = FILTER_FLAGS.filter((flag) => values[flag] !== undefined);
  const operator = text('operator', values.operator) ?? context.env.REPLAY_OPERATOR ?? context.env.USER ?? 'unknown';
  const rate = values.rate === undefined ? undefined : number('rate', values.rate, { min: Number.MIN_VALUE, max: MAX_RATE });

  if (values.list) {
    refuseWith('--list', values, [...given, 'resume', 'rate', 'dry-run']);
    return { kind: 'list', limit: values.limit === undefined ? 20 : integer('limit', values.limit) };
  }
  if (values.resume !== undefined) {
    refuseWith('--resume', values, [...given, 'limit', 'dry-run']);
    return { kind: 'resume', id: text('resume', values.resume)!, rate, operator };
  }

  if (given.length === 0) {
    throw argumentError('refusing to re-publish everything: give at least one filter (--tenant, --user, --since, --parked, …)');
  }
  const filter = replayFilter(values, context);
  const limit = values.limit === undefined ? undefined : integer('limit', values.limit);
  if (values['dry-run']) return { kind: 'dry-run', filter, limit };
  return { kind: 'run', filter, limit, rate: rate ?? DEFAULT_RATE, operator };
}

function replayFilter(values: Record<string, string | boolean | undefined>, context: ParseContext): ReplayFilter {
  const filter: ReplayFilter = {};
  if (values.tenant !== undefined) filter.tenant = text('tenant', values.tenant);
  if (values.user !== undefined) filter.user = text('user', values.user);
  if (values.dialog !== undefined) filter.dialog = text('dialog', values.dialog);
  if (values.event !== undefined) filter.event = text('event', values.event);
  if (values['event-type'] !== undefined) filter.eventType = text('event-type', values['event-type']);
  if (values['update-type'] !== undefined) {
    const type = values['update-type'] as string;
    if (!Object.hasOwn(UPDATE_TYPES, type))
      throw argumentError(`--update-type must be one of ${Object.keys(UPDATE_TYPES).join(', ')}; got ${type}`);
    filter.updateType = type as UpdateType;
  }
  if (values.since !== undefined) filter.since = time('since', values.since as string);
  if (values.until !== undefined) filter.until = time('until', values.until as string);
  if (filter.since !== undefined && filter.until !== undefined && filter.since >= filter.until) {
    throw argumentError('--since must be before --until');
  }
  if (values['ids-file'] !== undefined) filter.ids = idsFrom(values['ids-file'] as string, context);
  if (values.parked) filter.parked = true;
  return filter;
}

function idsFrom(path: string, context: ParseContext): string[] {
  let content: string;
  try {
    content = context.readFile(path);
  } catch (err) {
    throw argumentError(`--ids-file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const ids: string[] = [];
  content.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    if (!HEX_ID.test(line)) throw argumentError(`--ids-file ${path}:${index + 1}: not an Update _id (24 hex digits): ${line.slice(0, 40)}`);
    ids.push(line.toLowerCase());
  });
  if (ids.length === 0) throw argumentError(`--ids-file ${path}: no ids in it`);
  return [...new Set(ids)];
}

function refuseWith(mode: string, values: Record<string, unknown>, flags: readonly string[]): void {
  const clash = flags.find((flag) => values[flag] !== undefined);
  if (clash) throw argumentError(`${mode} does not take --${clash}`);
}

function text(flag: string, value: string | boolean | undefined): string | undefined {
  if (value === undefined) return undefined;
  const s = String(value);
  if (s.trim() === '' || /[\u0000-\u001f\u007f]/.test(s)) throw argumentError(`--${flag} must be a non-empty printable string`);
  return s;
}

function number(flag: string, raw: string | boolean | undefined, { min, max }: { min: number; max: number }): number {
  const n = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    throw argumentError(`--${flag} must be a positive number up to ${max}; got ${String(raw)}`);
  }
  return n;
}

function integer(flag: string, raw: string | boolean | undefined): number {
  const n = Number(raw);
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || n < 1 || !Number.isSafeInteger(n)) {
    throw argumentError(`--${flag} must be a whole number ≥ 1; got ${String(raw)}`);
  }
  return n;
}

/** ISO 8601 or epoch milliseconds. */
export function time(flag: string, raw: string): number {
  const ms = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : /^\d{4}-\d{2}-\d{2}/.test(raw) ? Date.parse(raw) : NaN;
  if (!Number.isFinite(ms)) throw argumentError(`--${flag} must be an ISO 8601 time or epoch milliseconds; got ${raw}`);
  return ms;
}
