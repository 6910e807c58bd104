/**
 * Re-publish Updates: sets `published: false` again on the Updates a filter selects (and clears parking),
 * so the running relay sends them once more. Their `messageId` (the Update `_id`) does not change, so
 * consumers that deduplicate see them as the same messages.
 *
 *   pnpm republish --tenant tnt_default --user carl --since 2026-11-26T10:00:00Z [--until …] [--dry-run]
 *   pnpm republish --parked                       # retry every parked Update after fixing the cause
 *   pnpm republish --event evt_…                  # everything one event produced
 *
 * Environment: MONGODB_URI, MONGODB_DB (default chat3), UPDATES_COLLECTION (default updates).
 */
import { parseArgs } from 'node:util';
import { MongoClient, type Collection, type Filter, type Document } from 'mongodb';
import { redactUrl } from '@chat3/runtime';

const { values } = parseArgs({
  options: {
    tenant: { type: 'string' },
    user: { type: 'string' },
    event: { type: 'string' },
    since: { type: 'string' },
    until: { type: 'string' },
    parked: { type: 'boolean', default: false },
    'dry-run': { type: 'boolean', default: false },
  },
});

export function republishFilter(v: typeof values): Filter<Document> {
  const filter: Filter<Document> = {};
  if (v.tenant) filter.tenantId = v.tenant;
  if (v.user) filter.userId = v.user;
  if (v.event) filter.eventId = v.event;
  const range: Record<string, number> = {};
  if (v.since) range.$gte = toMs(v.since);
  if (v.until) range.$lt = toMs(v.until);
  if (Object.keys(range).length > 0) filter.createdAt = range;
  if (v.parked) filter.parked = { $exists: true };
  return filter;
}

function toMs(value: string): number {
  const ms = /^\d+(\.\d+)?$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw new Error(`not a time: ${value}`);
  return ms;
}

/**
 * One ordered bulk of `updateOne`s by `_id`, oldest first, rather than one `updateMany`: a multi-document
 * update is not atomic, and a relay running alongside would see (and publish) whichever documents it had
 * already flipped, in the server's storage order. Flipped oldest first, each recipient's Updates become
 * unpublished in `createdAt` order, so they are sent again in that order.
 */
export async function republish(
  updates: Collection,
  filter: Filter<Document>,
  chunk = 1_000,
): Promise<{ matched: number; republishing: number }> {
  const ids = await updates
    .find(filter, { projection: { _id: 1 } })
    .sort({ createdAt: 1, _id: 1 })
    .map((d) => d._id)
    .toArray();
  let republishing = 0;
  for (let i = 0; i < ids.length; i += chunk) {
    const result = await updates.bulkWrite(
      ids.slice(i, i + chunk).map((_id) => ({
        updateOne: {
          filter: { _id },
          update: { $set: { published: false, publishedAt: null }, $unset: { parked: '', publishAttempts: '' } },
        },
      })),
      { ordered: true },
    );
    republishing += result.modifiedCount;
  }
  return { matched: ids.length, republishing };
}

async function main(): Promise<void> {
  const uri = process.env.MONGODB_URI;
  if (!uri) throw new Error('MONGODB_URI is required');
  const filter = republishFilter(values);
  if (Object.keys(filter).length === 0)
    throw new Error('refusing to re-publish everything: give --tenant, --user, --event, --since/--until or --parked');
  const client = await MongoClient.connect(uri);
  try {
    const updates = client.db(process.env.MONGODB_DB ?? 'chat3').collection(process.env.UPDATES_COLLECTION ?? 'updates');
    const matching = await updates.countDocuments(filter);
    process.stderr.write(`${redactUrl(uri)}: ${matching} Updates match ${JSON.stringify(filter)}\n`);
    if (values['dry-run']) return;
    const result = await republish(updates, filter);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await client.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`republish: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
