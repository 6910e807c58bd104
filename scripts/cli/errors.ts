/**
 * Errors and exit codes shared by the ops command-line tools. A user error (a bad flag, a bad value, a
 * bad environment, a queue or exchange that does not exist) is one line on stderr and exit 2; a failure
 * while running (the broker unreachable, a publish not confirmed) is one clear line and exit 1. Neither
 * ever prints a stack trace, and every message passes through `redactUrl`, so credentials in a URL
 * (RABBITMQ_URL, MONGODB_URI) never reach the terminal.
 */
import { ConfigError, redactUrl } from '@chat3/runtime';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** The command cannot run as given: exit 2, the message names what to fix. */
export class UsageError extends Error {
  override name = 'UsageError';
  /** `argument`: about the command line, so the line points at --help. */
  constructor(
    message: string,
    readonly kind: 'argument' | 'setting' = 'setting',
  ) {
    super(message);
  }
}

/** `node:util` parseArgs errors (unknown option, missing value, …) carry one of these codes. */
const PARSE_ARGS_CODES = new Set([
  'ERR_PARSE_ARGS_UNKNOWN_OPTION',
  'ERR_PARSE_ARGS_INVALID_OPTION_VALUE',
  'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL',
]);

function isParseArgsError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && PARSE_ARGS_CODES.has(code);
}

export function isUsageError(err: unknown): boolean {
  return err instanceof UsageError || err instanceof ConfigError || isParseArgsError(err);
}

/** One line, credentials redacted: the first line of the message, or every problem of a ConfigError. */
export function errorLine(err: unknown): string {
  if (err instanceof ConfigError) return redactUrl(`invalid environment: ${err.problems.join('; ')}`);
  const message = err instanceof Error ? err.message : String(err);
  // parseArgs appends a hint on a second line ("To specify a positional argument …"): keep the first.
  return redactUrl(message.split('\n')[0]!.trim() || String(err));
}

/**
 * Exit code and the line to print for an error that ends a command. `command` is how the tool was
 * started (`toolCommand`), for the hint to its --help.
 */
export function describeFailure(tool: string, err: unknown, command = `pnpm ${tool}`): { code: number; line: string } {
  const usage = isUsageError(err);
  const aboutArguments = isParseArgsError(err) || (err instanceof UsageError && err.kind === 'argument');
  const hint = aboutArguments ? ` (see: ${command} --help)` : '';
  return { code: usage ? EXIT_USAGE : EXIT_FAILURE, line: `${tool}: ${errorLine(err)}${hint}` };
}
