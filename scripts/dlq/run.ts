/**
 * `pnpm dlq`: runs one command against the broker and returns its exit code. Everything it needs from
 * the process (arguments, environment, output streams, an interrupt signal) comes in as arguments, so
 * the tests run it in-process as well as through the real entry (scripts/dlq.ts).
 */
import { redactUrl } from '@chat3/runtime';
import type { ChannelModel } from 'amqplib';
import { describeFailure, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from '../cli/errors';
import { createProgress, type ProgressStream } from '../cli/progress';
import { parseDlqArgs, type DlqCommand, type ShowTarget } from './args';
import {
  assertExchangeExists,
  connectBroker,
  createBrokerRequeuePublisher,
  inspectQueue,
  openBrowse,
  purgeQueue,
  type BrowseSession,
} from './broker';
import { loadDlqConfig, type DlqConfig } from './config';
import { matchesId, viewLetter } from './letters';
import { requeueLetters } from './requeue';
import { createSummariser, renderList, renderRequeue, renderShow } from './summary';
import { dlqUsage } from './usage';

export interface DlqIo {
  env: Record<string, string | undefined>;
  stdout: ProgressStream;
  stderr: ProgressStream;
  /** Aborted on SIGINT/SIGTERM: a requeue stops taking letters and settles what is in flight. */
  signal?: AbortSignal;
  /** How the tool was started (`toolCommand`), for the usage and the commands messages suggest; `pnpm dlq` by default. */
  command?: string;
}

/** What the commands get: `command` resolved to how the tool was started. */
type CommandIo = DlqIo & { command: string };

export async function runDlq(argv: string[], io: DlqIo): Promise<number> {
  const invokedAs = io.command ?? 'pnpm dlq';
  let model: ChannelModel | undefined;
  try {
    const command = parseDlqArgs(argv);
    if (command.name === 'help') {
      io.stdout.write(dlqUsage(invokedAs));
      return EXIT_OK;
    }
    const config = loadDlqConfig(io.env);
    try {
      model = await connectBroker(config.RABBITMQ_URL);
    } catch (err) {
      throw new Error(`cannot connect to RabbitMQ at ${redactUrl(config.RABBITMQ_URL)}: ${(err as Error).message}`);
    }
    return await runCommand(model, config, command, { ...io, command: invokedAs });
  } catch (err) {
    const { code, line } = describeFailure('dlq', err, invokedAs);
    io.stderr.write(`${line}\n`);
    return code;
  } finally {
    await model?.close().catch(() => undefined);
  }
}

async function runCommand(model: ChannelModel, config: DlqConfig, command: Exclude<DlqCommand, { name: 'help' }>, io: CommandIo) {
  const queue = config.deadLetterQueue;
  switch (command.name) {
    case 'list':
      return list(model, queue, io);
    case 'show':
      return show(model, queue, command.target, io);
    case 'requeue':
      return requeue(model, config, command, io);
    case 'purge':
      return purge(model, queue, command.confirm, io);
  }
}

async function withBrowse<T>(model: ChannelModel, queue: string, use: (browse: BrowseSession) => Promise<T>): Promise<T> {
  const browse = await openBrowse(model, queue);
  try {
    return await use(browse);
  } finally {
    await browse.close();
  }
}

async function list(model: ChannelModel, queue: string, io: DlqIo): Promise<number> {
  const summary = await withBrowse(model, queue, async (browse) => {
    const summariser = createSummariser();
    for (let position = 1; ; position++) {
      const msg = await browse.next();
      if (!msg) break;
      summariser.add(viewLetter(msg, position));
    }
    return summariser.result(queue, browse.depth, browse.consumers);
  });
  io.stdout.write(renderList(summary));
  return EXIT_OK;
}

async function show(model: ChannelModel, queue: string, target: ShowTarget, io: DlqIo): Promise<number> {
  const text = await withBrowse(model, queue, async (browse) => {
    for (let position = 1; ; position++) {
      const msg = await browse.next();
      if (!msg) return undefined;
      const view = viewLetter(msg, position);
      if ('position' in target ? target.position === position : matchesId(view, target.id)) return renderShow(queue, view, msg);
    }
  });
  if (text === undefined) {
    const what = 'position' in target ? `no letter #${target.position}` : `no letter with messageId or eventId ${target.id}`;
    io.stderr.write(`dlq: ${what} in ${queue}\n`);
    return EXIT_USAGE;
  }
  io.stdout.write(text);
  return EXIT_OK;
}

async function requeue(model: ChannelModel, config: DlqConfig, command: Extract<DlqCommand, { name: 'requeue' }>, io: CommandIo) {
  const queue = config.deadLetterQueue;
  const exchange = config.RABBITMQ_EVENTS_EXCHANGE;
  await assertExchangeExists(model, exchange);
  const publisher = command.dryRun ? undefined : await createBrokerRequeuePublisher(model, exchange, config.DLQ_CONFIRM_TIMEOUT_MS);
  try {
    const result = await withBrowse(model, queue, async (browse) => {
      const progress = createProgress({ label: command.dryRun ? 'dry run' : 'requeue', total: browse.depth, stream: io.stderr });
      try {
        return await requeueLetters({
          source: browse,
          publisher,
          reasons: command.reasons,
          limit: command.limit,
          dryRun: command.dryRun,
          signal: io.signal,
          onProgress: (c) => progress.update(c.seen, `requeued ${c.requeued}, kept ${c.kept}${c.failed ? `, failed ${c.failed}` : ''}`),
        });
      } finally {
        progress.stop();
      }
    });
    io.stdout.write(renderRequeue({ queue, exchange, dryRun: command.dryRun, command: io.command, ...result }));
    return result.stoppedBy === undefined ? EXIT_OK : EXIT_FAILURE;
  } finally {
    await publisher?.stop();
  }
}

async function purge(model: ChannelModel, queue: string, confirm: string | undefined, io: CommandIo): Promise<number> {
  const { messageCount } = await inspectQueue(model, queue);
  if (confirm !== queue) {
    const why = confirm === undefined ? 'purge needs --confirm with the queue name' : `--confirm names ${confirm}, not ${queue}`;
    io.stderr.write(
      `dlq: refusing to purge: ${why}; ${messageCount} letter${messageCount === 1 ? '' : 's'} would be lost (run: ${io.command} purge --confirm ${queue})\n`,
    );
    return EXIT_USAGE;
  }
  const purged = await purgeQueue(model, queue);
  io.stdout.write(`${queue}: purged ${purged} letter${purged === 1 ? '' : 's'}\n`);
  return EXIT_OK;
}
