/**
 * Indexes on `updates`, ensured by both processes at start-up (creation is idempotent).
 * Partial indexes keep the relay's scans proportional to the unpublished backlog, not to history.
 */
export interface IndexSpec {
  name: string;
  key: Record<string, 1 | -1>;
  unique?: boolean;
  partialFilterExpression?: Record<string, unknown>;
}

export const UPDATE_INDEXES: IndexSpec[] = [
  // Idempotency: a redelivered event inserts nothing new. `statsVersion` (0 on every Update but user
  // stats) makes each user-stats emission its own key: a redelivered event may carry a newer one.
  // It starts with the recipient ({tenantId, userId}) so that `updates` can be sharded on that key: a
  // unique index on a sharded collection must start with the shard key (README, Sharding `updates`).
  { name: 'idempotency_v3', key: { tenantId: 1, userId: 1, eventId: 1, updateType: 1, statsVersion: 1 }, unique: true },
  // Relay: unpublished Updates of a partition range, oldest first.
  { name: 'unpublished_by_partition', key: { partition: 1, createdAt: 1, _id: 1 }, partialFilterExpression: { published: false } },
  // Relay lag and backlog: the oldest unpublished Update overall.
  { name: 'unpublished_oldest', key: { createdAt: 1, _id: 1 }, partialFilterExpression: { published: false } },
  // Relay lag: the Update a replay put back longest ago (lag counts from `republishedAt` for those).
  {
    name: 'unpublished_replays',
    key: { republishedAt: 1 },
    partialFilterExpression: { published: false, republishedAt: { $exists: true } },
  },
  // Clients and ops: one recipient's history in order (the seed's `find({tenantId, userId}).sort({createdAt:-1})`).
  { name: 'recipient_history', key: { tenantId: 1, userId: 1, createdAt: -1, _id: -1 } },
  // Sequence numbers: no seq twice for one recipient, and the catch-up API's pages in seq order.
  // Partial, as Updates stored before they are numbered have none (servers without partial indexes
  // create it whole; FerretDB's unique indexes treat missing values as distinct, so it still holds).
  { name: 'recipient_seq', key: { tenantId: 1, userId: 1, seq: 1 }, unique: true, partialFilterExpression: { seq: { $exists: true } } },
];

/**
 * Indexes earlier versions created that are in the way now, dropped by `ensureIndexes` after it has
 * created `UPDATE_INDEXES` (so a replacement unique index is in force before the one it replaces goes):
 * `idempotency` (before `statsVersion`), `idempotency_v2` (`{tenantId, eventId, userId, …}`, which a
 * collection sharded on `{tenantId, userId}` refuses).
 */
export const RETIRED_UPDATE_INDEXES = ['idempotency', 'idempotency_v2'];

export const USER_STATS_INDEXES: IndexSpec[] = [{ name: 'user', key: { tenantId: 1, userId: 1 }, unique: true }];

/** What the builder queries the Chat3 read model by. */
export const READ_MODEL_INDEXES: Record<'users' | 'dialogs' | 'dialogMembers' | 'messages' | 'messageStatuses', IndexSpec[]> = {
  users: [{ name: 'chat3_updates_user', key: { tenantId: 1, userId: 1 } }],
  dialogs: [{ name: 'chat3_updates_dialog', key: { tenantId: 1, dialogId: 1 } }],
  dialogMembers: [
    { name: 'chat3_updates_dialog_members', key: { tenantId: 1, dialogId: 1 } },
    { name: 'chat3_updates_user_memberships', key: { tenantId: 1, userId: 1, isActive: 1 } },
  ],
  messages: [{ name: 'chat3_updates_message', key: { tenantId: 1, messageId: 1 } }],
  messageStatuses: [{ name: 'chat3_updates_message_statuses', key: { tenantId: 1, messageId: 1 } }],
};
