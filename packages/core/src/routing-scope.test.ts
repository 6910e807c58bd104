/** Routing-key scopes (issue #10 §4): the seed's format unchanged, and tenant keys, bindings and queues that keep tenants apart. */
import { describe, expect, it } from 'vitest';
import { routingKeyFor } from './routing-key';
import {
  bindingKeyFor,
  parseRoutingKeyScope,
  parseTenantQueueName,
  queueNameFor,
  scopedRoutingKey,
  type RecipientAddress,
} from './routing-scope';
import { topicMatches } from './topic-match';
import { UPDATE_TYPES, type UpdateType } from './update';

const updateTypes = Object.keys(UPDATE_TYPES) as UpdateType[];
const carl: RecipientAddress = { tenantId: 'tnt_default', userType: 'user', userId: 'carl' };

describe('scope seed', () => {
  it('produces the seed’s keys, binding and queue name', () => {
    for (const t of updateTypes) expect(scopedRoutingKey('seed', t, carl)).toBe(routingKeyFor(t, 'user', 'carl'));
    expect(scopedRoutingKey('seed', 'MessageUpdate', carl)).toBe('update.dialog.user.carl.messageupdate');
    expect(bindingKeyFor('seed', carl)).toBe('update.*.user.carl.*');
    expect(queueNameFor('seed', carl)).toBe('user_carl_updates');
  });

  it('ignores the tenant (which is why tenants share queues in this scope)', () => {
    const other = { ...carl, tenantId: 'tnt_other' };
    expect(scopedRoutingKey('seed', 'DialogUpdate', other)).toBe(scopedRoutingKey('seed', 'DialogUpdate', carl));
    expect(queueNameFor('seed', other)).toBe(queueNameFor('seed', carl));
  });
});

describe('scope tenant', () => {
  it('puts the encoded tenant third, after the category', () => {
    expect(scopedRoutingKey('tenant', 'MessageUpdate', carl)).toBe('update.dialog.tnt_default.user.carl.messageupdate');
    expect(scopedRoutingKey('tenant', 'UserStatsUpdate', carl)).toBe('update.user.tnt_default.user.carl.userstatsupdate');
    expect(scopedRoutingKey('tenant', 'DialogUpdate', { tenantId: 'a.b', userType: 'bot', userId: '*' })).toBe(
      'update.dialog.a%2Eb.bot.%2A.dialogupdate',
    );
    expect(bindingKeyFor('tenant', carl)).toBe('update.*.tnt_default.user.carl.*');
    expect(queueNameFor('tenant', carl)).toBe('tenant.tnt_default.user.carl.updates');
  });

  it('is never matched by the seed’s five-word bindings, so old clients do not receive tenant keys', () => {
    const key = scopedRoutingKey('tenant', 'MessageUpdate', carl);
    for (const binding of [
      'update.*.user.carl.*',
      'update.*.*.*.*',
      'update.*.bot.*.*',
      'update.dialog.user.*.*',
      'update.user.*.*.userstatsupdate',
    ]) {
      expect(topicMatches(binding, key)).toBe(false);
    }
  });

  const tricky = [
    'a',
    'b',
    'a.b',
    'a%2Eb',
    '*',
    '#',
    '%',
    'a_b',
    'b_c',
    'a_user_b',
    'user',
    'updates',
    'x.user.y',
    'tnt_default',
    'Юлия',
    '👍',
    '',
  ];

  it('matches a key only with the binding of the same tenant, user type and user', () => {
    for (const xt of tricky) {
      for (const xu of tricky) {
        const x = { tenantId: xt, userType: 'user', userId: xu };
        for (const type of ['MessageUpdate', 'UserStatsUpdate'] as const) {
          const key = scopedRoutingKey('tenant', type, x);
          expect(key.split('.')).toHaveLength(6);
          for (const yt of tricky) {
            for (const yu of tricky) {
              const matched = topicMatches(bindingKeyFor('tenant', { tenantId: yt, userType: 'user', userId: yu }), key);
              if (matched !== (xt === yt && xu === yu))
                throw new Error(`binding of ${JSON.stringify([yt, yu])} ${matched ? 'matches' : 'misses'} ${key}`);
            }
          }
        }
      }
    }
  });

  it('gives every (tenant, user) pair its own queue name, and the name decodes back to the pair', () => {
    const owners = new Map<string, string>();
    for (const tenantId of tricky) {
      for (const userId of tricky) {
        const name = queueNameFor('tenant', { tenantId, userId });
        expect(parseTenantQueueName(name)).toEqual({ tenantId, userId });
        const owner = JSON.stringify([tenantId, userId]);
        expect(owners.get(name) ?? owner).toBe(owner);
        owners.set(name, owner);
      }
    }
    expect(owners.size).toBe(tricky.length ** 2);
  });

  it('keeps apart the pairs an underscore-joined name would confuse', () => {
    expect(queueNameFor('tenant', { tenantId: 'a_b', userId: 'c' })).not.toBe(queueNameFor('tenant', { tenantId: 'a', userId: 'b_c' }));
    expect(queueNameFor('tenant', { tenantId: 'a.user.b', userId: 'c' })).not.toBe(
      queueNameFor('tenant', { tenantId: 'a', userId: 'b.user.c' }),
    );
    expect(queueNameFor('tenant', { tenantId: 'a.user.b', userId: 'c' })).toBe('tenant.a%2Euser%2Eb.user.c.updates');
  });

  it('refuses a queue name over AMQP’s 255 bytes with a clear error', () => {
    expect(() => queueNameFor('tenant', { tenantId: 't', userId: 'x'.repeat(250) })).toThrow(/255/);
    expect(() => queueNameFor('seed', { tenantId: 't', userId: 'я'.repeat(130) })).toThrow(/bytes/);
  });

  it('does not take other names for tenant queue names', () => {
    expect(parseTenantQueueName('user_carl_updates')).toBeNull();
    expect(parseTenantQueueName('tenant.a.b.user.c.updates')).toBeNull();
  });
});

describe('parseRoutingKeyScope', () => {
  it('knows the two scopes and nothing else', () => {
    expect(parseRoutingKeyScope('seed')).toBe('seed');
    expect(parseRoutingKeyScope('tenant')).toBe('tenant');
    expect(parseRoutingKeyScope('Tenant')).toBeNull();
  });
});
