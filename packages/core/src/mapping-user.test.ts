/** SPEC §5 rows user.add / user.update / user.remove. */
import { describe, expect, it } from 'vitest';
import { partitionOf } from './partition';
import { ReadModelView } from './read-model';
import { build, expectBuilt, makeEvent, standardView, T0, TENANT, userRow } from './test-fixtures';

describe.each(['user.add', 'user.update', 'user.remove'] as const)('%s', (eventType) => {
  it('goes to that user only, as a UserUpdate in category user', () => {
    const event = makeEvent(eventType, { entityId: 'alice', actorId: 'admin' });
    const { updates, statsUserIds } = expectBuilt(build(event));
    expect(updates).toHaveLength(1);
    expect(updates[0]).toMatchObject({
      tenantId: TENANT,
      userId: 'alice',
      userType: 'user',
      entityId: 'alice',
      eventId: event.eventId,
      eventType,
      dialogId: null,
      updateType: 'UserUpdate',
      routingKey: 'update.user.user.alice.userupdate',
      partition: partitionOf(TENANT, 'alice'),
      published: false,
      publishedAt: null,
      eventCreatedAt: T0,
    });
    expect(statsUserIds).toEqual([]);
  });

  it('carries the user section and a context without a dialog', () => {
    const view = standardView().addUsers([userRow('alice', { meta: { lang: 'ru' } })]);
    const [alice] = expectBuilt(build(makeEvent(eventType, { entityId: 'alice' }), view)).updates;
    expect(alice!.data).toEqual({
      user: { userId: 'alice', type: 'user', meta: { lang: 'ru' } },
      context: { eventType, entityId: 'alice', includedSections: ['user'] },
    });
  });

  it('routes a bot’s update with the bot type', () => {
    const [bot] = expectBuilt(build(makeEvent(eventType, { entityId: 'bot_123' }))).updates;
    expect(bot!.userType).toBe('bot');
    expect(bot!.routingKey).toBe('update.user.bot.bot_123.userupdate');
    expect(bot!.data.user).toEqual({ userId: 'bot_123', type: 'bot', meta: {} });
  });

  it('prefers the user snapshot over the read model', () => {
    const event = makeEvent(eventType, { entityId: 'alice', data: { user: { userId: 'alice', type: 'contact', meta: { a: 1 } } } });
    const [alice] = expectBuilt(build(event)).updates;
    expect(alice!.data.user).toEqual({ userId: 'alice', type: 'contact', meta: { a: 1 } });
    expect(alice!.routingKey).toBe('update.user.contact.alice.userupdate');
    expect(alice!.userType).toBe('contact');
  });

  it('gives an unknown user the type user, in the Update and in the routing key', () => {
    const [stranger] = expectBuilt(build(makeEvent(eventType, { entityId: 'stranger' }))).updates;
    expect(stranger).toMatchObject({ userId: 'stranger', userType: 'user', routingKey: 'update.user.user.stranger.userupdate' });
    expect(stranger!.data.user).toEqual({ userId: 'stranger', type: 'user', meta: {} });
  });
});

describe('user events in particular', () => {
  it('reaches a removed user who is already gone from the read model, with the snapshot’s type', () => {
    const event = makeEvent('user.remove', { entityId: 'bot_9', data: { user: { userId: 'bot_9', type: 'bot' } } });
    const [gone] = expectBuilt(build(event, new ReadModelView())).updates;
    expect(gone).toMatchObject({ userId: 'bot_9', entityId: 'bot_9', routingKey: 'update.user.bot.bot_9.userupdate' });
    expect(gone!.data.user).toEqual({ userId: 'bot_9', type: 'bot', meta: {} });
  });

  it('reaches a removed user gone from the read model without a snapshot, as type user', () => {
    const [gone] = expectBuilt(build(makeEvent('user.remove', { entityId: 'carl' }), new ReadModelView())).updates;
    expect(gone).toMatchObject({ userId: 'carl', userType: 'user', routingKey: 'update.user.user.carl.userupdate' });
  });

  it('names the user from data.user.userId when it differs from entityId', () => {
    const event = makeEvent('user.update', { entityId: 'usr_internal_7', data: { user: { userId: 'alice' } } });
    const [alice] = expectBuilt(build(event)).updates;
    expect(alice).toMatchObject({ userId: 'alice', entityId: 'alice' });
    expect(alice!.data.context.entityId).toBe('alice');
  });

  it('keeps the row’s type when the user snapshot says type: null (Chat3’s default): the type picks the routing key', () => {
    const event = makeEvent('user.update', { entityId: 'bot_123', data: { user: { userId: 'bot_123', type: null, meta: null } } });
    const [bot] = expectBuilt(build(event)).updates;
    expect(bot!.routingKey).toBe('update.user.bot.bot_123.userupdate');
    expect(bot!.data.user).toEqual({ userId: 'bot_123', type: 'bot', meta: {} });
  });

  it('treats an empty users.type as the default user type', () => {
    const view = new ReadModelView().addUsers([userRow('erin', { type: '' })]);
    const [erin] = expectBuilt(build(makeEvent('user.update', { entityId: 'erin' }), view)).updates;
    expect(erin!.routingKey).toBe('update.user.user.erin.userupdate');
  });

  it('accepts the user.changed alias and stores user.update', () => {
    const [carl] = expectBuilt(build(makeEvent('user.changed', { entityId: 'carl' }))).updates;
    expect(carl!.eventType).toBe('user.update');
    expect(carl!.data.context.eventType).toBe('user.update');
  });

  it('passes the producer’s context.updatedFields through to the client', () => {
    const event = makeEvent('user.update', { entityId: 'carl', data: { context: { updatedFields: ['user.name'] } } });
    const [carl] = expectBuilt(build(event)).updates;
    expect(carl!.data.context.updatedFields).toEqual(['user.name']);
  });
});
