// The image's HEALTHCHECK (slim images have no curl): GET /healthz on the ops port. The port is
// METRICS_PORT when set, else each service's default (builder 9464, relay 9465, api 9466): one
// container runs one service, so whichever answers is it. The address is METRICS_HOST unless that is
// every interface (the default, 0.0.0.0), then loopback. Exit 0 on a 200, 1 otherwise.
import { get } from 'node:http';

const ports = process.env.METRICS_PORT ? [Number(process.env.METRICS_PORT)] : [9464, 9465, 9466];
const bound = process.env.METRICS_HOST;
const host = !bound || bound === '0.0.0.0' || bound === '::' ? '127.0.0.1' : bound;

function healthy(port) {
  return new Promise((resolve) => {
    const req = get({ host, port, path: '/healthz', timeout: 3000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

for (const port of ports) {
  if (await healthy(port)) process.exit(0);
}
process.stderr.write(`no 200 from /healthz on ${host}, port ${ports.join(', ')}\n`);
process.exit(1);
