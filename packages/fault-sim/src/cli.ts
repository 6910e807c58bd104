/**
 * `pnpm sim`: the deterministic fault simulation.
 *
 *   pnpm sim --seeds 200 [--from 1]        random deployments, traffic and faults, one per seed
 *   pnpm sim --named                        every named scenario (the defects of issue #7), seed 1
 *   pnpm sim --scenario NAME [--seed S]     one named scenario
 *   pnpm sim --scenario NAME --seeds N      one named scenario over seeds 1..N
 *   pnpm sim --random S [--mode M]          replay one random seed (M: polling or change-stream)
 *   --logs                                  print the services' logs of failed runs (replays only)
 *
 * Exit code 1 when any run has a violation; each is printed with the command that replays it.
 */
import { parseArgs } from 'node:util';
import { runScenario } from './run';
import { NAMED_SCENARIOS, randomScenario } from './scenarios';
import { namedRun, randomRuns, renderSweep, sweep } from './sweep';

function usage(message?: string): never {
  if (message) process.stderr.write(`sim: ${message}\n`);
  process.stderr.write(
    'usage: pnpm sim [--seeds N [--from S]] [--named] [--scenario NAME [--seed S | --seeds N]] [--random S [--mode M]] [--logs]\n',
  );
  process.exit(2);
}

async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs({
      options: {
        seeds: { type: 'string' },
        from: { type: 'string', default: '1' },
        named: { type: 'boolean', default: false },
        scenario: { type: 'string' },
        seed: { type: 'string', default: '1' },
        random: { type: 'string' },
        mode: { type: 'string' },
        logs: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }).values;
  } catch (err) {
    usage((err as Error).message);
  }
  if (args.help) usage();

  if (args.scenario && args.seeds) {
    const result = await sweep(
      Array.from({ length: Number(args.seeds) }, (_, i) => namedRun(args.scenario!, String(Number(args.from) + i))),
      (r) => process.stderr.write(r.violations.length > 0 ? 'F' : '.'),
    );
    process.stderr.write('\n');
    process.stdout.write(`${renderSweep(result)}\n`);
    process.exit(result.failed.length > 0 ? 1 : 0);
  }

  if (args.mode !== undefined && args.mode !== 'polling' && args.mode !== 'change-stream') usage(`unknown mode ${args.mode}`);
  if (args.scenario || args.random) {
    const mode = args.mode as 'polling' | 'change-stream' | undefined;
    const { scenario, seed } = args.random
      ? { scenario: randomScenario(args.random, mode ? { mode } : {}), seed: args.random }
      : namedRun(args.scenario!, args.seed!);
    const report = await runScenario(scenario, seed, { keepLogs: args.logs });
    process.stdout.write(`${scenario.name} (seed ${seed}): ${scenario.about}\n`);
    process.stdout.write(`${JSON.stringify(report.summary)} faults ${JSON.stringify(report.faults)}\n`);
    for (const v of report.violations) process.stdout.write(`  ${v.kind}: ${v.detail}\n`);
    if (args.logs) process.stdout.write(`${report.logs.join('\n')}\n`);
    process.exit(report.violations.length > 0 ? 1 : 0);
  }

  const runs = [
    ...(args.named ? NAMED_SCENARIOS.map((s) => ({ scenario: s, seed: '1' })) : []),
    ...(args.seeds ? randomRuns(Number(args.from), Number(args.seeds)) : []),
  ];
  if (runs.length === 0) usage('nothing to run');
  const result = await sweep(runs, (r) => process.stderr.write(r.violations.length > 0 ? 'F' : '.'));
  process.stderr.write('\n');
  process.stdout.write(`${renderSweep(result)}\n`);
  process.exit(result.failed.length > 0 ? 1 : 0);
}

main().catch((err: unknown) => {
  process.stderr.write(`sim: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
