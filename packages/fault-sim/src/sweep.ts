/**
 * Many runs and their summary: runs, faults injected by kind, violations with the command that replays
 * each. Used by `pnpm sim` and by the CI test.
 */
import type { FaultKind } from './faults';
import { runScenario, type RunReport } from './run';
import { namedScenario, randomScenario, type Scenario } from './scenarios';

export interface SweepResult {
  runs: number;
  faults: Partial<Record<FaultKind, number>>;
  failed: RunReport[];
  realMs: number;
  virtualMs: number;
}

/** The command that replays one run. */
export function replayCommand(report: Pick<RunReport, 'scenario' | 'seed'>): string {
  const mode = /^random-(polling|change-stream)-/.exec(report.scenario)?.[1];
  if (mode) return `pnpm sim --random ${report.seed} --mode ${mode}`;
  return report.scenario.startsWith('random-')
    ? `pnpm sim --random ${report.seed}`
    : `pnpm sim --scenario ${report.scenario} --seed ${report.seed}`;
}

export async function sweep(runs: Array<{ scenario: Scenario; seed: string }>, onRun?: (r: RunReport) => void): Promise<SweepResult> {
  const result: SweepResult = { runs: 0, faults: {}, failed: [], realMs: 0, virtualMs: 0 };
  for (const { scenario, seed } of runs) {
    const report = await runScenario(scenario, seed);
    result.runs++;
    result.realMs += report.realMs;
    result.virtualMs += report.virtualMs;
    for (const [kind, n] of Object.entries(report.faults)) result.faults[kind as FaultKind] = (result.faults[kind as FaultKind] ?? 0) + n;
    if (report.violations.length > 0) result.failed.push(report);
    onRun?.(report);
  }
  return result;
}

export function randomRuns(from: number, count: number, options: Parameters<typeof randomScenario>[1] = {}) {
  return Array.from({ length: count }, (_, i) => {
    const seed = String(from + i);
    return { scenario: randomScenario(seed, options), seed };
  });
}

export function namedRun(name: string, seed: string) {
  const scenario = namedScenario(name);
  if (!scenario) throw new Error(`no scenario named ${name}`);
  return { scenario, seed };
}

export function renderSweep(result: SweepResult): string {
  const lines = [
    `runs: ${result.runs} (${Math.round(result.virtualMs / 1000)} s of virtual time in ${(result.realMs / 1000).toFixed(1)} s)`,
    `faults injected: ${
      Object.entries(result.faults)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') || 'none'
    }`,
    `violations: ${result.failed.reduce((n, r) => n + r.violations.length, 0)} in ${result.failed.length} runs`,
  ];
  for (const r of result.failed) {
    for (const v of r.violations) lines.push(`  ${r.scenario} seed ${r.seed}: ${v.kind}: ${v.detail}`);
    lines.push(`    replay: ${replayCommand(r)}`);
  }
  return lines.join('\n');
}
