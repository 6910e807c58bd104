/**
 * The baseline: the original update worker, as the seed describes it. One event at a time (prefetch 1):
 * read what the event needs with separate queries (message, statuses, dialog, members, users), build the
 * Updates with the same core mapping, insert them one document per recipient with `insertOne`, derive
 * user stats the simple way (two counts, the last emission, an upsert per user), then ack.
 *
 * Deliberately not the product: no batching, no bulk writes. Same read model, same indexes and the same
 * mapping as the builder, so the difference measured is the I/O pattern. Counters only; no dead-letter
 * queue (an event it cannot build is acked and counted).
 */
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import {
  ReadModelView,
  buildStatsUpdate,
  buildUpdates,
  decideStats,
  dialogIdOf,
  parseEvent,
  type ChatEvent,
  type DialogMemberRow,
  type DialogRow,
  type EmittedStats,
  type MessageRow,
  type MessageStatusRow,
  type UpdateDraft,
  type UserRow,
} from '@chat3/core';
import type { Db } from 'mongodb';
import { messagesToLoad, usersToLoad } from '../../../packages/builder/src/read-plan';

export interface BaselineCounts {
  /** Events acked (every outcome). */
  processed: number;
  built: number;
  ignored: number;
  invalid: number;
  unbuildable: number;
  updates: number;
  statsUpdates: number;
  duplicates: number;
  errors: number;
  queries: number;
}

export interface BaselineWorker {
  counts: BaselineCounts;
  stop(): Promise<void>;
}

const noId = { projection: { _id: 0 } } as const;

export async function startBaselineWorker(options: {
  model: ChannelModel;
  queue: string;
  db: Db;
  clock: () => number;
  maxEventBytes: number;
  stats: boolean;
  onError?: (err: unknown) => void;
}): Promise<BaselineWorker> {
  const { db, clock } = options;
  const cols = {
    users: db.collection<UserRow>('users'),
    dialogs: db.collection<DialogRow>('dialogs'),
    members: db.collection<DialogMemberRow>('dialogmembers'),
    messages: db.collection<MessageRow>('messages'),
    statuses: db.collection<MessageStatusRow>('messagestatuses'),
    updates: db.collection('updates'),
    userStats: db.collection<EmittedStats>('userstats'),
  };
  const counts: BaselineCounts = {
    processed: 0,
    built: 0,
    ignored: 0,
    invalid: 0,
    unbuildable: 0,
    updates: 0,
    statsUpdates: 0,
    duplicates: 0,
    errors: 0,
    queries: 0,
  };

  async function loadView(event: ChatEvent): Promise<ReadModelView> {
    const view = new ReadModelView();
    const t = event.tenantId;
    const wanted = messagesToLoad([event]);
    for (const messageId of wanted.messages.get(t) ?? []) {
      counts.queries += 1;
      const row = await cols.messages.findOne({ tenantId: t, messageId }, noId);
      if (row) view.addMessages([row]);
    }
    for (const messageId of wanted.statuses.get(t) ?? []) {
      counts.queries += 1;
      view.addStatuses(await cols.statuses.find({ tenantId: t, messageId }, noId).toArray());
    }
    const dialogId = dialogIdOf(event, view);
    if (dialogId) {
      counts.queries += 2;
      const dialog = await cols.dialogs.findOne({ tenantId: t, dialogId }, noId);
      if (dialog) view.addDialogs([dialog]);
      view.addMembers(await cols.members.find({ tenantId: t, dialogId }, noId).toArray());
    }
    const userIds = [...(usersToLoad([event], view).get(t) ?? [])];
    if (userIds.length > 0) {
      counts.queries += 1;
      view.addUsers(await cols.users.find({ tenantId: t, userId: { $in: userIds } }, noId).toArray());
    }
    return view;
  }

  async function insert(draft: UpdateDraft): Promise<boolean> {
    try {
      // Stamped as it is saved, as the original worker's documents were.
      await cols.updates.insertOne({ ...draft, createdAt: clock() });
      return true;
    } catch (err) {
      if ((err as { code?: number }).code !== 11000) throw err;
      counts.duplicates += 1;
      return false;
    }
  }

  async function deriveStats(event: ChatEvent, userId: string, view: ReadModelView): Promise<void> {
    const active = { tenantId: event.tenantId, userId, isActive: { $ne: false } };
    counts.queries += 3;
    const dialogCount = await cols.members.countDocuments(active);
    const unreadDialogsCount = await cols.members.countDocuments({ ...active, unreadCount: { $gt: 0 } });
    const previous = await cols.userStats.findOne({ tenantId: event.tenantId, userId }, noId);
    const decision = decideStats(previous, { dialogCount, unreadDialogsCount }, event.eventId);
    if (!decision.emit) return;
    const draft = buildStatsUpdate(event, userId, decision.stats, decision.updatedFields, { view, clock });
    if (await insert(draft)) counts.statsUpdates += 1;
    await cols.userStats.updateOne(
      { tenantId: event.tenantId, userId },
      { $set: { stats: decision.stats, eventId: event.eventId, updatedFields: decision.updatedFields } },
      { upsert: true },
    );
  }

  async function handle(msg: ConsumeMessage): Promise<void> {
    const parsed = parseEvent(msg.content, { maxBytes: options.maxEventBytes });
    if (!parsed.ok) {
      counts.invalid += 1;
      return;
    }
    if (parsed.class.kind !== 'update') {
      counts.ignored += 1;
      return;
    }
    const event = parsed.event;
    const view = await loadView(event);
    const outcome = buildUpdates(event, { view, clock });
    if (!outcome.ok) {
      counts.unbuildable += 1;
      return;
    }
    for (const draft of outcome.updates) if (await insert(draft)) counts.updates += 1;
    if (options.stats) for (const userId of outcome.statsUserIds) await deriveStats(event, userId, view);
    counts.built += 1;
  }

  const ch: Channel = await options.model.createChannel();
  ch.on('error', (err: unknown) => options.onError?.(err));
  await ch.prefetch(1);
  let stopped = false;
  const { consumerTag } = await ch.consume(options.queue, (msg) => {
    if (!msg) return;
    handle(msg).then(
      () => {
        counts.processed += 1;
        if (!stopped) ch.ack(msg);
      },
      (err: unknown) => {
        counts.errors += 1;
        counts.processed += 1;
        options.onError?.(err);
        if (!stopped) ch.ack(msg);
      },
    );
  });

  let stopping: Promise<void> | undefined;
  return {
    counts,
    stop: () =>
      (stopping ??= (async () => {
        await ch.cancel(consumerTag).catch(() => undefined);
        stopped = true;
        await ch.close().catch(() => undefined);
      })()),
  };
}
