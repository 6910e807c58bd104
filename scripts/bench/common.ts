/**
 * Helpers shared by the benchmark and demo scripts: flags and `--help`, the command line a report names,
 * sleeping and timeouts, and the machine and servers a report runs on. The run's lifecycle (fatal errors,
 * signals, clean-up) is in lifecycle.ts.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { ChannelModel } from 'amqplib';
import type { MongoClient } from 'mongodb';
import { brokerVersion } from './broker';
import { round } from './report';

// ---------------------------------------------------------------------------------------------------
// Flags

const HELP_FLAG = { help: { type: 'boolean', default: false } } as const;

/**
 * The script's flags (strict: an unknown flag throws), plus `--help`, which prints the script's opening
 * doc comment (its usage) and exits 0.
 */
export function parseFlags<const O extends NonNullable<ParseArgsConfig['options']>>(scriptUrl: string, options: O) {
  const { values } = parseArgs({ options: { ...options, ...HELP_FLAG }, strict: true });
  if ((values as { help?: boolean }).help) {
    process.stdout.write(readFileSync(new URL(scriptUrl), 'utf8').split('*/')[0] + '*/\n');
    process.exit(0);
  }
  return values;
}

/** The number a flag gives, or `def` when it is absent; throws when it is not a number ≥ `min`. */
export function numFlag(name: string, raw: string | undefined, def: number, min: number): number {
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min}, got ${raw}`);
  return n;
}

/** How the script was started, for the report: `pnpm bench:x → tsx scripts/x.ts --flags`. */
export function commandLine(script: string): string {
  const args = process.argv.slice(2);
  const command = `tsx ${script}${args.length ? ` ${args.join(' ')}` : ''}`;
  const via = process.env.npm_lifecycle_event ? `pnpm ${process.env.npm_lifecycle_event} → ` : '';
  return `${via}${command}`;
}

// ---------------------------------------------------------------------------------------------------
// Time

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Rejects when `promise` has not settled within `ms`: a wedged database must not hang the run. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------------------
// Environment

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    return line ? line.split(':')[1]!.trim() : (os.cpus()[0]?.model ?? 'unknown');
  } catch {
    return os.cpus()[0]?.model ?? 'unknown';
  }
}

/** `MongoDB x.y` or `FerretDB x.y (reports MongoDB z)`, from buildInfo. */
async function mongoServer(client: MongoClient): Promise<string> {
  const info = await client.db('admin').command({ buildInfo: 1 });
  if (info.ferretdbVersion) return `FerretDB ${String(info.ferretdbVersion)} (reports MongoDB ${String(info.version)})`;
  return `MongoDB ${String(info.version)}`;
}

export type Environment = Awaited<ReturnType<typeof describeEnvironment>>;

/** The hardware and software line of a report: CPU, cores, RAM, Node, the database and the broker (if used). */
export async function describeEnvironment(mongo: MongoClient, broker?: ChannelModel) {
  return {
    cpu: cpuModel(),
    cores: os.cpus().length,
    ramGiB: round(os.totalmem() / 2 ** 30, 1),
    node: process.version,
    mongo: await mongoServer(mongo),
    rabbitmq: broker ? brokerVersion(broker) : 'no broker',
  };
}

/** The machine's 1-minute load average: other work on a shared machine slows every figure of a run. */
export function loadAverage(): number {
  return round(os.loadavg()[0] ?? Number.NaN, 2);
}

/** A report's opening lines: its title, how it was started, the hardware and the software. */
export function reportHeader(title: string, command: string, env: Environment): string[] {
  return [
    `# ${title}`,
    '',
    `command   ${command}`,
    `hardware  ${env.cpu}, ${env.cores} cores, ${env.ramGiB} GiB RAM`,
    `software  Node ${env.node}; ${env.mongo}; ${env.rabbitmq}`,
  ];
}
