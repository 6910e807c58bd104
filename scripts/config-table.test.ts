import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { README, readmeWithTables } from './config-table';

describe('README configuration table', () => {
  it('matches the zod schemas (regenerate: pnpm exec tsx scripts/config-table.ts --write)', () => {
    const readme = readFileSync(README, 'utf8');
    expect(readme).toBe(readmeWithTables(readme));
  });
});
