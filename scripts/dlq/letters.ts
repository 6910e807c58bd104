/**
 * What a dead letter says about itself, and how it goes back (pure: no I/O).
 *
 * The builder dead-letters an event with its body byte for byte and its properties, adding headers
 * (packages/builder/src/broker/dead-letter.ts): the reason, a detail, the stage (router | builder), the
 * time, and the producer's routing key. A requeue publishes the same body with the same properties to
 * the events exchange under that routing key, without those headers (nor the router's internal
 * `x-chat3-routing-key`), and with `x-chat3-requeue-count` one higher than the letter carried. The
 * builder copies an event's headers into its dead letter, so an event that fails again comes back to
 * the DLQ carrying its count.
 */
import type { MessageProperties, Options } from 'amqplib';

export const REASON_HEADER = 'x-chat3-dead-letter-reason';
export const DETAIL_HEADER = 'x-chat3-dead-letter-detail';
export const STAGE_HEADER = 'x-chat3-dead-letter-stage';
export const DEAD_LETTERED_AT_HEADER = 'x-chat3-dead-lettered-at';
export const ORIGINAL_ROUTING_KEY_HEADER = 'x-chat3-original-routing-key';
/** Set by the builder's router on the copy it forwards to a partition queue. */
export const ROUTER_ROUTING_KEY_HEADER = 'x-chat3-routing-key';
export const REQUEUE_COUNT_HEADER = 'x-chat3-requeue-count';

/** Headers a requeue strips: what the builder added on the way to the DLQ. */
export const DEAD_LETTER_HEADERS = [
  REASON_HEADER,
  DETAIL_HEADER,
  STAGE_HEADER,
  DEAD_LETTERED_AT_HEADER,
  ORIGINAL_ROUTING_KEY_HEADER,
  ROUTER_ROUTING_KEY_HEADER,
] as const;

/** Shown for a message that has no reason header (not put there by the builder). */
export const NO_REASON = '(none)';

/** The slice of an AMQP message the DLQ tool reads. */
export interface RawLetter {
  content: Buffer;
  properties: Partial<MessageProperties>;
}

export interface LetterView {
  /** 1 = the oldest message in the queue when the browse started. */
  position: number;
  messageId: string | undefined;
  /** The body's `eventId` (or a legacy `_id`) when the body is a JSON object that has one. */
  eventId: string | undefined;
  reason: string;
  detail: string | undefined;
  stage: string | undefined;
  deadLetteredAt: string | undefined;
  originalRoutingKey: string | undefined;
  requeueCount: number;
  bytes: number;
}

function headerText(headers: Record<string, unknown> | undefined, name: string): string | undefined {
  const value = headers?.[name];
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** The count a message carries: a whole number ≥ 0 (as a number or digits), else 0. */
export function requeueCountOf(headers: Record<string, unknown> | undefined): number {
  const value = headers?.[REQUEUE_COUNT_HEADER];
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : Number.NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : 0;
}

/** `JSON.parse` of the body, or undefined when it is not JSON. */
export function parseBody(content: Buffer): unknown {
  try {
    return JSON.parse(content.toString('utf8'));
  } catch {
    return undefined;
  }
}

function eventIdOf(body: unknown): string | undefined {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const { eventId, _id } = body as Record<string, unknown>;
  if (typeof eventId === 'string') return eventId;
  if (typeof _id === 'string') return _id;
  return undefined;
}

export function viewLetter(msg: RawLetter, position: number): LetterView {
  const headers = msg.properties.headers as Record<string, unknown> | undefined;
  return {
    position,
    messageId: typeof msg.properties.messageId === 'string' ? msg.properties.messageId : undefined,
    eventId: eventIdOf(parseBody(msg.content)),
    reason: headerText(headers, REASON_HEADER) ?? NO_REASON,
    detail: headerText(headers, DETAIL_HEADER),
    stage: headerText(headers, STAGE_HEADER),
    deadLetteredAt: headerText(headers, DEAD_LETTERED_AT_HEADER),
    originalRoutingKey: headerText(headers, ORIGINAL_ROUTING_KEY_HEADER),
    requeueCount: requeueCountOf(headers),
    bytes: msg.content.length,
  };
}

/** `show <id>` matches the AMQP messageId or the body's eventId. */
export function matchesId(view: LetterView, id: string): boolean {
  return view.messageId === id || view.eventId === id;
}

/** No reasons given: every letter matches. */
export function matchesReasons(view: LetterView, reasons: readonly string[]): boolean {
  return reasons.length === 0 || reasons.includes(view.reason);
}

export type RequeuePlan =
  { ok: true; routingKey: string; options: Options.Publish } | { ok: false; problem: 'no-routing-key'; detail: string };

/**
 * The publish that puts a dead letter back on the events exchange. The properties are the letter's
 * (the builder kept the producer's), minus `userId` (RabbitMQ checks it against the publishing
 * connection's user) and `expiration` (a replayed event must not expire before it is built).
 * `mandatory`: a requeue that no queue takes is returned, so it is reported, not lost.
 */
export function planRequeue(msg: RawLetter): RequeuePlan {
  const p = msg.properties;
  const headers = { ...((p.headers as Record<string, unknown> | undefined) ?? {}) };
  const routingKey = headerText(headers, ORIGINAL_ROUTING_KEY_HEADER);
  if (routingKey === undefined || routingKey === '') {
    return { ok: false, problem: 'no-routing-key', detail: `no ${ORIGINAL_ROUTING_KEY_HEADER} header` };
  }
  const count = requeueCountOf(headers);
  for (const name of DEAD_LETTER_HEADERS) delete headers[name];
  headers[REQUEUE_COUNT_HEADER] = count + 1;
  const options: Options.Publish = {
    mandatory: true,
    persistent: true,
    headers,
    ...defined({
      contentType: p.contentType,
      contentEncoding: p.contentEncoding,
      messageId: p.messageId,
      correlationId: p.correlationId,
      timestamp: p.timestamp,
      type: p.type,
      appId: p.appId,
      priority: p.priority,
    }),
  };
  return { ok: true, routingKey, options };
}

function defined<T extends Record<string, unknown>>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== null)) as Partial<T>;
}
