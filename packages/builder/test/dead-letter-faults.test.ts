/**
 * Dead letters the broker refuses: with a policy of `max-length 0, overflow reject-publish` on the
 * dead-letter queue, RabbitMQ nacks every dead letter. The event must stay with the builder (not
 * acknowledged, not lost) until the queue accepts it.
 */
import { rabbitmqctl, waitFor, type ManagedProcess } from '@chat3/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { createBuilderFixture, event, type BuilderFixture } from './harness';

let fx: BuilderFixture | undefined;
let policy: string | undefined;

afterEach(async () => {
  if (policy) await rabbitmqctl('clear_policy', policy).catch(() => undefined);
  policy = undefined;
  await fx?.cleanUp();
  fx = undefined;
});

async function deadLettered(proc: ManagedProcess): Promise<number> {
  const { entry } = await proc.waitForLog((e) => e.msg === 'ops server listening', 10_000);
  const text = await (await fetch(`http://127.0.0.1:${entry!.port}/metrics`)).text();
  return Number(/^chat3_builder_events_dead_lettered_total\{[^}]*reason="unbuildable"[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
}

describe('dead letters the broker refuses', () => {
  it('keeps an unbuildable event until the dead-letter queue accepts it, and loses nothing meanwhile', async () => {
    const f = (fx = await createBuilderFixture('bdlnack'));
    await f.seedUsers([{ userId: 'carl' }, { userId: 'dana' }]);
    await f.seedDialog('dlg_ok', ['carl', 'dana']);
    await f.declareIntake();
    const dlq = `${f.queue}.dlq`;
    const dlqDepth = async () => (await f.broker.channel.checkQueue(dlq)).messageCount;
    policy = `chat3-test-${f.queue}`;
    await rabbitmqctl(
      'set_policy',
      policy,
      `^${f.queue.replace(/[.]/g, '\\.')}\\.dlq$`,
      JSON.stringify({ 'max-length': 0, overflow: 'reject-publish' }),
      '--apply-to',
      'queues',
    );

    const unbuildable = event('message.create', 'msg_x', {
      context: { dialogId: 'dlg_gone' },
      message: { messageId: 'msg_x', dialogId: 'dlg_gone' },
    });
    const good = Array.from({ length: 5 }, (_, i) =>
      event('message.create', `msg_${i}`, {
        context: { dialogId: 'dlg_ok' },
        message: { messageId: `msg_${i}`, dialogId: 'dlg_ok', senderId: 'carl' },
      }),
    );
    const builder = f.startBuilder({ BUILDER_BATCH_SIZE: '1' });
    await f.started(builder);
    await f.publish(unbuildable, 'message.create.tnt_test');
    for (const e of good) await f.publish(e, 'message.create.tnt_test');

    // The builder decided to dead-letter it (counted before the publish), and the broker refuses: give the
    // refusal a moment to land, as it would in production, before the queue accepts again.
    await waitFor(async () => (await deadLettered(builder)) >= 1, { timeoutMs: 30_000, message: 'the event dead-lettered by the builder' });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await dlqDepth()).toBe(0); // still refused

    await rabbitmqctl('clear_policy', policy);
    policy = undefined;
    await waitFor(async () => (await dlqDepth()) === 1, { timeoutMs: 30_000, message: 'the dead letter accepted' });
    const letter = await f.broker.channel.get(dlq, { noAck: true });
    expect(letter && letter.properties.headers?.['x-chat3-dead-letter-reason']).toBe('unbuildable');
    expect(letter && JSON.parse(letter.content.toString()).eventId).toBe(unbuildable.eventId);
    for (const e of good) await f.waitForUpdates({ eventId: e.eventId }, 2, 30_000);
  });
});
