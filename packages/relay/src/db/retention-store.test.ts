/** The retention index, its collMod and the deleter's filters, as MongoDB needs them (no server). */
import pino from 'pino';
import { ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import {
  deleteExpiredFilter,
  ensureRetentionIndex,
  expiredFilter,
  publishedSet,
  RETAINED_FILTER,
  retentionCollMod,
  retentionIndexSpec,
  type RetentionIndexTarget,
} from './retention-store';

const logger = pino({ level: 'silent' });

describe('the TTL index', () => {
  it('is a single-field ascending index on the Date field, expiring after the retention in seconds', () => {
    expect(retentionIndexSpec(604_800)).toEqual({ name: 'published_expiry', key: { publishedDate: 1 }, expireAfterSeconds: 604_800 });
  });

  it('is changed in place by collMod naming the index by its key pattern', () => {
    expect(retentionCollMod('updates', 3_600)).toEqual({
      collMod: 'updates',
      index: { keyPattern: { publishedDate: 1 }, expireAfterSeconds: 3_600 },
    });
  });

  it('marks published with a Date equal to publishedAt, in the same $set', () => {
    const set = publishedSet(1_800_000_000_123);
    expect(set).toEqual({ published: true, publishedAt: 1_800_000_000_123, publishedDate: new Date(1_800_000_000_123) });
    expect(set.publishedDate).toBeInstanceOf(Date);
  });
});

describe('the deleter filters', () => {
  const cutoff = new Date(1_800_000_000_000);
  it('select by the Date field only (missing on unpublished, parked and put-back Updates, so never matched)', () => {
    expect(expiredFilter(cutoff)).toEqual({ publishedDate: { $lt: cutoff } });
    expect(RETAINED_FILTER).toEqual({ publishedDate: { $gte: new Date(0) } });
  });

  it('delete the ids found AND only while still expired', () => {
    const ids = [new ObjectId(), new ObjectId()];
    expect(deleteExpiredFilter(ids, cutoff)).toEqual({ _id: { $in: ids }, publishedDate: { $lt: cutoff } });
  });
});

/** A collection and db that record calls; `ttl: false` answers like FerretDB (238), `ignores` keeps no expiry. */
function fakeServer(indexes: Array<Record<string, unknown>>, behaviour: { ttl: boolean; ignores?: boolean }) {
  const calls: unknown[][] = [];
  const notImplemented = Object.assign(new Error('not implemented'), { code: 238 });
  const target = {
    collection: {
      collectionName: 'updates',
      listIndexes: () => ({ toArray: async () => indexes.map((i) => ({ ...i })) }),
      async createIndex(key: unknown, options: { name: string; expireAfterSeconds?: number }) {
        calls.push(['createIndex', key, options]);
        if (options.expireAfterSeconds !== undefined && !behaviour.ttl) throw notImplemented;
        const { expireAfterSeconds, ...rest } = options;
        indexes.push({ key, ...rest, ...(behaviour.ignores || expireAfterSeconds === undefined ? {} : { expireAfterSeconds }) });
        return options.name;
      },
      async dropIndex(name: string) {
        calls.push(['dropIndex', name]);
        indexes.splice(
          indexes.findIndex((i) => i.name === name),
          1,
        );
      },
    },
    db: {
      async command(command: { index: { keyPattern: unknown; expireAfterSeconds: number } }) {
        calls.push(['command', command]);
        if (!behaviour.ttl) throw notImplemented;
        const key = JSON.stringify(command.index.keyPattern);
        indexes.find((i) => JSON.stringify(i.key) === key)!.expireAfterSeconds = command.index.expireAfterSeconds;
        return { ok: 1 };
      },
    },
  } as unknown as RetentionIndexTarget;
  return { target, calls, indexes };
}

describe('ensureRetentionIndex', () => {
  it('creates the TTL index where the server has them', async () => {
    const server = fakeServer([], { ttl: true });
    expect(await ensureRetentionIndex(server.target, 3_600, logger)).toBe('ttl');
    expect(server.calls).toEqual([['createIndex', { publishedDate: 1 }, { name: 'published_expiry', expireAfterSeconds: 3_600 }]]);
  });

  it('leaves an index with the same retention alone, and changes another retention with collMod', async () => {
    const server = fakeServer([{ name: 'published_expiry', key: { publishedDate: 1 }, expireAfterSeconds: 3_600 }], { ttl: true });
    expect(await ensureRetentionIndex(server.target, 3_600, logger)).toBe('ttl');
    expect(server.calls).toEqual([]);
    expect(await ensureRetentionIndex(server.target, 86_400, logger)).toBe('ttl');
    expect(server.calls).toEqual([['command', retentionCollMod('updates', 86_400)]]);
    expect(server.indexes[0]).toMatchObject({ expireAfterSeconds: 86_400 });
  });

  it('drops the index at retention 0', async () => {
    const server = fakeServer([{ name: 'published_expiry', key: { publishedDate: 1 }, expireAfterSeconds: 3_600 }], { ttl: true });
    expect(await ensureRetentionIndex(server.target, 0, logger)).toBe('off');
    expect(server.calls).toEqual([['dropIndex', 'published_expiry']]);
    expect(await ensureRetentionIndex(server.target, 0, logger)).toBe('off');
    expect(server.calls).toHaveLength(1);
  });

  it('falls back to a plain index and the deleter where the server answers 238', async () => {
    const server = fakeServer([], { ttl: false });
    expect(await ensureRetentionIndex(server.target, 3_600, logger)).toBe('deleter');
    expect(server.calls.at(-1)).toEqual(['createIndex', { publishedDate: 1 }, { name: 'published_expiry' }]);
    // Next start: the plain index exists; collMod is refused the same way.
    expect(await ensureRetentionIndex(server.target, 3_600, logger)).toBe('deleter');
    expect(server.calls.at(-1)).toEqual(['command', retentionCollMod('updates', 3_600)]);
    expect(server.indexes).toHaveLength(1);
  });

  it('uses the deleter when the server accepts the option but does not keep it', async () => {
    const server = fakeServer([], { ttl: true, ignores: true });
    expect(await ensureRetentionIndex(server.target, 3_600, logger)).toBe('deleter');
  });
});
