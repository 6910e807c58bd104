/**
 * The options of `createUpdatesClient`, what it reports through its callbacks, and the check of the
 * options made before anything connects (every problem at once, never a URL's or a token's value).
 */
import { queueNameFor, type RoutingKeyScope } from '@chat3/core';
import type { Logger } from '@chat3/runtime';
import type { CatchUpApi } from './catch-up-api';
import type { SequencedUpdate, UnsequencedUpdate } from './update-body';

export type ClientErrorKind = 'malformed' | 'foreign' | 'unsequenced' | 'api' | 'gap-stalled' | 'handler' | 'resync' | 'fatal';

export interface ClientError {
  kind: ClientErrorKind;
  message: string;
  seq?: number;
  err?: unknown;
}

export interface ResyncInfo {
  /** The position that could not be caught up from. */
  from: number;
  /** The oldest seq the API still holds, when it said. */
  oldestSeq: number | null;
  /** The latest seq assigned (the API's state): delivery continues after it once `onResync` resolves. */
  seq: number;
}

export interface DeliveryInfo {
  /** Where the Update came from: the queue, or the API (catch-up or a gap). */
  source: 'queue' | 'api';
}

export interface UpdatesClientOptions {
  rabbitUrl: string;
  /** Default `chat3_updates`. */
  exchange?: string;
  /** Must match the builder's ROUTING_KEY_SCOPE; default `seed`. */
  scope?: RoutingKeyScope;
  tenantId: string;
  userId: string;
  /**
   * Scope `tenant` only: bind the tenant queue with the seed binding too, while builders move from
   * `seed` to `tenant` (README, Tenant isolation). Other tenants' Updates it lets in are dropped.
   */
  alsoBindSeed?: boolean;
  /** The user type in the routing keys (`user`, `bot`, …); default `user`. */
  userType?: string;
  /** The seq the app last handled (0: from the beginning), or `latest` to skip history. */
  fromSeq: number | 'latest';
  /** The catch-up API: `{ baseUrl, token }` for the HTTP one, or any implementation of the port. */
  api: CatchUpApi | { baseUrl: string; token: string; timeoutMs?: number };
  onUpdate: (update: SequencedUpdate, info: DeliveryInfo) => Promise<void> | void;
  /** The app reloads its state as of `info.seq` (e.g. from Chat3's REST API); delivery continues after it. */
  onResync: (info: ResyncInfo) => Promise<void> | void;
  onUnsequenced?: (update: UnsequencedUpdate) => Promise<void> | void;
  onError?: (error: ClientError) => void;
  /** Unacked queue messages at a time; default 100. */
  prefetch?: number;
  /** Updates per API page (the API allows up to 1000); default 100. */
  pageSize?: number;
  /** Calls of the handler for one Update before the client fails; default 5. */
  handlerAttempts?: number;
  backoff?: { baseMs: number; maxMs: number };
  logger?: Logger;
}

/** Every problem with the options at once (never the URL's or the token's value). */
export function optionProblems(options: UpdatesClientOptions): string[] {
  const problems: string[] = [];
  const text = (name: 'tenantId' | 'userId' | 'rabbitUrl', value: unknown) => {
    if (typeof value !== 'string' || value.length === 0) problems.push(`${name} must be a non-empty string`);
  };
  text('tenantId', options.tenantId);
  text('userId', options.userId);
  text('rabbitUrl', options.rabbitUrl);
  if (options.scope !== undefined && options.scope !== 'seed' && options.scope !== 'tenant')
    problems.push(`scope must be seed or tenant, got ${JSON.stringify(options.scope)}`);
  if (options.userType !== undefined && (typeof options.userType !== 'string' || options.userType.length === 0))
    problems.push('userType must be a non-empty string');
  const { fromSeq } = options;
  if (fromSeq !== 'latest' && (!Number.isInteger(fromSeq) || fromSeq < 0))
    problems.push(`fromSeq must be a whole number ≥ 0 or 'latest', got ${JSON.stringify(fromSeq)}`);
  const int = (name: string, value: number | undefined, min: number, max: number) => {
    if (value !== undefined && (!Number.isInteger(value) || value < min || value > max))
      problems.push(`${name} must be a whole number ${min}…${max}, got ${value}`);
  };
  int('prefetch', options.prefetch, 1, 65_535);
  int('pageSize', options.pageSize, 1, 1000);
  int('handlerAttempts', options.handlerAttempts, 1, 1_000_000);
  if (typeof options.onUpdate !== 'function') problems.push('onUpdate must be a function');
  if (typeof options.onResync !== 'function') problems.push('onResync must be a function');
  if (!options.api || (!('fetchUpdates' in options.api) && !(options.api.baseUrl && options.api.token)))
    problems.push('api needs baseUrl and token, or fetchUpdates and fetchState');
  if (options.alsoBindSeed && options.scope !== 'tenant') problems.push('alsoBindSeed applies to scope tenant only');
  if (problems.length === 0) {
    try {
      queueNameFor(options.scope ?? 'seed', options);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  return problems;
}
