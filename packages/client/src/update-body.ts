/**
 * The Update a client receives: the wire body (core's `toWireMessage`) with its `seq`, parsed once where
 * it enters (an AMQP message or an API page) and trusted after that.
 *
 * Outcomes: `sequenced` (the normal case), `unsequenced` (published before the relay numbered Updates;
 * no position in the sequence), `foreign` (for another tenant or user: in scope `seed` tenants share a
 * queue, so a queue can hold another tenant's Updates for the same userId), `malformed` (not JSON, or
 * lacking what ordering needs).
 */
import { UPDATE_TYPES, type UpdateDocument } from '@chat3/core';
import { z } from 'zod';

/** The stored fields the body leaves out (core's WIRE_OMITTED_FIELDS), and `_id` as its hex string. */
type OffTheWire =
  'published' | 'publishedAt' | 'publishedDate' | 'publishAttempts' | 'parked' | 'partition' | 'eventCreatedAt' | 'statsVersion' | 'seq';

/** An Update as delivered, before sequence numbers existed (`seq` absent). */
export type UnsequencedUpdate = Omit<UpdateDocument<string>, OffTheWire> & {
  /** Only on UserStatsUpdates: the stats emission's number for the user. */
  statsVersion?: number;
};

/** An Update as the handler receives it: its recipient's sequence number is set. */
export type SequencedUpdate = UnsequencedUpdate & { seq: number };

const bodySchema = z
  .object({
    _id: z.string().min(1),
    tenantId: z.string(),
    userId: z.string(),
    eventType: z.string(),
    updateType: z.enum(Object.keys(UPDATE_TYPES) as [keyof typeof UPDATE_TYPES, ...Array<keyof typeof UPDATE_TYPES>]),
    data: z.object({ context: z.object({}).passthrough() }).passthrough(),
    seq: z.number().int().positive().optional(),
  })
  .passthrough();

export type ParsedUpdate =
  | { kind: 'sequenced'; update: SequencedUpdate }
  | { kind: 'unsequenced'; update: UnsequencedUpdate }
  | { kind: 'foreign'; update: UnsequencedUpdate; reason: string }
  | { kind: 'malformed'; reason: string };

export interface Recipient {
  tenantId: string;
  userId: string;
}

/** Parses one body (already JSON-decoded) for `recipient`. */
export function classifyUpdate(value: unknown, recipient: Recipient): ParsedUpdate {
  const parsed = bodySchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { kind: 'malformed', reason: `not an Update: ${issue ? `${issue.path.join('.') || '(body)'}: ${issue.message}` : 'invalid'}` };
  }
  const update = parsed.data as unknown as UnsequencedUpdate & { seq?: number };
  if (update.tenantId !== recipient.tenantId || update.userId !== recipient.userId) {
    return { kind: 'foreign', update, reason: `for tenant ${JSON.stringify(update.tenantId)} user ${JSON.stringify(update.userId)}` };
  }
  if (update.seq === undefined) return { kind: 'unsequenced', update };
  return { kind: 'sequenced', update: update as SequencedUpdate };
}

/** Parses one AMQP body (bytes). */
export function parseUpdateMessage(content: Buffer, recipient: Recipient): ParsedUpdate {
  let value: unknown;
  try {
    value = JSON.parse(content.toString('utf8'));
  } catch (err) {
    return { kind: 'malformed', reason: `body is not JSON: ${(err as Error).message}` };
  }
  return classifyUpdate(value, recipient);
}
