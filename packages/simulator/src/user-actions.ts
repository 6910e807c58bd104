/**
 * Users (SPEC §2): sign-ups, profile changes and the rare removal. Only users without active
 * memberships are removed, and never the routing-key-hostile ones, which must keep appearing in traffic.
 */
import { ActionContext, userSnapshot } from './action-context';
import { DANGEROUS_USER_IDS } from './ids';
import { randomUser } from './population';
import { deleteRow, insertRow, setFields, userKey, type ReadModelWrite } from './read-model-writes';
import { FIRST_NAMES, LAST_NAMES, PRESENCE } from './vocabulary';
import { userRow, type SimUser } from './world-state';

/** User management goes through Chat3's admin API, not a user. */
const SYSTEM_ACTOR = { actorId: 'system', actorType: 'system' } as const;
const protectedIds = new Set(DANGEROUS_USER_IDS.map((u) => u.userId));

export function addUser(ctx: ActionContext): boolean {
  const user = randomUser(ctx.world, ctx.random, ctx.now);
  ctx.world.addUser(user);
  emitUserEvent(ctx, 'user.add', user, ctx.withSnapshot(), SYSTEM_ACTOR, insertRow('users', userRow(user)));
  return true;
}

export function updateUser(ctx: ActionContext): boolean {
  const { users } = ctx.world;
  if (users.size === 0) return false;
  const { random } = ctx;
  const user = users.at(random.int(0, users.size - 1));
  const rename = random.chance(0.3);
  if (rename) user.name = `${random.pick(FIRST_NAMES)} ${random.pick(LAST_NAMES)}`;
  else user.meta = { ...user.meta, presence: random.pick(PRESENCE) };
  const actor = random.chance(0.5) ? { actorId: user.userId, actorType: user.type } : SYSTEM_ACTOR;
  const write = setFields('users', userKey(user), rename ? { name: user.name } : { meta: { ...user.meta } });
  emitUserEvent(ctx, 'user.update', user, ctx.withSnapshot(), actor, write, [rename ? 'user.name' : 'user.meta']);
  return true;
}

/** The row is deleted, so the event always carries the user snapshot. */
export function removeUser(ctx: ActionContext): boolean {
  const { users } = ctx.world;
  if (users.size === 0) return false;
  const start = ctx.random.int(0, users.size - 1);
  for (let i = 0; i < users.size; i++) {
    const user = users.at((start + i) % users.size);
    if (protectedIds.has(user.userId) || ctx.world.activeDialogCount(user.userId) > 0) continue;
    ctx.world.removeUser(user.userId);
    emitUserEvent(ctx, 'user.remove', user, true, SYSTEM_ACTOR, deleteRow('users', userKey(user)));
    return true;
  }
  return false;
}

function emitUserEvent(
  ctx: ActionContext,
  eventType: 'user.add' | 'user.update' | 'user.remove',
  user: SimUser,
  withSnapshot: boolean,
  actor: { actorId: string; actorType: string },
  write: ReadModelWrite,
  updatedFields?: string[],
): void {
  ctx.emit(
    {
      eventType,
      entityType: 'user',
      entityId: user.userId,
      ...actor,
      data: {
        user: withSnapshot ? userSnapshot(user) : undefined,
        context: { userId: user.userId, ...(updatedFields ? { updatedFields } : {}) },
      },
    },
    [write],
  );
}
