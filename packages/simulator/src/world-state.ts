/**
 * The simulation's picture of one tenant: what Chat3's read model holds right now. Every action changes
 * this state and emits the read-model writes that make MongoDB say the same, so snapshots in events
 * and rows in the database always agree.
 *
 * Stateful and mutable; only the actions change it.
 */
import type { DialogMemberRow, DialogRow, MessageRow, UserRow } from '@chat3/core';
import { IndexedList } from './indexed-list';

export type UserType = 'user' | 'bot' | 'contact';
export type StatusValue = 'delivered' | 'read';

export interface SimUser {
  tenantId: string;
  userId: string;
  type: UserType;
  name: string;
  meta: Record<string, unknown>;
  createdAt: number;
}

export interface SimMember {
  tenantId: string;
  dialogId: string;
  userId: string;
  meta: Record<string, unknown>;
  unreadCount: number;
  lastSeenAt: number | null;
  lastMessageAt: number | null;
  isActive: boolean;
  createdAt: number;
}

export interface SimMessage {
  tenantId: string;
  dialogId: string;
  messageId: string;
  senderId: string;
  type: string;
  content: unknown;
  meta: Record<string, unknown>;
  createdAt: number;
  /** Each member's latest status, for choosing the next plausible one. */
  statuses: Map<string, StatusValue>;
}

export interface SimDialog {
  tenantId: string;
  dialogId: string;
  name: string;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
  meta: Record<string, unknown>;
  /** Every membership ever, active or not: re-adding reactivates the old row. */
  members: Map<string, SimMember>;
  active: IndexedList<string>;
  /** The latest messages, oldest first; edits, statuses and reactions target these. */
  recent: SimMessage[];
}

export const MIN_DIALOG_SIZE = 2;
export const MAX_DIALOG_SIZE = 50;
const RECENT_MESSAGES = 20;

export class TenantWorld {
  readonly users = new IndexedList<SimUser>((u) => u.userId);
  readonly dialogs = new IndexedList<SimDialog>((d) => d.dialogId);
  /** userId → number of dialogs the user is an active member of. */
  private readonly activeDialogs = new Map<string, number>();

  constructor(readonly tenantId: string) {}

  addUser(user: SimUser): void {
    this.users.add(user);
  }

  removeUser(userId: string): void {
    this.users.remove(userId);
    this.activeDialogs.delete(userId);
  }

  activeDialogCount(userId: string): number {
    return this.activeDialogs.get(userId) ?? 0;
  }

  addDialog(dialog: SimDialog): void {
    this.dialogs.add(dialog);
    for (const userId of dialog.active.values()) this.countMembership(userId, +1);
  }

  /** The dialog leaves the simulation; its membership rows stay in the read model (see README). */
  removeDialog(dialogId: string): void {
    const dialog = this.dialogs.remove(dialogId);
    if (dialog) for (const userId of dialog.active.values()) this.countMembership(userId, -1);
  }

  /** Makes `member` active in `dialog`, new or returning. */
  activate(dialog: SimDialog, member: SimMember): void {
    member.isActive = true;
    dialog.members.set(member.userId, member);
    if (!dialog.active.has(member.userId)) {
      dialog.active.add(member.userId);
      this.countMembership(member.userId, +1);
    }
  }

  deactivate(dialog: SimDialog, userId: string): SimMember {
    const member = dialog.members.get(userId) as SimMember;
    member.isActive = false;
    if (dialog.active.remove(userId) !== undefined) this.countMembership(userId, -1);
    return member;
  }

  remember(dialog: SimDialog, message: SimMessage): void {
    dialog.recent.push(message);
    if (dialog.recent.length > RECENT_MESSAGES) dialog.recent.shift();
  }

  forget(dialog: SimDialog, messageId: string): void {
    dialog.recent = dialog.recent.filter((m) => m.messageId !== messageId);
  }

  private countMembership(userId: string, delta: number): void {
    this.activeDialogs.set(userId, (this.activeDialogs.get(userId) ?? 0) + delta);
  }
}

export function newDialog(fields: Omit<SimDialog, 'members' | 'active' | 'recent'>): SimDialog {
  return { ...fields, members: new Map(), active: new IndexedList<string>((id) => id), recent: [] };
}

// Rows exactly as SPEC §3 lists them; snapshots in events are copies of these.

export const userRow = (u: SimUser): UserRow & { type: string; name: string; meta: Record<string, unknown>; createdAt: number } => ({
  tenantId: u.tenantId,
  userId: u.userId,
  type: u.type,
  name: u.name,
  meta: { ...u.meta },
  createdAt: u.createdAt,
});

export const dialogRow = (d: SimDialog): DialogRow => ({
  tenantId: d.tenantId,
  dialogId: d.dialogId,
  name: d.name,
  createdBy: d.createdBy,
  createdAt: d.createdAt,
  updatedAt: d.updatedAt,
  meta: { ...d.meta },
});

export const memberRow = (m: SimMember): DialogMemberRow => ({
  tenantId: m.tenantId,
  dialogId: m.dialogId,
  userId: m.userId,
  meta: { ...m.meta },
  unreadCount: m.unreadCount,
  lastSeenAt: m.lastSeenAt,
  lastMessageAt: m.lastMessageAt,
  isActive: m.isActive,
  createdAt: m.createdAt,
});

export const messageRow = (m: SimMessage): MessageRow => ({
  tenantId: m.tenantId,
  dialogId: m.dialogId,
  messageId: m.messageId,
  senderId: m.senderId,
  type: m.type,
  content: m.content,
  meta: { ...m.meta },
  createdAt: m.createdAt,
});
