/**
 * The relay under real faults: SIGKILL while draining, the broker closing its connections, a second
 * relay dying and its partitions taken over.
 */
import { capabilities, closeBrokerConnectionsOf, waitFor } from '@chat3/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { createRelayFixture, expectGaplessSeqs, firstArrivalsByUser, makeUpdate, type RelayFixture } from './harness';

let fx: RelayFixture | undefined;

afterEach(async () => {
  await fx?.cleanUp();
  fx = undefined;
});

const caps = await capabilities();
/**
 * The issue asks for 50 000. FerretDB scans the whole collection for every document an update touches
 * (marking 500 of 20 000 takes ~4 s), and numbering a page is one more such statement per Update, so on
 * the stand-in the same test runs with 1 000.
 */
const DRAIN = caps.server === 'mongodb' ? 50_000 : 1_000;
/** The other fault tests' traffic: the same on MongoDB, scaled to the stand-in's pace like DRAIN. */
const SIZE = (onMongo: number, onStandIn: number) => (caps.server === 'mongodb' ? onMongo : onStandIn);
if (DRAIN < 50_000) {
  process.stderr.write(
    `NOTE: relay crash test drains ${DRAIN} Updates instead of 50 000 on ${caps.server} (updates scan the collection)\n`,
  );
}

const WINDOW = 400;

/**
 * Numbering costs one more write per page; FerretDB runs each of its updates as a statement of its own
 * (~10-30 ms on this machine), so on the stand-in these drains take longer than the default timeout.
 */
const DRAIN_TIMEOUT_MS = caps.server === 'mongodb' ? 120_000 : 600_000;
/** How long the rest of a drain may take after a fault (on the stand-in: as above). */
const DRAIN_WAIT_MS = caps.server === 'mongodb' ? 120_000 : 400_000;

function recipients(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `user_${i}`);
}

function traffic(count: number, users: string[]) {
  return Array.from({ length: count }, (_, i) => makeUpdate(users[i % users.length]!, i));
}

function countById(messages: Array<{ properties: { messageId: string } }>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of messages) counts.set(m.properties.messageId, (counts.get(m.properties.messageId) ?? 0) + 1);
  return counts;
}

describe('relay faults', () => {
  it(
    `SIGKILL while draining ${DRAIN} Updates, then restart: all published, duplicates within one window`,
    async () => {
      const f = (fx = await createRelayFixture('rkill'));
      const docs = traffic(DRAIN, recipients(200));
      await f.insert(docs);
      const settings = { RELAY_WINDOW: String(WINDOW), RELAY_BATCH_SIZE: String(WINDOW / 2) };
      const first = f.startRelay(settings);
      await waitFor(async () => (await f.updates.countDocuments({ published: true })) >= DRAIN / 5, {
        timeoutMs: 300_000,
        message: 'a fifth of the backlog published',
      });
      first.kill('SIGKILL');
      await first.exited;
      expect(await f.updates.countDocuments({ published: false })).toBeGreaterThan(0);

      f.startRelay({ ...settings, LEASE_TTL_MS: '1500' });
      await f.waitAllPublished(600_000);
      await f.waitReceived(
        docs.map((d) => d._id),
        60_000,
      );
      const duplicates = [...countById(f.collector.messages).values()].reduce((n, c) => n + c - 1, 0);
      expect(duplicates).toBeLessThanOrEqual(WINDOW);
      // The restarted relay numbers on from where the killed one stopped: no gap, none twice.
      const last = await expectGaplessSeqs(f);
      expect([...last.values()].reduce((a, b) => a + b, 0)).toBe(DRAIN);
    },
    DRAIN_TIMEOUT_MS,
  );

  it(
    'recovers when the broker closes its connections mid-drain, and loses nothing',
    async () => {
      const f = (fx = await createRelayFixture('rclose'));
      const docs = traffic(SIZE(1_500, 600), recipients(50));
      const relay = f.startRelay({ RELAY_BATCH_SIZE: '100' });
      await f.started(relay);
      await f.insert(docs);
      await waitFor(() => f.collector.messages.length > 100, { timeoutMs: DRAIN_WAIT_MS, message: 'publishing started' });
      const closed = await closeBrokerConnectionsOf(relay.pid, 'chat3 test: broker closes the relay');
      expect(closed).toBeGreaterThan(0);
      await relay.waitForLog((e) => e.msg === 'rabbitmq connection lost; reconnecting', 10_000);
      await relay.waitForLog(
        (e) => e.msg === 'rabbitmq connected' && relay.entries().filter((x) => x.msg === 'rabbitmq connected').length >= 2,
        30_000,
      );
      await f.waitAllPublished(DRAIN_WAIT_MS);
      await f.waitReceived(
        docs.map((d) => d._id),
        30_000,
      );
      expect([...(await expectGaplessSeqs(f)).values()]).toEqual(Array.from({ length: 50 }, () => docs.length / 50));
    },
    DRAIN_TIMEOUT_MS,
  );

  it(
    'when one of two relays dies, the other takes its partitions over and keeps each recipient in order',
    async () => {
      const f = (fx = await createRelayFixture('rtwo'));
      const settings = { RELAY_PARTITIONS: '8', LEASE_TTL_MS: '2000' };
      const a = f.startRelay(settings);
      const b = f.startRelay(settings);
      await Promise.all([f.started(a), f.started(b)]);
      const leases = f.database.db.collection('leases');
      await waitFor(
        async () => {
          const owners = await leases.distinct('owner', { kind: 'lease', group: 'relay', expiresAt: { $gt: Date.now() } });
          return owners.filter(Boolean).length === 2;
        },
        { timeoutMs: 30_000, message: 'both relays holding partitions' },
      );

      const users = recipients(40);
      const docs = traffic(SIZE(2_000, 800), users);
      const feeding = (async () => {
        for (let i = 0; i < docs.length; i += 100) await f.insert(docs.slice(i, i + 100));
      })();
      await waitFor(() => f.collector.messages.length > 300, { timeoutMs: DRAIN_WAIT_MS, message: 'publishing started' });
      b.kill('SIGKILL');
      await b.exited;
      await feeding;

      await waitFor(
        async () =>
          (await leases.countDocuments({ kind: 'lease', group: 'relay', owner: { $ne: null }, expiresAt: { $gt: Date.now() } })) === 8 &&
          (await leases.distinct('owner', { kind: 'lease', group: 'relay', expiresAt: { $gt: Date.now() } })).filter(Boolean).length === 1,
        { timeoutMs: 30_000, message: 'the survivor holding all 8 partitions' },
      );
      await f.waitAllPublished(DRAIN_WAIT_MS);
      await f.waitReceived(
        docs.map((d) => d._id),
        30_000,
      );
      for (const [user, createdAt] of firstArrivalsByUser(f.collector.messages)) {
        expect(createdAt, user).toEqual([...createdAt].sort((x, y) => x - y));
      }
      // The survivor numbers the dead relay's recipients on from their last seq.
      expect([...(await expectGaplessSeqs(f)).values()]).toEqual(Array.from({ length: 40 }, () => docs.length / 40));
    },
    DRAIN_TIMEOUT_MS,
  );
});
