/** Dialog lifecycle and typing (SPEC §2): create, rename or re-meta, the rare delete, typing. */
import { ActionContext, dialogSnapshot } from './action-context';
import { randomDialog } from './population';
import { deleteRow, dialogKey, insertRow, setFields } from './read-model-writes';
import { DIALOG_TOPICS } from './vocabulary';
import { MIN_DIALOG_SIZE, dialogRow, memberRow } from './world-state';

/** Chat3's default typing indicator lifetime. */
const TYPING_EXPIRES_MS = 5000;

export function createDialog(ctx: ActionContext): boolean {
  const { world } = ctx;
  if (world.users.size < MIN_DIALOG_SIZE) return false;
  const dialog = randomDialog(world, ctx.random, ctx.now);
  world.addDialog(dialog);
  ctx.emit(
    {
      eventType: 'dialog.create',
      entityType: 'dialog',
      entityId: dialog.dialogId,
      actorId: dialog.createdBy,
      actorType: ctx.userType(dialog.createdBy),
      data: {
        dialog: ctx.withSnapshot() ? dialogSnapshot(dialog) : undefined,
        context: { dialogId: dialog.dialogId },
      },
    },
    [insertRow('dialogs', dialogRow(dialog)), ...[...dialog.members.values()].map((m) => insertRow('dialogMembers', memberRow(m)))],
  );
  return true;
}

export function updateDialog(ctx: ActionContext): boolean {
  const dialog = ctx.pickDialog((d) => d.active.size > 0);
  const actorId = dialog && ctx.pickActive(dialog);
  if (!dialog || !actorId) return false;
  const { random, now } = ctx;
  // Direct chats have no title to change; groups get renamed or re-decorated.
  const rename = dialog.meta.type === 'group' && random.chance(0.5);
  if (rename) dialog.name = `${random.pick(DIALOG_TOPICS)} #${random.int(1, 999)}`;
  else dialog.meta = { ...dialog.meta, avatar: `https://cdn.example.com/a/${random.hex(8)}.png` };
  dialog.updatedAt = now;
  ctx.emit(
    {
      eventType: 'dialog.update',
      entityType: 'dialog',
      entityId: dialog.dialogId,
      actorId,
      actorType: ctx.userType(actorId),
      data: {
        dialog: ctx.withSnapshot() ? dialogSnapshot(dialog) : undefined,
        context: { dialogId: dialog.dialogId, updatedFields: [rename ? 'dialog.name' : 'dialog.meta'] },
      },
    },
    [
      setFields(
        'dialogs',
        dialogKey(dialog),
        rename ? { name: dialog.name, updatedAt: now } : { meta: { ...dialog.meta }, updatedAt: now },
      ),
    ],
  );
  return true;
}

/**
 * The dialog row is deleted; memberships stay, so the delete can still reach the members, and the
 * event always carries the dialog snapshot because the row is gone. The dialog leaves the simulation.
 */
export function deleteDialog(ctx: ActionContext): boolean {
  if (ctx.world.dialogs.size <= 1) return false;
  const dialog = ctx.pickDialog((d) => d.active.size > 0);
  if (!dialog) return false;
  const actorId = dialog.active.has(dialog.createdBy) ? dialog.createdBy : (ctx.pickActive(dialog) as string);
  ctx.world.removeDialog(dialog.dialogId);
  ctx.emit(
    {
      eventType: 'dialog.delete',
      entityType: 'dialog',
      entityId: dialog.dialogId,
      actorId,
      actorType: ctx.userType(actorId),
      data: { dialog: dialogSnapshot(dialog), context: { dialogId: dialog.dialogId } },
    },
    [deleteRow('dialogs', dialogKey(dialog))],
  );
  return true;
}

export function typing(ctx: ActionContext): boolean {
  const dialog = ctx.pickDialog((d) => d.active.size >= 2);
  const userId = dialog && ctx.pickActive(dialog);
  if (!dialog || !userId) return false;
  ctx.emit(
    {
      eventType: 'dialog.typing',
      entityType: 'dialog',
      entityId: dialog.dialogId,
      actorId: userId,
      actorType: ctx.userType(userId),
      data: {
        typing: { userId, expiresInMs: TYPING_EXPIRES_MS, timestamp: ctx.now },
        context: { dialogId: dialog.dialogId },
      },
    },
    [],
  );
  return true;
}
