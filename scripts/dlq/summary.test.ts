import { describe, expect, it } from 'vitest';
import { viewLetter, type RawLetter } from './letters';
import { createSummariser, emptyCounts, excerpt, renderList, renderRequeue, renderShow } from './summary';

function letter(n: number, reason: string, stage = 'router'): RawLetter {
  return {
    content: Buffer.from(JSON.stringify({ eventId: `evt_${n}` })),
    properties: {
      messageId: `m-${n}`,
      headers: {
        'x-chat3-dead-letter-reason': reason,
        'x-chat3-dead-letter-detail': `detail ${n}`,
        'x-chat3-dead-letter-stage': stage,
        'x-chat3-dead-lettered-at': `2026-12-02T04:00:0${n}.000Z`,
        'x-chat3-original-routing-key': `dialog.update.tnt_${n}`,
      },
    },
  };
}

describe('list summary', () => {
  it('counts by reason, most frequent first, with the first and last letter of each', () => {
    const s = createSummariser();
    const reasons = ['schema', 'not-json', 'schema', 'unbuildable', 'schema', 'not-json'];
    reasons.forEach((reason, i) => s.add(viewLetter(letter(i + 1, reason, i === 3 ? 'builder' : 'router'), i + 1)));
    const summary = s.result('q.dlq', 6, 0);
    expect(summary.browsed).toBe(6);
    expect(summary.reasons.map((r) => [r.reason, r.count, r.first.position, r.last.position])).toEqual([
      ['schema', 3, 1, 5],
      ['not-json', 2, 2, 6],
      ['unbuildable', 1, 4, 4],
    ]);
    expect(summary.reasons[2]!.stages).toEqual({ builder: 1 });
    const text = renderList(summary);
    expect(text).toContain('q.dlq: 6 dead letters');
    expect(text).toMatch(
      / {2}schema: 3 {2}\(router 3\)\n {4}first #1 {2}evt_1 \(messageId m-1\) {2}2026-12-02T04:00:01.000Z {2}dialog.update.tnt_1\n {11}detail 1\n {4}last  #5 {2}evt_5 \(messageId m-5\)/,
    );
    // One letter of a reason: no "last" line.
    expect(text).toMatch(/unbuildable: 1 {2}\(builder 1\)\n {4}first #4[^\n]*\n[^\n]*detail 4\n?$/);
  });

  it('says when the browse saw a different number than the queue held, and warns of other consumers', () => {
    const s = createSummariser();
    s.add(viewLetter(letter(1, 'schema'), 1));
    const text = renderList(s.result('q.dlq', 3, 1));
    expect(text).toContain('held 3 when the browse started');
    expect(text).toContain('1 other consumer(s)');
    expect(renderList(createSummariser().result('q.dlq', 0, 0))).toBe('q.dlq: 0 dead letters\n');
  });

  it('shortens a detail to one line', () => {
    expect(excerpt('a\n  b')).toBe('a b');
    expect(excerpt('x'.repeat(200), 10)).toBe(`${'x'.repeat(9)}…`);
    expect(excerpt(undefined)).toBe('-');
  });
});

describe('show', () => {
  it('prints properties, headers and the body as pretty JSON', () => {
    const msg = letter(1, 'schema');
    msg.properties.timestamp = 1_764_648_000;
    const text = renderShow('q.dlq', viewLetter(msg, 1), msg);
    expect(text).toContain('q.dlq #1\nproperties:\n  messageId: m-1\n  timestamp: 1764648000 (2025-12-02T04:00:00.000Z)\nheaders:\n');
    expect(text).toContain('  x-chat3-dead-letter-reason: schema\n');
    expect(text).toContain('body (19 bytes, JSON):\n{\n  "eventId": "evt_1"\n}\n');
  });

  it('prints a body that is not JSON as text', () => {
    const msg: RawLetter = { content: Buffer.from('{"this is": not json'), properties: {} };
    expect(renderShow('q.dlq', viewLetter(msg, 2), msg)).toContain('body (20 bytes, not JSON):\n{"this is": not json\n');
  });
});

describe('requeue report', () => {
  it('says what was requeued and kept, and why a run stopped', () => {
    const counts = { ...emptyCounts(), seen: 5, requeued: 2, kept: 2, failed: 1, byReason: { schema: 3 } };
    const text = renderRequeue({
      queue: 'q.dlq',
      exchange: 'ev',
      dryRun: false,
      counts,
      reasonsSeen: ['schema'],
      stoppedBy: 'requeue not confirmed: nack',
    });
    expect(text).toBe(
      'q.dlq: looked at 5, requeued 2 to ev (schema 3), kept 2 in the DLQ\n' +
        '  1 not confirmed by the broker: left in the DLQ\n' +
        '  stopped: requeue not confirmed: nack\n',
    );
  });

  it('names the reasons present when a filter matched nothing, and marks a dry run', () => {
    const counts = { ...emptyCounts(), seen: 2, kept: 2 };
    const text = renderRequeue({
      queue: 'q.dlq',
      exchange: 'ev',
      dryRun: true,
      counts,
      reasonsSeen: ['not-json', 'schema'],
      stoppedBy: undefined,
    });
    expect(text).toContain('would requeue 0');
    expect(text).toContain('reasons in the queue: not-json, schema');
    expect(text).toContain('dry run: nothing was changed');
  });
});
