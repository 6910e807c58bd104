/**
 * Vitest global setup: makes `pnpm exec vitest` work on its own. Starts the services when the
 * environment does not name them, probes the Mongo server's capabilities once (handed to the workers
 * through CHAT3_CAPABILITIES), and at teardown prints every GATED test, so a run on a server that
 * lacks a feature can never look like full coverage.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeCapabilities } from './capabilities';
import { repoRoot } from './env';
import type { GateRecord } from './gate';

const RULE = '='.repeat(100);

export default async function setup(): Promise<() => Promise<void>> {
  if (!process.env.MONGODB_URI || !process.env.RABBITMQ_URL) {
    process.stderr.write('[global-setup] MONGODB_URI or RABBITMQ_URL not set: running scripts/services-up.sh\n');
    const out = execFileSync('bash', [join(repoRoot, 'scripts/services-up.sh')], {
      cwd: repoRoot,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    Object.assign(process.env, parseExports(out));
  }

  const gateLog = join(tmpdir(), `chat3-gates-${process.pid}-${Date.now()}.jsonl`);
  writeFileSync(gateLog, '');
  process.env.CHAT3_GATE_LOG = gateLog;

  const uri = process.env.MONGODB_URI!;
  const caps = await probeCapabilities(uri);
  process.env.CHAT3_CAPABILITIES = JSON.stringify({ uri, ...caps });
  const flags = (['changeStreams', 'transactions', 'partialIndexes', 'ttlIndexes'] as const).map((k) => `${k}=${caps[k] ? 'yes' : 'NO'}`);
  console.log(
    `[global-setup] mongo: ${caps.server} ${caps.version} (kind ${process.env.CHAT3_MONGO_KIND ?? 'external'}), ` +
      `${flags.join(' ')}; rabbitmq: ${redact(process.env.RABBITMQ_URL!)}`,
  );

  return async () => {
    const records = readGateLog(gateLog);
    rmSync(gateLog, { force: true });
    console.log(`\n${RULE}`);
    if (records.length === 0) {
      console.log('GATED: 0 — no test was skipped for a missing server capability');
    } else {
      console.log(`GATED: ${records.length} test group(s) SKIPPED because ${caps.server} ${caps.version} lacks a capability.`);
      console.log('These behaviours were NOT verified in this run:');
      for (const r of records) console.log(`  - ${r.whatIsNotCovered} — needs ${r.capability}${r.file ? `  (${r.file})` : ''}`);
    }
    console.log(`${RULE}\n`);
  };
}

/** Parses services-up.sh's `export NAME='value'` lines (single quotes, `'\''` for a quote). */
export function parseExports(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^export ([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
    if (!match?.[1]) continue;
    const raw = match[2] ?? '';
    env[match[1]] = raw.startsWith("'") ? raw.slice(1, -1).replaceAll("'\\''", "'") : raw;
  }
  for (const name of ['MONGODB_URI', 'RABBITMQ_URL', 'CHAT3_MONGO_KIND']) {
    if (!env[name]) throw new Error(`scripts/services-up.sh did not export ${name}; its output was:\n${text}`);
  }
  return env;
}

function readGateLog(path: string): GateRecord[] {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as GateRecord);
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
