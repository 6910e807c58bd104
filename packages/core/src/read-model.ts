/**
 * The Chat3 domain read model (SPEC §3), as the builder reads it. Chat3 writes it; this product only
 * reads it. Fields are optional where older Chat3 rows may lack them.
 */

export interface UserRow {
  tenantId: string;
  userId: string;
  type?: string | null;
  name?: string | null;
  meta?: Record<string, unknown> | null;
  createdAt?: number | Date | null;
}

export interface DialogRow {
  tenantId: string;
  dialogId: string;
  name?: string | null;
  createdBy?: string | null;
  createdAt?: number | Date | null;
  updatedAt?: number | Date | null;
  meta?: Record<string, unknown> | null;
}

export interface DialogMemberRow {
  tenantId: string;
  dialogId: string;
  userId: string;
  meta?: Record<string, unknown> | null;
  unreadCount?: number | null;
  lastSeenAt?: number | Date | null;
  lastMessageAt?: number | Date | null;
  isActive?: boolean | null;
  createdAt?: number | Date | null;
}

export interface MessageRow {
  tenantId: string;
  dialogId: string;
  messageId: string;
  senderId?: string | null;
  type?: string | null;
  content?: unknown;
  meta?: Record<string, unknown> | null;
  createdAt?: number | Date | null;
}

/** History rows: one per status change; the latest row per user is the current status. */
export interface MessageStatusRow {
  tenantId: string;
  dialogId?: string | null;
  messageId: string;
  userId: string;
  userType?: string | null;
  status: string;
  readAt?: number | Date | null;
  createdAt?: number | Date | null;
}

export const DEFAULT_USER_TYPE = 'user';

/** Timestamps on Updates are epoch milliseconds (float); Chat3 rows may hold Dates. */
export function toEpochMs(value: number | Date | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  return value instanceof Date ? value.getTime() : value;
}

/**
 * The part of the read model one batch of events needs, keyed for lookup. Built by the builder from a
 * few `$in` queries; the mapping reads only this.
 */
export class ReadModelView {
  private readonly users = new Map<string, UserRow>();
  private readonly dialogs = new Map<string, DialogRow>();
  private readonly membersByDialog = new Map<string, DialogMemberRow[]>();
  private readonly messages = new Map<string, MessageRow>();
  private readonly statusesByMessage = new Map<string, MessageStatusRow[]>();

  addUsers(rows: Iterable<UserRow>): this {
    for (const r of rows) this.users.set(key(r.tenantId, r.userId), r);
    return this;
  }

  addDialogs(rows: Iterable<DialogRow>): this {
    for (const r of rows) this.dialogs.set(key(r.tenantId, r.dialogId), r);
    return this;
  }

  /** Every membership row of the dialogs loaded, active or not. */
  addMembers(rows: Iterable<DialogMemberRow>): this {
    for (const r of rows) push(this.membersByDialog, key(r.tenantId, r.dialogId), r);
    return this;
  }

  addMessages(rows: Iterable<MessageRow>): this {
    for (const r of rows) this.messages.set(key(r.tenantId, r.messageId), r);
    return this;
  }

  addStatuses(rows: Iterable<MessageStatusRow>): this {
    for (const r of rows) push(this.statusesByMessage, key(r.tenantId, r.messageId), r);
    return this;
  }

  user(tenantId: string, userId: string): UserRow | undefined {
    return this.users.get(key(tenantId, userId));
  }

  userType(tenantId: string, userId: string): string {
    return this.user(tenantId, userId)?.type || DEFAULT_USER_TYPE;
  }

  dialog(tenantId: string, dialogId: string): DialogRow | undefined {
    return this.dialogs.get(key(tenantId, dialogId));
  }

  members(tenantId: string, dialogId: string): readonly DialogMemberRow[] {
    return this.membersByDialog.get(key(tenantId, dialogId)) ?? [];
  }

  member(tenantId: string, dialogId: string, userId: string): DialogMemberRow | undefined {
    return this.members(tenantId, dialogId).find((m) => m.userId === userId);
  }

  message(tenantId: string, messageId: string): MessageRow | undefined {
    return this.messages.get(key(tenantId, messageId));
  }

  statuses(tenantId: string, messageId: string): readonly MessageStatusRow[] {
    return this.statusesByMessage.get(key(tenantId, messageId)) ?? [];
  }
}

function key(tenantId: string, id: string): string {
  return `${tenantId}\u0000${id}`;
}

function push<K, V>(map: Map<K, V[]>, k: K, v: V): void {
  const list = map.get(k);
  if (list) list.push(v);
  else map.set(k, [v]);
}
