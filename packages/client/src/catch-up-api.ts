/**
 * The catch-up API as the SDK sees it (issue #10 §2): a port of two calls, and its HTTP implementation.
 *
 *   GET {baseUrl}/v1/tenants/{tenantId}/users/{userId}/updates?after={seq}&limit={n}
 *       200 { updates, nextAfter, hasMore } | 410 { tooLong: true, oldestSeq }
 *   GET {baseUrl}/v1/tenants/{tenantId}/users/{userId}/state   200 { seq }
 *
 * Failures are `CatchUpApiError`s that say whether asking again can help: network errors, timeouts, 408,
 * 429 and 5xx can; 400, 401, 403, 404 and other 4xx cannot (a wrong token or URL does not heal by
 * itself). The token is sent in the Authorization header and never appears in an error message.
 */
import { z } from 'zod';

export type UpdatesPage =
  { kind: 'page'; updates: unknown[]; nextAfter: number; hasMore: boolean } | { kind: 'too-long'; oldestSeq: number | null };

export interface CatchUpApi {
  fetchUpdates(after: number, limit: number): Promise<UpdatesPage>;
  fetchState(): Promise<{ seq: number }>;
}

export class CatchUpApiError extends Error {
  override name = 'CatchUpApiError';
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface HttpCatchUpApiOptions {
  /** e.g. `http://localhost:8080`; the SDK appends `/v1/tenants/…`. */
  baseUrl: string;
  token: string;
  tenantId: string;
  userId: string;
  /** Per request; default 10 s. */
  timeoutMs?: number;
  /** Injected for tests; the global fetch by default. */
  fetch?: typeof fetch;
}

const pageSchema = z.object({ updates: z.array(z.unknown()), nextAfter: z.number().int().nonnegative(), hasMore: z.boolean() });
const tooLongSchema = z.object({ tooLong: z.literal(true), oldestSeq: z.number().int().nullable().optional() });
const stateSchema = z.object({ seq: z.number().int().nonnegative() });

export function createHttpCatchUpApi(options: HttpCatchUpApiOptions): CatchUpApi {
  const base = options.baseUrl.replace(/\/+$/, '');
  const prefix = `${base}/v1/tenants/${encodeURIComponent(options.tenantId)}/users/${encodeURIComponent(options.userId)}`;
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;

  async function get(path: string): Promise<{ status: number; body: unknown }> {
    let response: Response;
    try {
      response = await doFetch(`${prefix}${path}`, {
        headers: { authorization: `Bearer ${options.token}`, accept: 'application/json' },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      throw new CatchUpApiError(`catch-up API unreachable: ${(err as Error).message}${cause ? ` (${cause})` : ''}`, true);
    }
    const text = await response.text().catch(() => '');
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      // Kept as text for the error message.
    }
    return { status: response.status, body };
  }

  function failure(what: string, status: number, body: unknown): CatchUpApiError {
    const detail =
      typeof body === 'object' && body !== null
        ? ((body as { message?: unknown; error?: unknown }).message ?? (body as { error?: unknown }).error)
        : body;
    const retryable = status === 408 || status === 429 || status >= 500;
    return new CatchUpApiError(`${what}: HTTP ${status}${detail ? ` ${String(detail).slice(0, 200)}` : ''}`, retryable, status);
  }

  return {
    async fetchUpdates(after, limit) {
      const { status, body } = await get(`/updates?after=${after}&limit=${limit}`);
      if (status === 410) {
        const parsed = tooLongSchema.safeParse(body);
        if (parsed.success) return { kind: 'too-long', oldestSeq: parsed.data.oldestSeq ?? null };
      }
      if (status !== 200) throw failure('fetching updates', status, body);
      const parsed = pageSchema.safeParse(body);
      if (!parsed.success)
        throw new CatchUpApiError(`fetching updates: unexpected response body (${parsed.error.issues[0]?.message})`, true, status);
      return { kind: 'page', ...parsed.data };
    },
    async fetchState() {
      const { status, body } = await get('/state');
      if (status !== 200) throw failure('fetching state', status, body);
      const parsed = stateSchema.safeParse(body);
      if (!parsed.success)
        throw new CatchUpApiError(`fetching state: unexpected response body (${parsed.error.issues[0]?.message})`, true, status);
      return parsed.data;
    },
  };
}
