/**
 * The monitoring kit against real processes: a builder and a relay (child processes, a database and
 * exchanges/queues of their own) and a real Prometheus scraping both every second with the kit's alert
 * rules evaluated every second.
 *
 * The rules Prometheus runs are generated from ops/prometheus/alerts.yml with ONE change: the lag
 * alert's threshold and `for` (30 s for 5m) become 10 s for 10s, so it can fire within a test. Everything
 * else (the other rules, the scrape jobs) is the kit's own.
 *
 * 1. While events flow, every expression of the dashboard returns data (a number, not NaN).
 * 2. The relay is killed while events keep flowing: Chat3PublishedLagHigh goes pending, then firing
 *    (on the builder's lag gauge; the relay's series are gone), `up{job="chat3-relay"}` is 0, and
 *    Chat3ProcessDown goes pending, then firing.
 */
import { randomBytes } from 'node:crypto';
import { builderTopology } from '@chat3/builder';
import {
  createBrokerHelper,
  createTestDatabase,
  spawnService,
  testEnv,
  uniqueName,
  waitFor,
  type BrokerHelper,
  type ManagedProcess,
  type TestDatabase,
} from '@chat3/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALERTS, PROMETHEUS_CONFIG, alertRules, dashboardPanels, readYaml, withoutGrafanaVariables, type RuleFile } from './kit';
import { startPrometheus, type PrometheusProcess } from './prometheus-process';

const LAG_ALERT = 'Chat3PublishedLagHigh';
// Above what a relay that keeps up shows on a busy two-core machine (a few seconds at worst), far below 30 s.
const TEST_LAG_THRESHOLD = '10';
const TEST_LAG_FOR = '10s';
const PARTITIONS = 2;
const TENANT = 'tnt_test';
const DIALOG = 'dlg_monitoring';

/** The kit's rules with only the lag alert's threshold and `for` lowered. */
function testRules(): RuleFile {
  const rules = readYaml<RuleFile>(ALERTS);
  const lag = alertRules(rules).find((r) => r.alert === LAG_ALERT);
  if (!lag || !/ > 30$/.test(lag.expr) || lag.for !== '5m') {
    throw new Error(`${LAG_ALERT} is no longer "… > 30" for 5m: update this test's override`);
  }
  lag.expr = lag.expr.replace(/ > 30$/, ` > ${TEST_LAG_THRESHOLD}`);
  lag.for = TEST_LAG_FOR;
  return rules;
}

/** The kit's prometheus.yml, scraping the given ports every second and evaluating every second. */
function testConfig(ports: { builder: number; relay: number }) {
  const config = readYaml<{
    global: Record<string, string>;
    rule_files: string[];
    scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
  }>(PROMETHEUS_CONFIG);
  config.global = { ...config.global, scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' };
  const portOf: Record<string, number> = { 'chat3-builder': ports.builder, 'chat3-relay': ports.relay };
  for (const job of config.scrape_configs) {
    const port = portOf[job.job_name];
    if (port === undefined) throw new Error(`unexpected job ${job.job_name} in prometheus.yml`);
    job.static_configs = [{ targets: [`127.0.0.1:${port}`] }];
  }
  return config;
}

const env = testEnv();
const eventsExchange = uniqueName('events');
const queue = uniqueName('builder');
const updatesExchange = uniqueName('updates');
let database: TestDatabase;
let broker: BrokerHelper;
let builder: ManagedProcess;
let relay: ManagedProcess;
let prometheus: PrometheusProcess | undefined;
let traffic: ReturnType<typeof setInterval> | undefined;
let published = 0;
let publishError: unknown;

function messageEvent() {
  const messageId = `msg_${randomBytes(8).toString('hex')}`;
  return {
    eventId: `evt_${randomBytes(16).toString('hex')}`,
    tenantId: TENANT,
    eventType: 'message.create',
    entityType: 'message',
    entityId: messageId,
    actorId: 'carl',
    actorType: 'user',
    data: { message: { messageId, dialogId: DIALOG } },
    createdAt: Date.now() + 0.5,
  };
}

/** Events keep flowing (10 a second, 3 Updates each) until the test ends. */
function startTraffic(): void {
  traffic = setInterval(() => {
    broker.publishJson(eventsExchange, `message.create.${TENANT}`, messageEvent()).then(
      () => (published += 1),
      (err: unknown) => (publishError = err),
    );
  }, 100);
}

async function opsPort(proc: ManagedProcess): Promise<number> {
  const { entry } = await proc.waitForLog((e) => e.msg === 'ops server listening', 60_000);
  return Number(entry!.port);
}

beforeAll(async () => {
  database = await createTestDatabase('monitoring');
  broker = await createBrokerHelper(env.rabbitUrl);
  await broker.channel.assertExchange(eventsExchange, 'topic', { durable: true });
  const now = Date.now();
  await database.db
    .collection('dialogs')
    .insertOne({ tenantId: TENANT, dialogId: DIALOG, name: 'Monitoring', createdBy: 'carl', createdAt: now, updatedAt: now, meta: {} });
  await database.db.collection('dialogmembers').insertMany(
    ['carl', 'dana', 'erin'].map((userId) => ({
      tenantId: TENANT,
      dialogId: DIALOG,
      userId,
      meta: {},
      unreadCount: 0,
      lastSeenAt: null,
      lastMessageAt: null,
      isActive: true,
      createdAt: now,
    })),
  );
  const common = {
    MONGODB_URI: env.mongoUri,
    MONGODB_DB: database.name,
    RABBITMQ_URL: env.rabbitUrl,
    METRICS_PORT: '0',
    LEASE_TTL_MS: '3000',
    LOG_LEVEL: 'info',
  };
  builder = spawnService({
    name: 'builder',
    entry: 'packages/builder/src/main.ts',
    env: {
      ...common,
      RABBITMQ_EVENTS_EXCHANGE: eventsExchange,
      BUILDER_QUEUE: queue,
      BUILDER_PARTITIONS: String(PARTITIONS),
      BUILDER_STATS_INTERVAL_MS: '500',
    },
  });
  relay = spawnService({
    name: 'relay',
    entry: 'packages/relay/src/main.ts',
    env: { ...common, RABBITMQ_UPDATES_EXCHANGE: updatesExchange, RELAY_POLL_INTERVAL_MS: '50', RELAY_STATS_INTERVAL_MS: '500' },
  });
  const ports = { builder: await opsPort(builder), relay: await opsPort(relay) };
  await builder.waitForLog((e) => e.msg === 'builder started', 90_000);
  await relay.waitForLog((e) => e.msg === 'relay started', 90_000);
  prometheus = await startPrometheus(testConfig(ports), { 'alerts.yml': testRules() });
  startTraffic();
});

afterAll(async () => {
  if (traffic) clearInterval(traffic);
  await prometheus?.stop();
  await Promise.all([builder?.stop(10_000), relay?.stop(10_000)]);
  const t = builderTopology(eventsExchange, queue, PARTITIONS);
  for (const q of [t.intakeQueue, ...t.partitionQueues, t.deadLetterQueue]) await broker?.channel.deleteQueue(q).catch(() => undefined);
  for (const x of [eventsExchange, t.partitionExchange, t.deadLetterExchange, updatesExchange]) {
    await broker?.channel.deleteExchange(x).catch(() => undefined);
  }
  await broker?.close();
  await database?.drop();
});

type Alert = Awaited<ReturnType<PrometheusProcess['alerts']>>[number];
const alertState = (alerts: Alert[], name: string, labels: Record<string, string> = {}) =>
  alerts.find((a) => a.labels.alertname === name && Object.entries(labels).every(([k, v]) => a.labels[k] === v))?.state ?? 'inactive';

/** Polls the alerts until `name` fires; returns the states seen in order (repeats collapsed). */
async function statesUntilFiring(name: string, labels: Record<string, string>, timeoutMs: number): Promise<string[]> {
  const seen: string[] = [];
  try {
    await waitFor(
      async () => {
        const state = alertState(await prometheus!.alerts(), name, labels);
        if (seen.at(-1) !== state) seen.push(state);
        return state === 'firing';
      },
      { timeoutMs, intervalMs: 250, message: `${name} firing` },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\nstates seen: ${seen.join(' → ')}`);
  }
  return seen;
}

describe('the monitoring kit on a real Prometheus', () => {
  it('scrapes the builder and the relay, and every dashboard expression returns data', async () => {
    await waitFor(async () => (await prometheus!.targets()).every((t) => t.health === 'up') && (await prometheus!.targets()).length === 2, {
      timeoutMs: 60_000,
      intervalMs: 500,
      message: 'both targets up',
    });
    const exprs = [...new Set(dashboardPanels().flatMap((p) => (p.targets ?? []).map((t) => withoutGrafanaVariables(t.expr!))))];
    let empty: string[] = [];
    await waitFor(
      async () => {
        empty = [];
        for (const expr of exprs) {
          const result = await prometheus!.query(expr);
          if (!result.some((r) => !Number.isNaN(Number(r.value[1])))) empty.push(expr);
        }
        return empty.length === 0;
      },
      { timeoutMs: 120_000, intervalMs: 1_000, message: `every dashboard expression returns a number (still empty: ${empty.join(' | ')})` },
    );
    expect(exprs.length).toBeGreaterThan(20);
    expect(publishError).toBeUndefined();
    // The builder's partition gauge is what Chat3BuilderPartitionsUnowned compares with.
    expect(Number((await prometheus!.query('max(chat3_builder_partitions)'))[0]!.value[1])).toBe(PARTITIONS);
  });

  it('fires the lag alert (pending, then firing) and Chat3ProcessDown when the relay is killed while events flow', async () => {
    // A working pipeline has no lag alert: the relay keeps up with the traffic.
    await waitFor(async () => alertState(await prometheus!.alerts(), LAG_ALERT) === 'inactive', {
      timeoutMs: 60_000,
      intervalMs: 500,
      message: `${LAG_ALERT} inactive while the relay runs`,
    }).catch(async (err: Error) => {
      const lag = await prometheus!.query('max(chat3_relay_published_lag_seconds or chat3_builder_published_lag_seconds)');
      const backlog = await prometheus!.query('max(chat3_relay_backlog)');
      throw new Error(`${err.message}\nlag now ${lag[0]?.value[1]} s, backlog ${backlog[0]?.value[1]}`);
    });
    const before = published;
    relay.kill('SIGKILL');
    await relay.exited;

    const lagStates = await statesUntilFiring(LAG_ALERT, {}, 120_000);
    expect(lagStates.slice(-2)).toEqual(['pending', 'firing']);
    expect(lagStates).toEqual(['inactive', 'pending', 'firing'].slice(3 - lagStates.length));
    expect(published).toBeGreaterThan(before); // events kept flowing
    expect(publishError).toBeUndefined();
    // The builders' gauge carried it: the relay's series went stale with its target.
    expect(await prometheus!.query('chat3_relay_published_lag_seconds')).toEqual([]);
    expect(Number((await prometheus!.query('max(chat3_builder_published_lag_seconds)'))[0]!.value[1])).toBeGreaterThan(
      Number(TEST_LAG_THRESHOLD),
    );

    const down = await prometheus!.query('up{job="chat3-relay"} == 0');
    expect(down.map((r) => r.metric.job)).toEqual(['chat3-relay']);
    const downStates = await statesUntilFiring('Chat3ProcessDown', { job: 'chat3-relay' }, 150_000);
    expect(downStates.slice(-2)).toEqual(['pending', 'firing']);
    // The builder is still up, and its job is not alerted on.
    expect(alertState(await prometheus!.alerts(), 'Chat3ProcessDown', { job: 'chat3-builder' })).toBe('inactive');
  }, 400_000);
});
