/**
 * Names that never collide: not between parallel vitest workers (pid), not between runs (time), not
 * between calls in one worker (counter), and not by bad luck (random).
 */
import { randomBytes } from 'node:crypto';

let counter = 0;

function uniqueSuffix(): string {
  counter += 1;
  return `${Date.now().toString(36)}${process.pid.toString(36)}${counter.toString(36)}${randomBytes(2).toString('hex')}`;
}

/** For exchanges and queues, e.g. `uniqueName('updates')` → `updates.mi3k2x1a4c1f3e9`. */
export function uniqueName(prefix: string): string {
  return `${prefix}.${uniqueSuffix()}`;
}

/**
 * For databases: `t_` + up to 14 safe characters of the prefix + suffix, under 38 characters (Mongo and
 * FerretDB allow 63). The `t_` marks leftovers of failed tests, which keep their data for a look.
 */
export function testDatabaseName(prefix: string): string {
  const safe = prefix
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .slice(0, 14);
  return `t_${safe}_${uniqueSuffix()}`;
}
