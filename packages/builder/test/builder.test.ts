/**
 * The builder against the real RabbitMQ and the real MongoDB-compatible server: events in, Updates
 * out, idempotent under redelivery, dead letters for bad input.
 */
import { waitFor, type ManagedProcess } from '@chat3/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builderTopology, QUEUE_TYPES } from '../src/index';
import { createBuilderFixture, event, queueTypeOf, type BuilderFixture } from './harness';

// Every test on both queue types the builder can declare (BUILDER_QUEUE_TYPE).
describe.each(QUEUE_TYPES)('builder on %s queues', (queueType) => {
  let fx: BuilderFixture;
  let builder: ManagedProcess;

  beforeAll(async () => {
    fx = await createBuilderFixture('builder', { queueType });
    await fx.seedUsers([{ userId: 'carl' }, { userId: 'bot_1', type: 'bot' }, { userId: 'a.b' }]);
    await fx.seedDialog('dlg_main', ['carl', 'bot_1', 'a.b'], ['gone']);
    await fx.database.db.collection('messages').insertOne({
      tenantId: 'tnt_test',
      dialogId: 'dlg_main',
      messageId: 'msg_1',
      senderId: 'carl',
      type: 'internal.text',
      content: 'hello',
      meta: {},
      createdAt: Date.now(),
    });
    builder = fx.startBuilder();
    await fx.started(builder);
  });

  afterAll(async () => {
    await fx?.cleanUp();
  });

  it('declares its queues with that type', async () => {
    const t = builderTopology(fx.exchange, fx.queue, 4);
    const singleActive = { 'x-single-active-consumer': true };
    expect(await queueTypeOf(fx.broker.connection, t.intakeQueue, singleActive)).toBe(queueType);
    expect(await queueTypeOf(fx.broker.connection, t.partitionQueues[0]!, singleActive)).toBe(queueType);
    expect(await queueTypeOf(fx.broker.connection, t.deadLetterQueue)).toBe(queueType);
  });

  it('turns an event into one unpublished Update per active recipient', async () => {
    const e = event('message.create', 'msg_1', { message: { messageId: 'msg_1', dialogId: 'dlg_main' } });
    await fx.publish(e, 'message.create.tnt_test');
    await fx.waitForUpdates({ eventId: e.eventId, updateType: 'MessageUpdate' }, 3);
    const docs = await fx.updates.find({ eventId: e.eventId, updateType: 'MessageUpdate' }).sort({ userId: 1 }).toArray();
    expect(docs.map((d) => d.userId)).toEqual(['a.b', 'bot_1', 'carl']);
    for (const d of docs) {
      expect(d).toMatchObject({
        published: false,
        publishedAt: null,
        tenantId: 'tnt_test',
        eventType: 'message.create',
        entityId: 'msg_1',
      });
      expect(d.data.message).toMatchObject({ messageId: 'msg_1', content: 'hello', senderInfo: { userId: 'carl' } });
      expect(d.data.member.userId).toBe(d.userId);
    }
    expect(docs.map((d) => d.routingKey)).toEqual([
      'update.dialog.user.a%2Eb.messageupdate',
      'update.dialog.bot.bot_1.messageupdate',
      'update.dialog.user.carl.messageupdate',
    ]);
  });

  it('keeps the event’s W3C traceparent header on its Updates, and drops a malformed one', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const traced = event('dialog.update', 'dlg_main');
    const malformed = event('dialog.update', 'dlg_main');
    await fx.publish(traced, 'dialog.update.tnt_test', { headers: { traceparent } });
    await fx.publish(malformed, 'dialog.update.tnt_test', { headers: { traceparent: 'not-a-trace' } });
    await fx.waitForUpdates({ eventId: { $in: [traced.eventId, malformed.eventId] } }, 6);
    const docs = await fx.updates.find({ eventId: { $in: [traced.eventId, malformed.eventId] } }).toArray();
    expect(docs.filter((d) => d.eventId === traced.eventId).map((d) => d.traceparent)).toEqual([traceparent, traceparent, traceparent]);
    expect(docs.filter((d) => d.eventId === malformed.eventId).every((d) => !('traceparent' in d))).toBe(true);
  });

  it('writes the same event delivered twice only once', async () => {
    const e = event('dialog.update', 'dlg_main');
    await fx.publish(e, 'dialog.update.tnt_test');
    await fx.publish(e, 'dialog.update.tnt_test');
    // An event published after both copies, for the same dialog, is built after them (one partition, in order).
    const marker = event('dialog.update', 'dlg_main');
    await fx.publish(marker, 'dialog.update.tnt_test');
    await fx.waitForUpdates({ eventId: marker.eventId }, 3);
    expect(await fx.updates.countDocuments({ eventId: e.eventId })).toBe(3);
  });

  it('accepts the *.changed alias and stores the seed name', async () => {
    const e = event('dialog.changed', 'dlg_main');
    await fx.publish(e, 'dialog.changed.tnt_test');
    await fx.waitForUpdates({ eventId: e.eventId }, 3);
    expect(await fx.updates.distinct('eventType', { eventId: e.eventId })).toEqual(['dialog.update']);
  });

  it('dead-letters bad input with the reason and keeps building', async () => {
    const dlq = await fx.broker.declareCollector(`${fx.queue}.dlx`, [''], undefined, { exchangeType: 'fanout' });
    const { tenantId: _, ...noTenant } = event('dialog.update', 'dlg_main');
    await fx.publishRaw('{"this is": not json');
    await fx.publish(noTenant);
    await fx.publish({ ...event('dialog.update', 'dlg_main'), data: { dialog: 'not an object' } });
    await fx.publishRaw(JSON.stringify({ ...event('dialog.update', 'dlg_main'), pad: 'x'.repeat(1_100_000) }));
    await fx.publish(event('message.create', 'msg_unknown'), 'message.create.tnt_test');
    const good = event('dialog.update', 'dlg_main');
    await fx.publish(good);

    const letters = await dlq.waitForCount(5, 30_000);
    const reasons = letters.map((m) => m.properties.headers['x-chat3-dead-letter-reason']).sort();
    expect(reasons).toEqual(['not-json', 'oversized', 'schema', 'schema', 'unbuildable']);
    const schema = letters.filter((m) => m.properties.headers['x-chat3-dead-letter-reason'] === 'schema');
    expect(schema.map((m) => m.properties.headers['x-chat3-dead-letter-detail']).join(' | ')).toMatch(/tenantId/);
    expect(schema.map((m) => m.properties.headers['x-chat3-dead-letter-detail']).join(' | ')).toMatch(/data\.dialog/);
    const unbuildable = letters.find((m) => m.properties.headers['x-chat3-dead-letter-reason'] === 'unbuildable')!;
    expect(unbuildable.properties.headers['x-chat3-dead-letter-detail']).toMatch(/msg_unknown/);
    expect(unbuildable.properties.headers['x-chat3-original-routing-key']).toBe('message.create.tnt_test');
    await fx.waitForUpdates({ eventId: good.eventId }, 3);
    await dlq.close();
  });

  it('acknowledges and counts types that produce no Update', async () => {
    const ignored = event('message.reaction.add', 'msg_1');
    await fx.publish(ignored, 'message.reaction.add.tnt_test');
    const marker = event('dialog.update', 'dlg_main');
    await fx.publish(marker);
    await fx.waitForUpdates({ eventId: marker.eventId }, 3);
    expect(await fx.updates.countDocuments({ eventId: ignored.eventId })).toBe(0);
    const { messageCount } = await fx.broker.channel.checkQueue(fx.queue);
    expect(messageCount).toBe(0);
  });

  it('counts made-up event types under one label, so input cannot blow up /metrics', async () => {
    for (let i = 0; i < 200; i++) await fx.publish(event(`made.up.${i}`, 'dlg_main'), `made.up.${i}.tnt_test`);
    const marker = event('dialog.update', 'dlg_main');
    await fx.publish(marker);
    await fx.waitForUpdates({ eventId: marker.eventId }, 3);
    const { entry } = await builder.waitForLog((e) => e.msg === 'ops server listening', 10_000);
    const text = await (await fetch(`http://127.0.0.1:${entry!.port}/metrics`)).text();
    expect(text).toMatch(/^chat3_builder_events_ignored_total\{event_type="other",reason="unknown-type"\} 200$/m);
    expect(text).toMatch(/^chat3_builder_events_consumed_total\{event_type="other"\} 200$/m);
    expect(text).not.toContain('made.up');
  });

  it('emits user stats only when they change', async () => {
    await fx.database.db.collection('dialogmembers').insertOne({
      tenantId: 'tnt_test',
      dialogId: 'dlg_main',
      userId: 'dana',
      meta: {},
      unreadCount: 0,
      isActive: true,
      createdAt: Date.now(),
    });
    const added = event('dialog.member.add', 'dlg_main', { member: { userId: 'dana' }, context: { dialogId: 'dlg_main', userId: 'dana' } });
    await fx.publish(added);
    await fx.waitForUpdates({ eventId: added.eventId, updateType: 'UserStatsUpdate' }, 1);
    const stats = await fx.updates.findOne({ eventId: added.eventId, updateType: 'UserStatsUpdate' });
    expect(stats).toMatchObject({
      userId: 'dana',
      eventType: 'user.stats.update',
      routingKey: 'update.user.user.dana.userstatsupdate',
      data: { user: { userId: 'dana', stats: { dialogCount: 1, unreadDialogsCount: 0 } } },
    });

    // Same membership, same stats: nothing new, even for a fresh event.
    const again = event('dialog.member.update', 'dlg_main', {
      member: { userId: 'dana' },
      context: { dialogId: 'dlg_main', userId: 'dana' },
    });
    await fx.publish(again);
    await fx.waitForUpdates({ eventId: again.eventId, updateType: 'DialogMemberUpdate' }, 1);
    expect(await fx.updates.countDocuments({ eventId: again.eventId, updateType: 'UserStatsUpdate' })).toBe(0);

    // Unread now: unreadDialogsCount changes, and only that field is listed.
    await fx.database.db.collection('dialogmembers').updateOne({ dialogId: 'dlg_main', userId: 'dana' }, { $set: { unreadCount: 2 } });
    const unread = event('dialog.member.update', 'dlg_main', {
      member: { userId: 'dana' },
      context: { dialogId: 'dlg_main', userId: 'dana' },
    });
    await fx.publish(unread);
    const changed = await waitFor(() => fx.updates.findOne({ eventId: unread.eventId, updateType: 'UserStatsUpdate' }), {
      timeoutMs: 30_000,
      message: 'stats update after unread change',
    });
    expect(changed.data.context.updatedFields).toEqual(['user.stats.unreadDialogsCount']);
    expect(changed.data.user.stats).toEqual({ dialogCount: 1, unreadDialogsCount: 1 });
  });
});
