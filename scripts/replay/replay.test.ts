/**
 * `pnpm republish` against the real MongoDB-compatible server: the pacing, the record, an interrupted
 * replay resumed without redoing anything, the dry run, and the command line's errors.
 */
import { spawn } from 'node:child_process';
import { createTestDatabase, repoRoot, waitFor, type TestDatabase } from '@chat3/testkit';
import { sleep } from '@chat3/runtime';
import { ObjectId, type Collection } from 'mongodb';
import { afterEach, describe, expect, it } from 'vitest';
import { resumeReplay, runReplay, startReplay, STALE_RUNNING_MS, type ReplayRecord } from './replay';

let database: TestDatabase | undefined;
afterEach(async () => {
  await database?.drop();
  database = undefined;
});

/** `count` published Updates for `userId`, an hour old, one millisecond apart. */
async function seed(updates: Collection, userId: string, count: number, over: Record<string, unknown> = {}) {
  const start = Date.now() - 3_600_000;
  const docs = Array.from({ length: count }, (_, i) => ({
    _id: new ObjectId(),
    tenantId: 'tnt_r',
    userId,
    dialogId: `dlg_${i % 3}`,
    updateType: i % 2 ? 'MessageUpdate' : 'DialogUpdate',
    eventType: 'message.create',
    eventId: `evt_${userId}_${i}`,
    createdAt: start + i,
    published: true,
    publishedAt: start + i + 5,
    ...over,
  }));
  await updates.insertMany(docs);
  return docs;
}

/** Runs the command line to its end: exit code, stdout, stderr. */
function cli(args: string[], env: Record<string, string | undefined>, onStart?: (pid: number) => void) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/republish.ts', ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b));
    child.stderr.on('data', (b: Buffer) => (stderr += b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    onStart?.(child.pid!);
  });
}

const dbEnv = (db: TestDatabase) => ({ MONGODB_URI: db.uri, MONGODB_DB: db.name });

describe('replay', () => {
  it('stops on SIGINT after the chunk in flight, and --resume finishes without redoing any Update', async () => {
    database = await createTestDatabase('replay');
    const updates = database.db.collection('updates');
    const env = dbEnv(database);
    await seed(updates, 'sam', 200, { parked: { reason: 'x', at: 1, attempts: 3 }, published: false, publishedAt: null });

    let pid = 0;
    const interrupted = cli(['--parked', '--rate', '50', '--operator', 'ann'], env, (p) => (pid = p));
    await waitFor(async () => (await updates.countDocuments({ replayId: { $exists: true } })) >= 30, {
      timeoutMs: 30_000,
      message: 'replay under way',
    });
    process.kill(pid, 'SIGINT');
    const first = await interrupted;
    expect(first.code, first.stderr).toBe(130);
    const stopped = JSON.parse(first.stdout);
    expect(stopped).toMatchObject({ status: 'interrupted', selected: 200 });
    expect(stopped.done).toBeLessThan(200);
    expect(first.stderr).toContain(`pnpm republish --resume ${stopped.replayId}`);

    const doneBefore = new Map(
      (await updates.find({ replayId: stopped.replayId }).toArray()).map((d) => [String(d._id), d.republishedAt as number]),
    );
    expect(doneBefore.size).toBe(stopped.done);

    const resumed = await cli(['--resume', stopped.replayId, '--rate', '500', '--operator', 'bob'], env);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toEqual({ replayId: stopped.replayId, status: 'done', done: 200, selected: 200 });
    const all = await updates.find({}).toArray();
    expect(all.every((d) => d.replayId === stopped.replayId && d.parked === undefined)).toBe(true);
    for (const d of all) if (doneBefore.has(String(d._id))) expect(d.republishedAt).toBe(doneBefore.get(String(d._id)));

    const record = await database.db.collection('replays').findOne({ _id: stopped.replayId as never });
    expect(record).toMatchObject({ operator: 'ann', status: 'done', done: 200, resumes: [{ operator: 'bob', at: expect.any(Number) }] });

    const again = await cli(['--resume', stopped.replayId], env);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/is done: 200 of 200 put back/);

    const list = await cli(['--list'], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`${stopped.replayId}\\s+done\\s+200/200`));
  }, 60_000);

  it('resumes a replay whose process died (SIGKILL: still marked running) only once it has been silent a while', async () => {
    database = await createTestDatabase('replay');
    const updates = database.db.collection('updates');
    const replays = database.db.collection<ReplayRecord>('replays');
    await seed(updates, 'una', 20);
    const record = await startReplay({ updates, replays }, { filter: { user: 'una' }, rate: 1000, operator: 'a' });
    await expect(resumeReplay({ replays }, record._id, { operator: 'b' })).rejects.toThrow(/is running \(last progress \d+ s ago\)/);
    const later = () => record.updatedAt + STALE_RUNNING_MS + 1;
    const taken = await resumeReplay({ replays, clock: later }, record._id, { operator: 'b' });
    expect(taken).toMatchObject({ status: 'running', resumes: [{ operator: 'b' }] });
    const final = await runReplay({ updates, replays, sleep, signal: new AbortController().signal }, taken);
    expect(final).toMatchObject({ status: 'done', done: 20 });
    await expect(resumeReplay({ replays }, 'rpl_nope', { operator: 'b' })).rejects.toThrow('no replay rpl_nope (see --list)');
  });

  it('takes publishedDate off what it puts back, so retention never expires an Update waiting to go out again', async () => {
    database = await createTestDatabase('replay');
    const updates = database.db.collection('updates');
    const replays = database.db.collection<ReplayRecord>('replays');
    const docs = await seed(updates, 'rita', 6);
    for (const d of docs) await updates.updateOne({ _id: d._id }, { $set: { publishedDate: new Date(d.publishedAt) } });
    const record = await startReplay({ updates, replays }, { filter: { user: 'rita' }, limit: 4, rate: 1000, operator: 'a' });
    const final = await runReplay({ updates, replays, sleep, signal: new AbortController().signal }, record);
    expect(final).toMatchObject({ status: 'done', done: 4 });
    const all = await updates.find({}).sort({ createdAt: 1 }).toArray();
    expect(all.slice(0, 4).every((d) => d.published === false && !('publishedDate' in d))).toBe(true);
    expect(all.slice(4).every((d) => d.published === true && d.publishedDate instanceof Date)).toBe(true);
  });

  it('--dry-run counts by update type and tenant and writes nothing; --limit caps a replay', async () => {
    database = await createTestDatabase('replay');
    const updates = database.db.collection('updates');
    const env = dbEnv(database);
    const docs = await seed(updates, 'tom', 10);

    const dry = await cli(['--user', 'tom', '--dry-run'], env);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('would re-publish 10 Updates (nothing written)');
    expect(dry.stdout).toContain('by update type: {"DialogUpdate":5,"MessageUpdate":5}');
    expect(dry.stdout).toContain('by tenant:      {"tnt_r":10}');
    expect(dry.stdout).toContain(
      `first ids: ${docs
        .slice(0, 5)
        .map((d) => String(d._id))
        .join(' ')}`,
    );
    expect(await updates.countDocuments({ published: true, replayId: { $exists: false } })).toBe(10);
    expect(await database.db.collection('replays').countDocuments()).toBe(0);

    const limited = await cli(['--user', 'tom', '--update-type', 'MessageUpdate', '--limit', '3', '--rate', '1000'], env);
    expect(limited.code, limited.stderr).toBe(0);
    expect(JSON.parse(limited.stdout)).toMatchObject({ done: 3, selected: 3 });
    const flipped = await updates
      .find({ replayId: { $exists: true } })
      .sort({ createdAt: 1 })
      .toArray();
    expect(flipped.map((d) => d.eventId)).toEqual(['evt_tom_1', 'evt_tom_3', 'evt_tom_5']);
  });

  it('answers --help, and refuses bad input in one line with exit 2 and no stack trace', async () => {
    const help = await cli(['--help'], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: pnpm republish/);

    for (const args of [['--tenat', 'x'], [], ['--user', 'u', '--rate', 'fast'], ['--since', 'yesterday']]) {
      const bad = await cli(args, {});
      expect(bad.code, args.join(' ')).toBe(2);
      expect(bad.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(bad.stderr).toMatch(/^republish: .*\(see: pnpm republish --help\)\n$/);
      expect(bad.stderr).not.toMatch(/\n\s+at /);
    }
    const noUri = await cli(['--user', 'u'], { MONGODB_URI: '' });
    expect(noUri.code).toBe(2);
    expect(noUri.stderr).toBe('republish: MONGODB_URI is not set\n');
  });
});
