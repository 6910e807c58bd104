/**
 * The README's configuration tables, generated from the zod schemas so the docs cannot drift:
 *   pnpm exec tsx scripts/config-table.ts           # print
 *   pnpm exec tsx scripts/config-table.ts --write   # update README.md between the config markers
 * A test compares the README with this output.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { apiEnvSchema } from '@chat3/api';
import { builderEnvSchema } from '@chat3/builder';
import { relayEnvSchema } from '@chat3/relay';
import { describeConfig } from '@chat3/runtime';

export function configTables(): string {
  const builder = describeConfig(builderEnvSchema);
  const relay = describeConfig(relayEnvSchema);
  const api = describeConfig(apiEnvSchema);
  const relayNames = new Set(relay.map((r) => r.name));
  const builderNames = new Set(builder.map((r) => r.name));
  const rows = (list: typeof builder, only?: Set<string>) =>
    list
      .filter((r) => !only || !only.has(r.name))
      .map((r) => `| \`${r.name}\` | ${r.default === '(required)' ? '**required**' : `\`${r.default}\``} | ${r.description} |`)
      .join('\n');
  const shared = builder.filter((r) => relayNames.has(r.name) && r.name !== 'METRICS_PORT');
  const head = '| variable | default | meaning |\n|---|---|---|';
  return [
    '**Both processes**',
    '',
    head,
    rows(shared),
    '',
    '**Builder** (`pnpm builder`)',
    '',
    head,
    rows(builder, new Set(shared.map((r) => r.name))),
    '',
    '**Relay** (`pnpm relay`)',
    '',
    head,
    rows(
      relay.filter((r) => !builderNames.has(r.name) || r.name === 'METRICS_PORT'),
      undefined,
    ),
    '',
    '**Catch-up API** (`pnpm api`): every variable it reads',
    '',
    head,
    rows(api),
  ].join('\n');
}

export const README = new URL('../README.md', import.meta.url);
const BEGIN = '<!-- config:begin -->';
const END = '<!-- config:end -->';

/** The README with the generated tables between the markers. */
export function readmeWithTables(readme: string): string {
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md lacks the ${BEGIN} … ${END} markers`);
  return `${readme.slice(0, start + BEGIN.length)}\n${configTables()}\n${readme.slice(end)}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.includes('--write')) writeFileSync(README, readmeWithTables(readFileSync(README, 'utf8')));
  else process.stdout.write(`${configTables()}\n`);
}
