/**
 * How the relay finds work: a change stream where the server has them, polling where it has not, and
 * a clear refusal when change streams are demanded but missing. The change-stream tests need a replica
 * set and are gated (FerretDB answers `$changeStream` with code 238).
 */
import { capabilities, gate, waitFor } from '@chat3/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { createRelayFixture, makeUpdate, type RelayFixture } from './harness';

const caps = await capabilities();
let fx: RelayFixture | undefined;

afterEach(async () => {
  await fx?.cleanUp();
  fx = undefined;
});

describe.skipIf(
  gate(!caps.changeStreams, 'a server WITHOUT change streams', 'the polling fallback and the refusal of RELAY_MODE=change-stream'),
)('on a server without change streams', () => {
  it('auto mode says so and polls', async () => {
    const f = (fx = await createRelayFixture('rpoll'));
    const relay = f.startRelay();
    await relay.waitForLog((e) => e.msg === 'server has no change streams; polling', 30_000);
    await f.started(relay);
    expect(await f.metric(relay, 'chat3_relay_mode\\{mode="polling"\\}')).toBe(1);
    expect(await f.metric(relay, 'chat3_relay_change_streams_supported')).toBe(0);
    const doc = makeUpdate('polly', 1);
    await f.insert([doc]);
    await f.waitReceived([doc._id], 30_000);
  });

  it('RELAY_MODE=polling still probes, so chat3_relay_change_streams_supported says what the server can do', async () => {
    const f = (fx = await createRelayFixture('rforced'));
    const relay = f.startRelay({ RELAY_MODE: 'polling' });
    await f.started(relay);
    expect(await f.metric(relay, 'chat3_relay_mode\\{mode="polling"\\}')).toBe(1);
    expect(await f.metric(relay, 'chat3_relay_change_streams_supported')).toBe(0);
  });

  it('refuses to start when RELAY_MODE=change-stream is demanded', async () => {
    const f = (fx = await createRelayFixture('rdemand'));
    const relay = f.startRelay({ RELAY_MODE: 'change-stream' });
    const { code } = await relay.exited;
    expect(code).not.toBe(0);
    expect(relay.logs().join('\n')).toMatch(/RELAY_MODE=change-stream, but the server cannot/);
  });
});

describe.skipIf(
  gate(
    caps.changeStreams,
    'change streams',
    'relay change-stream tailing, resume tokens, restart catch-up and replays woken by the stream',
  ),
)('change-stream mode', () => {
  it('tails new Updates and saves the resume token on its leases after each confirmed batch', async () => {
    const f = (fx = await createRelayFixture('rstream'));
    const relay = f.startRelay({ RELAY_MODE: 'change-stream' });
    await f.started(relay);
    expect(await f.metric(relay, 'chat3_relay_mode\\{mode="change-stream"\\}')).toBe(1);
    expect(await f.metric(relay, 'chat3_relay_change_streams_supported')).toBe(1);
    const docs = Array.from({ length: 50 }, (_, i) => makeUpdate(`s${i % 5}`, i));
    await f.insert(docs);
    await f.waitReceived(
      docs.map((d) => d._id),
      30_000,
    );
    await waitFor(
      async () => (await f.database.db.collection('leases').countDocuments({ group: 'relay', 'state.resumeToken': { $exists: true } })) > 0,
      { timeoutMs: 10_000, message: 'a resume token saved on a lease' },
    );
  });

  it("publishes a replay's Updates as the replay puts them back, not at the safety-net sweep", async () => {
    const f = (fx = await createRelayFixture('rreplay'));
    // An hour between safety nets: only the replay's own change events can wake the sweep in time.
    const relay = f.startRelay({ RELAY_MODE: 'change-stream', RELAY_SWEEP_INTERVAL_MS: '3600000' });
    await f.started(relay);
    const docs = Array.from({ length: 30 }, (_, i) => makeUpdate('rp', i));
    await f.insert(docs);
    await f.waitReceived(
      docs.map((d) => d._id),
      30_000,
    );
    await f.waitAllPublished(10_000);
    await f.republish(['--user', 'rp', '--rate', '20', '--operator', 'test']);
    const copies = (id: string) => f.collector.messages.filter((m) => m.properties.messageId === id).length;
    await waitFor(() => docs.every((d) => copies(d._id.toHexString()) >= 2), {
      timeoutMs: 20_000,
      message: 'every replayed Update sent again, long before the safety net',
    });
    await f.waitAllPublished(10_000);
  });

  it('after a restart, sweeps what was inserted while it was down and resumes tailing', async () => {
    const f = (fx = await createRelayFixture('rresume'));
    const first = f.startRelay({ RELAY_MODE: 'change-stream' });
    await f.started(first);
    const before = makeUpdate('r1', 1);
    await f.insert([before]);
    await f.waitReceived([before._id], 30_000);
    first.kill('SIGKILL');
    await first.exited;
    const whileDown = Array.from({ length: 20 }, (_, i) => makeUpdate('r2', i));
    await f.insert(whileDown);
    const second = f.startRelay({ RELAY_MODE: 'change-stream', LEASE_TTL_MS: '1500' });
    await f.started(second);
    const after = makeUpdate('r3', 1);
    await f.insert([after]);
    await f.waitReceived([...whileDown.map((d) => d._id), after._id], 60_000);
    await f.waitAllPublished(30_000);
  });
});
