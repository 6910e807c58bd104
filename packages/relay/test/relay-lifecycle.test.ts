/**
 * The relay's lifecycle under real processes: a graceful stop in the middle of a large backlog, and a
 * rolling restart that changes RELAY_PARTITIONS.
 */
import { capabilities, waitFor } from '@chat3/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { createRelayFixture, expectGaplessSeqs, firstArrivalsByUser, makeUpdate, type RelayFixture } from './harness';

let fx: RelayFixture | undefined;

afterEach(async () => {
  await fx?.cleanUp();
  fx = undefined;
});

/**
 * Numbering costs one more write per page; FerretDB runs each of its updates as a statement of its own
 * (~10-30 ms on this machine), so on the stand-in these drains take longer than the default timeout.
 */
const onMongo = (await capabilities()).server === 'mongodb';
const DRAIN_TIMEOUT_MS = onMongo ? 120_000 : 360_000;
/** The stop test's backlog per recipient: 60 on MongoDB; 20 on the stand-in, where numbering and marking scan the collection. */
const BACKLOG_PER_RECIPIENT = onMongo ? 60 : 20;

const recipients = (n: number) => Array.from({ length: n }, (_, i) => `user_${i}`);
const traffic = (count: number, users: string[], from = 0) =>
  Array.from({ length: count }, (_, i) => makeUpdate(users[i % users.length]!, from + i));

describe('relay lifecycle', () => {
  it(
    'stops within SHUTDOWN_TIMEOUT_MS in the middle of a large backlog and hands its leases back',
    async () => {
      const f = (fx = await createRelayFixture('rstop'));
      const docs = traffic(50 * BACKLOG_PER_RECIPIENT, recipients(50));
      await f.insert(docs);
      const relay = f.startRelay({ RELAY_BATCH_SIZE: '100', SHUTDOWN_TIMEOUT_MS: '4000' });
      await waitFor(async () => (await f.updates.countDocuments({ published: true })) >= 200, { timeoutMs: 120_000, message: 'draining' });
      relay.kill('SIGTERM');
      const { code } = await relay.exited;
      expect(code).toBe(0);
      expect(relay.entries().some((e) => e.msg === 'lease released' && e.reason === 'shutdown')).toBe(true);
      expect(await f.updates.countDocuments({ published: false })).toBeGreaterThan(0);
      const held = await f.database.db.collection('leases').countDocuments({ kind: 'lease', owner: { $ne: null } });
      expect(held).toBe(0);

      const next = f.startRelay();
      await f.started(next);
      await f.waitAllPublished(300_000);
      // The next relay numbers on from the counters the stopped one left: every recipient 1..N, no gap.
      expect([...(await expectGaplessSeqs(f)).values()]).toEqual(Array.from({ length: 50 }, () => BACKLOG_PER_RECIPIENT));
    },
    DRAIN_TIMEOUT_MS,
  );

  it(
    'changes RELAY_PARTITIONS in a rolling restart: every relay follows, nothing is lost or reordered',
    async () => {
      const f = (fx = await createRelayFixture('rlayout'));
      const users = recipients(24);
      const first = traffic(300, users);
      await f.insert(first);
      const a = f.startRelay({ RELAY_PARTITIONS: '4' });
      const b = f.startRelay({ RELAY_PARTITIONS: '4' });
      await Promise.all([f.started(a), f.started(b)]);
      await f.waitReceived(
        first.map((d) => d._id),
        60_000,
      );

      const c = f.startRelay({ RELAY_PARTITIONS: '2' });
      await f.started(c);
      const during = traffic(300, users, 1_000);
      await f.insert(during);
      for (const old of [a, b])
        await old.waitForLog((e) => e.msg === 'relay partition layout changed; handing back the old partitions', 30_000);
      await a.stop();
      const d = f.startRelay({ RELAY_PARTITIONS: '2' });
      await f.started(d);
      await b.stop();
      const after = traffic(300, users, 2_000);
      await f.insert(after);
      await f.waitReceived(
        [...during, ...after].map((x) => x._id),
        120_000,
      );
      await f.waitAllPublished(60_000);

      for (const [, createdAts] of firstArrivalsByUser(f.collector.messages))
        expect(createdAts).toEqual([...createdAts].sort((x, y) => x - y));
      const leases = f.database.db.collection('leases');
      expect(await leases.countDocuments({ group: 'relay', kind: 'lease' })).toBe(0); // the 4-partition layout is retired
      expect(await leases.findOne({ _id: 'relay:layout' as never })).toMatchObject({ version: 2, partitions: 2 });
      expect(await f.metric(c, 'chat3_relay_layout_partitions')).toBe(2);
      // Recipients moved between relays and partitions; their sequences went on unbroken.
      const perUser = new Map<string, number>();
      for (const x of [...first, ...during, ...after]) perUser.set(`tnt_test/${x.userId}`, (perUser.get(`tnt_test/${x.userId}`) ?? 0) + 1);
      expect(await expectGaplessSeqs(f)).toEqual(perUser);
    },
    DRAIN_TIMEOUT_MS,
  );
});
