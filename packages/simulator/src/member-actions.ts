/**
 * Membership changes (SPEC §2): adds (new or returning: re-adding reactivates the old row), removes
 * (`isActive: false`, the row stays) and member settings. Dialogs stay within 2..50 active members.
 */
import { ActionContext, memberSnapshot } from './action-context';
import { newMember } from './population';
import { insertRow, memberKey, setFields, type ReadModelWrite } from './read-model-writes';
import { MAX_DIALOG_SIZE, MIN_DIALOG_SIZE, memberRow, type SimDialog, type SimMember } from './world-state';

const PICK_ATTEMPTS = 10;

export function addMember(ctx: ActionContext): boolean {
  const { world, random, now } = ctx;
  const dialog = ctx.pickDialog((d) => d.active.size >= 1 && d.active.size < MAX_DIALOG_SIZE);
  if (!dialog) return false;
  const actorId = ctx.pickActive(dialog) as string;
  // Removed users keep their old membership rows; only users that still exist can come back.
  const returning = [...dialog.members.values()].filter((m) => !m.isActive && world.users.has(m.userId));
  let member: SimMember | null = null;
  let write: ReadModelWrite;
  if (returning.length > 0 && random.chance(0.3)) {
    member = random.pick(returning);
    world.activate(dialog, member);
    write = setFields('dialogMembers', memberKey(member), { isActive: true });
  } else {
    const userId = pickOutsider(ctx, dialog);
    if (!userId) return false;
    const former = dialog.members.get(userId);
    member = former ?? newMember(dialog, userId, now, 'member');
    world.activate(dialog, member);
    write = former ? setFields('dialogMembers', memberKey(member), { isActive: true }) : insertRow('dialogMembers', memberRow(member));
  }
  emitMemberEvent(ctx, 'dialog.member.add', dialog, member, actorId, write);
  return true;
}

export function removeMember(ctx: ActionContext): boolean {
  const dialog = ctx.pickDialog((d) => d.active.size > MIN_DIALOG_SIZE);
  if (!dialog) return false;
  const userId = ctx.pickActive(dialog) as string;
  // Half of the removals are the member leaving, the rest an admin removing them.
  const actorId = ctx.random.chance(0.5) ? userId : (ctx.pickActive(dialog, userId) as string);
  const member = ctx.world.deactivate(dialog, userId);
  emitMemberEvent(ctx, 'dialog.member.remove', dialog, member, actorId, setFields('dialogMembers', memberKey(member), { isActive: false }));
  return true;
}

/** A member changes their own settings (mute, notifications). */
export function updateMember(ctx: ActionContext): boolean {
  const dialog = ctx.pickDialog((d) => d.active.size > 0);
  const userId = dialog && ctx.pickActive(dialog);
  if (!dialog || !userId) return false;
  const member = dialog.members.get(userId) as SimMember;
  member.meta = ctx.random.chance(0.5)
    ? { ...member.meta, muted: member.meta.muted !== true }
    : { ...member.meta, notifications: ctx.random.pick(['all', 'mentions', 'none']) };
  emitMemberEvent(
    ctx,
    'dialog.member.update',
    dialog,
    member,
    userId,
    setFields('dialogMembers', memberKey(member), { meta: { ...member.meta } }),
    ['member.meta'],
  );
  return true;
}

function emitMemberEvent(
  ctx: ActionContext,
  eventType: 'dialog.member.add' | 'dialog.member.remove' | 'dialog.member.update',
  dialog: SimDialog,
  member: SimMember,
  actorId: string,
  write: ReadModelWrite,
  updatedFields?: string[],
): void {
  ctx.emit(
    {
      eventType,
      entityType: 'dialog',
      entityId: dialog.dialogId,
      actorId,
      actorType: ctx.userType(actorId),
      data: {
        member: ctx.withSnapshot() ? memberSnapshot(member) : undefined,
        context: { dialogId: dialog.dialogId, userId: member.userId, ...(updatedFields ? { updatedFields } : {}) },
      },
    },
    [write],
  );
}

/** A user of the tenant who is not an active member of `dialog`. */
function pickOutsider(ctx: ActionContext, dialog: SimDialog): string | null {
  const { users } = ctx.world;
  if (users.size <= dialog.active.size) return null;
  for (let i = 0; i < PICK_ATTEMPTS; i++) {
    const userId = users.at(ctx.random.int(0, users.size - 1)).userId;
    if (!dialog.active.has(userId)) return userId;
  }
  return null;
}
