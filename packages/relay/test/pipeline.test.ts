/**
 * End to end: events into `chat3_events`, the builder and the relay as real processes, and clients
 * subscribed with the seed's own code on `chat3_updates`. Every row of the mapping table (SPEC §5)
 * arrives with the documented shape.
 */
import { createBrokerHelper, createTestDatabase, spawnService, testEnv, uniqueName, waitFor, type ManagedProcess } from '@chat3/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subscribeAsTheSeedDoes } from './seed-subscriber';

const env = testEnv();
const suffix = uniqueName('e2e').split('.')[1]!;
const carl = `carl_${suffix}`;
const bot = `bot_${suffix}`;
const dana = `dana_${suffix}`;
const dialogId = `dlg_${suffix}`;
const messageId = `msg_${suffix}`;
const T = 'tnt_e2e';

const received = new Map<string, any[]>([
  [carl, []],
  [bot, []],
  [dana, []],
]);
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let broker: Awaited<ReturnType<typeof createBrokerHelper>>;
const exchange = uniqueName('events');
const queue = uniqueName('builder');
const processes: ManagedProcess[] = [];
const subscriptions: Array<{ close(): Promise<void> }> = [];
let n = 0;

function event(eventType: string, entityId: string, data: Record<string, unknown>, actorId = carl) {
  n += 1;
  return {
    eventId: `evt_${suffix.padEnd(24, '0').slice(0, 24)}${n.toString(16).padStart(8, '0')}`,
    tenantId: T,
    eventType,
    entityType: eventType.split('.')[0],
    entityId,
    actorId,
    actorType: 'user',
    data,
    createdAt: Date.now() + 0.5,
  };
}

async function emit(e: ReturnType<typeof event>) {
  await broker.publishJson(exchange, `${e.eventType}.${T}`, e);
}

beforeAll(async () => {
  database = await createTestDatabase('e2e');
  broker = await createBrokerHelper(env.rabbitUrl);
  await broker.channel.assertExchange(exchange, 'topic', { durable: true });
  const common = {
    MONGODB_URI: env.mongoUri,
    MONGODB_DB: database.name,
    RABBITMQ_URL: env.rabbitUrl,
    METRICS_PORT: '0',
    LEASE_TTL_MS: '3000',
  };
  const builder = spawnService({
    name: 'builder',
    entry: 'packages/builder/src/main.ts',
    env: { ...common, RABBITMQ_EVENTS_EXCHANGE: exchange, BUILDER_QUEUE: queue, BUILDER_PARTITIONS: '2' },
  });
  const relay = spawnService({ name: 'relay', entry: 'packages/relay/src/main.ts', env: { ...common, RELAY_POLL_INTERVAL_MS: '50' } });
  processes.push(builder, relay);
  await builder.waitForLog((e) => e.msg === 'builder started', 60_000);
  await relay.waitForLog((e) => e.msg === 'relay started', 60_000); // the relay declares chat3_updates
  for (const [userId, type] of [
    [carl, 'user'],
    [bot, 'bot'],
    [dana, 'user'],
  ] as const) {
    subscriptions.push(await subscribeAsTheSeedDoes(env.rabbitUrl, userId, type, (u) => received.get(userId)!.push(u)));
  }
});

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop(10_000)));
  for (const s of subscriptions) await s.close().catch(() => undefined);
  for (const q of [queue, `${queue}.dlq`, `${queue}.p0`, `${queue}.p1`]) await broker?.channel.deleteQueue(q).catch(() => undefined);
  for (const x of [exchange, `${queue}.partitions`, `${queue}.dlx`]) await broker?.channel.deleteExchange(x).catch(() => undefined);
  await broker?.close();
  await database?.drop();
});

const db = () => database.db;
const got = (userId: string, eventType: string) => received.get(userId)!.filter((u) => u.eventType === eventType);
async function arrived(userId: string, eventType: string, count = 1) {
  return waitFor(() => (got(userId, eventType).length >= count ? got(userId, eventType) : undefined), {
    timeoutMs: 30_000,
    message: `${userId} receives ${count} × ${eventType}`,
  });
}

describe('the pipeline, as the seed’s client sees it', () => {
  it('delivers every row of the mapping table with the documented shape', async () => {
    const now = Date.now();
    await db()
      .collection('users')
      .insertMany([
        { tenantId: T, userId: carl, type: 'user', name: 'Carl Johnson', meta: {}, createdAt: now },
        { tenantId: T, userId: bot, type: 'bot', name: 'Bot', meta: {}, createdAt: now },
        { tenantId: T, userId: dana, type: 'user', name: 'Dana', meta: {}, createdAt: now },
      ]);
    await db()
      .collection('dialogs')
      .insertOne({ tenantId: T, dialogId, name: 'VIP чат', createdBy: carl, createdAt: now, updatedAt: now, meta: {} });
    const member = (userId: string, over = {}) => ({
      tenantId: T,
      dialogId,
      userId,
      meta: {},
      unreadCount: 0,
      lastSeenAt: null,
      lastMessageAt: null,
      isActive: true,
      createdAt: now,
      ...over,
    });
    await db()
      .collection('dialogmembers')
      .insertMany([member(carl), member(bot)]);

    // dialog.create → DialogUpdate for every member, with their own member section.
    await emit(event('dialog.create', dialogId, { context: { dialogId } }));
    const [created] = await arrived(carl, 'dialog.create');
    expect(created).toMatchObject({
      tenantId: T,
      userId: carl,
      entityId: dialogId,
      eventType: 'dialog.create',
      data: {
        dialog: { dialogId, tenantId: T, name: 'VIP чат', createdBy: carl, createdAt: now, updatedAt: now, meta: {} },
        member: { userId: carl, meta: {}, state: { unreadCount: 0, lastSeenAt: null, lastMessageAt: null, isActive: true } },
        context: { eventType: 'dialog.create', dialogId, entityId: dialogId, includedSections: ['dialog', 'member'] },
      },
    });
    expect(created._id).toMatch(/^[0-9a-f]{24}$/);
    expect(created).not.toHaveProperty('published');
    expect(created).not.toHaveProperty('publishedAt');
    expect((await arrived(bot, 'dialog.create'))[0].data.member.userId).toBe(bot);

    // dialog.update and dialog.delete: same shape.
    await emit(event('dialog.update', dialogId, { context: { dialogId, updatedFields: ['dialog.name'] } }));
    expect((await arrived(carl, 'dialog.update'))[0].data.context.updatedFields).toEqual(['dialog.name']);

    // dialog.member.add → every member and the added one; the added one also gets stats.
    await db().collection('dialogmembers').insertOne(member(dana));
    await emit(event('dialog.member.add', dialogId, { member: { userId: dana }, context: { dialogId, userId: dana } }));
    const [added] = await arrived(dana, 'dialog.member.add');
    expect(added.data).toMatchObject({ member: { userId: dana, state: { isActive: true } }, context: { userId: dana } });
    expect((await arrived(carl, 'dialog.member.add'))[0].data.member.userId).toBe(carl);
    const [stats] = await arrived(dana, 'user.stats.update');
    expect(stats.data).toEqual({
      user: { userId: dana, type: 'user', meta: {}, stats: { dialogCount: 1, unreadDialogsCount: 0 } },
      context: {
        eventType: 'user.stats.update',
        entityId: dana,
        includedSections: ['user'],
        updatedFields: ['user.stats.dialogCount', 'user.stats.unreadDialogsCount'],
      },
    });

    // message.create → every member, full message with senderInfo; unread recipients get stats.
    await db()
      .collection('messages')
      .insertOne({ tenantId: T, dialogId, messageId, senderId: carl, type: 'internal.text', content: 'Hello!', meta: {}, createdAt: now });
    await db()
      .collection('dialogmembers')
      .updateMany({ dialogId, userId: { $ne: carl } }, { $set: { unreadCount: 1, lastMessageAt: now } });
    await emit(event('message.create', messageId, { message: { messageId, dialogId }, context: { dialogId, messageId } }));
    const [message] = await arrived(bot, 'message.create');
    expect(message.data).toMatchObject({
      dialog: { dialogId },
      member: { userId: bot, state: { unreadCount: 1 } },
      message: {
        messageId,
        dialogId,
        senderId: carl,
        type: 'internal.text',
        content: 'Hello!',
        meta: {},
        statuses: [],
        senderInfo: { userId: carl, name: 'Carl Johnson', createdAt: now, meta: {} },
      },
      context: { eventType: 'message.create', dialogId, entityId: messageId, messageId, includedSections: ['dialog', 'message', 'member'] },
    });
    expect((await arrived(dana, 'user.stats.update', 2))[1].data.context.updatedFields).toEqual(['user.stats.unreadDialogsCount']);

    // message.update → meta.updated: true.
    await emit(event('message.update', messageId, { message: { messageId, dialogId, content: 'Hello, edited' } }));
    expect((await arrived(dana, 'message.update'))[0].data.message).toMatchObject({ content: 'Hello, edited', meta: { updated: true } });

    // message.status.update → statusUpdate and the matrix (sender excluded, latest status per user).
    await db()
      .collection('messagestatuses')
      .insertMany([
        { tenantId: T, dialogId, messageId, userId: dana, userType: 'user', status: 'delivered', readAt: null, createdAt: now + 1 },
        { tenantId: T, dialogId, messageId, userId: bot, userType: 'bot', status: 'read', readAt: now + 2, createdAt: now + 2 },
        { tenantId: T, dialogId, messageId, userId: dana, userType: 'user', status: 'read', readAt: now + 3, createdAt: now + 3 },
        { tenantId: T, dialogId, messageId, userId: carl, userType: 'user', status: 'read', readAt: now + 4, createdAt: now + 4 },
      ]);
    await emit(event('message.status.update', messageId, { context: { dialogId, messageId } }, dana));
    const [status] = await arrived(carl, 'message.status.update');
    expect(status.data.message).toEqual({
      messageId,
      dialogId,
      senderId: carl,
      type: 'internal.text',
      statusUpdate: { userId: dana, status: 'read', readAt: now + 3, createdAt: now + 3 },
      statusMessageMatrix: [
        { userType: 'bot', status: 'read', count: 1 },
        { userType: 'user', status: 'read', count: 1 },
      ],
    });
    expect(status.data.context.includedSections).toEqual(['dialog', 'message', 'statusUpdate']);

    // message.reaction.update → reactionUpdate.
    await emit(
      event(
        'message.reaction.update',
        messageId,
        { message: { messageId, dialogId }, reactionUpdate: { userId: dana, reaction: '👍', createdAt: now + 5 } },
        dana,
      ),
    );
    const [reaction] = await arrived(bot, 'message.reaction.update');
    expect(reaction.data.message.reactionUpdate).toEqual({ userId: dana, reaction: '👍', createdAt: now + 5 });
    expect(reaction.data.context.includedSections).toEqual(['dialog', 'message', 'reactionUpdate']);

    // dialog.typing → everyone but the typist.
    await emit(event('dialog.typing', dialogId, { typing: { userId: dana } }, dana));
    const [typing] = await arrived(carl, 'dialog.typing');
    expect(typing.data.typing).toMatchObject({ userId: dana, expiresInMs: 5000, userInfo: null });
    expect(typing.data.context.includedSections).toEqual(['dialog', 'typing', 'member']);

    // dialog.member.update → that member only.
    await db()
      .collection('dialogmembers')
      .updateOne({ dialogId, userId: dana }, { $set: { unreadCount: 0, lastSeenAt: now + 6 } });
    await emit(event('dialog.member.update', dialogId, { member: { userId: dana }, context: { dialogId, userId: dana } }, dana));
    const [memberUpdate] = await arrived(dana, 'dialog.member.update');
    expect(memberUpdate.data.member).toEqual({
      userId: dana,
      meta: {},
      state: { unreadCount: 0, lastSeenAt: now + 6, lastMessageAt: now, isActive: true },
    });

    // dialog.member.remove → the removed member too, with isActive: false.
    await db()
      .collection('dialogmembers')
      .updateOne({ dialogId, userId: dana }, { $set: { isActive: false } });
    await emit(event('dialog.member.remove', dialogId, { member: { userId: dana }, context: { dialogId, userId: dana } }));
    const [removed] = await arrived(dana, 'dialog.member.remove');
    expect(removed.data.member.state.isActive).toBe(false);
    await arrived(carl, 'dialog.member.remove');

    // dialog.delete.
    await emit(event('dialog.delete', dialogId, { context: { dialogId } }));
    await arrived(bot, 'dialog.delete');

    // user.add / user.update / user.remove → that user, category user.
    for (const type of ['user.add', 'user.update', 'user.remove'])
      await emit(event(type, bot, { user: { userId: bot, type: 'bot', meta: { v: type } } }));
    const userUpdates = await waitFor(
      () => {
        const all = ['user.add', 'user.update', 'user.remove'].flatMap((t) => got(bot, t));
        return all.length === 3 ? all : undefined;
      },
      { timeoutMs: 30_000, message: 'three user updates for the bot' },
    );
    for (const u of userUpdates) {
      expect(u.data).toEqual({
        user: { userId: bot, type: 'bot', meta: { v: u.eventType } },
        context: { eventType: u.eventType, entityId: bot, includedSections: ['user'] },
      });
      expect(u.routingKey).toBe(`update.user.bot.${bot}.userupdate`);
    }

    // Nothing was delivered to the wrong user.
    for (const [userId, list] of received) expect(list.every((u) => u.userId === userId)).toBe(true);
    // The typist never hears her own typing.
    expect(got(dana, 'dialog.typing')).toEqual([]);
  });
});
