/**
 * The one place that decides whether a failure is worth retrying. Loops retry retryable errors with
 * backoff forever and surface the rest (a dead letter, a parked Update, a fatal start-up error).
 */

/** Server codes that mean "the server is changing state or unreachable; try again". */
const RETRYABLE_MONGO_CODES = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  89, // NetworkTimeout
  91, // ShutdownInProgress
  189, // PrimarySteppedDown
  262, // ExceededTimeLimit
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
  63, // StaleShardVersion
  150, // StaleEpoch
  13388, // StaleConfig
  112, // WriteConflict
  251, // NoSuchTransaction
  50, // MaxTimeMSExpired
]);

const RETRYABLE_LABELS = ['RetryableWriteError', 'TransientTransactionError', 'ResumableChangeStreamError', 'NetworkError'];

/** AMQP reply codes that retrying cannot fix: wrong credentials, missing or mismatched topology. */
const FATAL_AMQP_CODES = new Set([403, 404, 406, 530, 540]);

interface ErrorLike {
  name?: string;
  code?: number | string;
  message?: string;
  errorLabels?: string[];
  hasErrorLabel?: (label: string) => boolean;
}

/** A failure of our own making that is worth another attempt (a lost compare-and-set race, …). */
export class RetryableError extends Error {
  override name = 'RetryableError';
}

export function isRetryable(err: unknown): boolean {
  if (err instanceof RetryableError) return true;
  if (!err || typeof err !== 'object') return false;
  const e = err as ErrorLike;
  const name = e.name ?? '';
  if (/^Mongo(Network|NetworkTimeout|ServerSelection|TopologyClosed|PoolCleared|ServerClosed)Error$/.test(name)) {
    return true;
  }
  if (RETRYABLE_LABELS.some((label) => e.hasErrorLabel?.(label) || e.errorLabels?.includes(label))) return true;
  // MongoDB-compatible servers backed by SQLite (FerretDB) report lock contention as InternalError.
  if (name.startsWith('Mongo') && /database is locked|SQLITE_BUSY/.test(e.message ?? '')) return true;
  if (name.startsWith('Mongo')) return typeof e.code === 'number' && RETRYABLE_MONGO_CODES.has(e.code);
  if (typeof e.code === 'number' && e.code >= 300 && e.code < 600) return !FATAL_AMQP_CODES.has(e.code);
  if (name === 'IllegalOperationError') return true; // channel or connection closed under us
  if (typeof e.code === 'string') {
    return ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN'].includes(e.code);
  }
  return /channel closed|connection closed|Connection closing|socket closed/i.test(e.message ?? '');
}

/** Server codes for "no change streams here": FerretDB (238), a standalone server (40573), old servers (115). */
const CHANGE_STREAM_UNSUPPORTED_CODES = new Set([238, 115, 40573]);

export function isChangeStreamUnsupported(err: unknown): boolean {
  const code = (err as { code?: number } | null)?.code;
  return typeof code === 'number' && CHANGE_STREAM_UNSUPPORTED_CODES.has(code);
}

export function isDuplicateKey(err: unknown): boolean {
  return !!err && typeof err === 'object' && (err as ErrorLike).code === 11000;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
