/**
 * The one place where a Chat3 event body is checked (SPEC §2). Everything after `parseEvent` trusts
 * the `ChatEvent` type.
 *
 * Lenient where Chat3 producers differ (legacy `_id`, EJSON ids and dates, ISO timestamps, `*.changed`
 * aliases, `null` for an id or section they do not have), strict where a wrong value would corrupt
 * Updates (missing tenantId, non-object snapshots, ids that are not strings).
 */
import { z } from 'zod';
import { classifyEventType, type EventClass } from './event-types';

const timestamp = z
  .union([
    z.number(),
    z.string(),
    z.object({ $date: z.union([z.number(), z.string(), z.object({ $numberLong: z.string() }).transform((v) => v.$numberLong)]) }),
  ])
  .transform((value, ctx) => {
    const raw = typeof value === 'object' ? value.$date : value;
    const ms = typeof raw === 'number' ? raw : /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : Date.parse(raw);
    if (!Number.isFinite(ms)) {
      ctx.addIssue({ code: 'custom', message: 'not a timestamp' });
      return z.NEVER;
    }
    return ms;
  });
/**
 * Absent stays `undefined` and null stays `null` in every snapshot field: the sections tell "the producer
 * did not say" (the read model fills in) from "the producer says there is none" (see sections.ts).
 */
const optionalTimestamp = timestamp.nullish();
/** Absent and null stay apart from `{}`, so an empty snapshot never hides the read model's meta. */
const meta = z.record(z.string(), z.unknown()).nullish();
const id = z.string().min(1).max(512);
const objectId = z.union([z.string(), z.object({ $oid: z.string() }).transform((v) => v.$oid)]);

/**
 * Ids inside snapshots point at things; they are not state. Chat3 fills the ids it does not know with
 * `null` (`buildEventContext` sends `messageId: null` on every dialog event), so `null` reads as "not
 * named" and the next source is asked, as for an absent id.
 */
const optionalId = id.nullish();

const dialogSnapshot = z.looseObject({
  dialogId: optionalId,
  tenantId: z.string().nullish(),
  name: z.string().nullish(),
  createdBy: z.string().nullish(),
  createdAt: optionalTimestamp,
  updatedAt: optionalTimestamp,
  meta,
});

const memberState = z.looseObject({
  unreadCount: z.number().nullish(),
  lastSeenAt: optionalTimestamp,
  lastMessageAt: optionalTimestamp,
  isActive: z.boolean().nullish(),
});

/** Chat3 sends either the read-model row or the Update's own `member` section; both are accepted. */
const memberSnapshot = z.looseObject({
  userId: id,
  dialogId: optionalId,
  meta,
  unreadCount: z.number().nullish(),
  lastSeenAt: optionalTimestamp,
  lastMessageAt: optionalTimestamp,
  isActive: z.boolean().nullish(),
  state: memberState.nullish(),
});

const statusSnapshot = z.looseObject({
  userId: id,
  userType: z.string().nullish(),
  status: z.string().min(1),
  readAt: optionalTimestamp,
  createdAt: optionalTimestamp,
});

const reactionSnapshot = z.looseObject({
  userId: optionalId,
  reaction: z.string().min(1),
  createdAt: optionalTimestamp,
});

/** Also the §5 message section: a status or reaction change may sit inside it (its user defaults to actorId). */
const messageSnapshot = z.looseObject({
  messageId: optionalId,
  dialogId: optionalId,
  senderId: z.string().nullish(),
  type: z.string().nullish(),
  content: z.unknown().optional(),
  meta,
  createdAt: optionalTimestamp,
  statusUpdate: statusSnapshot.partial({ userId: true }).nullish(),
  reactionUpdate: reactionSnapshot.nullish(),
});

/** `expiresInMs` and `timestamp` are advisory: taken as sent here, read by `correctTyping`, never rejected. */
const typingSnapshot = z.looseObject({
  userId: optionalId,
  expiresInMs: z.unknown().optional(),
  timestamp: z.unknown().optional(),
  userInfo: z.unknown().optional(),
});

const userSnapshot = z.looseObject({
  userId: optionalId,
  type: z.string().nullish(),
  name: z.string().nullish(),
  meta,
  createdAt: optionalTimestamp,
});

const contextSnapshot = z.looseObject({
  dialogId: optionalId,
  messageId: optionalId,
  userId: optionalId,
  updatedFields: z.array(z.string()).nullish(),
});

/** A `null` section is no snapshot, like an absent one (a snapshot cannot say "this dialog is nothing"). */
const eventData = z
  .looseObject({
    context: contextSnapshot.nullish(),
    dialog: dialogSnapshot.nullish(),
    member: memberSnapshot.nullish(),
    message: messageSnapshot.nullish(),
    typing: typingSnapshot.nullish(),
    user: userSnapshot.nullish(),
    statusUpdate: statusSnapshot.nullish(),
    status: statusSnapshot.nullish(),
    reactionUpdate: reactionSnapshot.nullish(),
    reaction: reactionSnapshot.nullish(),
  })
  .nullish()
  .transform((v) => v ?? {});

const eventBody = z
  .looseObject({
    eventId: objectId.optional(),
    _id: objectId.optional(),
    tenantId: z
      .string()
      .max(128)
      .refine((v) => v.trim().length > 0, 'must not be empty'),
    eventType: z.string().min(1).max(128),
    entityType: z.string().nullish(),
    entityId: id,
    actorId: z.string().nullish(),
    actorType: z.string().nullish(),
    data: eventData,
    createdAt: timestamp,
  })
  .superRefine((body, ctx) => {
    const eventId = body.eventId ?? body._id;
    if (eventId === undefined) {
      ctx.addIssue({ code: 'custom', path: ['eventId'], message: 'eventId (or legacy _id) is required' });
    } else if (!/^[\x21-\x7e]{1,128}$/.test(eventId)) {
      ctx.addIssue({ code: 'custom', path: ['eventId'], message: 'must be 1-128 printable ASCII characters' });
    }
  });

/** The typing snapshot after `correctTyping`: its advisory fields are usable or absent/null. */
export interface TypingSnapshot {
  userId?: string | null;
  /** A positive whole number of milliseconds; absent or null means the default. */
  expiresInMs?: number | null;
  /** Epoch ms; absent or null means the event's createdAt. */
  timestamp?: number | null;
  userInfo?: unknown;
  [key: string]: unknown;
}

export type EventData = z.output<typeof eventData> & { typing?: TypingSnapshot | null };
export type MemberSnapshot = z.output<typeof memberSnapshot>;
export type StatusSnapshot = z.output<typeof statusSnapshot>;

export interface ChatEvent {
  eventId: string;
  tenantId: string;
  /** Canonical type (`*.changed` aliases already mapped to the seed's `*.update`). */
  eventType: string;
  entityType: string | null;
  entityId: string;
  actorId: string | null;
  actorType: string | null;
  data: EventData;
  /** Epoch milliseconds with a microsecond fraction. */
  createdAt: number;
}

export type ParsedEvent =
  | {
      ok: true;
      event: ChatEvent;
      class: EventClass;
      /** Advisory fields that were replaced rather than rejected; the builder counts them. */
      corrections: FieldCorrection[];
    }
  | { ok: false; reason: BadEventReason; detail: string };

export const BAD_EVENT_REASONS = ['oversized', 'not-json', 'schema'] as const;
export type BadEventReason = (typeof BAD_EVENT_REASONS)[number];

export interface ParseOptions {
  maxBytes: number;
}

/** Parses one AMQP body. Never throws: every failure comes back with a reason for the dead-letter queue. */
export function parseEvent(body: Buffer | string, options: ParseOptions): ParsedEvent {
  const size = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  if (size > options.maxBytes) {
    return { ok: false, reason: 'oversized', detail: `body is ${size} bytes, limit is ${options.maxBytes}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: 'not-json', detail: (err as Error).message };
  }
  const result = eventBody.safeParse(json);
  if (!result.success) {
    return { ok: false, reason: 'schema', detail: formatIssues(result.error.issues) };
  }
  const body_ = result.data;
  const cls = classifyEventType(body_.eventType);
  const corrections: FieldCorrection[] = [];
  const { typing, ...snapshots } = body_.data;
  const data: EventData = typing === undefined ? snapshots : { ...snapshots, typing: typing && correctTyping(typing, corrections) };
  return {
    ok: true,
    class: cls,
    corrections,
    event: {
      eventId: (body_.eventId ?? body_._id) as string,
      tenantId: body_.tenantId,
      eventType: cls.eventType,
      entityType: body_.entityType ?? null,
      entityId: body_.entityId,
      actorId: body_.actorId ?? null,
      actorType: body_.actorType ?? null,
      data,
      createdAt: body_.createdAt,
    },
  };
}

export const DEFAULT_TYPING_EXPIRES_MS = 5000;

/**
 * Advisory fields: hints for the client's display that have a safe default and nothing else depends
 * on. An unusable value is replaced and reported instead of dead-lettering the event (nobody would see
 * the indicator). `null` and absent are not corrections: they ask for the default.
 */
export const ADVISORY_FIELDS = ['typing.expiresInMs', 'typing.timestamp'] as const;
export type AdvisoryField = (typeof ADVISORY_FIELDS)[number];

export interface FieldCorrection {
  field: AdvisoryField;
  /** The value as the producer sent it. */
  received: unknown;
}

/**
 * `expiresInMs`: a fraction is rounded; a value that is not a finite number, or not positive once
 * rounded, becomes the default. `timestamp`: a value that is not a timestamp is dropped, so the event's
 * createdAt is used.
 */
function correctTyping(typing: z.output<typeof typingSnapshot>, corrections: FieldCorrection[]): TypingSnapshot {
  const { expiresInMs, timestamp: at, ...rest } = typing;
  const out: TypingSnapshot = rest;
  if (expiresInMs !== undefined) {
    const rounded = typeof expiresInMs === 'number' && Number.isFinite(expiresInMs) ? Math.round(expiresInMs) : Number.NaN;
    out.expiresInMs = expiresInMs === null ? null : rounded >= 1 ? rounded : DEFAULT_TYPING_EXPIRES_MS;
    if (expiresInMs !== null && out.expiresInMs !== expiresInMs) corrections.push({ field: 'typing.expiresInMs', received: expiresInMs });
  }
  if (at !== undefined) {
    const parsed = at === null ? null : timestamp.safeParse(at);
    if (parsed === null) out.timestamp = null;
    else if (parsed.success) out.timestamp = parsed.data;
    else corrections.push({ field: 'typing.timestamp', received: at });
  }
  return out;
}

export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .slice(0, 10)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}
