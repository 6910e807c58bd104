import { MongoBulkWriteError, ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { isTransient } from './apply-writes';
import { MemoryReadModel } from './memory-read-model';
import { deleteRow, groupByCollection, insertRow, memberKey, rowObjectId, setFields, toBulkOperation, userKey } from './read-model-writes';

const member = (userId: string, unreadCount = 0) => ({
  tenantId: 't',
  dialogId: 'dlg_1',
  userId,
  meta: {},
  unreadCount,
  lastSeenAt: null,
  lastMessageAt: null,
  isActive: true,
  createdAt: 1,
});

describe('read-model writes', () => {
  it('address every row by an _id derived from its key alone, whatever the field order', () => {
    const a = rowObjectId('users', { tenantId: 't', userId: 'carl' });
    expect(a).toBeInstanceOf(ObjectId);
    expect(rowObjectId('users', { userId: 'carl', tenantId: 't' }).equals(a)).toBe(true);
    expect(rowObjectId('users', { tenantId: 't2', userId: 'carl' }).equals(a)).toBe(false);
    expect(rowObjectId('dialogs', { tenantId: 't', userId: 'carl' }).equals(a)).toBe(false);
  });

  it('become single-row MongoDB operations by _id, with copies of the documents', () => {
    const row = { tenantId: 't', userId: 'carl', type: 'user', name: 'Carl', meta: {}, createdAt: 1 };
    const id = rowObjectId('users', userKey(row));
    const insert = toBulkOperation(insertRow('users', row));
    expect(insert).toEqual({ insertOne: { document: { _id: id, ...row } } });
    expect((insert as { insertOne: { document: object } }).insertOne.document).not.toBe(row);
    expect(toBulkOperation(setFields('users', userKey(row), { name: 'C' }))).toEqual({
      updateOne: { filter: { _id: id }, update: { $set: { name: 'C' } } },
    });
    expect(toBulkOperation(deleteRow('users', userKey(row)))).toEqual({ deleteOne: { filter: { _id: id } } });
  });

  it('group by collection keeping the order within each', () => {
    const w1 = insertRow('dialogMembers', member('a'));
    const w2 = setFields('users', { tenantId: 't', userId: 'a' }, { name: 'x' });
    const w3 = setFields('dialogMembers', memberKey(member('a')), { unreadCount: 1 });
    expect([...groupByCollection([w1, w2, w3])]).toEqual([
      ['dialogMembers', [w1, w3]],
      ['users', [w2]],
    ]);
  });
});

describe('isTransient', () => {
  it('retries lost connections, including those a bulk write wraps, but not rejected writes', () => {
    const lost = new MongoBulkWriteError({ message: 'connection 2 to 127.0.0.1:27017 closed', code: 0 } as never, {} as never);
    expect(isTransient(lost)).toBe(true);
    expect(isTransient(Object.assign(new Error('x'), { name: 'MongoServerSelectionError' }))).toBe(true);
    const writeError = { code: 11000, index: 0, errmsg: 'dup' } as never;
    const duplicate = new MongoBulkWriteError({ message: 'E11000', code: 11000, writeErrors: [writeError] }, {} as never);
    expect(isTransient(duplicate)).toBe(false);
    expect(isTransient(new Error('validation failed'))).toBe(false);
  });
});

describe('MemoryReadModel', () => {
  it('replays inserts, sets and deletes like MongoDB would', () => {
    const model = new MemoryReadModel().apply([
      insertRow('dialogMembers', member('a')),
      insertRow('dialogMembers', member('b', 2)),
      setFields('dialogMembers', memberKey(member('a')), { unreadCount: 1, lastMessageAt: 9 }),
      setFields('dialogMembers', memberKey(member('b')), { unreadCount: 0, lastSeenAt: 10, lastMessageAt: 9 }),
      setFields('dialogMembers', memberKey(member('gone')), { unreadCount: 5 }),
      insertRow('users', { tenantId: 't', userId: 'a' }),
      deleteRow('users', { tenantId: 't', userId: 'a' }),
    ]);
    expect(model.rows('dialogMembers').map((m) => [m.userId, m.unreadCount, m.lastMessageAt, m.lastSeenAt])).toEqual([
      ['a', 1, 9, null],
      ['b', 0, 9, 10],
    ]);
    expect(model.rows('users')).toEqual([]);
    expect(model.view().members('t', 'dlg_1')).toHaveLength(2);
  });

  it('skips an insert whose row exists, as applyWrites skips the duplicate key', () => {
    const model = new MemoryReadModel().apply([insertRow('dialogMembers', member('a', 3)), insertRow('dialogMembers', member('a', 0))]);
    expect(model.rows('dialogMembers').map((m) => m.unreadCount)).toEqual([3]);
  });

  it('keeps copies: changing a write after applying it changes nothing', () => {
    const write = insertRow('users', { tenantId: 't', userId: 'a', meta: { x: 1 } });
    const model = new MemoryReadModel().apply([write]);
    (write as unknown as { row: { meta: { x: number } } }).row.meta.x = 2;
    expect(model.rows('users')[0]?.meta).toEqual({ x: 1 });
  });
});
