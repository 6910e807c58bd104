/**
 * Capability gates: a test that needs a feature this server lacks is skipped loudly, never silently.
 * Each gate is written to stderr at once and appended to CHAT3_GATE_LOG (one JSON line per gate,
 * created by the global setup), whose teardown prints the count and the list.
 */
import { appendFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from './env';

export interface GateRecord {
  capability: string;
  whatIsNotCovered: string;
  file?: string;
}

/** Returns true when the test must be SKIPPED: `describe.skipIf(gate(caps.changeStreams, …))`. */
export function gate(available: boolean, capability: string, whatIsNotCovered: string): boolean {
  if (available) return false;
  const file = callerFile();
  process.stderr.write(`\nGATED: ${whatIsNotCovered} — needs ${capability}, which this server lacks\n`);
  const log = process.env.CHAT3_GATE_LOG;
  if (log) {
    const record: GateRecord = { capability, whatIsNotCovered, ...(file ? { file } : {}) };
    appendFileSync(log, `${JSON.stringify(record)}\n`);
  }
  return true;
}

/** The test file that called gate(), repo-relative, read off the stack. */
function callerFile(): string | undefined {
  const here = fileURLToPath(import.meta.url);
  for (const line of new Error().stack?.split('\n').slice(1) ?? []) {
    const match = /\(?((?:file:\/\/)?\/[^:()]+):\d+:\d+\)?\s*$/.exec(line);
    if (!match?.[1]) continue;
    const path = match[1].startsWith('file://') ? fileURLToPath(match[1]) : match[1];
    if (path === here || path.includes('/node_modules/')) continue;
    return relative(repoRoot, path);
  }
  return undefined;
}
