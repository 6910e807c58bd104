/**
 * Re-publish Updates (`pnpm republish --help`): puts the Updates a filter selects back for the running
 * relay, oldest first and at a steady rate, and records the replay in `replays` (see replay/replay.ts).
 *
 *   pnpm republish --tenant tnt_default --user carl --since 2026-11-26T10:00:00Z --dry-run
 *   pnpm republish --tenant tnt_default --since 2026-11-26T10:00:00Z --rate 200
 *   pnpm republish --parked                       # retry every parked Update after fixing the cause
 *   pnpm republish --resume rpl_20261202T041500Z_3fa9c1
 *   pnpm republish --list
 *
 * Exit codes: 0 done, 1 failed, 2 usage error, 130 interrupted (resume it with --resume).
 * `pnpm build` compiles this file to tools/dist/republish.js, which the image runs as
 * `node tools/dist/republish.js …`.
 */
import { readFileSync } from 'node:fs';
import { MongoClient, type Collection } from 'mongodb';
import { redactUrl, sleep } from '@chat3/runtime';
import { describeFailure, UsageError } from './cli/errors';
import { toolCommand } from './cli/invocation';
import { createProgress } from './cli/progress';
import { parseReplayArgs, replayUsage, type ReplayCommand } from './replay/args';
import { dryRun, listReplays, resumeReplay, runReplay, startReplay, type ReplayRecord } from './replay/replay';

const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());
const say = (line: string) => process.stderr.write(`${line}\n`);
/** `pnpm republish`, or `node tools/dist/republish.js` when built (the image): for --help and hints. */
const invokedAs = toolCommand('republish', process.argv[1], process.cwd());

async function main(command: ReplayCommand): Promise<number> {
  if (command.kind === 'help') {
    process.stdout.write(`${replayUsage(invokedAs)}\n`);
    return 0;
  }
  const uri = process.env.MONGODB_URI;
  if (!uri) throw new UsageError('MONGODB_URI is not set');
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000 });
  try {
    await client.connect();
    const db = client.db(process.env.MONGODB_DB ?? 'chat3');
    const updates = db.collection(process.env.UPDATES_COLLECTION ?? 'updates');
    const replays = db.collection<ReplayRecord>('replays');
    say(`republish: ${redactUrl(uri)} db ${db.databaseName}`);

    switch (command.kind) {
      case 'list':
        for (const r of await listReplays(replays, command.limit)) {
          process.stdout.write(
            `${r._id}  ${r.status.padEnd(11)} ${String(r.done).padStart(7)}/${String(r.selected).padEnd(7)} ` +
              `${r.rate}/s  by ${r.operator}  started ${iso(r.startedAt)}  finished ${iso(r.finishedAt)}  ${JSON.stringify(r.filter)}` +
              `${r.error ? `  error: ${r.error}` : ''}\n`,
          );
        }
        return 0;
      case 'dry-run': {
        const summary = await dryRun(updates, command.filter, command.limit, Date.now());
        process.stdout.write(
          [
            `would re-publish ${summary.count} Updates (nothing written)`,
            `  by update type: ${JSON.stringify(summary.byUpdateType)}`,
            `  by tenant:      ${JSON.stringify(summary.byTenant)}`,
            `  createdAt from ${iso(summary.firstCreatedAt)} to ${iso(summary.lastCreatedAt)}`,
            `  first ids: ${summary.sampleIds.join(' ') || '-'}`,
          ].join('\n') + '\n',
        );
        return 0;
      }
      case 'run':
      case 'resume': {
        const record =
          command.kind === 'run'
            ? await startReplay({ updates, replays }, command)
            : await resumeReplay({ replays }, command.id, { rate: command.rate, operator: command.operator });
        return await replayWithProgress(updates, replays, record);
      }
    }
  } finally {
    await client.close();
  }
}

/**
 * SIGINT/SIGTERM: during a replay, stop after the chunk in flight (the record says interrupted); before
 * one, or on a second signal, leave at once (a replay then stays marked running).
 */
const stop = new AbortController();
let replaying: string | undefined;
const onSignal = () => {
  if (!replaying || stop.signal.aborted) process.exit(130);
  say(`\nstopping after the chunk in flight; resume with: ${invokedAs} --resume ${replaying}`);
  stop.abort();
};
process.on('SIGINT', onSignal).on('SIGTERM', onSignal);

async function replayWithProgress(updates: Collection, replays: Collection<ReplayRecord>, record: ReplayRecord): Promise<number> {
  say(`replay ${record._id}: ${record.selected - record.done} Updates to put back at ${record.rate}/s (${record.done} done before)`);
  replaying = record._id;
  const progress = createProgress({ label: `replay ${record._id}`, total: record.selected, stream: process.stderr, intervalMs: 5_000 });
  try {
    const onProgress = ({ done }: { done: number }) => progress.update(done, '');
    const final = await runReplay({ updates, replays, signal: stop.signal, onProgress, sleep }, record);
    progress.stop();
    say(`replay ${final._id}: ${final.status}, ${final.done} of ${final.selected} put back`);
    process.stdout.write(`${JSON.stringify({ replayId: final._id, status: final.status, done: final.done, selected: final.selected })}\n`);
    return final.status === 'interrupted' ? 130 : 0;
  } finally {
    progress.stop();
    replaying = undefined;
  }
}

let command: ReplayCommand;
try {
  command = parseReplayArgs(process.argv.slice(2), { env: process.env, readFile: (path) => readFileSync(path, 'utf8') });
} catch (err) {
  const { code, line } = describeFailure('republish', err, invokedAs);
  say(line);
  process.exit(code);
}
main(command).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const { code, line } = describeFailure('republish', err, invokedAs);
    say(line);
    process.exit(code);
  },
);
