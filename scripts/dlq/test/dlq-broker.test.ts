/**
 * `pnpm dlq` against the real RabbitMQ: every test has its own builder topology (unique names), puts
 * letters in its DLQ as the builder writes them, runs the command in-process and reads the queues back.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDlqFixture, type DlqFixture, type StoredMessage } from './fixture';

let fx: DlqFixture;

beforeEach(async () => {
  fx = await createDlqFixture();
});

afterEach(async () => {
  await fx?.cleanUp();
});

const REASONS = ['schema', 'not-json', 'schema', 'unbuildable', 'schema', 'not-json'];

/** What must not change about a letter left in the DLQ. */
const identity = (m: StoredMessage) => ({ content: m.content, headers: m.headers, properties: m.properties });

describe('list', () => {
  it('counts by reason with the first and last letter, and leaves the queue exactly as it was', async () => {
    await fx.seed(REASONS.map((reason, i) => ({ reason, stage: i === 3 ? 'builder' : 'router' })));
    const reference = await fx.drain(fx.dlq);
    await fx.seed(REASONS.map((reason, i) => ({ reason, stage: i === 3 ? 'builder' : 'router' })));
    const seeded = await fx.drain(fx.dlq);
    // Put the same letters back for the test proper (the drain above is the reference copy).
    await fx.seed(REASONS.map((reason, i) => ({ reason, stage: i === 3 ? 'builder' : 'router' })));
    expect(reference.length).toBe(6);
    expect(seeded.length).toBe(6);

    const first = await fx.run(['list']);
    const second = await fx.run(['list']);
    expect(first.code).toBe(0);
    expect(first.stderr).toBe('');
    expect(second.stdout).toBe(first.stdout);
    expect(first.stdout).toContain(`${fx.dlq}: 6 dead letters`);
    expect(first.stdout).toMatch(
      / {2}schema: 3 {2}\(router 3\)\n {4}first #1 {2}evt_13 [^\n]*dialog\.update\.tnt_13\n {11}detail of 13\n {4}last  #5 {2}evt_17 /,
    );
    expect(first.stdout).toMatch(/ {2}not-json: 2 {2}\(router 2\)\n {4}first #2 {2}evt_14 [^\n]*\n[^\n]*\n {4}last  #6 {2}evt_18 /);
    expect(first.stdout).toMatch(/ {2}unbuildable: 1 {2}\(builder 1\)\n {4}first #4 {2}evt_16 /);

    const after = await fx.drain(fx.dlq);
    expect(after.map((m) => JSON.parse(m.content).n)).toEqual([13, 14, 15, 16, 17, 18]);
    expect(after.map((m) => m.headers['x-chat3-dead-letter-reason'])).toEqual(REASONS);
    // Same bodies, headers and properties as letters never browsed (ids and times aside).
    const strip = (m: StoredMessage) => ({
      ...identity(m),
      content: undefined,
      headers: {
        ...m.headers,
        'x-chat3-dead-lettered-at': undefined,
        'x-chat3-original-routing-key': undefined,
        'x-chat3-dead-letter-detail': undefined,
      },
      properties: { ...m.properties, messageId: undefined, timestamp: undefined },
    });
    expect(after.map(strip)).toEqual(seeded.map(strip));
  });

  it('keeps several hundred letters and their order through a list', async () => {
    await fx.seed(Array.from({ length: 400 }, (_, i) => ({ reason: ['schema', 'not-json', 'unbuildable'][i % 3]! })));
    const { code, stdout } = await fx.run(['list']);
    expect(code).toBe(0);
    expect(stdout).toContain('400 dead letters');
    expect(stdout).toContain('schema: 134');
    const after = await fx.drain(fx.dlq);
    expect(after.map((m) => JSON.parse(m.content).n)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
  });

  it('lists an empty queue, and refuses a queue that does not exist with exit 2', async () => {
    expect(await fx.run(['list'])).toEqual({ code: 0, stdout: `${fx.dlq}: 0 dead letters\n`, stderr: '' });
    const missing = await fx.run(['list'], { BUILDER_QUEUE: 'no-such-builder-queue-for-dlq-test' });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(
      'dlq: queue no-such-builder-queue-for-dlq-test.dlq does not exist (check BUILDER_QUEUE; the builder declares it on start)\n',
    );
  });
});

describe('show', () => {
  it('prints one letter by position or id, with headers and the body, and changes nothing', async () => {
    await fx.seed([
      { reason: 'schema' },
      { reason: 'not-json', body: '{"this is": not json' },
      { reason: 'unbuildable', messageId: 'amqp-id-3' },
    ]);
    const byPosition = await fx.run(['show', '1']);
    expect(byPosition.code).toBe(0);
    expect(byPosition.stdout).toContain(`${fx.dlq} #1\nproperties:\n`);
    expect(byPosition.stdout).toContain('  x-chat3-dead-letter-reason: schema\n');
    expect(byPosition.stdout).toContain('  x-chat3-original-routing-key: dialog.update.tnt_1\n');
    expect(byPosition.stdout).toMatch(
      /body \(\d+ bytes, JSON\):\n\{\n {2}"eventId": "evt_1",\n {2}"tenantId": "tnt_test",\n {2}"n": 1\n\}\n$/,
    );

    expect((await fx.run(['show', '2'])).stdout).toContain('body (20 bytes, not JSON):\n{"this is": not json\n');
    expect((await fx.run(['show', 'amqp-id-3'])).stdout).toContain(`${fx.dlq} #3\n`);
    expect((await fx.run(['show', 'evt_1'])).stdout).toContain(`${fx.dlq} #1\n`);

    expect(await fx.run(['show', '9'])).toEqual({ code: 2, stdout: '', stderr: `dlq: no letter #9 in ${fx.dlq}\n` });
    expect((await fx.run(['show', 'evt_nope'])).stderr).toBe(`dlq: no letter with messageId or eventId evt_nope in ${fx.dlq}\n`);
    expect((await fx.drain(fx.dlq)).map((m) => m.headers['x-chat3-dead-letter-reason'])).toEqual(['schema', 'not-json', 'unbuildable']);
  });
});

describe('requeue', () => {
  it('puts every letter back on the events exchange with its routing key and a requeue count, then removes it', async () => {
    await fx.seed([
      { reason: 'schema', routingKey: 'message.create.tnt_a', headers: { 'x-producer': 'api' } },
      {
        reason: 'unbuildable',
        stage: 'builder',
        routingKey: 'dialog.update.tnt_b',
        headers: { 'x-chat3-routing-key': 'dialog.update.tnt_b', 'x-chat3-requeue-count': 2 },
      },
      { reason: 'not-json', body: '{"this is": not json' },
    ]);
    const { code, stdout, stderr } = await fx.run(['requeue']);
    expect(code).toBe(0);
    expect(stdout).toBe(`${fx.dlq}: looked at 3, requeued 3 to ${fx.exchange} (not-json 1, schema 1, unbuildable 1), kept 0 in the DLQ\n`);
    expect(stderr).toMatch(/^requeue: 3\/3, requeued 3, kept 0\n$/);
    expect(await fx.depth(fx.dlq)).toBe(0);

    const intake = await fx.drain(fx.topology.intakeQueue);
    expect(intake.map((m) => m.routingKey)).toEqual(['message.create.tnt_a', 'dialog.update.tnt_b', 'dialog.update.tnt_3']);
    expect(intake.map((m) => m.headers)).toEqual([
      { 'x-producer': 'api', 'x-chat3-requeue-count': 1 },
      { 'x-chat3-requeue-count': 3 },
      { 'x-chat3-requeue-count': 1 },
    ]);
    expect(JSON.parse(intake[0]!.content)).toEqual({ eventId: 'evt_1', tenantId: 'tnt_test', n: 1 });
    expect(intake[2]!.content).toBe('{"this is": not json');
    expect(intake[0]!.properties).toMatchObject({
      contentType: 'application/json',
      messageId: 'm-1',
      timestamp: 1_764_000_001,
      deliveryMode: 2,
    });
  });

  it('requeues only the reasons asked for, at most --limit, and leaves the others in place and in order', async () => {
    await fx.seed(['schema', 'not-json', 'unbuildable', 'schema', 'not-json', 'schema'].map((reason) => ({ reason })));
    const { code, stdout } = await fx.run(['requeue', '--reason', 'schema', '--reason', 'unbuildable', '--limit', '2']);
    expect(code).toBe(0);
    expect(stdout).toContain('looked at 3, requeued 2');
    expect(stdout).toContain('(schema 1, unbuildable 1), kept 1 in the DLQ');
    expect((await fx.drain(fx.topology.intakeQueue)).map((m) => JSON.parse(m.content).n)).toEqual([1, 3]);
    expect((await fx.drain(fx.dlq)).map((m) => JSON.parse(m.content).n)).toEqual([2, 4, 5, 6]);
  });

  it('with a comma list and no limit, takes every matching letter', async () => {
    await fx.seed(['schema', 'not-json', 'unbuildable', 'schema', 'build-error'].map((reason) => ({ reason })));
    const { code } = await fx.run(['requeue', '--reason', 'schema,build-error']);
    expect(code).toBe(0);
    expect((await fx.drain(fx.topology.intakeQueue)).map((m) => JSON.parse(m.content).n)).toEqual([1, 4, 5]);
    expect((await fx.drain(fx.dlq)).map((m) => JSON.parse(m.content).n)).toEqual([2, 3]);
  });

  it('names the reasons present when the filter matches nothing', async () => {
    await fx.seed([{ reason: 'schema' }]);
    const { code, stdout } = await fx.run(['requeue', '--reason', 'shema']);
    expect(code).toBe(0);
    expect(stdout).toContain('requeued 0');
    expect(stdout).toContain('reasons in the queue: schema');
    expect(await fx.depth(fx.dlq)).toBe(1);
  });

  it('--dry-run counts what would be requeued and changes nothing', async () => {
    await fx.seed(['schema', 'not-json', 'schema'].map((reason) => ({ reason })));
    const before = await fx.drain(fx.dlq);
    await fx.seed(['schema', 'not-json', 'schema'].map((reason) => ({ reason })));
    const { code, stdout } = await fx.run(['requeue', '--dry-run', '--reason', 'schema']);
    expect(code).toBe(0);
    expect(stdout).toBe(
      `${fx.dlq}: looked at 3, would requeue 2 to ${fx.exchange} (schema 2), kept 1 in the DLQ\n  dry run: nothing was changed\n`,
    );
    expect(await fx.depth(fx.topology.intakeQueue)).toBe(0);
    const after = await fx.drain(fx.dlq);
    expect(after.map((m) => m.headers['x-chat3-dead-letter-reason'])).toEqual(before.map((m) => m.headers['x-chat3-dead-letter-reason']));
    expect(after.map((m) => JSON.parse(m.content).n)).toEqual([4, 5, 6]);
  });

  it('requeues several hundred letters through the confirm window without losing or doubling one', async () => {
    await fx.seed(Array.from({ length: 500 }, () => ({ reason: 'schema' })));
    const { code, stdout } = await fx.run(['requeue']);
    expect(code).toBe(0);
    expect(stdout).toContain('looked at 500, requeued 500');
    expect(await fx.depth(fx.dlq)).toBe(0);
    expect((await fx.drain(fx.topology.intakeQueue)).map((m) => JSON.parse(m.content).n)).toEqual(
      Array.from({ length: 500 }, (_, i) => i + 1),
    );
  });

  it('leaves every letter in the DLQ when the broker nacks the requeues', async () => {
    // A queue that rejects every publish (max length 0, reject-publish): the broker nacks each requeue.
    const rejecting = await fx.declareExchange('dlq-rejecting');
    await fx.declareQueue('dlq-full', rejecting, { 'x-max-length': 0, 'x-overflow': 'reject-publish' });
    await fx.seed(['schema', 'not-json', 'schema'].map((reason) => ({ reason })));
    const { code, stdout } = await fx.run(['requeue'], { RABBITMQ_EVENTS_EXCHANGE: rejecting });
    expect(code).toBe(1);
    expect(stdout).toContain('not confirmed by the broker: left in the DLQ');
    expect(stdout).toMatch(/stopped: requeue not confirmed: the broker rejected the message/);
    expect(stdout).toContain('requeued 0');
    const left = await fx.drain(fx.dlq);
    expect(left.map((m) => JSON.parse(m.content).n)).toEqual([1, 2, 3]);
    expect(left.map((m) => m.headers['x-chat3-dead-letter-reason'])).toEqual(['schema', 'not-json', 'schema']);
  });

  it('leaves the letter in the DLQ when no queue takes the requeue (returned, not dropped)', async () => {
    const unbound = await fx.declareExchange('dlq-unbound');
    await fx.seed([{ reason: 'schema' }, { reason: 'schema' }]);
    const { code, stdout } = await fx.run(['requeue'], { RABBITMQ_EVENTS_EXCHANGE: unbound });
    expect(code).toBe(1);
    expect(stdout).toContain(`no queue is bound to ${unbound} for routing key dialog.update.tnt_1`);
    expect((await fx.drain(fx.dlq)).map((m) => JSON.parse(m.content).n)).toEqual([1, 2]);
  });

  it('refuses an events exchange that does not exist, changing nothing', async () => {
    await fx.seed([{ reason: 'schema' }]);
    const { code, stderr } = await fx.run(['requeue'], { RABBITMQ_EVENTS_EXCHANGE: 'no-such-exchange-for-dlq-test' });
    expect(code).toBe(2);
    expect(stderr).toBe('dlq: exchange no-such-exchange-for-dlq-test does not exist (check RABBITMQ_EVENTS_EXCHANGE)\n');
    expect(await fx.depth(fx.dlq)).toBe(1);
  });

  it('keeps a letter that has no original routing key', async () => {
    await fx.seed([{ reason: 'schema' }]);
    // A message put in the DLQ by hand, without the builder's headers.
    await fx.broker.publishJson('', fx.dlq, { eventId: 'evt_by_hand' }, { headers: { 'x-chat3-dead-letter-reason': 'schema' } });
    const { code, stdout } = await fx.run(['requeue']);
    expect(code).toBe(0);
    expect(stdout).toContain('1 matched but have no original routing key: left in the DLQ');
    expect((await fx.drain(fx.dlq)).map((m) => JSON.parse(m.content).eventId)).toEqual(['evt_by_hand']);
  });
});

describe('purge', () => {
  it('refuses without --confirm naming the queue, saying how many letters would be lost', async () => {
    await fx.seed([{ reason: 'schema' }, { reason: 'schema' }]);
    expect(await fx.run(['purge'])).toEqual({
      code: 2,
      stdout: '',
      stderr: `dlq: refusing to purge: purge needs --confirm with the queue name; 2 letters would be lost (run: pnpm dlq purge --confirm ${fx.dlq})\n`,
    });
    const wrong = await fx.run(['purge', '--confirm', 'chat3_update_builder.dlq']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain(`--confirm names chat3_update_builder.dlq, not ${fx.dlq}; 2 letters would be lost`);
    expect(await fx.depth(fx.dlq)).toBe(2);
  });

  it('purges with the confirmation', async () => {
    await fx.seed([{ reason: 'schema' }, { reason: 'not-json' }, { reason: 'schema' }]);
    expect(await fx.run(['purge', '--confirm', fx.dlq])).toEqual({ code: 0, stdout: `${fx.dlq}: purged 3 letters\n`, stderr: '' });
    expect(await fx.depth(fx.dlq)).toBe(0);
  });
});
