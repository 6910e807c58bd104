/**
 * The builder under real faults: SIGKILL in the middle of a stream of events, and two builders
 * sharing the partitions (and one of them dying). Runs alone (vitest.serial.config.ts): its thousands of
 * Updates, written and read back on the stand-in, starve next to the relay's fault tests.
 */
import { capabilities, waitFor, type ManagedProcess } from '@chat3/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { QUEUE_TYPES } from '../src/index';
import { createBuilderFixture, event, type BuilderFixture, type EventBody } from './harness';

let fx: BuilderFixture | undefined;

/**
 * Events queued before the killed builder starts (5 Updates each). It is killed at its first written
 * batch of 100, so most are still to come either way; the stand-in, far slower to write and read, gets
 * half as many.
 */
const KILL_EVENTS = (await capabilities()).server === 'mongodb' ? 3_000 : 1_500;

afterEach(async () => {
  await fx?.cleanUp();
  fx = undefined;
});

/** `dialogs` dialogs of `size` members each; returns every (dialogId, members). */
async function seedDialogs(f: BuilderFixture, dialogs: number, size: number) {
  const all: Array<{ dialogId: string; members: string[] }> = [];
  for (let d = 0; d < dialogs; d++) {
    const members = Array.from({ length: size }, (_, i) => `u${(d * 3 + i) % (dialogs * 2)}`);
    const dialogId = `dlg_${d}`;
    await f.seedDialog(dialogId, [...new Set(members)]);
    all.push({ dialogId, members: [...new Set(members)] });
  }
  return all;
}

/** message.update events (no stats), round-robin over the dialogs, each naming its sequence number. */
function trafficFor(dialogs: Array<{ dialogId: string; members: string[] }>, count: number): EventBody[] {
  return Array.from({ length: count }, (_, i) => {
    const { dialogId } = dialogs[i % dialogs.length]!;
    return event('message.update', `msg_${i}`, {
      message: { messageId: `msg_${i}`, dialogId, senderId: 'u0', type: 'internal.text', content: `#${i}`, meta: { seq: i } },
    });
  });
}

function expectedUpdates(dialogs: Array<{ dialogId: string; members: string[] }>, events: EventBody[]): number {
  const size = new Map(dialogs.map((d) => [d.dialogId, d.members.length]));
  return events.reduce((n, e) => n + size.get((e.data.message as { dialogId: string }).dialogId)!, 0);
}

async function expectExactlyOnce(f: BuilderFixture, dialogs: Array<{ dialogId: string; members: string[] }>, events: EventBody[]) {
  const members = new Map(dialogs.map((d) => [d.dialogId, d.members]));
  const seen = new Map<string, number>();
  for await (const u of f.updates.find({}, { projection: { eventId: 1, userId: 1, updateType: 1 } })) {
    const key = `${u.eventId}|${u.userId}|${u.updateType}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  const missing: string[] = [];
  for (const e of events) {
    for (const userId of members.get((e.data.message as { dialogId: string }).dialogId)!) {
      const key = `${e.eventId}|${userId}|MessageUpdate`;
      if (seen.get(key) !== 1) missing.push(`${key} ×${seen.get(key) ?? 0}`);
    }
  }
  expect(missing).toEqual([]);
  expect([...seen.values()].every((n) => n === 1)).toBe(true);
}

/** `chat3_builder_events_built_total` from a builder's /metrics. */
async function builtCount(proc: ManagedProcess): Promise<number> {
  const { entry } = await proc.waitForLog((e) => e.msg === 'ops server listening', 10_000);
  const text = await (await fetch(`http://127.0.0.1:${entry!.port}/metrics`)).text();
  return Number(/^chat3_builder_events_built_total (\d+)/m.exec(text)?.[1] ?? 0);
}

describe('builder faults', () => {
  it('a builder killed mid-batch and restarted writes every event’s Updates exactly once', async () => {
    const f = (fx = await createBuilderFixture('bkill'));
    const dialogs = await seedDialogs(f, 20, 5);
    const events = trafficFor(dialogs, KILL_EVENTS);
    const expected = expectedUpdates(dialogs, events);

    // The whole backlog is queued before the builder starts, so it cannot finish before the kill lands.
    await f.declareIntake();
    for (const e of events) await f.publish(e, 'message.update.tnt_test');
    // A short lease, so the restarted builder takes the killed one's partitions over in seconds.
    const first = f.startBuilder({ BUILDER_BATCH_SIZE: '100', LEASE_TTL_MS: '3000' });
    await f.started(first);
    // Kill it while it is writing: as soon as the first batch landed, so most batches are still to come.
    await waitFor(async () => (await f.updates.countDocuments({})) > 0, { timeoutMs: 60_000, intervalMs: 5, message: 'first Updates' });
    first.kill('SIGKILL');
    const { signal } = await first.exited;
    expect(signal).toBe('SIGKILL');
    const atKill = await f.updates.countDocuments({});
    expect(atKill).toBeLessThan(expected);

    await f.started(f.startBuilder({ BUILDER_BATCH_SIZE: '100', LEASE_TTL_MS: '3000' }));
    await f.waitForUpdates({}, expected, 180_000);
    await expectExactlyOnce(f, dialogs, events);
    // Up to 15 000 Updates written and read back: ~45 s on a quiet machine over FerretDB (7 500 there),
    // which writes and reads far slower than MongoDB; several times that when the machine is busy.
  }, 240_000);

  it.each(QUEUE_TYPES)('two builders share the %s partitions without duplicates and keep each dialog’s order', async (queueType) => {
    const f = (fx = await createBuilderFixture('btwo', { queueType }));
    const dialogs = await seedDialogs(f, 12, 4);
    // Leases long enough to outlive a busy machine's scheduling delays: a lease that lapses mid-stream
    // hands its partition over, and the redelivered events are built again (idempotently), which the
    // exact per-builder counts below would count twice.
    const lease = { LEASE_TTL_MS: '10000' };
    const a = f.startBuilder(lease);
    const b = f.startBuilder(lease);
    await Promise.all([f.started(a), f.started(b)]);
    const leases = f.database.db.collection('leases');
    const owners = await waitFor(
      async () => {
        const docs = await leases.find({ kind: 'lease', owner: { $ne: null }, expiresAt: { $gt: Date.now() } }).toArray();
        const counts = new Map<string, number>();
        for (const d of docs) counts.set(d.owner, (counts.get(d.owner) ?? 0) + 1);
        return counts.size === 2 && [...counts.values()].every((n) => n === 2) ? counts : undefined;
      },
      { timeoutMs: 30_000, message: 'both builders holding two of the four partitions' },
    );
    expect(owners.size).toBe(2);

    const events = trafficFor(dialogs, 600);
    for (const e of events) await f.publish(e, 'message.update.tnt_test');
    await f.waitForUpdates({}, expectedUpdates(dialogs, events), 120_000);
    await expectExactlyOnce(f, dialogs, events);

    // Both did some of the work.
    const built = await Promise.all([a, b].map((p) => builtCount(p)));
    expect(
      built.every((n) => n > 0),
      `events built per builder: ${built}`,
    ).toBe(true);
    expect(built[0]! + built[1]!).toBe(events.length);

    // Per recipient and dialog, Updates were written in event order.
    const rows = await f.updates.find({}, { projection: { userId: 1, dialogId: 1, createdAt: 1, 'data.message.meta.seq': 1 } }).toArray();
    const byStream = new Map<string, Array<{ createdAt: number; seq: number }>>();
    for (const r of rows) {
      const key = `${r.userId}|${r.dialogId}`;
      byStream.set(key, [...(byStream.get(key) ?? []), { createdAt: r.createdAt, seq: r.data.message.meta.seq }]);
    }
    for (const [stream, list] of byStream) {
      const seqs = list.sort((x, y) => x.createdAt - y.createdAt).map((x) => x.seq);
      expect(seqs, stream).toEqual([...seqs].sort((x, y) => x - y));
    }

    // One dies: the other takes its partitions over and keeps building.
    b.kill('SIGKILL');
    await b.exited;
    const more = trafficFor(dialogs, 120).map((e) => ({ ...e, entityId: `${e.entityId}_late` }));
    for (const e of more) await f.publish(e, 'message.update.tnt_test');
    await f.waitForUpdates({}, expectedUpdates(dialogs, [...events, ...more]), 60_000);
    expect(await builtCount(a)).toBe(events.length + more.length - built[1]!);
  });
});
