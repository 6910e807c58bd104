import { afterAll, describe, expect, it } from 'vitest';
import {
  capabilities,
  closeBrokerConnectionsOf,
  createBrokerHelper,
  createTestDatabase,
  gate,
  spawnService,
  stopAllServices,
  testEnv,
  uniqueName,
  waitFor,
} from '@chat3/testkit';

const FIXTURE = 'packages/testkit/test/fixtures/log-fixture.ts';

afterAll(() => stopAllServices());

describe('capabilities', () => {
  it('detects the server and what it can do', async () => {
    const caps = await capabilities();
    if (testEnv().mongoKind === 'ferretdb') {
      expect(caps).toMatchObject({ server: 'ferretdb', changeStreams: false, transactions: false, ttlIndexes: false });
      expect(caps.version).toMatch(/^v?1\.\d+/);
    } else {
      expect(caps.server).toBe('mongodb');
      expect(caps.ttlIndexes).toBe(true);
    }
  });

  it('returns the same cached object on the second call', async () => {
    expect(await capabilities()).toBe(await capabilities());
  });
});

describe('gate', () => {
  it('lets a test run when the capability is present', () => {
    expect(gate(true, 'anything', 'nothing')).toBe(false);
  });
});

describe('waitFor', () => {
  it('returns the first truthy value', async () => {
    let calls = 0;
    const value = await waitFor(() => (++calls >= 3 ? { calls } : null), { timeoutMs: 2_000, intervalMs: 5, message: 'third call' });
    expect(value).toEqual({ calls: 3 });
  });

  it('times out with the message, the last value and the last error', async () => {
    await expect(waitFor(() => 0, { timeoutMs: 100, intervalMs: 10, message: 'the counter reaches 5' })).rejects.toThrow(
      /timed out after \d+ ms: the counter reaches 5 .*last value: 0/,
    );
    await expect(
      waitFor(
        () => {
          throw new Error('not ready yet');
        },
        { timeoutMs: 100, message: 'the thing is ready' },
      ),
    ).rejects.toThrow(/the thing is ready.*last error: Error: not ready yet/);
  });

  it('does not let a hanging call stretch the deadline', async () => {
    const started = Date.now();
    await expect(waitFor(() => new Promise(() => {}), { timeoutMs: 150, message: 'never' })).rejects.toThrow(/still running/);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe('spawnService', () => {
  it('captures raw and parsed output, and stops on SIGTERM', async () => {
    const service = spawnService({ name: 'fixture', entry: FIXTURE, env: { FIXTURE_GREETING: 'hello' } });
    const started = await service.waitForLog((e) => e.msg === 'fixture started', 20_000);
    expect(started.entry).toMatchObject({ greeting: 'hello' });
    await service.waitForLog(/a plain stderr line/, 5_000);
    await service.stop();
    expect(await service.exited).toEqual({ code: 0, signal: null });
    expect(service.logs()).toContain('a plain stderr line');
    expect(service.entries().map((e) => e.msg)).toEqual(['fixture started', 'stopping on SIGTERM']);
  });

  it('kills with the signal given, and stop() falls back to SIGKILL', async () => {
    const stubborn = spawnService({ name: 'stubborn', entry: FIXTURE, env: { FIXTURE_IGNORE_SIGTERM: '1' } });
    await stubborn.waitForLog(/fixture started/, 20_000);
    await stubborn.stop(300);
    expect(await stubborn.exited).toEqual({ code: null, signal: 'SIGKILL' });
    await stubborn.waitForLog(/ignoring SIGTERM/, 1_000);

    const killed = spawnService({ name: 'killed', entry: FIXTURE, env: {} });
    await killed.waitForLog(/fixture started/, 20_000);
    killed.kill('SIGKILL');
    expect((await killed.exited).signal).toBe('SIGKILL');
  });

  it('rejects waitForLog when the process exits first', async () => {
    const service = spawnService({ name: 'short', entry: FIXTURE, env: {} });
    await service.waitForLog(/fixture started/, 20_000);
    const waiting = service.waitForLog(/never printed/, 20_000);
    service.kill('SIGTERM');
    await expect(waiting).rejects.toThrow(/exited .* before logging/);
  });
});

describe('createBrokerHelper', () => {
  it('collects a published message, parsed, with its routing key', async () => {
    const broker = await createBrokerHelper(testEnv().rabbitUrl);
    const exchange = uniqueName('testkit.events');
    try {
      await broker.channel.assertExchange(exchange, 'topic', { durable: false, autoDelete: true });
      const collector = await broker.declareCollector(exchange, ['user.*'], undefined, { assertExchange: false });
      await broker.publishJson(exchange, 'user.u1', { hello: 'world' });
      await broker.publishJson(exchange, 'other.u1', { ignored: true });
      const [message] = await collector.waitForCount(1, 10_000);
      expect(message).toMatchObject({ routingKey: 'user.u1', body: { hello: 'world' } });
      expect(message?.properties.contentType).toBe('application/json');
      await collector.close();
    } finally {
      await broker.channel.deleteExchange(exchange).catch(() => {});
      await broker.close();
    }
  });
});

describe('closeBrokerConnectionsOf', () => {
  it('closes the broker connections of one process only', async () => {
    const service = spawnService({ name: 'amqp-fixture', entry: FIXTURE, env: { FIXTURE_AMQP_URL: testEnv().rabbitUrl } });
    const bystander = await createBrokerHelper(testEnv().rabbitUrl);
    try {
      await service.waitForLog(/fixture started/, 20_000);
      expect(await closeBrokerConnectionsOf(service.pid, 'testkit test')).toBe(1);
      const closed = await service.waitForLog((e) => e.msg === 'amqp closed', 10_000);
      expect(String(closed.entry?.err)).toMatch(/testkit test/);
      // The test's own connection, in the same broker, is untouched.
      await bystander.channel.checkExchange('amq.topic');
    } finally {
      await bystander.close();
      await service.stop();
    }
  });
});

describe('createTestDatabase', () => {
  it('gives each call its own short-named database and drops it', async () => {
    const a = await createTestDatabase('testkit-roundtrip');
    const b = await createTestDatabase('testkit-roundtrip');
    try {
      expect(a.name).not.toBe(b.name);
      expect(a.name.length).toBeLessThan(38);
      await a.db.collection('things').insertOne({ n: 1 });
      expect(await a.db.collection('things').countDocuments()).toBe(1);
      expect(await b.db.collection('things').countDocuments()).toBe(0);

      await a.drop();
      const names = (await b.client.db('admin').admin().listDatabases()).databases.map((d) => d.name);
      expect(names).not.toContain(a.name);
    } finally {
      await a.close();
      await b.drop();
    }
  });
});
