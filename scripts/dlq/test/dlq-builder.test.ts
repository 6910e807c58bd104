/**
 * The requeue round trip with a real builder process: an event the builder cannot build is
 * dead-lettered, `pnpm dlq requeue` puts it back on the events exchange, the builder fails it again,
 * and it lands in the DLQ once more carrying `x-chat3-requeue-count` (the builder copies an event's
 * headers into its dead letter). Once the cause is fixed, a requeue builds it.
 */
import { waitFor, type ManagedProcess } from '@chat3/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBuilderFixture, event, type BuilderFixture } from '../../../packages/builder/test/harness';
import { runDlq } from '../run';

let fx: BuilderFixture;
let builder: ManagedProcess;

beforeAll(async () => {
  fx = await createBuilderFixture('dlq');
  await fx.seedUsers([{ userId: 'carl' }, { userId: 'dana' }]);
  await fx.seedDialog('dlg_main', ['carl', 'dana']);
  builder = fx.startBuilder();
  await fx.started(builder);
});

afterAll(async () => {
  await fx?.cleanUp();
});

async function dlq(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runDlq(argv, {
    env: { RABBITMQ_URL: fx.env.rabbitUrl, RABBITMQ_EVENTS_EXCHANGE: fx.exchange, BUILDER_QUEUE: fx.queue },
    stdout: { write: (s: string) => ((stdout += s), true) },
    stderr: { write: (s: string) => ((stderr += s), true) },
  });
  return { code, stdout, stderr };
}

/** Waits until the DLQ holds `count` letters and returns them (get without ack, then handed back). */
async function letters(count: number) {
  const dlqName = `${fx.queue}.dlq`;
  await waitFor(async () => (await fx.broker.channel.checkQueue(dlqName)).messageCount === count, {
    timeoutMs: 60_000,
    message: `${count} letter(s) in ${dlqName}`,
  });
  const ch = await fx.broker.connection.createChannel();
  try {
    const out = [];
    for (let i = 0; i < count; i++) {
      const msg = await ch.get(dlqName, { noAck: false });
      if (msg === false) break;
      out.push({ body: JSON.parse(msg.content.toString('utf8')), headers: msg.properties.headers ?? {} });
    }
    return out;
  } finally {
    await ch.close();
  }
}

describe('requeue with a real builder', () => {
  it('an event that fails again is dead-lettered again with its requeue count; fixed, it is built', async () => {
    // Builder stage: the message is unknown (no snapshot, not in the read model), so it cannot be built.
    const unbuildable = event('message.create', 'msg_later');
    // Router stage: no tenantId fails the schema.
    const { tenantId: _, ...noTenant } = event('dialog.update', 'dlg_main');
    await fx.publish(unbuildable, 'message.create.tnt_test');
    await fx.publish(noTenant, 'dialog.update.tnt_test');

    const first = await letters(2);
    const byEvent = (list: typeof first, id: string) => list.find((l) => l.body.eventId === id)!.headers;
    expect(byEvent(first, unbuildable.eventId)).toMatchObject({
      'x-chat3-dead-letter-reason': 'unbuildable',
      'x-chat3-dead-letter-stage': 'builder',
    });
    expect(byEvent(first, noTenant.eventId)).toMatchObject({
      'x-chat3-dead-letter-reason': 'schema',
      'x-chat3-dead-letter-stage': 'router',
    });
    expect(byEvent(first, unbuildable.eventId)['x-chat3-requeue-count']).toBeUndefined();

    const once = await dlq('requeue');
    expect(once).toMatchObject({ code: 0 });
    expect(once.stdout).toContain('looked at 2, requeued 2');
    const second = await letters(2);
    expect(byEvent(second, unbuildable.eventId)).toMatchObject({
      'x-chat3-dead-letter-reason': 'unbuildable',
      'x-chat3-dead-letter-stage': 'builder',
      'x-chat3-original-routing-key': 'message.create.tnt_test',
      'x-chat3-requeue-count': 1,
    });
    expect(byEvent(second, noTenant.eventId)).toMatchObject({
      'x-chat3-dead-letter-reason': 'schema',
      'x-chat3-original-routing-key': 'dialog.update.tnt_test',
      'x-chat3-requeue-count': 1,
    });

    expect((await dlq('requeue', '--reason', 'unbuildable')).code).toBe(0);
    await waitFor(async () => (await letters(2)).some((l) => l.headers['x-chat3-requeue-count'] === 2), {
      timeoutMs: 60_000,
      message: 'the unbuildable letter back with requeue count 2',
    });
    const third = await letters(2);
    expect(byEvent(third, unbuildable.eventId)['x-chat3-requeue-count']).toBe(2);
    expect(byEvent(third, noTenant.eventId)['x-chat3-requeue-count']).toBe(1);

    // The cause fixed (the message exists now): the requeue builds it and the DLQ keeps only the other.
    await fx.database.db.collection('messages').insertOne({
      tenantId: 'tnt_test',
      dialogId: 'dlg_main',
      messageId: 'msg_later',
      senderId: 'carl',
      type: 'internal.text',
      content: 'late',
      meta: {},
      createdAt: Date.now(),
    });
    expect((await dlq('requeue', '--reason', 'unbuildable')).code).toBe(0);
    await fx.waitForUpdates({ eventId: unbuildable.eventId, updateType: 'MessageUpdate' }, 2);
    const left = await letters(1);
    expect(left.map((l) => l.body.eventId)).toEqual([noTenant.eventId]);
  });
});
