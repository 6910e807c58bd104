/** Command-line flags of `pnpm simulate`, parsed and checked without touching `process`. */
import { parseArgs } from 'node:util';
import { isAction, type Mix } from './mix';
import type { SimulationOptions } from './simulation-options';

export const USAGE = `Usage: pnpm simulate [flags]

Writes the Chat3 read model to MongoDB and publishes Chat3 events to the events exchange.
Environment: MONGODB_URI (required), MONGODB_DB (chat3), RABBITMQ_URL (amqp://localhost:5672),
RABBITMQ_EVENTS_EXCHANGE (chat3_events), USERS_COLLECTION, DIALOGS_COLLECTION, DIALOG_MEMBERS_COLLECTION,
MESSAGES_COLLECTION, MESSAGE_STATUSES_COLLECTION.

  --seed <n|text>        PRNG seed (default: random, printed in the summary)
  --tenants <n>          tenants: tnt_default, tnt_0002, ... (default 1)
  --users <n>            users over all tenants (default 200)
  --dialogs <n>          dialogs over all tenants (default 100)
  --rate <n|max>         events per second (default 100; max = as fast as possible)
  --duration <s>         stop after this many seconds (default 10 unless --count is given)
  --count <n>            stop after this many events
  --mix <type=w,...>     override mix weights, e.g. message.create=50,dialog.typing=0
  --canonical            only Update-producing events, seed spelling, with eventId
  --dangerous-ids        add users such as a.b, bot*1, x#y (routing-key hostile)
  --snapshot-rate <0-1>  share of events carrying full snapshots (default 0.7)
  --clock <wall|sim>     stamp events with the wall clock (default) or the simulated one (reproducible)
  --start-time <ms>      simulated clock start (with --clock sim)
  --batch <n>            max events per bulk write / publish batch (default 500)
  --skip-population      do not (re)write the initial users, dialogs and members
  --skip-indexes         do not create the read-model indexes
  --help                 this text`;

export interface CliArgs {
  help: boolean;
  /** Absent: the CLI draws one and reports it. */
  seed: number | string | undefined;
  simulation: Omit<SimulationOptions, 'seed' | 'now'>;
  clock: 'wall' | 'sim';
  rate: number | 'max';
  durationMs: number | undefined;
  count: number | undefined;
  maxBatch: number;
  skipPopulation: boolean;
  skipIndexes: boolean;
}

export function parseCliArgs(argv: readonly string[]): CliArgs {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      seed: { type: 'string' },
      tenants: { type: 'string' },
      users: { type: 'string' },
      dialogs: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      count: { type: 'string' },
      mix: { type: 'string' },
      canonical: { type: 'boolean', default: false },
      'dangerous-ids': { type: 'boolean', default: false },
      'snapshot-rate': { type: 'string' },
      clock: { type: 'string', default: 'wall' },
      'start-time': { type: 'string' },
      batch: { type: 'string' },
      'skip-population': { type: 'boolean', default: false },
      'skip-indexes': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.clock !== 'wall' && values.clock !== 'sim') throw new Error(`--clock must be wall or sim, got ${values.clock}`);
  const count = optionalNumber('count', values.count, { integer: true, min: 1 });
  const duration = optionalNumber('duration', values.duration, { min: 0 });
  const simulation: CliArgs['simulation'] = {
    canonicalOnly: values.canonical,
    dangerousUserIds: values['dangerous-ids'],
  };
  const tenants = optionalNumber('tenants', values.tenants, { integer: true, min: 1 });
  const users = optionalNumber('users', values.users, { integer: true, min: 2 });
  const dialogs = optionalNumber('dialogs', values.dialogs, { integer: true, min: 0 });
  const snapshotRate = optionalNumber('snapshot-rate', values['snapshot-rate'], { min: 0, max: 1 });
  const startTime = optionalNumber('start-time', values['start-time'], { min: 0 });
  if (tenants !== undefined) simulation.tenants = tenants;
  if (users !== undefined) simulation.users = users;
  if (dialogs !== undefined) simulation.dialogs = dialogs;
  if (snapshotRate !== undefined) simulation.snapshotRate = snapshotRate;
  if (startTime !== undefined) simulation.startTime = startTime;
  if (values.mix !== undefined) simulation.mix = parseMix(values.mix);
  return {
    help: values.help,
    seed: values.seed === undefined ? undefined : /^\d+$/.test(values.seed) ? Number(values.seed) : values.seed,
    simulation,
    clock: values.clock,
    rate: values.rate === undefined ? 100 : values.rate === 'max' ? 'max' : (optionalNumber('rate', values.rate, { min: 0 }) as number),
    durationMs: duration !== undefined ? duration * 1000 : count === undefined ? 10_000 : undefined,
    count,
    maxBatch: optionalNumber('batch', values.batch, { integer: true, min: 1 }) ?? 500,
    skipPopulation: values['skip-population'],
    skipIndexes: values['skip-indexes'],
  };
}

/** `message.create=50,dialog.typing=0` → weights. */
export function parseMix(text: string): Partial<Mix> {
  const mix: Partial<Mix> = {};
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [name, weight] = part.split('=');
    if (!name || !isAction(name)) throw new Error(`--mix: unknown event type ${JSON.stringify(name)}`);
    mix[name] = optionalNumber(`mix ${name}`, weight, { min: 0 }) ?? 0;
  }
  return mix;
}

function optionalNumber(
  flag: string,
  raw: string | undefined,
  bounds: { integer?: boolean; min?: number; max?: number },
): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  const ok =
    raw.trim() !== '' &&
    Number.isFinite(n) &&
    (!bounds.integer || Number.isInteger(n)) &&
    (bounds.min === undefined || n >= bounds.min) &&
    (bounds.max === undefined || n <= bounds.max);
  if (!ok)
    throw new Error(
      `--${flag}: expected ${bounds.integer ? 'an integer' : 'a number'}${bounds.min !== undefined ? ` >= ${bounds.min}` : ''}${bounds.max !== undefined ? ` <= ${bounds.max}` : ''}, got ${JSON.stringify(raw)}`,
    );
  return n;
}
