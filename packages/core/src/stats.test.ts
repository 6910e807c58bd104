/** The derived user.stats.update (SPEC §5): who may have changed, when to emit, what the Update holds. */
import { describe, expect, it } from 'vitest';
import { buildStatsUpdate, buildUpdates, diffStats } from './mapping';
import { partitionOf } from './partition';
import { ReadModelView } from './read-model';
import { decideStats, type EmittedStats } from './stats';
import { ACTIVE_MEMBERS, build, buildContext, expectBuilt, makeEvent, standardView, T0, TENANT, userRow } from './test-fixtures';

const emitted = (stats: EmittedStats['stats'], eventId: string, updatedFields: string[]): EmittedStats => ({
  tenantId: TENANT,
  userId: 'carl',
  stats,
  eventId,
  updatedFields,
});

describe('which users an event may have changed the stats of (statsUserIds)', () => {
  it.each([
    ['dialog.member.add', 'erin'],
    ['dialog.member.remove', 'alice'],
    ['dialog.member.update', 'carl'],
  ])('%s names the member the event is about', (type, member) => {
    const event = makeEvent(type, { data: { member: { userId: member } } });
    expect(expectBuilt(build(event)).statsUserIds).toEqual([member]);
  });

  it('message.create names every recipient', () => {
    expect(expectBuilt(build(makeEvent('message.create'))).statsUserIds).toEqual(ACTIVE_MEMBERS);
  });

  it.each([
    ['dialog.create', {}],
    ['dialog.update', {}],
    ['dialog.delete', {}],
    ['message.update', {}],
    ['message.status.update', { statusUpdate: { userId: 'alice', status: 'read' } }],
    ['message.reaction.update', { reactionUpdate: { userId: 'alice', reaction: '👍' } }],
    ['dialog.typing', {}],
    ['user.add', {}],
    ['user.update', {}],
    ['user.remove', {}],
  ])('%s names nobody', (type, data) => {
    expect(expectBuilt(build(makeEvent(type, { data }))).statsUserIds).toEqual([]);
  });
});

describe('diffStats', () => {
  it('lists every field for a user with no emission yet', () => {
    expect(diffStats(null, { dialogCount: 0, unreadDialogsCount: 0 })).toEqual(['user.stats.dialogCount', 'user.stats.unreadDialogsCount']);
  });

  it('lists only the fields that changed', () => {
    expect(diffStats({ dialogCount: 5, unreadDialogsCount: 2 }, { dialogCount: 6, unreadDialogsCount: 2 })).toEqual([
      'user.stats.dialogCount',
    ]);
    expect(diffStats({ dialogCount: 5, unreadDialogsCount: 2 }, { dialogCount: 5, unreadDialogsCount: 3 })).toEqual([
      'user.stats.unreadDialogsCount',
    ]);
    expect(diffStats({ dialogCount: 5, unreadDialogsCount: 2 }, { dialogCount: 4, unreadDialogsCount: 1 })).toEqual([
      'user.stats.dialogCount',
      'user.stats.unreadDialogsCount',
    ]);
  });

  it('lists nothing when nothing changed', () => {
    expect(diffStats({ dialogCount: 5, unreadDialogsCount: 2 }, { dialogCount: 5, unreadDialogsCount: 2 })).toEqual([]);
  });
});

describe('decideStats', () => {
  it('emits all fields for a user’s first emission, and claims it', () => {
    expect(decideStats(null, { dialogCount: 1, unreadDialogsCount: 0 }, 'evt_a')).toEqual({
      emit: true,
      stats: { dialogCount: 1, unreadDialogsCount: 0 },
      updatedFields: ['user.stats.dialogCount', 'user.stats.unreadDialogsCount'],
      claim: true,
    });
  });

  it('emits only the changed field when the stats differ from the last emission', () => {
    const previous = emitted({ dialogCount: 5, unreadDialogsCount: 2 }, 'evt_a', ['user.stats.dialogCount']);
    expect(decideStats(previous, { dialogCount: 5, unreadDialogsCount: 3 }, 'evt_b')).toEqual({
      emit: true,
      stats: { dialogCount: 5, unreadDialogsCount: 3 },
      updatedFields: ['user.stats.unreadDialogsCount'],
      claim: true,
    });
  });

  it('emits nothing when another event finds the stats unchanged', () => {
    const previous = emitted({ dialogCount: 5, unreadDialogsCount: 2 }, 'evt_a', ['user.stats.dialogCount']);
    expect(decideStats(previous, { dialogCount: 5, unreadDialogsCount: 2 }, 'evt_b')).toEqual({ emit: false });
  });

  it('emits again a claim made by another event of the same batch (an earlier attempt whose Update may be lost)', () => {
    // evt_a claimed 1/1 in an attempt that failed; redelivered together with evt_b, the batch attributes
    // the user's stats to evt_b, which must not decide "unchanged" against a claim nobody delivered.
    const previous = emitted({ dialogCount: 1, unreadDialogsCount: 1 }, 'evt_a', ['user.stats.unreadDialogsCount']);
    expect(decideStats(previous, { dialogCount: 1, unreadDialogsCount: 1 }, 'evt_b', new Set(['evt_a', 'evt_b']))).toEqual({
      emit: true,
      stats: { dialogCount: 1, unreadDialogsCount: 1 },
      updatedFields: ['user.stats.unreadDialogsCount'],
      claim: true,
    });
    expect(decideStats(previous, { dialogCount: 1, unreadDialogsCount: 1 }, 'evt_b', new Set(['evt_b']))).toEqual({ emit: false });
  });

  it('re-emits exactly what a redelivered event claimed, without claiming again', () => {
    const previous = emitted({ dialogCount: 5, unreadDialogsCount: 2 }, 'evt_a', ['user.stats.dialogCount']);
    expect(decideStats(previous, { dialogCount: 5, unreadDialogsCount: 2 }, 'evt_a')).toEqual({
      emit: true,
      stats: { dialogCount: 5, unreadDialogsCount: 2 },
      updatedFields: ['user.stats.dialogCount'],
      claim: false,
    });
  });

  it('re-emits the claimed stats for a redelivered event even when the stats have moved on since', () => {
    // A later event changed the counts, but its emission is its own; the redelivery repeats the old one
    // so the same Update (same idempotency key, same content) is produced.
    const previous = emitted({ dialogCount: 5, unreadDialogsCount: 2 }, 'evt_a', ['user.stats.unreadDialogsCount']);
    const decision = decideStats(previous, { dialogCount: 9, unreadDialogsCount: 0 }, 'evt_a');
    expect(decision).toEqual({
      emit: true,
      stats: { dialogCount: 5, unreadDialogsCount: 2 },
      updatedFields: ['user.stats.unreadDialogsCount'],
      claim: false,
    });
  });

  it('does not emit twice across a sequence of events with unchanged stats', () => {
    let previous: EmittedStats | null = null;
    const emissions: string[] = [];
    const sequence: Array<[string, { dialogCount: number; unreadDialogsCount: number }]> = [
      ['evt_1', { dialogCount: 1, unreadDialogsCount: 0 }],
      ['evt_2', { dialogCount: 1, unreadDialogsCount: 0 }],
      ['evt_3', { dialogCount: 1, unreadDialogsCount: 1 }],
      ['evt_3', { dialogCount: 1, unreadDialogsCount: 1 }], // redelivery
      ['evt_4', { dialogCount: 1, unreadDialogsCount: 1 }],
      ['evt_5', { dialogCount: 2, unreadDialogsCount: 1 }],
    ];
    for (const [eventId, current] of sequence) {
      const decision = decideStats(previous, current, eventId);
      if (!decision.emit) continue;
      emissions.push(`${eventId}:${decision.updatedFields.join(',')}`);
      if (decision.claim) previous = emitted(decision.stats, eventId, decision.updatedFields);
    }
    expect(emissions).toEqual([
      'evt_1:user.stats.dialogCount,user.stats.unreadDialogsCount',
      'evt_3:user.stats.unreadDialogsCount',
      'evt_3:user.stats.unreadDialogsCount',
      'evt_5:user.stats.dialogCount',
    ]);
  });
});

describe('buildStatsUpdate', () => {
  const stats = { dialogCount: 5, unreadDialogsCount: 2 };
  const fields = ['user.stats.dialogCount', 'user.stats.unreadDialogsCount'];

  it('is a UserStatsUpdate for that user with eventType user.stats.update, attributed to the source event', () => {
    const event = makeEvent('dialog.member.add', { data: { member: { userId: 'carl' } } });
    const draft = buildStatsUpdate(event, 'carl', stats, fields, buildContext());
    expect(draft).toMatchObject({
      tenantId: TENANT,
      userId: 'carl',
      userType: 'user',
      entityId: 'carl',
      eventId: event.eventId,
      eventType: 'user.stats.update',
      dialogId: null,
      updateType: 'UserStatsUpdate',
      routingKey: 'update.user.user.carl.userstatsupdate',
      partition: partitionOf(TENANT, 'carl'),
      published: false,
      publishedAt: null,
      eventCreatedAt: T0,
    });
  });

  it('carries user with stats and a context listing the updated fields', () => {
    const event = makeEvent('message.create');
    const draft = buildStatsUpdate(event, 'carl', stats, ['user.stats.unreadDialogsCount'], buildContext());
    expect(draft.data).toEqual({
      user: { userId: 'carl', type: 'user', meta: { vip: true }, stats: { dialogCount: 5, unreadDialogsCount: 2 } },
      context: {
        eventType: 'user.stats.update',
        entityId: 'carl',
        includedSections: ['user'],
        updatedFields: ['user.stats.unreadDialogsCount'],
      },
    });
  });

  it('routes a bot’s stats with the bot type', () => {
    const draft = buildStatsUpdate(makeEvent('message.create'), 'bot_123', stats, fields, buildContext());
    expect(draft.routingKey).toBe('update.user.bot.bot_123.userstatsupdate');
    expect(draft.data.user!.type).toBe('bot');
  });

  it('routes an unknown user’s stats with the type user', () => {
    const draft = buildStatsUpdate(makeEvent('message.create'), 'ghost', stats, fields, buildContext());
    expect(draft.userType).toBe('user');
    expect(draft.routingKey).toBe('update.user.user.ghost.userstatsupdate');
    expect(draft.data.user).toEqual({ userId: 'ghost', type: 'user', meta: {}, stats });
  });

  it('does not take the source event’s own context (dialogId, updatedFields) into the stats context', () => {
    const event = makeEvent('dialog.member.update', {
      data: { member: { userId: 'carl' }, context: { dialogId: 'dlg_1', updatedFields: ['member.state.unreadCount'] } },
    });
    const draft = buildStatsUpdate(event, 'carl', stats, ['user.stats.unreadDialogsCount'], buildContext());
    expect(draft.data.context).toEqual({
      eventType: 'user.stats.update',
      entityId: 'carl',
      includedSections: ['user'],
      updatedFields: ['user.stats.unreadDialogsCount'],
    });
  });

  it('uses the member’s users row, not another user’s snapshot carried by the event', () => {
    const view = new ReadModelView().addUsers([userRow('alice', { type: 'contact', meta: { x: 1 } })]);
    const event = makeEvent('user.update', { entityId: 'carl', data: { user: { userId: 'carl', type: 'bot' } } });
    const draft = buildStatsUpdate(event, 'alice', stats, fields, buildContext(view));
    expect(draft.data.user).toEqual({ userId: 'alice', type: 'contact', meta: { x: 1 }, stats });
  });

  it('takes a later createdAt than the event’s other Updates built with the same clock', () => {
    const ctx = buildContext(standardView());
    const event = makeEvent('dialog.member.add', { data: { member: { userId: 'erin' } } });
    const { updates } = expectBuilt(buildUpdates(event, ctx));
    const draft = buildStatsUpdate(event, 'erin', stats, fields, ctx);
    expect(draft.createdAt).toBeGreaterThan(Math.max(...updates.map((u) => u.createdAt)));
  });
});

describe('buildStatsUpdate with scope tenant', () => {
  it('routes the stats Update with the tenant in the key', () => {
    const event = makeEvent('dialog.member.add', { data: { member: { userId: 'carl' } } });
    const draft = buildStatsUpdate(event, 'carl', { dialogCount: 1, unreadDialogsCount: 0 }, ['user.stats.dialogCount'], {
      ...buildContext(),
      routingKeyScope: 'tenant',
    });
    expect(draft.routingKey).toBe(`update.user.${TENANT}.user.carl.userstatsupdate`);
  });
});
