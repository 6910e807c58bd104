/**
 * Which partition queue an event goes to. All events of one dialog share a partition (so one builder
 * handles them in order); `user.*` events are keyed by the user. A message event that names no dialog
 * needs one read-model lookup (message → dialog) before it can be routed.
 */
import { hashKey, type ChatEvent, type EventClass, type ParsedEvent } from '@chat3/core';
import { dialogIdOf, messageIdOf, subjectUserIdOf } from '@chat3/core';

export type RouteDecision =
  | { action: 'forward'; partition: number }
  | { action: 'lookup'; tenantId: string; messageId: string }
  | { action: 'ignore'; eventType: string; reason: Extract<EventClass, { kind: 'ignored' }>['reason'] }
  | { action: 'dead-letter'; reason: string; detail: string };

export function partitionKeyOf(event: ChatEvent): string[] | null {
  if (event.eventType.startsWith('user.')) return [event.tenantId, 'user', subjectUserIdOf(event)];
  const dialogId = dialogIdOf(event);
  return dialogId ? [event.tenantId, 'dialog', dialogId] : null;
}

export function partitionOfKey(key: string[], partitions: number): number {
  return hashKey(key) % partitions;
}

export function routeEvent(parsed: ParsedEvent, partitions: number): RouteDecision {
  if (!parsed.ok) return { action: 'dead-letter', reason: parsed.reason, detail: parsed.detail };
  if (parsed.class.kind === 'ignored') {
    return { action: 'ignore', eventType: parsed.class.eventType, reason: parsed.class.reason };
  }
  const key = partitionKeyOf(parsed.event);
  if (key) return { action: 'forward', partition: partitionOfKey(key, partitions) };
  return { action: 'lookup', tenantId: parsed.event.tenantId, messageId: messageIdOf(parsed.event) };
}

/** After the lookup: the message's dialog, or (message unknown) the message itself as the key. */
export function partitionAfterLookup(tenantId: string, messageId: string, dialogId: string | null, partitions: number): number {
  const key = dialogId ? [tenantId, 'dialog', dialogId] : [tenantId, 'message', messageId];
  return partitionOfKey(key, partitions);
}
