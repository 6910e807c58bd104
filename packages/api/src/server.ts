/**
 * The catch-up API over HTTP (fastify): routes, auth, validation and error answers. It reads through a
 * CatchUpStore port, so its tests inject requests with a store in memory.
 *
 * Every answer is JSON. Order of checks: the token (401), the path's ids (400), the token's tenant
 * (403), the query (400); then the store. A database error is a 503 with a log line (no stack, no
 * detail to the client); anything else unexpected a 500. No request is logged with its headers, so
 * tokens never reach the log.
 */
import type { Logger } from '@chat3/runtime';
import Fastify, { LogController, type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import { mayRead, type Authorizer } from './auth';
import { readPage, readState, type CatchUpStore, type UpdatesPage } from './catch-up';
import type { ApiMetrics } from './metrics';
import { parsePageQuery, parseRecipient, type Recipient } from './request-params';

export interface ApiServerOptions {
  store: CatchUpStore;
  authorizer: Authorizer;
  metrics: ApiMetrics;
  logger: Logger;
}

export const ROUTE_PREFIX = '/v1/tenants/:tenantId/users/:userId';

/** Path parameters are percent-encoded: a 256-byte id may take 768 characters. Longer ones get a 400, not a 404. */
const MAX_PARAM_LENGTH = 4_096;

export interface ErrorBody {
  error: 'bad_request' | 'unauthorized' | 'forbidden' | 'not_found' | 'too_long' | 'unavailable' | 'internal';
  message: string;
  [more: string]: unknown;
}

/** The page as JSON, the Update bodies spliced in as they go on the wire (not parsed and re-serialised). */
export function pageJson(page: UpdatesPage): string {
  return `{"updates":[${page.updates.map((u) => u.body).join(',')}],"nextAfter":${page.nextAfter},"hasMore":${page.hasMore}}`;
}

function isDatabaseError(err: unknown): boolean {
  const name = (err as { name?: unknown } | null)?.name;
  return typeof name === 'string' && name.startsWith('Mongo');
}

function fail(reply: FastifyReply, status: number, body: ErrorBody) {
  return reply.code(status).header('cache-control', 'no-store').send(body);
}

export function createApiServer(options: ApiServerOptions) {
  const { store, authorizer, metrics } = options;
  const log = options.logger.child({ component: 'http' });
  const app = Fastify({
    loggerInstance: log,
    // Fastify's own request lines are off: the onResponse hook logs each request, without headers.
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // A path that is not valid percent-encoding.
    frameworkErrors: (err, _request, reply) => fail(reply, 400, { error: 'bad_request', message: err.message }),
    return503OnClosing: true,
  });

  /** The checks every recipient route makes; undefined when an answer was sent. */
  function admit(request: FastifyRequest, reply: FastifyReply): Recipient | undefined {
    const who = authorizer.authenticate(request.headers.authorization);
    if (!who.ok) {
      void fail(reply.header('www-authenticate', 'Bearer'), 401, { error: 'unauthorized', message: who.message });
      return undefined;
    }
    const recipient = parseRecipient(request.params as Record<string, unknown>);
    if (!recipient.ok) {
      void fail(reply, 400, { error: 'bad_request', message: recipient.message });
      return undefined;
    }
    if (!mayRead(who.scope, recipient.value.tenantId)) {
      void fail(reply, 403, { error: 'forbidden', message: 'this token may not read this tenant' });
      return undefined;
    }
    return recipient.value;
  }

  app.get(`${ROUTE_PREFIX}/updates`, async (request, reply) => {
    const recipient = admit(request, reply);
    if (!recipient) return reply;
    const query = parsePageQuery(request.query);
    if (!query.ok) return fail(reply, 400, { error: 'bad_request', message: query.message });
    const result = await readPage(store, recipient, query.value);
    if (result.kind === 'too-long') {
      metrics.tooLong.inc();
      return fail(reply, 410, {
        error: 'too_long',
        message: `Updates after seq ${query.value.after} are no longer stored; fetch /state and resync`,
        tooLong: true,
        oldestSeq: result.oldestSeq,
      });
    }
    metrics.updatesServed.inc(result.updates.length);
    return reply.header('cache-control', 'no-store').type('application/json; charset=utf-8').send(pageJson(result));
  });

  app.get(`${ROUTE_PREFIX}/state`, async (request, reply) => {
    const recipient = admit(request, reply);
    if (!recipient) return reply;
    const seq = await readState(store, recipient);
    return reply.header('cache-control', 'no-store').send({ seq });
  });

  app.setNotFoundHandler((request, reply) =>
    fail(reply, 404, { error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );

  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      return fail(reply, err.statusCode, { error: err.statusCode === 404 ? 'not_found' : 'bad_request', message: err.message });
    }
    if (isDatabaseError(err)) {
      metrics.databaseErrors.inc();
      request.log.warn({ err, route: request.routeOptions.url }, 'database error; answered 503');
      return fail(reply.header('retry-after', '1'), 503, { error: 'unavailable', message: 'the database did not answer; try again' });
    }
    request.log.error({ err, route: request.routeOptions.url }, 'request failed');
    return fail(reply, 500, { error: 'internal', message: 'internal error' });
  });

  // A stop (app.close()) closes idle keep-alive connections, but one busy with a request becomes idle
  // only after its answer and would hold the stop until its keep-alive timeout: answers sent while
  // closing ask the client to close the connection.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const status = String(reply.statusCode);
    metrics.requestDuration.observe({ method: request.method, route, status }, reply.elapsedTime / 1_000);
    request.log.debug({ method: request.method, route, status: reply.statusCode, durationMs: Math.round(reply.elapsedTime) }, 'request');
  });

  return app;
}

export type ApiServer = ReturnType<typeof createApiServer>;
