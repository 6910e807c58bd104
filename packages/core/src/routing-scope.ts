/**
 * Routing-key scopes (issue #10 §4): where an Update is routed and which queue a client reads, as pure
 * functions shared by the builder (which computes the key), the SDK (which binds) and tests.
 *
 * - `seed` (the default) is the seed's format, unchanged:
 *     key      `update.{category}.{userType}.{userId}.{updateType}`
 *     binding  `update.*.{userType}.{userId}.*`
 *     queue    `user_{userId}_updates`
 *   Tenants are not told apart: the same userId in two tenants shares a queue and a binding.
 * - `tenant` adds the tenant as the third word, so category stays the second word as in the seed:
 *     key      `update.{category}.{tenantId}.{userType}.{userId}.{updateType}`
 *     binding  `update.*.{tenantId}.{userType}.{userId}.*`
 *     queue    `tenant.{tenantId}.user.{userId}.updates`
 *   Six words never match a seed consumer's five-word bindings (`update.*.*.*.*`), so tenant-scoped
 *   Updates cannot leak into an old client's queue either.
 *
 * Every data segment is encoded with `encodeRoutingSegment` (`.` `*` `#` `%` percent-encoded), in keys,
 * bindings and tenant queue names alike. An encoded segment never contains `.`, so a tenant queue name
 * splits back into exactly its five words and decodes to one (tenantId, userId) pair: two recipients
 * never share a queue. (`user_{a}_{b}_updates` style names cannot promise that: tenant `a_b`, user `c`
 * and tenant `a`, user `b_c` would collide.) The seed queue name keeps the raw userId, as the seed does.
 */
import { encodeRoutingSegment, decodeRoutingSegment } from './routing-key';
import type { UpdateType } from './update';
import { UPDATE_TYPES } from './update';

export const ROUTING_KEY_SCOPES = ['seed', 'tenant'] as const;
export type RoutingKeyScope = (typeof ROUTING_KEY_SCOPES)[number];

/** A recipient's address: the tenant, and the user type that appears in its routing keys. */
export interface RecipientAddress {
  tenantId: string;
  userId: string;
  userType: string;
}

/** RabbitMQ queue names are AMQP short strings: at most 255 bytes. */
export const MAX_QUEUE_NAME_BYTES = 255;

export function scopedRoutingKey(scope: RoutingKeyScope, updateType: UpdateType, to: RecipientAddress): string {
  const { category, segment } = UPDATE_TYPES[updateType];
  const who = `${encodeRoutingSegment(to.userType)}.${encodeRoutingSegment(to.userId)}`;
  return scope === 'seed'
    ? `update.${category}.${who}.${segment}`
    : `update.${category}.${encodeRoutingSegment(to.tenantId)}.${who}.${segment}`;
}

/** The binding of one recipient's queue: every Update type for that user (and, scoped, that tenant). */
export function bindingKeyFor(scope: RoutingKeyScope, to: RecipientAddress): string {
  const who = `${encodeRoutingSegment(to.userType)}.${encodeRoutingSegment(to.userId)}`;
  return scope === 'seed' ? `update.*.${who}.*` : `update.*.${encodeRoutingSegment(to.tenantId)}.${who}.*`;
}

/**
 * The recipient's queue. Throws if the name would exceed AMQP's 255 bytes (RabbitMQ would refuse it;
 * better a clear error here than a channel closed by the server).
 */
export function queueNameFor(scope: RoutingKeyScope, to: Pick<RecipientAddress, 'tenantId' | 'userId'>): string {
  const name =
    scope === 'seed'
      ? `user_${to.userId}_updates`
      : `tenant.${encodeRoutingSegment(to.tenantId)}.user.${encodeRoutingSegment(to.userId)}.updates`;
  const bytes = Buffer.byteLength(name);
  if (bytes > MAX_QUEUE_NAME_BYTES)
    throw new RangeError(`queue name for user ${JSON.stringify(to.userId)} would be ${bytes} bytes; AMQP allows ${MAX_QUEUE_NAME_BYTES}`);
  return name;
}

/** The (tenantId, userId) a tenant-scoped queue name belongs to, or null if it is not one. */
export function parseTenantQueueName(name: string): { tenantId: string; userId: string } | null {
  const words = name.split('.');
  if (words.length !== 5 || words[0] !== 'tenant' || words[2] !== 'user' || words[4] !== 'updates') return null;
  return { tenantId: decodeRoutingSegment(words[1]!), userId: decodeRoutingSegment(words[3]!) };
}

export function parseRoutingKeyScope(value: string): RoutingKeyScope | null {
  return (ROUTING_KEY_SCOPES as readonly string[]).includes(value) ? (value as RoutingKeyScope) : null;
}
