/**
 * `pnpm dlq <command>`: inspect and replay the builder's dead letters (<BUILDER_QUEUE>.dlq).
 *
 *   pnpm dlq list                                   # counts by reason, first and last of each
 *   pnpm dlq show 3 | pnpm dlq show evt_…           # one letter with headers and body
 *   pnpm dlq requeue --reason unbuildable --limit 100 [--dry-run]
 *   pnpm dlq purge --confirm chat3_update_builder.dlq
 *
 * Environment: RABBITMQ_URL, BUILDER_QUEUE, RABBITMQ_EVENTS_EXCHANGE, DLQ_CONFIRM_TIMEOUT_MS. `pnpm build`
 * compiles this file to tools/dist/dlq.js, which the image runs as `node tools/dist/dlq.js <command>`.
 * The commands live in scripts/dlq/; this file is the only one that touches `process`.
 */
import { toolCommand } from './cli/invocation';
import { runDlq } from './dlq/run';

const interrupt = new AbortController();
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // The first signal lets a requeue settle what is in flight; a second one ends at once (the broker
    // hands every unacked letter back to the DLQ when the connection drops).
    if (interrupted) process.exit(130);
    interrupted = true;
    interrupt.abort();
  });
}

const code = await runDlq(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  signal: interrupt.signal,
  command: toolCommand('dlq', process.argv[1], process.cwd()),
});
process.exit(code);
