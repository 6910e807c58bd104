/**
 * `pnpm build` and the processes it produces, started as the README and the image start them:
 * `node packages/<service>/dist/main.js`, and for development `pnpm -s builder` / `pnpm -s relay`. Each
 * answers /healthz (and the image's HEALTHCHECK script agrees), and SIGTERM to the started command's pid stops it gracefully within
 * SHUTDOWN_TIMEOUT_MS and leaves no process of its group running (pnpm → tsx → node must all go).
 * The ops tools as the image runs them (`node tools/dist/<tool>.js`): usage, and a bad flag is one line
 * and exit 2; a bundle importing an npm package its package.json does not declare fails the build.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createBrokerHelper,
  createTestDatabase,
  repoRoot,
  spawnService,
  testEnv,
  uniqueName,
  waitFor,
  type ExitStatus,
} from '@chat3/testkit';
import { beforeAll, describe, expect, it } from 'vitest';
import { deleteBuilderTopology } from '../packages/builder/test/harness';
import { bundleProcess, toolOutput, TOOLS, TOOLS_DIR } from './build';

const SHUTDOWN_TIMEOUT_MS = 8_000;
const toolNames = Object.keys(TOOLS) as Array<keyof typeof TOOLS>;

/** Pids of the live processes in process group `pgid`, read from /proc. */
export function processGroupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Fields after the command name (in parentheses, which may contain spaces): state ppid pgrp …
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z') members.push(Number(name));
    } catch {
      // Exited while we looked.
    }
  }
  return members;
}

beforeAll(() => {
  const result = spawnSync('pnpm', ['-s', 'build'], { cwd: repoRoot, encoding: 'utf8' });
  expect(result.status, `pnpm build failed:\n${result.stderr}`).toBe(0);
}, 300_000);

describe('pnpm build', () => {
  it('compiles every package to JavaScript and declarations, and the three services, under dist/', () => {
    for (const dir of readdirSync(join(repoRoot, 'packages'))) {
      if (existsSync(join(repoRoot, 'packages', dir, 'package.json'))) {
        expect(existsSync(join(repoRoot, 'packages', dir, 'dist/index.js')), dir).toBe(true);
        expect(existsSync(join(repoRoot, 'packages', dir, 'dist/index.d.ts')), dir).toBe(true);
      }
    }
    for (const service of ['builder', 'relay', 'api'])
      expect(existsSync(join(repoRoot, `packages/${service}/dist/main.js`)), service).toBe(true);
  });

  it('compiles the ops tools to tools/dist/<tool>.js', () => {
    for (const tool of toolNames) expect(existsSync(join(repoRoot, toolOutput(tool))), tool).toBe(true);
  });

  it('fails when a bundle imports an npm package that its package.json does not declare', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chat3-build-'));
    try {
      // The tools' dependencies without cli-progress, which scripts/cli/progress.ts imports.
      const tools = JSON.parse(readFileSync(join(repoRoot, TOOLS_DIR, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
      delete tools.dependencies['cli-progress'];
      writeFileSync(join(dir, 'package.json'), JSON.stringify(tools));
      await expect(bundleProcess(join(repoRoot, TOOLS.republish), join(dir, 'dist/republish.js'), dir)).rejects.toThrow(
        /dist\/republish\.js imports cli-progress, which .*package\.json does not declare/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Plain node, as in the image: no tsx loader or vitest settings inherited through the environment. */
function runTool(tool: keyof typeof TOOLS, args: string[]) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => key !== 'NODE_OPTIONS' && !key.startsWith('VITEST')));
  return spawnSync('node', [toolOutput(tool), ...args], { cwd: repoRoot, env, encoding: 'utf8', timeout: 30_000 });
}

/** An unknown flag, where each tool reads its flags (dlq after its command). */
const unknownFlag: Record<keyof typeof TOOLS, string[]> = { republish: ['--no-such-flag'], dlq: ['list', '--no-such-flag'] };

describe.each(toolNames)('node tools/dist/%s.js', (tool) => {
  const command = `node ${toolOutput(tool)}`;

  it('prints its usage, naming itself, for --help and exits 0', () => {
    const { status, stdout, stderr } = runTool(tool, ['--help']);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(stdout).toContain(`${command} `);
    expect(stdout).not.toContain(`pnpm ${tool}`);
  });

  it('answers an unknown flag with one line pointing at its --help and exit 2, without a stack trace', () => {
    const { status, stdout, stderr } = runTool(tool, unknownFlag[tool]);
    expect(status).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(new RegExp(`^${tool}: Unknown option '--no-such-flag'.*\\(see: ${command.replace(/\./g, '\\.')} --help\\)\n$`));
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});

type Case = { label: string; service: 'builder' | 'relay' | 'api'; command: [string, ...string[]]; started: string };

const cases: Case[] = [
  {
    label: 'node packages/builder/dist/main.js',
    service: 'builder',
    command: ['node', 'packages/builder/dist/main.js'],
    started: 'builder started',
  },
  {
    label: 'node packages/relay/dist/main.js',
    service: 'relay',
    command: ['node', 'packages/relay/dist/main.js'],
    started: 'relay started',
  },
  { label: 'node packages/api/dist/main.js', service: 'api', command: ['node', 'packages/api/dist/main.js'], started: 'api listening' },
  { label: 'pnpm -s builder (development)', service: 'builder', command: ['pnpm', '-s', 'builder'], started: 'builder started' },
  { label: 'pnpm -s relay (development)', service: 'relay', command: ['pnpm', '-s', 'relay'], started: 'relay started' },
];

describe.each(cases)('$label', ({ service, command, started }) => {
  it('answers /healthz, and on SIGTERM to its pid stops gracefully within SHUTDOWN_TIMEOUT_MS, leaving nothing running', async () => {
    const env = testEnv();
    const database = await createTestDatabase(`built_${service}`);
    let pgid: number | undefined;
    const names = { events: uniqueName('built_events'), updates: uniqueName('built_updates'), queue: uniqueName('built_builder') };
    try {
      const proc = spawnService({
        name: service,
        entry: command.join(' '),
        command,
        processGroup: true,
        env: {
          MONGODB_URI: env.mongoUri,
          MONGODB_DB: database.name,
          RABBITMQ_URL: env.rabbitUrl,
          RABBITMQ_EVENTS_EXCHANGE: names.events,
          RABBITMQ_UPDATES_EXCHANGE: names.updates,
          BUILDER_QUEUE: names.queue,
          API_TOKENS: 'tok-build-test-0123456789=*',
          API_PORT: '0',
          METRICS_PORT: '0',
          SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
        },
      });
      pgid = proc.pid;
      const { entry } = await proc.waitForLog((e) => e.msg === 'ops server listening', 90_000);
      await proc.waitForLog((e) => e.msg === started, 90_000);
      const health = await fetch(`http://127.0.0.1:${entry!.port as number}/healthz`);
      expect(health.status).toBe(200);
      // The image's HEALTHCHECK script says the same.
      const healthcheck = () =>
        spawnSync('node', ['docker/healthcheck.mjs'], { cwd: repoRoot, env: { ...process.env, METRICS_PORT: String(entry!.port) } }).status;
      expect(healthcheck()).toBe(0);
      expect(processGroupMembers(proc.pid)).toContain(proc.pid);

      let status: ExitStatus | undefined;
      void proc.exited.then((s) => (status = s));
      const signalledAt = Date.now();
      process.kill(proc.pid, 'SIGTERM');
      await waitFor(() => status, { timeoutMs: SHUTDOWN_TIMEOUT_MS + 2_000, message: `${service} exits after SIGTERM` });
      const tookMs = Date.now() - signalledAt;
      expect({ ...status }, proc.tail(20)).toEqual({ code: 0, signal: null });
      expect(tookMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
      expect(proc.entries().some((e) => e.msg === 'stopped')).toBe(true);
      // Nothing of the command is left: no orphaned tsx or node child holding leases.
      await waitFor(() => processGroupMembers(proc.pid).length === 0, { timeoutMs: 2_000, message: 'the process group is empty' }).catch(
        () => undefined,
      );
      expect(processGroupMembers(proc.pid)).toEqual([]);
      expect(healthcheck()).toBe(1);
    } finally {
      // A failed run must not leave an orphaned builder or relay holding leases.
      for (const pid of pgid === undefined ? [] : processGroupMembers(pgid)) process.kill(pid, 'SIGKILL');
      await database.drop();
      const broker = await createBrokerHelper(env.rabbitUrl);
      await deleteBuilderTopology(broker.channel, names.events, names.queue);
      await broker.channel.deleteExchange(names.updates).catch(() => undefined);
      await broker.close();
    }
  });
});
