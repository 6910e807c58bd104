/**
 * What a batch needs from the read model, worked out in three rounds because each depends on the one
 * before: messages (a message event may name no dialog) → dialogs and memberships → users (recipients,
 * senders, typists). Pure; the queries live in db/read-model-queries.ts.
 */
import { dialogIdOf, memberUserIdOf, messageIdOf, subjectUserIdOf, type ChatEvent, type ReadModelView } from '@chat3/core';

/** tenantId → ids. Tenants are kept apart in every query: ids are only unique within a tenant. */
export type IdsByTenant = Map<string, Set<string>>;

function add(map: IdsByTenant, tenantId: string, id: string | null | undefined): void {
  if (!id) return;
  const set = map.get(tenantId);
  if (set) set.add(id);
  else map.set(tenantId, new Set([id]));
}

const isMessageEvent = (e: ChatEvent) => e.eventType.startsWith('message.');
const needsStatuses = (e: ChatEvent) =>
  e.eventType === 'message.create' || e.eventType === 'message.update' || e.eventType === 'message.status.update';

export function messagesToLoad(events: readonly ChatEvent[]): { messages: IdsByTenant; statuses: IdsByTenant } {
  const messages: IdsByTenant = new Map();
  const statuses: IdsByTenant = new Map();
  for (const e of events) {
    if (!isMessageEvent(e)) continue;
    add(messages, e.tenantId, messageIdOf(e));
    if (needsStatuses(e)) add(statuses, e.tenantId, messageIdOf(e));
  }
  return { messages, statuses };
}

export function dialogsToLoad(events: readonly ChatEvent[], view: ReadModelView): IdsByTenant {
  const dialogs: IdsByTenant = new Map();
  for (const e of events) add(dialogs, e.tenantId, dialogIdOf(e, view));
  return dialogs;
}

export function usersToLoad(events: readonly ChatEvent[], view: ReadModelView): IdsByTenant {
  const users: IdsByTenant = new Map();
  for (const e of events) {
    const t = e.tenantId;
    add(users, t, e.actorId);
    if (e.eventType.startsWith('user.')) {
      add(users, t, subjectUserIdOf(e));
      continue;
    }
    const dialogId = dialogIdOf(e, view);
    if (dialogId) for (const m of view.members(t, dialogId)) add(users, t, m.userId);
    add(users, t, memberUserIdOf(e));
    add(users, t, e.data.typing?.userId);
    if (isMessageEvent(e)) {
      const messageId = messageIdOf(e);
      add(users, t, e.data.message?.senderId ?? view.message(t, messageId)?.senderId);
      for (const s of view.statuses(t, messageId)) add(users, t, s.userId);
    }
  }
  return users;
}

/** `{ tenantId, field: { $in } }`, or an `$or` of those when a batch spans tenants. */
export function byTenantFilter(field: string, ids: IdsByTenant): Record<string, unknown> | null {
  const clauses = [...ids].filter(([, set]) => set.size > 0).map(([tenantId, set]) => ({ tenantId, [field]: { $in: [...set] } }));
  if (clauses.length === 0) return null;
  return clauses.length === 1 ? (clauses[0] as Record<string, unknown>) : { $or: clauses };
}
