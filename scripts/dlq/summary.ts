/**
 * Summaries of a dead-letter queue and their text (pure: measure elsewhere, render here).
 * `list` groups letters by reason with the first and the last letter of each; `show` prints one letter
 * with its properties, headers and body; `requeue` reports what it did or, with --dry-run, would do.
 */
import { parseBody, type LetterView, type RawLetter } from './letters';

export interface ReasonSummary {
  reason: string;
  count: number;
  /** Letters by stage (router | builder | unknown). */
  stages: Record<string, number>;
  first: LetterView;
  last: LetterView;
}

export interface QueueSummary {
  queue: string;
  /** Messages in the queue when the browse started. */
  depth: number;
  /** Messages looked at (fewer than `depth` when others consumed meanwhile). */
  browsed: number;
  /** Other consumers on the queue: they may hold messages this browse could not see. */
  consumers: number;
  /** Most frequent reason first. */
  reasons: ReasonSummary[];
}

/** Collects letters in queue order, one at a time, keeping only the first and last of each reason. */
export function createSummariser() {
  const byReason = new Map<string, ReasonSummary>();
  let browsed = 0;
  return {
    add(view: LetterView): void {
      browsed += 1;
      const stage = view.stage ?? 'unknown';
      const entry = byReason.get(view.reason);
      if (!entry) {
        byReason.set(view.reason, { reason: view.reason, count: 1, stages: { [stage]: 1 }, first: view, last: view });
        return;
      }
      entry.count += 1;
      entry.stages[stage] = (entry.stages[stage] ?? 0) + 1;
      entry.last = view;
    },
    result(queue: string, depth: number, consumers: number): QueueSummary {
      const reasons = [...byReason.values()].sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
      return { queue, depth, browsed, consumers, reasons };
    },
  };
}

export function excerpt(text: string | undefined, max = 100): string {
  if (text === undefined) return '-';
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

function letterLine(label: string, v: LetterView): string {
  // The eventId, and the AMQP messageId when the producer set a different one.
  const id =
    v.eventId && v.messageId && v.messageId !== v.eventId
      ? `${v.eventId} (messageId ${v.messageId})`
      : (v.eventId ?? (v.messageId ? `messageId ${v.messageId}` : '(no id)'));
  const requeued = v.requeueCount > 0 ? `  requeued ${v.requeueCount}×` : '';
  return `    ${label} #${v.position}  ${id}  ${v.deadLetteredAt ?? '(no time)'}  ${v.originalRoutingKey ?? '(no routing key)'}${requeued}\n           ${excerpt(v.detail)}`;
}

export function renderList(s: QueueSummary): string {
  const lines = [`${s.queue}: ${s.browsed} dead letter${s.browsed === 1 ? '' : 's'}`];
  if (s.browsed !== s.depth) lines.push(`  (the queue held ${s.depth} when the browse started; others took or added messages meanwhile)`);
  if (s.consumers > 0) lines.push(`  warning: ${s.consumers} other consumer(s) on the queue; letters they hold are not counted`);
  for (const r of s.reasons) {
    const stages = Object.entries(r.stages)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([stage, n]) => `${stage} ${n}`)
      .join(', ');
    lines.push('', `  ${r.reason}: ${r.count}  (${stages})`, letterLine('first', r.first));
    if (r.count > 1) lines.push(letterLine('last ', r.last));
  }
  return `${lines.join('\n')}\n`;
}

const SHOW_BODY_MAX = 64 * 1024;

export function renderShow(queue: string, view: LetterView, msg: RawLetter): string {
  const lines = [`${queue} #${view.position}`, 'properties:'];
  const { headers, ...properties } = msg.properties;
  for (const [name, value] of Object.entries(properties)) {
    if (value === undefined || value === null) continue;
    lines.push(`  ${name}: ${name === 'timestamp' && typeof value === 'number' ? `${value} (${isoSeconds(value)})` : String(value)}`);
  }
  lines.push('headers:');
  for (const [name, value] of Object.entries((headers as Record<string, unknown> | undefined) ?? {})) {
    lines.push(`  ${name}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
  }
  const body = parseBody(msg.content);
  if (body !== undefined) {
    lines.push(`body (${msg.content.length} bytes, JSON):`, truncate(JSON.stringify(body, null, 2)));
  } else {
    lines.push(`body (${msg.content.length} bytes, not JSON):`, truncate(msg.content.toString('utf8')));
  }
  return `${lines.join('\n')}\n`;
}

function isoSeconds(timestamp: number): string {
  // AMQP timestamps are seconds; some producers send milliseconds.
  const ms = timestamp > 1e11 ? timestamp : timestamp * 1000;
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? 'not a time' : date.toISOString();
}

function truncate(text: string): string {
  if (text.length <= SHOW_BODY_MAX) return text;
  return `${text.slice(0, SHOW_BODY_MAX)}\n… (${text.length - SHOW_BODY_MAX} more characters not shown)`;
}

export interface RequeueCounts {
  /** Letters looked at. */
  seen: number;
  /** Matched the filter (and the limit): requeued, or would be with --dry-run. */
  requeued: number;
  /** Left in the DLQ because the filter did not match (or the limit was reached). */
  kept: number;
  /** Matched but cannot be requeued (no original routing key): left in the DLQ. */
  unroutable: number;
  /** Published but not confirmed (or returned): left in the DLQ. */
  failed: number;
  /** Confirmed, but the DLQ channel closed before their ack: they are back in the DLQ as well. */
  duplicated: number;
  /** Matched letters by reason. */
  byReason: Record<string, number>;
}

export function emptyCounts(): RequeueCounts {
  return { seen: 0, requeued: 0, kept: 0, unroutable: 0, failed: 0, duplicated: 0, byReason: {} };
}

export interface RequeueReport {
  queue: string;
  exchange: string;
  dryRun: boolean;
  counts: RequeueCounts;
  /** Reasons present among the letters seen, for a filter that matched nothing. */
  reasonsSeen: string[];
  /** Why the run stopped early, if it did. */
  stoppedBy?: string;
  /** How the tool was started (`toolCommand`), for the command a hint names; `pnpm dlq` by default. */
  command?: string;
}

export function renderRequeue(r: RequeueReport): string {
  const c = r.counts;
  const verb = r.dryRun ? 'would requeue' : 'requeued';
  const reasons = Object.entries(c.byReason)
    .sort(([ra, a], [rb, b]) => b - a || ra.localeCompare(rb))
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
  const lines = [
    `${r.queue}: looked at ${c.seen}, ${verb} ${c.requeued} to ${r.exchange}${reasons ? ` (${reasons})` : ''}, kept ${c.kept} in the DLQ`,
  ];
  if (c.unroutable > 0)
    lines.push(`  ${c.unroutable} matched but have no original routing key: left in the DLQ (see: ${r.command ?? 'pnpm dlq'} show)`);
  if (c.failed > 0) lines.push(`  ${c.failed} not confirmed by the broker: left in the DLQ`);
  if (c.duplicated > 0)
    lines.push(`  ${c.duplicated} requeued but still in the DLQ (its channel closed before the ack): requeue them again only if needed`);
  if (r.stoppedBy) lines.push(`  stopped: ${r.stoppedBy}`);
  if (c.requeued === 0 && c.seen > 0 && r.reasonsSeen.length > 0) lines.push(`  reasons in the queue: ${r.reasonsSeen.join(', ')}`);
  if (r.dryRun) lines.push('  dry run: nothing was changed');
  return `${lines.join('\n')}\n`;
}
