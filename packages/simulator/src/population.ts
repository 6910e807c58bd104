/**
 * The initial Chat3 world: tenants, users of every type, dialogs of 2 to 50 members (mostly small) and
 * their memberships, drawn from the seed. `seedWrites` puts it into the read model as it stands before
 * the first event, as if it had always been there.
 */
import type { DialogMemberRow, DialogRow, UserRow } from '@chat3/core';
import { DANGEROUS_USER_IDS, newDialogId, newUserId } from './ids';
import type { Random } from './prng';
import { insertRow, type ReadModelWrite } from './read-model-writes';
import { BOT_ROLES, DIALOG_TOPICS, FIRST_NAMES, LAST_NAMES, PRESENCE } from './vocabulary';
import {
  MAX_DIALOG_SIZE,
  MIN_DIALOG_SIZE,
  TenantWorld,
  dialogRow,
  memberRow,
  newDialog,
  userRow,
  type SimDialog,
  type SimMember,
  type SimUser,
  type UserType,
} from './world-state';

export interface Population {
  tenants: string[];
  users: UserRow[];
  dialogs: DialogRow[];
  memberships: DialogMemberRow[];
}

export interface PopulationOptions {
  tenantIds: readonly string[];
  /** Total over all tenants, split evenly. */
  users: number;
  dialogs: number;
  dangerousUserIds: boolean;
  /** Epoch ms the simulation starts at; the population was created before it. */
  startTime: number;
}

const DAY_MS = 86_400_000;
const USER_TYPES: readonly UserType[] = ['user', 'bot', 'contact'];
const USER_TYPE_WEIGHTS = [80, 12, 8];

/** Dialog sizes: mostly one-to-one chats, a long tail of groups up to 50. */
const SIZE_BUCKETS: ReadonlyArray<{ min: number; max: number; weight: number }> = [
  { min: 2, max: 2, weight: 50 },
  { min: 3, max: 6, weight: 28 },
  { min: 7, max: 15, weight: 14 },
  { min: 16, max: 30, weight: 5 },
  { min: 31, max: MAX_DIALOG_SIZE, weight: 3 },
];

export function createPopulation(options: PopulationOptions, random: Random): TenantWorld[] {
  const worlds = options.tenantIds.map((tenantId) => new TenantWorld(tenantId));
  worlds.forEach((world, i) => {
    const userCount = share(options.users, worlds.length, i);
    for (let n = 0; n < userCount; n++) world.addUser(randomUser(world, random, before(options.startTime, 60, random)));
    if (options.dangerousUserIds) {
      for (const { userId, type } of DANGEROUS_USER_IDS) {
        if (!world.users.has(userId)) world.addUser(userWith(world.tenantId, userId, type, random, before(options.startTime, 60, random)));
      }
    }
    const dialogCount = share(options.dialogs, worlds.length, i);
    for (let n = 0; n < dialogCount; n++) world.addDialog(randomDialog(world, random, before(options.startTime, 30, random)));
    if (options.dangerousUserIds) includeDangerousUsers(world);
  });
  return worlds;
}

export function randomUser(world: TenantWorld, random: Random, createdAt: number): SimUser {
  const type = USER_TYPES[random.weighted(USER_TYPE_WEIGHTS)] as UserType;
  let userId = '';
  do userId = newUserId(random, type, random.pick(FIRST_NAMES));
  while (world.users.has(userId));
  return userWith(world.tenantId, userId, type, random, createdAt);
}

function userWith(tenantId: string, userId: string, type: UserType, random: Random, createdAt: number): SimUser {
  const name = type === 'bot' ? `${random.pick(BOT_ROLES)} Bot` : `${random.pick(FIRST_NAMES)} ${random.pick(LAST_NAMES)}`;
  const meta: Record<string, unknown> =
    type === 'bot'
      ? { kind: 'bot', version: random.int(1, 5) }
      : type === 'contact'
        ? { phone: `+7${random.int(900, 999)}${String(random.int(0, 9_999_999)).padStart(7, '0')}` }
        : { locale: random.pick(['ru', 'en', 'de']), presence: random.pick(PRESENCE) };
  return { tenantId, userId, type, name, meta, createdAt };
}

/** A new dialog with a creator and a random set of members, all active. */
export function randomDialog(world: TenantWorld, random: Random, createdAt: number): SimDialog {
  const size = dialogSize(random, world.users.size);
  const picked = sampleDistinct(random, world.users.size, size).map((i) => world.users.at(i).userId);
  const createdBy = picked[0] as string;
  const dialog = newDialog({
    tenantId: world.tenantId,
    dialogId: newDialogId(random),
    name: size === 2 ? '' : `${random.pick(DIALOG_TOPICS)} #${random.int(1, 999)}`,
    createdBy,
    createdAt,
    updatedAt: createdAt,
    meta: size === 2 ? { type: 'direct' } : { type: 'group' },
  });
  for (const userId of picked) {
    const member = newMember(dialog, userId, createdAt, userId === createdBy ? 'owner' : 'member');
    dialog.members.set(userId, member);
    dialog.active.add(userId);
  }
  return dialog;
}

export function dialogSize(random: Random, available: number): number {
  const bucket = SIZE_BUCKETS[random.weighted(SIZE_BUCKETS.map((b) => b.weight))] as (typeof SIZE_BUCKETS)[number];
  return Math.max(MIN_DIALOG_SIZE, Math.min(random.int(bucket.min, bucket.max), available));
}

export function newMember(dialog: SimDialog, userId: string, createdAt: number, role: string): SimMember {
  return {
    tenantId: dialog.tenantId,
    dialogId: dialog.dialogId,
    userId,
    meta: { role },
    unreadCount: 0,
    lastSeenAt: null,
    lastMessageAt: null,
    isActive: true,
    createdAt,
  };
}

/** Routing-key-hostile users must show up in traffic: each joins a dialog that has room. */
function includeDangerousUsers(world: TenantWorld): void {
  const dialogs = world.dialogs.values();
  if (dialogs.length === 0) return;
  DANGEROUS_USER_IDS.forEach(({ userId }, i) => {
    const dialog = dialogs[i % dialogs.length] as SimDialog;
    if (dialog.active.has(userId) || dialog.active.size >= MAX_DIALOG_SIZE) return;
    world.activate(dialog, newMember(dialog, userId, dialog.createdAt, 'member'));
  });
}

/** k distinct indices below n: rejection while sparse, a partial shuffle when dense. */
export function sampleDistinct(random: Random, n: number, k: number): number[] {
  if (k > n) throw new Error(`cannot pick ${k} distinct of ${n}`);
  if (k * 2 <= n) {
    const seen = new Set<number>();
    const out: number[] = [];
    while (out.length < k) {
      const i = random.int(0, n - 1);
      if (!seen.has(i)) {
        seen.add(i);
        out.push(i);
      }
    }
    return out;
  }
  const all = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = random.int(i, n - 1);
    [all[i], all[j]] = [all[j] as number, all[i] as number];
  }
  return all.slice(0, k);
}

export function populationOf(worlds: readonly TenantWorld[]): Population {
  return {
    tenants: worlds.map((w) => w.tenantId),
    users: worlds.flatMap((w) => w.users.values().map(userRow)),
    dialogs: worlds.flatMap((w) => w.dialogs.values().map(dialogRow)),
    memberships: worlds.flatMap((w) => w.dialogs.values().flatMap((d) => [...d.members.values()].map(memberRow))),
  };
}

/** The population as read-model inserts: users, then dialogs, then memberships. */
export function populationWrites(population: Population): ReadModelWrite[] {
  return [
    ...population.users.map((row) => insertRow('users', row)),
    ...population.dialogs.map((row) => insertRow('dialogs', row)),
    ...population.memberships.map((row) => insertRow('dialogMembers', row)),
  ];
}

function share(total: number, parts: number, index: number): number {
  return Math.floor(total / parts) + (index < total % parts ? 1 : 0);
}

/** A moment up to `days` before `time`, at µs resolution. */
function before(time: number, days: number, random: Random): number {
  return Math.round(time * 1000 - random.int(1, days * DAY_MS * 1000)) / 1000;
}
