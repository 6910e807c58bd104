/**
 * `/metrics` (Prometheus text), `/healthz` (the process is alive and its loops are not wedged) and
 * `/readyz` (connected and doing its job) on one small HTTP server.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface HealthReport {
  ok: boolean;
  checks: Record<string, unknown>;
}

export interface OpsServerOptions {
  /** Address to listen on (`0.0.0.0`: every interface, what a container needs; `127.0.0.1`: this host only). */
  host: string;
  port: number;
  registry: Registry;
  health: () => HealthReport;
  readiness: () => HealthReport;
}

export interface OpsServer {
  start(): Promise<number>;
  stop(): Promise<void>;
}

export function createOpsServer(options: OpsServerOptions): OpsServer {
  let server: Server | undefined;
  let stopping: Promise<void> | undefined;

  async function handle(path: string): Promise<{ status: number; type: string; body: string }> {
    if (path === '/metrics') {
      return { status: 200, type: options.registry.contentType, body: await options.registry.metrics() };
    }
    const report = path === '/healthz' ? options.health() : path === '/readyz' ? options.readiness() : undefined;
    if (!report) return { status: 404, type: 'text/plain', body: 'not found\n' };
    return { status: report.ok ? 200 : 503, type: 'application/json', body: `${JSON.stringify(report)}\n` };
  }

  return {
    start() {
      server = createServer((req, res) => {
        handle((req.url ?? '/').split('?')[0] ?? '/').then(
          ({ status, type, body }) => res.writeHead(status, { 'content-type': type }).end(body),
          (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
        );
      });
      return new Promise((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(options.port, options.host, () => resolve((server!.address() as AddressInfo).port));
      });
    },
    stop() {
      stopping ??= new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
      server?.closeAllConnections();
      return stopping;
    },
  };
}
