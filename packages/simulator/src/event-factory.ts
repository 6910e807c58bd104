/**
 * Event bodies exactly as Chat3 publishes them (SPEC §2), and the spellings older or newer producers
 * use: the `*.changed` alias of `*.update` types and the legacy body that carries only `_id`.
 */
import type { Random } from './prng';
import { newLegacyObjectId } from './ids';

export type Snapshot = Record<string, unknown>;

export interface EventContext {
  dialogId?: string;
  messageId?: string;
  userId?: string;
  updatedFields?: string[];
}

export interface EventData {
  context: EventContext;
  dialog?: Snapshot;
  member?: Snapshot;
  message?: Snapshot;
  typing?: Snapshot;
  user?: Snapshot;
  statusUpdate?: Snapshot;
  status?: Snapshot;
  reactionUpdate?: Snapshot;
  reaction?: Snapshot;
}

export interface EventBody {
  /** `evt_` + 32 hex; absent on legacy bodies, which carry `_id` instead. */
  eventId?: string;
  _id?: string;
  tenantId: string;
  eventType: string;
  entityType: 'dialog' | 'message' | 'user';
  entityId: string;
  actorId: string | null;
  actorType: string | null;
  data: EventData;
  /** Epoch ms with a µs fraction. */
  createdAt: number;
}

export interface EventVariantRates {
  /** Share of `*.update` events spelled `*.changed`. */
  alias: number;
  /** Share of events sent as a legacy body with only a 24-hex `_id`. */
  legacy: number;
}

export const DEFAULT_VARIANT_RATES: EventVariantRates = { alias: 0.03, legacy: 0.02 };

/**
 * `{entityType}.{action}.{tenantId}`: the event type already starts with its entity type and the action
 * is the rest (`dialog.member.add.tnt_default`, `message.status.update.tnt_default`).
 */
export function eventRoutingKey(body: Pick<EventBody, 'eventType' | 'tenantId'>): string {
  return `${body.eventType}.${body.tenantId}`;
}

/** The id a consumer deduplicates by, whichever field carries it. */
export function eventIdOf(body: EventBody): string {
  return (body.eventId ?? body._id) as string;
}

/** Rewrites a canonical body into a variant spelling, or returns it unchanged. */
export function decorateEvent(body: EventBody, random: Random, rates: EventVariantRates): EventBody {
  let out = body;
  if (out.eventType.endsWith('.update') && random.chance(rates.alias)) {
    out = { ...out, eventType: `${out.eventType.slice(0, -'.update'.length)}.changed` };
  }
  if (random.chance(rates.legacy)) {
    const { eventId: _dropped, ...rest } = out;
    out = { _id: newLegacyObjectId(random), ...rest };
  }
  return out;
}

/** Stable JSON for publishing: the body is built in field order, so plain stringify is stable. */
export function encodeEvent(body: EventBody): Buffer {
  return Buffer.from(JSON.stringify(body));
}
