/**
 * The relay against the real RabbitMQ and the real MongoDB-compatible server: what it publishes, in
 * which order, what it marks, and what it does with Updates it cannot publish.
 */
import { waitFor } from '@chat3/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRelayFixture, expectGaplessSeqs, firstArrivalsByUser, makeUpdate, type RelayFixture } from './harness';

let fx: RelayFixture;
let relay: ReturnType<RelayFixture['startRelay']>;

beforeAll(async () => {
  fx = await createRelayFixture('relay');
  // A small page, so the re-publish test below re-publishes more than one page of Updates.
  relay = fx.startRelay({ RELAY_MAX_MESSAGE_BYTES: '65536', RELAY_BATCH_SIZE: '50' });
  await fx.started(relay);
});

afterAll(async () => {
  await fx?.cleanUp();
});

describe('relay', () => {
  it('publishes an Update with the documented body and properties, then marks it published', async () => {
    const doc = makeUpdate('carl', 1);
    await fx.insert([doc]);
    await fx.waitReceived([doc._id], 30_000);
    const msg = fx.collector.messages.find((m) => m.properties.messageId === doc._id.toHexString())!;
    expect(msg.routingKey).toBe('update.dialog.user.carl.messageupdate');
    expect(msg.properties).toMatchObject({
      contentType: 'application/json',
      deliveryMode: 2,
      messageId: doc._id.toHexString(),
      type: 'MessageUpdate',
      timestamp: Math.floor(doc.createdAt / 1000),
      headers: { tenantId: 'tnt_test', userId: 'carl', eventType: 'message.create', eventId: doc.eventId, 'x-chat3-seq': 1 },
    });
    expect(msg.body).toEqual({
      _id: doc._id.toHexString(),
      tenantId: 'tnt_test',
      userId: 'carl',
      userType: 'user',
      entityId: 'dlg_1',
      eventId: doc.eventId,
      eventType: 'message.create',
      dialogId: 'dlg_1',
      updateType: 'MessageUpdate',
      routingKey: doc.routingKey,
      data: doc.data,
      createdAt: doc.createdAt,
      seq: 1,
    });
    await fx.waitAllPublished(10_000);
    const stored = await fx.updates.findOne({ _id: doc._id });
    expect(stored?.published).toBe(true);
    expect(stored?.seq).toBe(1);
    expect(stored?.publishedAt).toBeGreaterThanOrEqual(doc.createdAt);
  });

  it('sends the Update’s traceparent as the AMQP header of that name', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const traced = makeUpdate('tara', 1, { traceparent });
    const plain = makeUpdate('tara', 2);
    await fx.insert([traced, plain]);
    await fx.waitReceived([traced._id, plain._id], 30_000);
    const headers = (id: string) => fx.collector.messages.find((m) => m.properties.messageId === id)!.properties.headers;
    expect(headers(traced._id.toHexString())).toMatchObject({ traceparent });
    expect(headers(plain._id.toHexString())).not.toHaveProperty('traceparent');
  });

  it('publishes each recipient’s Updates in createdAt order while they keep arriving', async () => {
    // As the builder writes them: interleaved recipients, createdAt increasing, in several batches.
    const docs = Array.from({ length: 120 }, (_, i) => makeUpdate(['dana', 'erin', 'finn'][i % 3]!, i));
    for (let i = 0; i < docs.length; i += 15) await fx.insert(docs.slice(i, i + 15));
    await fx.waitReceived(
      docs.map((d) => d._id),
      30_000,
    );
    const arrivals = firstArrivalsByUser(fx.collector.messages.filter((m) => ['dana', 'erin', 'finn'].includes(m.body.userId)));
    for (const [user, createdAt] of arrivals) expect(createdAt, user).toEqual([...createdAt].sort((a, b) => a - b));
    // Numbered in the same order: each recipient's first arrivals carry 1, 2, 3…
    for (const user of ['dana', 'erin', 'finn']) {
      const seqs = fx.collector.messages.filter((m) => m.body.userId === user).map((m) => m.body.seq);
      expect([...new Set(seqs)], user).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    }
  });

  it('publishes again what an operator re-publishes while it runs (pnpm republish), then carries on', async () => {
    const docs = Array.from({ length: 120 }, (_, i) => makeUpdate('ivan', i));
    await fx.insert(docs);
    await fx.waitReceived(
      docs.map((d) => d._id),
      30_000,
    );
    await fx.waitAllPublished(10_000);

    const replay = JSON.parse(await fx.republish(['--user', 'ivan', '--rate', '2000', '--operator', 'test']));
    expect(replay).toEqual({ replayId: expect.stringMatching(/^rpl_/), status: 'done', done: 120, selected: 120 });
    const after = makeUpdate('jill', 1);
    await fx.insert([after]);

    const copies = (id: string) => fx.collector.messages.filter((m) => m.properties.messageId === id).length;
    await waitFor(() => docs.every((d) => copies(d._id.toHexString()) >= 2), {
      timeoutMs: 30_000,
      message: 'every re-published Update sent again',
    });
    await fx.waitReceived([after._id], 30_000);
    await fx.waitAllPublished(10_000);
    const second = fx.collector.messages.filter((m) => m.body.userId === 'ivan').slice(docs.length);
    expect(second.map((m) => m.body.createdAt)).toEqual(docs.map((d) => d.createdAt));
    // Re-publishing keeps each Update's seq: the second copies carry the numbers the first did.
    const first = fx.collector.messages.filter((m) => m.body.userId === 'ivan').slice(0, docs.length);
    expect(first.map((m) => m.body.seq)).toEqual(docs.map((_, i) => i + 1));
    expect(second.map((m) => [m.body.seq, m.properties.headers['x-chat3-seq']])).toEqual(docs.map((_, i) => [i + 1, i + 1]));
    // Marked as a replay on the wire, with the same messageId; the first copies were not.
    expect(second.map((m) => m.properties.headers?.['x-chat3-replay'])).toEqual(docs.map(() => replay.replayId));
    expect(second.map((m) => m.properties.messageId)).toEqual(docs.map((d) => d._id.toHexString()));
    expect(first.every((m) => m.properties.headers?.['x-chat3-replay'] === undefined)).toBe(true);
    expect(await fx.updates.countDocuments({ userId: 'ivan', replayId: replay.replayId, republishedAt: { $type: 'number' } })).toBe(
      docs.length,
    );
  });

  it('parks an Update it can never publish, with the reason, and publishes the others', async () => {
    const longKey = makeUpdate('x'.repeat(260), 1);
    const tooBig = makeUpdate('gina', 2, {
      data: { context: { eventType: 'x', entityId: 'y', includedSections: [] }, pad: 'z'.repeat(70_000) } as never,
    });
    const fine = makeUpdate('gina', 3);
    await fx.insert([longKey, tooBig, fine]);
    await fx.waitReceived([fine._id], 30_000);
    await fx.waitAllPublished(10_000);
    const parked = await fx.updates.find({ parked: { $exists: true } }).toArray();
    expect(parked.map((p) => p._id.toHexString()).sort()).toEqual([longKey._id.toHexString(), tooBig._id.toHexString()].sort());
    expect(parked.find((p) => p._id.equals(longKey._id))?.parked.reason).toMatch(/routing key/);
    expect(parked.find((p) => p._id.equals(tooBig._id))?.parked.reason).toMatch(/body is \d+ bytes/);
    expect(parked.every((p) => p.published === false)).toBe(true);
    // Numbered before parking: the client sees gina's 2 arrive, misses 1 and fetches it by its seq.
    expect(parked.find((p) => p._id.equals(tooBig._id))?.seq).toBe(1);
    expect(parked.find((p) => p._id.equals(longKey._id))?.seq).toBe(1);
    expect(fx.collector.messages.find((m) => m.properties.messageId === fine._id.toHexString())?.body.seq).toBe(2);
    await waitFor(async () => (await fx.metric(relay, 'chat3_relay_parked')) === 2, { timeoutMs: 10_000, message: 'parked gauge at 2' });
  });

  it('numbered every recipient 1..N, with no gap and none twice, each message carrying its Update’s seq', async () => {
    await fx.waitAllPublished(10_000);
    const last = await expectGaplessSeqs(fx);
    expect(last.get('tnt_test/ivan')).toBe(120);
    expect(last.get('tnt_test/jill')).toBe(1);
  });

  it('counts Updates for recipients without a queue as unroutable, and still marks them published', async () => {
    const before = await fx.metric(relay, 'chat3_relay_unroutable_total');
    // The collector binds update.#; a second exchange-level route is not needed: bind nothing for this key.
    await fx.collector.close();
    const lonely = makeUpdate('nobody_listens', 1);
    await fx.insert([lonely]);
    await fx.waitAllPublished(30_000);
    expect(await fx.metric(relay, 'chat3_relay_unroutable_total')).toBeGreaterThan(before);
  });

  it('exposes mode, partitions, backlog and lag', async () => {
    expect(await fx.metric(relay, 'chat3_relay_owned_partitions')).toBe(4);
    const mode = await fx.metric(relay, 'chat3_relay_mode\\{mode="polling"\\}');
    const streaming = await fx.metric(relay, 'chat3_relay_mode\\{mode="change-stream"\\}');
    expect(mode + streaming).toBe(1);
    expect(await fx.metric(relay, 'chat3_relay_backlog')).toBeGreaterThanOrEqual(0);
    expect(await fx.metric(relay, 'chat3_relay_published_lag_seconds')).toBeGreaterThanOrEqual(0);
  });
});
