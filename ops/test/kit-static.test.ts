/**
 * The kit against the code and the README, without servers: every alert has a runbook entry its link
 * points to, every dashboard panel has an expression, and every metric the alerts and dashboard read is
 * one the builder or relay registers (histogram series by their _bucket/_sum/_count names).
 */
import { readFileSync } from 'node:fs';
import { createBuilderMetrics } from '@chat3/builder';
import { createRelayMetrics } from '@chat3/relay';
import { describe, expect, it } from 'vitest';
import { DATASOURCES, PROMETHEUS_CONFIG, README, alertRules, dashboardPanels, headingAnchor, metricNames, readYaml } from './kit';

async function registeredSeriesNames(): Promise<Set<string>> {
  const names = new Set<string>(['up']);
  for (const registry of [createBuilderMetrics().registry, createRelayMetrics().registry]) {
    for (const metric of await registry.getMetricsAsJSON()) {
      names.add(metric.name);
      if (String(metric.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix);
      if (String(metric.type) === 'summary') for (const suffix of ['_sum', '_count']) names.add(metric.name + suffix);
    }
  }
  return names;
}

const readme = readFileSync(README, 'utf8');
const anchors = new Set([...readme.matchAll(/^#{1,6} (.+)$/gm)].map((m) => headingAnchor(m[1]!)));

describe('alert rules', () => {
  const rules = alertRules();

  it('are the nine of issue 8, each with a severity, a summary, a description and a runbook link', () => {
    expect(rules.map((r) => r.alert)).toEqual([
      'Chat3PublishedLagHigh',
      'Chat3BacklogGrowing',
      'Chat3UpdatesParked',
      'Chat3DeadLettersRising',
      'Chat3RelayNotInChangeStreamMode',
      'Chat3RelayPartitionsUnowned',
      'Chat3BuilderPartitionsUnowned',
      'Chat3ProcessDown',
      'Chat3RelayConfirmFailures',
    ]);
    for (const rule of rules) {
      expect(['critical', 'warning'], rule.alert).toContain(rule.labels.severity);
      expect(rule.annotations.summary, rule.alert).toBeTruthy();
      expect(rule.annotations.description, rule.alert).toBeTruthy();
    }
  });

  it('each link to their own runbook entry in the README, and the entry exists', () => {
    expect(anchors.has('runbook')).toBe(true);
    for (const rule of rules) {
      const anchor = headingAnchor(rule.alert);
      expect(rule.annotations.runbook_url, rule.alert).toBe(`README.md#${anchor}`);
      expect(anchors.has(anchor), `README heading for ${rule.alert}`).toBe(true);
    }
  });

  it('read only metrics the builder and relay register', async () => {
    const known = await registeredSeriesNames();
    for (const rule of rules) {
      const used = metricNames(rule.expr);
      expect(used.length, `${rule.alert} reads a metric`).toBeGreaterThan(0);
      for (const name of used) expect(known.has(name), `${rule.alert}: ${name}`).toBe(true);
    }
  });

  it('Chat3ProcessDown watches the jobs prometheus.yml scrapes', () => {
    const config = readYaml<{ scrape_configs: Array<{ job_name: string }>; rule_files: string[] }>(PROMETHEUS_CONFIG);
    expect(config.scrape_configs.map((c) => c.job_name).sort()).toEqual(['chat3-builder', 'chat3-relay']);
    expect(config.rule_files).toEqual(['alerts.yml']);
    expect(rules.find((r) => r.alert === 'Chat3ProcessDown')!.expr).toContain('job=~"chat3-builder|chat3-relay"');
  });
});

describe('dashboard', () => {
  const panels = dashboardPanels();
  const datasource = readYaml<{ datasources: Array<{ uid: string; type: string }> }>(DATASOURCES).datasources[0]!;

  it('has panels for each subject issue 8 names', () => {
    const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? '')).join('\n');
    for (const needed of [
      'chat3_relay_published_lag_seconds',
      'chat3_relay_backlog',
      'chat3_relay_published_total',
      'chat3_relay_confirm_latency_seconds_bucket',
      'chat3_relay_publish_latency_seconds_bucket',
      'chat3_builder_events_consumed_total',
      'chat3_builder_batch_duration_seconds_bucket',
      'chat3_builder_events_dead_lettered_total',
      'chat3_relay_owned_partitions',
      'chat3_builder_owned_partitions',
      'chat3_relay_mode',
    ]) {
      expect(exprs, needed).toContain(needed);
    }
    expect(exprs).toMatch(/histogram_quantile\(0\.99, sum by \(le\) \(rate\(chat3_relay_publish_latency_seconds_bucket/);
  });

  it('every panel queries the provisioned datasource with non-empty expressions', () => {
    expect(panels.length).toBeGreaterThan(10);
    for (const panel of panels) {
      expect(panel.datasource, panel.title).toEqual({ type: datasource.type, uid: datasource.uid });
      expect(panel.targets?.length, `${panel.title} has targets`).toBeGreaterThan(0);
      for (const target of panel.targets!) expect(target.expr?.trim(), `${panel.title} ${target.refId}`).toBeTruthy();
    }
  });

  it('reads only metrics the builder and relay register', async () => {
    const known = await registeredSeriesNames();
    for (const panel of panels) {
      for (const target of panel.targets!) {
        const used = metricNames(target.expr!);
        expect(used.length, `${panel.title} ${target.refId} reads a metric`).toBeGreaterThan(0);
        for (const name of used) expect(known.has(name), `${panel.title}: ${name}`).toBe(true);
      }
    }
  });
});

describe('metricNames', () => {
  it('finds chat3 metrics and up, not functions, labels or keywords', () => {
    expect(metricNames('sum by (le) (rate(chat3_relay_confirm_latency_seconds_bucket[5m]))')).toEqual([
      'chat3_relay_confirm_latency_seconds_bucket',
    ]);
    expect(metricNames('up{job=~"chat3-builder|chat3-relay"} == 0')).toEqual(['up']);
    expect(
      metricNames('chat3_relay_change_streams_supported == 1 and on (job, instance) chat3_relay_mode{mode="change-stream"} == 0'),
    ).toEqual(['chat3_relay_change_streams_supported', 'chat3_relay_mode']);
  });
});
