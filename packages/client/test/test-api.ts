/**
 * A stand-in for the catch-up API (issue #10 §2) over an in-memory list of wire bodies, speaking the
 * contract over real HTTP, for the SDK's tests until the real API process is on this branch. It can be
 * told to fail (HTTP 500) a number of times, and to have lost everything below a seq (410 tooLong).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestApi {
  baseUrl: string;
  token: string;
  /** Wire bodies by `${tenantId}/${userId}`, each with `seq`. */
  store: Map<string, Array<Record<string, unknown> & { seq: number }>>;
  /** Requests seen, as `GET /path?query`. */
  requests: string[];
  /** The next `n` requests answer 500. */
  failNext(n: number): void;
  /** Updates with seq < `oldestSeq` are gone: `after` below `oldestSeq - 1` answers 410. */
  retainFrom(oldestSeq: number): void;
  close(): Promise<void>;
}

export async function startTestApi(token = 'test-token'): Promise<TestApi> {
  const store: TestApi['store'] = new Map();
  const requests: string[] = [];
  let failures = 0;
  let oldest = 1;
  const send = (res: import('node:http').ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(`GET ${url.pathname}${url.search}`);
    if (req.headers.authorization !== `Bearer ${token}`)
      return send(res, 401, { error: 'unauthorized', message: 'missing or invalid token' });
    if (failures > 0) {
      failures -= 1;
      return send(res, 500, { error: 'internal', message: 'injected failure' });
    }
    const match = /^\/v1\/tenants\/([^/]+)\/users\/([^/]+)\/(updates|state)$/.exec(url.pathname);
    if (!match) return send(res, 404, { error: 'not_found', message: url.pathname });
    const key = `${decodeURIComponent(match[1]!)}/${decodeURIComponent(match[2]!)}`;
    const all = [...(store.get(key) ?? [])].sort((a, b) => a.seq - b.seq);
    if (match[3] === 'state') return send(res, 200, { seq: all.at(-1)?.seq ?? 0 });
    const after = Number(url.searchParams.get('after') ?? '0');
    const limit = Number(url.searchParams.get('limit') ?? '100');
    if (!Number.isInteger(after) || after < 0 || !Number.isInteger(limit) || limit < 1 || limit > 1000) {
      return send(res, 400, { error: 'bad_request', message: 'after/limit' });
    }
    if (after < oldest - 1) return send(res, 410, { error: 'too_long', tooLong: true, oldestSeq: oldest });
    const rest = all.filter((u) => u.seq > after);
    const page = rest.slice(0, limit);
    send(res, 200, { updates: page, nextAfter: page.at(-1)?.seq ?? after, hasMore: rest.length > page.length });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    token,
    store,
    requests,
    failNext: (n) => void (failures = n),
    retainFrom: (seq) => void (oldest = seq),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
