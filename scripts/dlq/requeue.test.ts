/**
 * The requeue loop's decisions with in-memory ports (the broker behaviour is tested against RabbitMQ in
 * test/dlq-broker.test.ts): what is published, what is acked and when, and when the loop stops.
 */
import { describe, expect, it } from 'vitest';
import type { Options } from 'amqplib';
import type { RawLetter } from './letters';
import { createReturnTracker, requeueLetters, type RequeuePublisher } from './requeue';

function letters(reasons: string[]): RawLetter[] {
  return reasons.map((reason, i) => ({
    content: Buffer.from(JSON.stringify({ eventId: `evt_${i + 1}` })),
    properties: { headers: { 'x-chat3-dead-letter-reason': reason, 'x-chat3-original-routing-key': `k.${i + 1}` } },
  }));
}

function source(list: RawLetter[]) {
  let at = 0;
  const acked: RawLetter[] = [];
  return {
    acked,
    next: async () => list[at++],
    ack: (msg: RawLetter) => {
      acked.push(msg);
      return true;
    },
  };
}

/** Confirms are held until the test settles them, so the order of publish, confirm and ack is visible. */
function publisher() {
  const published: Array<{ key: string; options: Options.Publish; settle: (ok: boolean) => void }> = [];
  let stopped = false;
  const port: RequeuePublisher = {
    ready: async () => !stopped,
    publish: (key, _content, options) =>
      new Promise<void>((resolve, reject) =>
        published.push({ key, options, settle: (ok) => (ok ? resolve() : reject(new Error('nacked'))) }),
      ),
    stop: async () => {
      stopped = true;
    },
  };
  return { port, published };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('requeue loop', () => {
  it('acks a letter only after its requeue is confirmed', async () => {
    const src = source(letters(['schema', 'schema']));
    const pub = publisher();
    const run = requeueLetters({ source: src, publisher: pub.port, reasons: [], limit: undefined, dryRun: false });
    await tick();
    expect(pub.published.map((p) => p.key)).toEqual(['k.1', 'k.2']);
    expect(src.acked).toEqual([]);
    pub.published[1]!.settle(true);
    await tick();
    expect(src.acked.length).toBe(1);
    pub.published[0]!.settle(true);
    const result = await run;
    expect(src.acked.length).toBe(2);
    expect(result.counts).toMatchObject({ seen: 2, requeued: 2, failed: 0 });
    expect(pub.published[0]!.options.headers).toEqual({ 'x-chat3-requeue-count': 1 });
  });

  it('never acks a letter whose requeue failed, and stops taking letters', async () => {
    const list = letters(['schema', 'schema', 'schema']);
    const src = source(list);
    const pub = publisher();
    const run = requeueLetters({ source: src, publisher: pub.port, reasons: [], limit: undefined, dryRun: false });
    await tick();
    pub.published[0]!.settle(false);
    pub.published[1]!.settle(true);
    pub.published[2]!.settle(true);
    const result = await run;
    expect(src.acked).toEqual([list[1], list[2]]);
    expect(result.counts).toMatchObject({ requeued: 2, failed: 1 });
    expect(result.stoppedBy).toBe('requeue not confirmed: nacked');
  });

  it('stops publishing after the first failure', async () => {
    const list = letters(['a', 'a', 'a', 'a']);
    let at = 0;
    const pub = publisher();
    const src = {
      // One letter at a time: the next is handed out only after the previous publish was settled.
      next: async () => {
        if (at > 0) pub.published[at - 1]!.settle(at !== 2);
        await tick();
        return list[at++];
      },
      ack: () => true,
    };
    const result = await requeueLetters({ source: src, publisher: pub.port, reasons: [], limit: undefined, dryRun: false });
    // Letter 3 was fetched as the failure came in: it is not published and stays in the DLQ; 4 is never fetched.
    expect(pub.published.length).toBe(2);
    expect(result.counts).toMatchObject({ seen: 3, requeued: 1, failed: 1, byReason: { a: 2 } });
  });

  it('requeues only the reasons asked for, at most --limit, and leaves the rest alone', async () => {
    const list = letters(['schema', 'not-json', 'schema', 'schema', 'not-json']);
    const src = source(list);
    const pub = publisher();
    const run = requeueLetters({ source: src, publisher: pub.port, reasons: ['schema'], limit: 2, dryRun: false });
    await tick();
    for (const p of pub.published) p.settle(true);
    const result = await run;
    expect(pub.published.map((p) => p.key)).toEqual(['k.1', 'k.3']);
    expect(src.acked).toEqual([list[0], list[2]]);
    // The limit stops the browse: letters 4 and 5 were never looked at.
    expect(result.counts).toMatchObject({ seen: 3, requeued: 2, kept: 1, byReason: { schema: 2 } });
    expect(result.reasonsSeen).toEqual(['not-json', 'schema']);
  });

  it('counts without publishing or acking on a dry run', async () => {
    const src = source(letters(['schema', 'not-json', 'schema']));
    const result = await requeueLetters({ source: src, reasons: ['schema'], limit: undefined, dryRun: true });
    expect(src.acked).toEqual([]);
    expect(result.counts).toMatchObject({ seen: 3, requeued: 2, kept: 1 });
  });

  it('keeps a letter without a routing key in the DLQ', async () => {
    const list = letters(['schema']);
    list[0]!.properties.headers = { 'x-chat3-dead-letter-reason': 'schema' };
    const src = source(list);
    const pub = publisher();
    const result = await requeueLetters({ source: src, publisher: pub.port, reasons: [], limit: undefined, dryRun: false });
    expect(pub.published).toEqual([]);
    expect(result.counts).toMatchObject({ seen: 1, requeued: 0, unroutable: 1 });
  });

  it('stops when interrupted', async () => {
    const controller = new AbortController();
    controller.abort();
    const src = source(letters(['schema']));
    const result = await requeueLetters({ source: src, reasons: [], limit: undefined, dryRun: true, signal: controller.signal });
    expect(result).toMatchObject({ stoppedBy: 'interrupted', counts: { seen: 0 } });
  });
});

describe('requeue loop when the DLQ fails', () => {
  it('settles the requeues in flight and reports, when reading the DLQ fails', async () => {
    const list = letters(['schema']);
    let calls = 0;
    const acked: RawLetter[] = [];
    const src = {
      next: async () => {
        calls += 1;
        if (calls === 1) return list[0];
        throw new Error('channel closed');
      },
      ack: (msg: RawLetter) => (acked.push(msg), true),
    };
    const pub = publisher();
    const run = requeueLetters({ source: src, publisher: pub.port, reasons: [], limit: undefined, dryRun: false });
    await tick();
    pub.published[0]!.settle(true);
    const result = await run;
    expect(acked).toEqual([list[0]]);
    expect(result).toMatchObject({ stoppedBy: 'reading the DLQ failed: channel closed', counts: { requeued: 1 } });
  });
});

describe('return tracker', () => {
  it('marks the publish a basic.return belongs to', () => {
    const t = createReturnTracker();
    const a = t.track('k.1', Buffer.from('a'), 'm-1');
    const b = t.track('k.1', Buffer.from('b'), 'm-2');
    t.onReturn({ fields: { routingKey: 'k.1' }, content: Buffer.from('b'), properties: { messageId: 'm-2' } });
    t.onReturn({ fields: { routingKey: 'k.2' }, content: Buffer.from('a'), properties: { messageId: 'm-1' } });
    expect([a.returned, b.returned]).toEqual([false, true]);
    t.settle(a);
    t.settle(b);
    expect(t.size).toBe(0);
  });
});
