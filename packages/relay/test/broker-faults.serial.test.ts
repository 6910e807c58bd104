/**
 * The relay under faults that change the whole broker, so this file runs alone (vitest.serial.config.ts):
 * a memory alarm (RabbitMQ blocks publishing connections) and a lowered max_message_size (the broker
 * closes the channel with 406 for a bigger message). Both are set and cleared with rabbitmqctl.
 */
import { rabbitmqctl, waitFor } from '@chat3/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { createRelayFixture, firstArrivalsByUser, makeUpdate, type RelayFixture } from './harness';

let fx: RelayFixture | undefined;
let restore: Array<() => Promise<unknown>> = [];

afterEach(async () => {
  for (const undo of restore.reverse()) await undo().catch(() => undefined);
  restore = [];
  await fx?.cleanUp();
  fx = undefined;
});

const ALARM = '{resource_limit, memory, node()}';

async function raiseMemoryAlarm(): Promise<void> {
  restore.push(() => rabbitmqctl('eval', `rabbit_alarm:clear_alarm(${ALARM}).`));
  await rabbitmqctl('eval', `rabbit_alarm:set_alarm({${ALARM}, []}).`);
}

async function setMaxMessageSize(bytes: number): Promise<void> {
  const before = (await rabbitmqctl('eval', 'application:get_env(rabbit, max_message_size).')).trim();
  const original = /\{ok,(\d+)\}/.exec(before)?.[1] ?? '134217728';
  restore.push(() => rabbitmqctl('eval', `application:set_env(rabbit, max_message_size, ${original}).`));
  await rabbitmqctl('eval', `application:set_env(rabbit, max_message_size, ${bytes}).`);
}

describe('relay and whole-broker faults', () => {
  it('parks an Update over the broker’s max_message_size and keeps publishing every other one', async () => {
    const f = (fx = await createRelayFixture('rmaxsize'));
    await setMaxMessageSize(8_192);
    const relay = f.startRelay();
    await f.started(relay);
    const big = makeUpdate('bigsy', 0, {
      data: { context: { eventType: 'message.create', entityId: 'm', includedSections: [] }, padding: 'x'.repeat(20_000) } as never,
    });
    const before = Array.from({ length: 30 }, (_, i) => makeUpdate(`u${i % 6}`, i));
    const after = Array.from({ length: 30 }, (_, i) => makeUpdate(`u${i % 6}`, 100 + i));
    await f.insert([...before, big, ...after]);
    await f.waitReceived(
      [...before, ...after].map((d) => d._id),
      60_000,
    );
    await waitFor(async () => (await f.updates.findOne({ _id: big._id }))?.parked !== undefined, {
      timeoutMs: 30_000,
      message: 'the oversized Update parked',
    });
    const parked = await f.updates.findOne({ _id: big._id });
    expect(parked?.published).toBe(false);
    expect(String(parked?.parked?.reason)).toMatch(/larger than/);
    expect(f.collector.messages.some((m) => m.properties.messageId === big._id.toHexString())).toBe(false);
    await f.waitAllPublished(30_000);
  });

  it('rides out a memory alarm: no confirm-timeout re-sends, blocked in /readyz and the metric, healthy in /healthz, everything published after', async () => {
    const f = (fx = await createRelayFixture('ralarm'));
    // A loop waiting on a blocked broker is silent, by design: not wedged however long the alarm lasts.
    const relay = f.startRelay({ RELAY_CONFIRM_TIMEOUT_MS: '1000', HEALTH_WEDGED_MS: '2000' });
    await f.started(relay);
    const warm = makeUpdate('warm', 0);
    await f.insert([warm]);
    await f.waitReceived([warm._id], 30_000);

    await raiseMemoryAlarm();
    const during = Array.from({ length: 200 }, (_, i) => makeUpdate(`a${i % 10}`, i));
    await f.insert(during);
    await waitFor(async () => (await f.metric(relay, 'chat3_relay_broker_blocked')) === 1, {
      timeoutMs: 30_000,
      message: 'blocked reported',
    });
    const ready = await f.readyz(relay);
    expect(ready.status).toBe(503);
    expect(ready.body.checks.blocked).toBe(true);
    // Several confirm timeouts' (and wedge thresholds') worth of alarm.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const health = await f.readyz(relay, '/healthz');
    expect(health.status).toBe(200);
    expect(health.body.checks.waitingFor).toEqual(['rabbitmq']);
    // Every reason's series exists from the start (at 0), so all of them are summed.
    expect(await f.metricTotal(relay, 'chat3_relay_publish_failures_total')).toBe(0);

    await rabbitmqctl('eval', `rabbit_alarm:clear_alarm(${ALARM}).`);
    await f.waitReceived(
      during.map((d) => d._id),
      60_000,
    );
    await f.waitAllPublished(30_000);
    expect(await f.metric(relay, 'chat3_relay_broker_blocked')).toBe(0);
    const counts = new Map<string, number>();
    for (const m of f.collector.messages) counts.set(m.properties.messageId, (counts.get(m.properties.messageId) ?? 0) + 1);
    expect([...counts.values()].filter((n) => n > 1)).toEqual([]);
    for (const [, createdAts] of firstArrivalsByUser(f.collector.messages))
      expect(createdAts).toEqual([...createdAts].sort((a, b) => a - b));
  });
});
