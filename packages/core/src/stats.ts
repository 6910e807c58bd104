/**
 * `user.stats.update` is derived, never received (SPEC §5). It is emitted only when a user's stats
 * differ from the last ones emitted for that user. The record of the last emission names the event that
 * claimed it, so a redelivered event re-emits exactly what it claimed (its Update may not have been
 * written before a crash) while every other event sees "unchanged" and emits nothing.
 */
import { diffStats } from './mapping';
import type { UserStats } from './update';

export interface EmittedStats {
  tenantId: string;
  userId: string;
  stats: UserStats;
  /** The event whose Updates carry this emission. */
  eventId: string;
  updatedFields: string[];
  /**
   * The emitted Update's `createdAt`. Each emission takes one later than the previous one's, so a
   * user's stats Updates are ordered by their claims even when different builders (clocks) emit them.
   */
  createdAt?: number;
  /** The emission number (absent on records written before versions existed: treated as 0). */
  version?: number;
}

export type StatsDecision = { emit: false } | { emit: true; stats: UserStats; updatedFields: string[]; claim: boolean };

/**
 * `batchEventIds`: the events of the batch being written. A last emission claimed by one of them other
 * than `eventId` was claimed by an earlier attempt at this same sequence of events (a write that failed,
 * a delivery that went back to the queue): its Update may never have been written, so it is emitted
 * again, with the current counts, attributed to `eventId`.
 */
export function decideStats(
  previous: EmittedStats | null,
  current: UserStats,
  eventId: string,
  batchEventIds: ReadonlySet<string> = new Set(),
): StatsDecision {
  if (previous && previous.eventId === eventId) {
    return { emit: true, stats: previous.stats, updatedFields: previous.updatedFields, claim: false };
  }
  if (previous && batchEventIds.has(previous.eventId)) {
    const updatedFields = [...new Set([...previous.updatedFields, ...diffStats(previous.stats, current)])];
    return { emit: true, stats: current, updatedFields, claim: true };
  }
  const updatedFields = diffStats(previous?.stats ?? null, current);
  if (previous && updatedFields.length === 0) return { emit: false };
  return { emit: true, stats: current, updatedFields, claim: true };
}
