/**
 * The alert rules as promtool sees them: the configuration and rules check, the unit tests pass, and
 * the unit tests would notice a broken rule. For every alert, a copy of the rules where it always fires,
 * where it never fires, and (when it has one) where it has no `for` must each fail the unit tests; so
 * must wrong thresholds and filters.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ALERTS, ALERTS_TEST, PROMETHEUS_CONFIG, alertRules, promtool, readYaml, type AlertRule, type RuleFile } from './kit';

const scratch = mkdtempSync(join(tmpdir(), 'chat3-alert-rules-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('promtool', () => {
  it('accepts the Prometheus configuration and its rule file', () => {
    const config = promtool('check', 'config', PROMETHEUS_CONFIG);
    expect(config.output).toMatch(/SUCCESS: 9 rules found/);
    expect(config.status, config.output).toBe(0);
    const rules = promtool('check', 'rules', ALERTS);
    expect(rules.status, rules.output).toBe(0);
  });

  it('passes the unit tests of every alert', () => {
    const run = promtool('test', 'rules', ALERTS_TEST);
    expect(run.status, run.output).toBe(0);
    expect(run.output).toMatch(/SUCCESS/);
  });

  it('has a firing and a quiet test case for every alert', () => {
    const tests = readYaml<{ tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }> }> }>(ALERTS_TEST);
    const cases = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const { alert } of alertRules()) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length > 0),
        `${alert} fires in some case`,
      ).toBe(true);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length === 0),
        `${alert} is quiet in some case`,
      ).toBe(true);
    }
  });
});

/** Runs the unit tests against a copy of the rules with `change` applied to the alert named `alert`. */
function unitTestsWith(name: string, alert: string, change: (rule: AlertRule) => void) {
  const file = readYaml<RuleFile>(ALERTS);
  const rule = alertRules(file).find((r) => r.alert === alert);
  if (!rule) throw new Error(`no alert ${alert}`);
  change(rule);
  return writeAndTest(join(scratch, name), file);
}

function writeAndTest(dir: string, file: RuleFile) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'alerts.yml'), stringify(file));
  copyFileSync(ALERTS_TEST, join(dir, 'alerts.test.yml'));
  return promtool('test', 'rules', join(dir, 'alerts.test.yml'));
}

describe('the unit tests catch a broken rule', () => {
  it('an unchanged copy passes (the mutants below fail for their change, not for the copying)', () => {
    const run = writeAndTest(join(scratch, 'unchanged'), readYaml<RuleFile>(ALERTS));
    expect(run.status, run.output).toBe(0);
  });

  for (const { alert, for: forDuration } of alertRules()) {
    it(`${alert}: always firing, never firing${forDuration ? ' and without its for' : ''} each fail`, () => {
      const always = unitTestsWith(`${alert}-always`, alert, (r) => void (r.expr = 'vector(1)'));
      expect(always.status, `always-firing ${alert} passed the unit tests`).not.toBe(0);
      expect(always.output).toContain(`alertname: ${alert}`);
      const never = unitTestsWith(`${alert}-never`, alert, (r) => void (r.expr = 'vector(1) < 0'));
      expect(never.status, `never-firing ${alert} passed the unit tests`).not.toBe(0);
      expect(never.output).toContain(`alertname: ${alert}`);
      if (forDuration) {
        const eager = unitTestsWith(`${alert}-nofor`, alert, (r) => void delete r.for);
        expect(eager.status, `${alert} without for: ${forDuration} passed the unit tests`).not.toBe(0);
        expect(eager.output).toContain(`alertname: ${alert}`);
      }
    });
  }

  // Wrong thresholds and filters, each caught by a firing or a quiet case.
  it.each([
    ['Chat3PublishedLagHigh', '> 30', '> 60'],
    ['Chat3PublishedLagHigh', '> 30', '> 29'],
    ['Chat3BacklogGrowing', '> 1000', '> 5000'],
    ['Chat3BacklogGrowing', '> 1000', '> 100'],
    ['Chat3UpdatesParked', '> 0', '> 5'],
    ['Chat3DeadLettersRising', '> 0', '> 5'],
    ['Chat3RelayConfirmFailures', '> 0', '> 5'],
    ['Chat3RelayConfirmFailures', 'nack|timeout|closed', '.+'],
    ['Chat3ProcessDown', 'chat3-builder|chat3-relay', '.+'],
    ['Chat3RelayPartitionsUnowned', ' < ', ' <= '],
    ['Chat3BuilderPartitionsUnowned', ' < ', ' <= '],
    ['Chat3RelayNotInChangeStreamMode', 'chat3_relay_change_streams_supported == 1', 'chat3_relay_change_streams_supported >= 0'],
  ])('%s with %s changed to %s fails', (alert, from, to) => {
    const run = unitTestsWith(`${alert}-${to.replace(/\W+/g, '_')}`, alert, (r) => {
      expect(r.expr).toContain(from);
      r.expr = r.expr.replace(from, to);
    });
    expect(run.status, `${alert} with ${to} passed the unit tests`).not.toBe(0);
    expect(run.output).toContain(`alertname: ${alert}`);
  });
});
