/**
 * `pnpm dlq` as a process (the real entry, scripts/dlq.ts): exit codes, one-line errors without a
 * stack trace, no credentials in the output.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { repoRoot, waitFor } from '@chat3/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDlqFixture, type DlqFixture } from './fixture';

let fx: DlqFixture;

beforeAll(async () => {
  fx = await createDlqFixture();
});

afterAll(async () => {
  await fx?.cleanUp();
});

function dlq(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST')));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'scripts/dlq.ts', ...args],
      {
        cwd: repoRoot,
        env: { ...base, RABBITMQ_URL: process.env.RABBITMQ_URL!, RABBITMQ_EVENTS_EXCHANGE: fx.exchange, BUILDER_QUEUE: fx.queue, ...env },
        timeout: 60_000,
      },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}

function expectOneLine(stderr: string): void {
  expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe('pnpm dlq as a process', () => {
  it('--help prints the usage and exits 0', async () => {
    const { code, stdout, stderr } = await dlq(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^pnpm dlq <command> \[flags\]/);
    expect(stdout).toContain('requeue [flags]');
    expect(stderr).toBe('');
    expect((await dlq(['help'])).stdout).toBe(stdout);
  });

  it('a bad flag or command is one line and exit 2', async () => {
    for (const args of [['list', '--bogus'], ['requeue', '--limit', 'x'], ['frobnicate'], []]) {
      const { code, stdout, stderr } = await dlq(args);
      expect(code, args.join(' ')).toBe(2);
      expect(stdout).toBe('');
      expectOneLine(stderr);
      expect(stderr).toMatch(/^dlq: .*\(see: pnpm dlq --help\)\n$/);
    }
  });

  it('a bad environment is one line and exit 2', async () => {
    const { code, stderr } = await dlq(['list'], { RABBITMQ_URL: 'http://guest:hunter2@localhost' });
    expect(code).toBe(2);
    expectOneLine(stderr);
    expect(stderr).toMatch(/^dlq: invalid environment: RABBITMQ_URL: must start with amqp:\/\/ or amqps:\/\//);
    expect(stderr).not.toContain('hunter2');
  });

  it('an unreachable broker is one line and exit 1, without the password', async () => {
    const { code, stderr } = await dlq(['list'], { RABBITMQ_URL: 'amqp://dlquser:s3cret-pw@127.0.0.1:1' });
    expect(code).toBe(1);
    expectOneLine(stderr);
    expect(stderr).toMatch(/^dlq: cannot connect to RabbitMQ at amqp:\/\/dlquser:\*\*\*@127\.0\.0\.1:1: /);
    expect(stderr).not.toContain('s3cret-pw');
  });

  it('a missing queue is one line and exit 2', async () => {
    const { code, stderr } = await dlq(['list'], { BUILDER_QUEUE: 'no-such-builder-queue-for-dlq-cli-test' });
    expect(code).toBe(2);
    expectOneLine(stderr);
    expect(stderr).toContain('queue no-such-builder-queue-for-dlq-cli-test.dlq does not exist');
  });

  it('lists, refuses an unconfirmed purge with exit 2, and requeues', async () => {
    await fx.seed([{ reason: 'schema' }, { reason: 'not-json' }]);
    const listed = await dlq(['list']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(`${fx.dlq}: 2 dead letters`);
    const refused = await dlq(['purge']);
    expect(refused.code).toBe(2);
    expectOneLine(refused.stderr);
    expect(refused.stderr).toContain('2 letters would be lost');
    const requeued = await dlq(['requeue', '--reason', 'schema']);
    expect(requeued.code).toBe(0);
    expect(requeued.stdout).toContain('requeued 1');
    // Not a TTY: plain progress lines on stderr, never a bar.
    expect(requeued.stderr).toBe('requeue: 2/2, requeued 1, kept 1\n');
    expect(await fx.depth(fx.dlq)).toBe(1);
    expect(await fx.depth(fx.topology.intakeQueue)).toBe(1);
  });

  it('SIGINT during a requeue settles what is in flight: every letter is requeued or still in the DLQ, once', async () => {
    await fx.drain(fx.dlq);
    await fx.drain(fx.topology.intakeQueue);
    const total = 3_000;
    await fx.seed(Array.from({ length: total }, () => ({ reason: 'schema' })));
    const proc = spawn(process.execPath, ['--import', 'tsx', 'scripts/dlq.ts', 'requeue'], {
      cwd: repoRoot,
      env: { ...process.env, RABBITMQ_EVENTS_EXCHANGE: fx.exchange, BUILDER_QUEUE: fx.queue },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    proc.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    proc.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = once(proc, 'close') as Promise<[number | null]>;
    try {
      // The first requeued letters reached the intake queue: the requeue is under way.
      await waitFor(async () => (await fx.depth(fx.topology.intakeQueue)) > 0, {
        timeoutMs: 60_000,
        message: `requeues started (output: ${output})`,
      });
      proc.kill('SIGINT');
      const [code] = await exited;
      expect(code, output).toBe(1);
    } finally {
      proc.kill('SIGKILL');
    }
    expect(output).toMatch(/stopped: interrupted/);
    const requeued = (await fx.drain(fx.topology.intakeQueue)).map((m) => JSON.parse(m.content).n as number);
    const left = (await fx.drain(fx.dlq)).map((m) => JSON.parse(m.content).n as number);
    expect(requeued.length).toBeGreaterThan(0);
    expect(left.length).toBeGreaterThan(0);
    // Requeued ones are the oldest, in order; the rest kept their order in the DLQ; none lost or doubled.
    expect([...requeued, ...left]).toEqual(Array.from({ length: total }, (_, i) => i + 1 + (requeued[0]! - 1)));
  });
});
