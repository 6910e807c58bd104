import { describe, expect, it } from 'vitest';
import { RETIRED_UPDATE_INDEXES, UPDATE_INDEXES } from './update-indexes';

/** The key `updates` can be sharded on (README, Sharding `updates`). */
const SHARD_KEY = ['tenantId', 'userId'];

describe('UPDATE_INDEXES', () => {
  it('starts every unique index with the shard key {tenantId, userId}, as a sharded collection requires', () => {
    const unique = UPDATE_INDEXES.filter((i) => i.unique);
    expect(unique.map((i) => i.name).sort()).toEqual(['idempotency_v3', 'recipient_seq']);
    for (const index of unique) expect(Object.keys(index.key).slice(0, SHARD_KEY.length)).toEqual(SHARD_KEY);
  });

  it('keys idempotency on the same fields as idempotency_v2, so uniqueness is unchanged', () => {
    const v3 = UPDATE_INDEXES.find((i) => i.name === 'idempotency_v3')!;
    expect(Object.keys(v3.key).sort()).toEqual(['eventId', 'statsVersion', 'tenantId', 'updateType', 'userId']);
    expect(v3.partialFilterExpression).toBeUndefined();
  });

  it('retires the earlier idempotency indexes and none it still creates', () => {
    expect(RETIRED_UPDATE_INDEXES).toEqual(['idempotency', 'idempotency_v2']);
    for (const name of RETIRED_UPDATE_INDEXES) expect(UPDATE_INDEXES.map((i) => i.name)).not.toContain(name);
  });
});
