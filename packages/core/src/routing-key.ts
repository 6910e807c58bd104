/**
 * Routing keys on `chat3_updates` (SPEC §6): `update.{category}.{userType}.{userId}.{updateType}`.
 *
 * A segment taken from data must never contain `.`, `*` or `#`: a userId `a.b` or `*` would otherwise
 * widen the binding of another user's queue. Such characters are percent-encoded, and so is `%` itself,
 * which keeps the encoding reversible and collision-free: `a.b` → `a%2Eb`, `*` → `%2A`, `%` → `%25`.
 * A client subscribing for such a user must encode the same way (`encodeRoutingSegment`).
 */
import type { UpdateCategory, UpdateType } from './update';
import { UPDATE_TYPES } from './update';

const UNSAFE = /[.*#%]/g;

export function encodeRoutingSegment(value: string): string {
  return value.replace(UNSAFE, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

export function decodeRoutingSegment(segment: string): string {
  return segment.replace(/%(2E|2A|23|25)/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** AMQP short strings, and so routing keys, hold at most 255 bytes. */
export const MAX_ROUTING_KEY_BYTES = 255;

export function routingKeyFor(updateType: UpdateType, userType: string, userId: string): string {
  const { category, segment } = UPDATE_TYPES[updateType];
  return buildRoutingKey(category, userType, userId, segment);
}

export function buildRoutingKey(category: UpdateCategory, userType: string, userId: string, segment: string): string {
  return `update.${category}.${encodeRoutingSegment(userType)}.${encodeRoutingSegment(userId)}.${segment}`;
}
