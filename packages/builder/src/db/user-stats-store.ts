/**
 * User stats (SPEC §5): computed from `dialogmembers`, and the record of the last emission per user in
 * `userstats`, claimed with a compare-and-set so two builders racing on one user emit once.
 */
import type { DialogMemberRow, EmittedStats, UserStats } from '@chat3/core';
import { isDuplicateKey } from '@chat3/runtime';
import type { Collection } from 'mongodb';

/** Counts active memberships and unread ones. Two plain `$group`/`$sum` stages, which every server has. */
export async function computeStats(
  members: Collection<DialogMemberRow>,
  tenantId: string,
  userIds: readonly string[],
): Promise<Map<string, UserStats>> {
  const active = { tenantId, userId: { $in: [...userIds] }, isActive: { $ne: false } };
  const count = (match: Record<string, unknown>) =>
    members.aggregate<{ _id: string; n: number }>([{ $match: match }, { $group: { _id: '$userId', n: { $sum: 1 } } }]).toArray();
  const [dialogs, unread] = await Promise.all([count(active), count({ ...active, unreadCount: { $gt: 0 } })]);
  const stats = new Map<string, UserStats>(userIds.map((id) => [id, { dialogCount: 0, unreadDialogsCount: 0 }]));
  for (const row of dialogs) stats.get(row._id)!.dialogCount = row.n;
  for (const row of unread) stats.get(row._id)!.unreadDialogsCount = row.n;
  return stats;
}

export async function loadEmitted(
  collection: Collection<EmittedStats>,
  tenantId: string,
  userIds: readonly string[],
): Promise<Map<string, EmittedStats>> {
  const rows = await collection.find({ tenantId, userId: { $in: [...userIds] } }, { projection: { _id: 0 } }).toArray();
  return new Map(rows.map((r) => [r.userId, r as EmittedStats]));
}

/** True if this caller now owns the emission; false if another writer changed the record first. */
export async function claimEmission(
  collection: Collection<EmittedStats>,
  previous: EmittedStats | null,
  next: EmittedStats,
): Promise<boolean> {
  if (!previous) {
    try {
      await collection.insertOne({ ...next });
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }
  const result = await collection.updateOne(
    {
      tenantId: previous.tenantId,
      userId: previous.userId,
      eventId: previous.eventId,
      'stats.dialogCount': previous.stats.dialogCount,
      'stats.unreadDialogsCount': previous.stats.unreadDialogsCount,
      version: previous.version, // dropped when undefined (records from before versions; ignoreUndefined)
    },
    {
      $set: {
        stats: next.stats,
        eventId: next.eventId,
        updatedFields: next.updatedFields,
        createdAt: next.createdAt,
        version: next.version,
      },
    },
  );
  return result.matchedCount === 1;
}
