/**
 * The Update document (SPEC §4) and its sections (SPEC §5). Field names are the contract with clients.
 */

export type UpdateCategory = 'dialog' | 'user';

export const UPDATE_TYPES = {
  DialogUpdate: { category: 'dialog', segment: 'dialogupdate' },
  DialogMemberUpdate: { category: 'dialog', segment: 'dialogmemberupdate' },
  MessageUpdate: { category: 'dialog', segment: 'messageupdate' },
  TypingUpdate: { category: 'dialog', segment: 'typingupdate' },
  UserUpdate: { category: 'user', segment: 'userupdate' },
  UserStatsUpdate: { category: 'user', segment: 'userstatsupdate' },
} as const satisfies Record<string, { category: UpdateCategory; segment: string }>;

export type UpdateType = keyof typeof UPDATE_TYPES;

export interface DialogSection {
  dialogId: string;
  tenantId: string;
  name: string | null;
  createdBy: string | null;
  createdAt: number | null;
  updatedAt: number | null;
  meta: Record<string, unknown>;
}

export interface MemberSection {
  userId: string;
  meta: Record<string, unknown>;
  state: {
    unreadCount: number;
    lastSeenAt: number | null;
    lastMessageAt: number | null;
    isActive: boolean;
  };
}

export interface MessageStatusEntry {
  userId: string;
  userType: string;
  status: string;
  readAt: number | null;
  createdAt: number | null;
}

export interface MessageSection {
  messageId: string;
  dialogId: string;
  senderId: string | null;
  type: string | null;
  content: unknown;
  meta: Record<string, unknown>;
  statuses: MessageStatusEntry[];
  senderInfo: { userId: string; name: string | null; createdAt: number | null; meta: Record<string, unknown> } | null;
}

export interface StatusMessageSection {
  messageId: string;
  dialogId: string;
  senderId: string | null;
  type: string | null;
  statusUpdate: { userId: string; status: string; readAt: number | null; createdAt: number | null };
  statusMessageMatrix: Array<{ userType: string; status: string; count: number }>;
}

export interface ReactionMessageSection {
  messageId: string;
  dialogId: string;
  senderId: string | null;
  type: string | null;
  reactionUpdate: { userId: string; reaction: string; createdAt: number | null };
}

export interface TypingSection {
  userId: string;
  expiresInMs: number;
  timestamp: number;
  userInfo: unknown;
}

export interface UserStats {
  dialogCount: number;
  unreadDialogsCount: number;
}

export interface UserSection {
  userId: string;
  type: string;
  meta: Record<string, unknown>;
  stats?: UserStats;
}

export interface ContextSection {
  eventType: string;
  dialogId?: string;
  entityId: string;
  messageId?: string;
  /** Extension: for `dialog.member.*` events, the member the event is about. */
  userId?: string;
  includedSections: string[];
  updatedFields?: string[];
}

export interface UpdateData {
  context: ContextSection;
  dialog?: DialogSection;
  member?: MemberSection;
  message?: MessageSection | StatusMessageSection | ReactionMessageSection;
  typing?: TypingSection;
  user?: UserSection;
}

/** What the pure mapping produces; the builder adds `_id` when it writes. */
export interface UpdateDraft {
  tenantId: string;
  /** The recipient. */
  userId: string;
  userType: string;
  entityId: string;
  eventId: string;
  eventType: string;
  dialogId: string | null;
  updateType: UpdateType;
  routingKey: string;
  /** Recipient bucket, see partition.ts. */
  partition: number;
  data: UpdateData;
  published: false;
  publishedAt: null;
  /** Epoch ms with a microsecond fraction; strictly increasing per builder process. */
  createdAt: number;
  /** Source event's createdAt, for event→Update latency. */
  eventCreatedAt: number;
  /**
   * A UserStatsUpdate's emission number for its user, 1, 2, 3…; 0 on every other Update. Part of the
   * idempotency key, so a redelivered event can carry a new stats emission without colliding with the
   * one it made before, and clients can drop a stats Update older than the last one they applied.
   * (Always set, never absent: FerretDB's unique indexes treat missing values as distinct.)
   */
  statsVersion: number;
  /** The source event's W3C `traceparent` header, when it carried a valid one; the relay sends it on. */
  traceparent?: string;
}

/** Fields of the stored document that the relay maintains; never part of the delivered body. */
export interface RelayBookkeeping {
  published: boolean;
  publishedAt: number | null;
  /**
   * `publishedAt` as a BSON Date, set in the same update that marks the Update published, for retention:
   * MongoDB's TTL index (and the relay's deleter where the server has none) expire on a Date field only.
   * Absent on unpublished and parked Updates, and removed when a replay puts one back, so those are
   * never deleted.
   */
  publishedDate?: Date;
  publishAttempts?: number;
  parked?: { reason: string; at: number; attempts: number };
  /** Set by `pnpm republish`: when the Update was put back for another publish, and by which replay. */
  republishedAt?: number;
  replayId?: string;
}

/**
 * The recipient's sequence number (`tenantId`, `userId`): 1, 2, 3… with no gap and no reuse, in the order
 * the relay first publishes. The relay persists it on the document before the first publish and never
 * changes it. Absent until then, and on Updates first published before sequence numbers existed.
 */
export interface Sequenced {
  seq?: number;
}

/**
 * A field every Update has and the relay's numbering upsert never sets. That upsert
 * (relay/src/db/update-seqs.ts) inserts `{_id, tenantId, userId, seq}` when its Update was deleted
 * meanwhile, a stray deleted at once; readers of numbered Updates tell it apart by this field's absence.
 */
export const SEQ_STRAY_LACKS = 'eventId' satisfies keyof UpdateDraft;

/**
 * Since when an unpublished Update has been waiting for the relay: its `createdAt`, or its
 * `republishedAt` once a replay put it back (lag and publish latency are measured from here, so a
 * replay of old Updates does not look like an outage).
 */
export function waitingSince(doc: { createdAt: number; republishedAt?: number }): number {
  return doc.republishedAt ?? doc.createdAt;
}

export type UpdateDocument<Id = unknown> = Omit<UpdateDraft, 'published' | 'publishedAt'> & RelayBookkeeping & Sequenced & { _id: Id };
