import { describe, expect, it } from 'vitest';
import { classifyEventType, eventTypeLabel, IGNORED_EVENT_TYPES, UPDATE_SOURCE_EVENT_TYPES, USER_STATS_EVENT_TYPE } from './event-types';

describe('classifyEventType', () => {
  it.each(UPDATE_SOURCE_EVENT_TYPES)('treats the seed type %s as producing Updates under its own name', (type) => {
    expect(classifyEventType(type)).toEqual({ kind: 'update', eventType: type });
  });

  it('knows exactly the fourteen source types of the seed table', () => {
    expect([...UPDATE_SOURCE_EVENT_TYPES].sort()).toEqual(
      [
        'dialog.create',
        'dialog.update',
        'dialog.delete',
        'dialog.member.add',
        'dialog.member.remove',
        'dialog.member.update',
        'message.create',
        'message.update',
        'message.status.update',
        'message.reaction.update',
        'dialog.typing',
        'user.add',
        'user.update',
        'user.remove',
      ].sort(),
    );
  });

  it.each([
    ['dialog.changed', 'dialog.update'],
    ['message.changed', 'message.update'],
    ['message.status.changed', 'message.status.update'],
    ['message.reaction.changed', 'message.reaction.update'],
    ['dialog.member.changed', 'dialog.member.update'],
    ['user.changed', 'user.update'],
  ])('accepts the later alias %s and stores the seed name %s', (alias, seedName) => {
    expect(classifyEventType(alias)).toEqual({ kind: 'update', eventType: seedName });
  });

  it.each(['message.delete', 'message.reaction.add', 'message.reaction.remove', 'message.status.create'])(
    'acknowledges %s as a known type that produces no Update',
    (type) => {
      expect(classifyEventType(type)).toEqual({ kind: 'ignored', eventType: type, reason: 'no-update-type' });
    },
  );

  it('lists exactly the seed types that produce no Update as ignored', () => {
    expect([...IGNORED_EVENT_TYPES].sort()).toEqual(
      ['message.delete', 'message.reaction.add', 'message.reaction.remove', 'message.status.create'].sort(),
    );
  });

  it.each(['dialog.archive', 'tenant.create', 'foo', 'typing.changed', 'Dialog.Create', 'dialog.create '])(
    'acknowledges the unknown type %j as ignored, not failed',
    (type) => {
      expect(classifyEventType(type)).toEqual({ kind: 'ignored', eventType: type, reason: 'unknown-type' });
    },
  );

  it('never accepts the derived user.stats.update as an input event', () => {
    expect(classifyEventType(USER_STATS_EVENT_TYPE)).toEqual({
      kind: 'ignored',
      eventType: 'user.stats.update',
      reason: 'unknown-type',
    });
  });
});

describe('eventTypeLabel', () => {
  it('keeps every known spelling, aliases included, as received', () => {
    for (const type of [...UPDATE_SOURCE_EVENT_TYPES, ...IGNORED_EVENT_TYPES, 'dialog.changed', 'message.changed', 'user.changed']) {
      expect(eventTypeLabel(type)).toBe(type);
    }
  });

  it('folds every other type into one label, so input cannot grow the metrics', () => {
    const labels = new Set(Array.from({ length: 3000 }, (_, i) => eventTypeLabel(`made.up.${i}`)));
    expect([...labels]).toEqual(['other']);
    expect(eventTypeLabel('')).toBe('other');
    expect(eventTypeLabel(USER_STATS_EVENT_TYPE)).toBe('other'); // derived, never an input event
    expect(eventTypeLabel('message.create.changed')).toBe('other');
  });
});
