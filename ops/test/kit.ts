/**
 * What the ops tests share: where the monitoring kit lives, readers for its rules and dashboard, the
 * Prometheus tools (a missing one fails loudly: setup installs them), and PromQL helpers.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { repoRoot } from '@chat3/testkit';
import { parse } from 'yaml';

export const OPS = join(repoRoot, 'ops');
export const PROMETHEUS_CONFIG = join(OPS, 'prometheus/prometheus.yml');
export const ALERTS = join(OPS, 'prometheus/alerts.yml');
export const ALERTS_TEST = join(OPS, 'prometheus/alerts.test.yml');
export const DASHBOARD = join(OPS, 'grafana/dashboards/chat3-updates.json');
export const DATASOURCES = join(OPS, 'grafana/provisioning/datasources/prometheus.yml');
export const README = join(repoRoot, 'README.md');

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface RuleFile {
  groups: Array<{ name: string; interval?: string; rules: AlertRule[] }>;
}

export function readYaml<T>(path: string): T {
  return parse(readFileSync(path, 'utf8')) as T;
}

export function alertRules(file: RuleFile = readYaml<RuleFile>(ALERTS)): AlertRule[] {
  return file.groups.flatMap((g) => g.rules);
}

export interface DashboardTarget {
  refId: string;
  expr?: string;
  legendFormat?: string;
}

export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: DashboardTarget[];
  panels?: DashboardPanel[];
}

export function dashboardPanels(): DashboardPanel[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: DashboardPanel[] };
  // Rows hold their panels when collapsed; either way the panels are what counts.
  return dashboard.panels.flatMap((p) => (p.type === 'row' ? (p.panels ?? []) : [p]));
}

/** Grafana's range variable, as Prometheus's API needs it: 4 × a 15 s scrape interval. */
export function withoutGrafanaVariables(expr: string, rateInterval = '1m'): string {
  return expr.replaceAll('$__rate_interval', rateInterval);
}

/** The chat3 metric names (and `up`) a PromQL expression reads. */
export function metricNames(expr: string): string[] {
  const names = new Set<string>();
  for (const m of expr.matchAll(/\bchat3_[a-z0-9_]+/g)) names.add(m[0]);
  if (/(?<![\w:.-])up(?![\w(-])/.test(expr)) names.add('up');
  return [...names];
}

/** Absolute path of a Prometheus tool; throws with what to do when it is missing (never a skip). */
export function prometheusTool(name: 'promtool' | 'prometheus'): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // Not in this directory.
    }
  }
  throw new Error(
    `${name} is not on PATH. Run \`bash scripts/setup.sh\` as root (it installs Debian's prometheus package), or apt-get install prometheus.`,
  );
}

export interface ToolRun {
  status: number | null;
  output: string;
}

export function promtool(...args: string[]): ToolRun {
  const run = spawnSync(prometheusTool('promtool'), args, { encoding: 'utf8', timeout: 120_000 });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces to hyphens. */
export function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}
