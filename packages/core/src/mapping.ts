/**
 * Event → Updates (SPEC §5), as a pure function of the event and the read model.
 *
 * One event becomes one Update per recipient, each personalised with the recipient's own membership.
 * Recipients come out in a stable order (active members by userId, then the special-case recipient),
 * and each draft takes the next tick of the clock, so array order, `createdAt` order and event order
 * agree. An event that cannot be built (no dialog, no member to speak of) comes back with a reason; the
 * builder dead-letters it.
 */
import { DEFAULT_TYPING_EXPIRES_MS, type ChatEvent } from './event-schema';
import type { SourceEventType } from './event-types';
import { USER_STATS_EVENT_TYPE } from './event-types';
import { partitionOf } from './partition';
import type { DialogMemberRow, ReadModelView } from './read-model';
import { scopedRoutingKey, type RoutingKeyScope } from './routing-scope';
import {
  dialogSection,
  fullMessageSection,
  latestStatuses,
  memberSectionFromRow,
  memberSectionFromSnapshot,
  messageFacts,
  statusMatrix,
  tombstoneDialogSection,
  userSection,
} from './sections';
import type { ContextSection, DialogSection, MemberSection, UpdateData, UpdateDraft, UpdateType, UserStats } from './update';

export type BuildOutcome =
  | {
      ok: true;
      updates: UpdateDraft[];
      /** Users whose stats this event may have changed (SPEC §5, user.stats.update). */
      statsUserIds: string[];
    }
  | { ok: false; reason: string };

export interface BuildContext {
  view: ReadModelView;
  /** Strictly increasing epoch-ms clock; see `createMonotonicClock`. */
  clock: () => number;
  /** How routing keys are scoped (routing-scope.ts); the seed's format when absent. */
  routingKeyScope?: RoutingKeyScope;
}

const fail = (reason: string): BuildOutcome => ({ ok: false, reason });

/** Where an event points in the read model, before anything is loaded. */
export function dialogIdOf(event: ChatEvent, view?: ReadModelView): string | null {
  const d = event.data;
  if (event.eventType.startsWith('user.')) return null;
  if (event.eventType.startsWith('message.')) {
    const fromRow = view?.message(event.tenantId, messageIdOf(event))?.dialogId;
    return d.message?.dialogId ?? d.context?.dialogId ?? d.dialog?.dialogId ?? fromRow ?? null;
  }
  return d.dialog?.dialogId ?? d.context?.dialogId ?? d.member?.dialogId ?? event.entityId;
}

export function messageIdOf(event: ChatEvent): string {
  return event.data.message?.messageId ?? event.data.context?.messageId ?? event.entityId;
}

/**
 * The member a `dialog.member.*` event is about: the member snapshot, the context, or else entityId when
 * it is Chat3's composite member id `<dialogId>:<userId>` for this event's dialog (what Chat3 sends on
 * add and remove). An entityId that is the dialog itself, as in the seed, names no member.
 */
export function memberUserIdOf(event: ChatEvent): string | null {
  const named = event.data.member?.userId ?? event.data.context?.userId;
  if (named) return named;
  const prefix = `${dialogIdOf(event)}:`;
  return event.entityId.startsWith(prefix) && event.entityId.length > prefix.length ? event.entityId.slice(prefix.length) : null;
}

/** The user a `user.*` event is about. */
export function subjectUserIdOf(event: ChatEvent): string {
  return event.data.user?.userId ?? event.entityId;
}

export function buildUpdates(event: ChatEvent, ctx: BuildContext): BuildOutcome {
  const type = event.eventType as SourceEventType;
  switch (type) {
    case 'dialog.create':
    case 'dialog.update':
    case 'dialog.delete':
      return buildDialogUpdates(event, ctx);
    case 'dialog.member.add':
    case 'dialog.member.remove':
    case 'dialog.member.update':
      return buildMemberUpdates(event, ctx);
    case 'message.create':
    case 'message.update':
    case 'message.status.update':
    case 'message.reaction.update':
      return buildMessageUpdates(event, ctx);
    case 'dialog.typing':
      return buildTypingUpdates(event, ctx);
    case 'user.add':
    case 'user.update':
    case 'user.remove':
      return buildUserUpdates(event, ctx);
    default:
      return fail(`event type ${event.eventType} produces no Update`);
  }
}

function buildDialogUpdates(event: ChatEvent, ctx: BuildContext): BuildOutcome {
  const dialogId = dialogIdOf(event) as string;
  const dialog =
    dialogSection(event, dialogId, ctx.view) ??
    (event.eventType === 'dialog.delete' ? tombstoneDialogSection(event.tenantId, dialogId) : null);
  if (!dialog) return fail(missingDialog(dialogId));
  const updates = activeMembers(event, dialogId, ctx.view).map((row) => {
    const member = memberSectionFromRow(row);
    return draft(event, ctx, row.userId, 'DialogUpdate', dialogId, dialogId, {
      dialog,
      member,
      context: context(event, { dialogId, entityId: dialogId }, ['dialog', 'member']),
    });
  });
  return { ok: true, updates, statsUserIds: [] };
}

function buildMemberUpdates(event: ChatEvent, ctx: BuildContext): BuildOutcome {
  const dialogId = dialogIdOf(event) as string;
  const subject = memberUserIdOf(event);
  if (!subject) {
    return fail(
      `${event.eventType} names no member: data.member.userId and data.context.userId are missing, ` +
        `and entityId ${event.entityId} is not ${dialogId}:<userId>`,
    );
  }
  const dialog = dialogSection(event, dialogId, ctx.view);
  if (!dialog) return fail(missingDialog(dialogId));

  const subjectSection = subjectMemberSection(event, dialogId, subject, ctx.view);
  const recipients =
    event.eventType === 'dialog.member.update'
      ? [subject]
      : uniqueInOrder([...activeMembers(event, dialogId, ctx.view).map((m) => m.userId), subject]);
  const updateType: UpdateType = event.eventType === 'dialog.member.update' ? 'DialogMemberUpdate' : 'DialogUpdate';

  const updates = recipients.map((userId) => {
    const own = ctx.view.member(event.tenantId, dialogId, userId);
    const member = userId === subject ? subjectSection : own ? memberSectionFromRow(own) : undefined;
    return draft(event, ctx, userId, updateType, dialogId, dialogId, {
      dialog,
      member,
      context: context(event, { dialogId, entityId: dialogId, userId: subject }, ['dialog', 'member']),
    });
  });
  return { ok: true, updates, statsUserIds: [subject] };
}

function subjectMemberSection(event: ChatEvent, dialogId: string, userId: string, view: ReadModelView): MemberSection {
  const row = view.member(event.tenantId, dialogId, userId);
  const snap = event.data.member?.userId === userId ? event.data.member : undefined;
  const section = snap
    ? memberSectionFromSnapshot(snap, row)
    : row
      ? memberSectionFromRow(row)
      : memberSectionFromRow({ tenantId: event.tenantId, dialogId, userId });
  // The removed member hears about it although no longer active (SPEC §5, special cases).
  if (event.eventType === 'dialog.member.remove') section.state.isActive = false;
  return section;
}

function buildMessageUpdates(event: ChatEvent, ctx: BuildContext): BuildOutcome {
  const { view } = ctx;
  const messageId = messageIdOf(event);
  const dialogId = dialogIdOf(event, view);
  if (!dialogId) return fail(`message ${messageId} not found in the read model and the event names no dialogId`);
  const dialog = dialogSection(event, dialogId, view);
  if (!dialog) return fail(missingDialog(dialogId));
  const facts = messageFacts(event, messageId, dialogId, view);
  const head = { messageId, dialogId, senderId: facts.senderId, type: facts.type };
  const where = { dialogId, entityId: messageId, messageId };
  const members = activeMembers(event, dialogId, view);

  if (event.eventType === 'message.status.update') {
    const statusUpdate = statusUpdateOf(event, messageId, view);
    if (!statusUpdate) {
      return fail(
        'message.status.update carries no data.statusUpdate (or data.message.statusUpdate) and the actor has no messagestatuses row',
      );
    }
    const rows = [...view.statuses(event.tenantId, messageId)];
    if (statusSnapshotOf(event)) {
      rows.push({ tenantId: event.tenantId, messageId, ...statusUpdate });
    }
    const message = {
      ...head,
      statusUpdate: {
        userId: statusUpdate.userId,
        status: statusUpdate.status,
        readAt: statusUpdate.readAt,
        createdAt: statusUpdate.createdAt,
      },
      statusMessageMatrix: statusMatrix(latestStatuses(rows, view, event.tenantId), facts.senderId),
    };
    const updates = members.map((row) =>
      draft(event, ctx, row.userId, 'MessageUpdate', messageId, dialogId, {
        dialog,
        message,
        context: context(event, where, ['dialog', 'message', 'statusUpdate']),
      }),
    );
    return { ok: true, updates, statsUserIds: [] };
  }

  if (event.eventType === 'message.reaction.update') {
    const snap = event.data.reactionUpdate ?? event.data.reaction ?? event.data.message?.reactionUpdate;
    const reactor = snap?.userId ?? event.actorId;
    if (!snap || !reactor)
      return fail('message.reaction.update carries no data.reactionUpdate (or data.message.reactionUpdate) with a userId and reaction');
    const message = {
      ...head,
      reactionUpdate: { userId: reactor, reaction: snap.reaction, createdAt: snap.createdAt ?? event.createdAt },
    };
    const updates = members.map((row) =>
      draft(event, ctx, row.userId, 'MessageUpdate', messageId, dialogId, {
        dialog,
        message,
        context: context(event, where, ['dialog', 'message', 'reactionUpdate']),
      }),
    );
    return { ok: true, updates, statsUserIds: [] };
  }

  const message = fullMessageSection(event, facts, view, { markUpdated: event.eventType === 'message.update' });
  const updates = members.map((row) =>
    draft(event, ctx, row.userId, 'MessageUpdate', messageId, dialogId, {
      dialog,
      message,
      member: memberSectionFromRow(row),
      context: context(event, where, ['dialog', 'message', 'member']),
    }),
  );
  const statsUserIds = event.eventType === 'message.create' ? members.map((m) => m.userId) : [];
  return { ok: true, updates, statsUserIds };
}

interface StatusFact {
  userId: string;
  userType: string | null;
  status: string;
  readAt: number | null;
  createdAt: number | null;
}

/** The status snapshot: `data.statusUpdate`, `data.status`, or inside the §5-shaped `data.message`. */
function statusSnapshotOf(event: ChatEvent) {
  const snap = event.data.statusUpdate ?? event.data.status ?? event.data.message?.statusUpdate;
  const userId = snap?.userId ?? event.actorId;
  return snap && userId ? { ...snap, userId } : undefined;
}

/** The status change the event reports: its snapshot, or else the actor's latest history row. */
function statusUpdateOf(event: ChatEvent, messageId: string, view: ReadModelView): StatusFact | null {
  const snap = statusSnapshotOf(event);
  if (snap) {
    return {
      userId: snap.userId,
      userType: snap.userType ?? null,
      status: snap.status,
      readAt: snap.readAt ?? null,
      createdAt: snap.createdAt ?? event.createdAt,
    };
  }
  if (!event.actorId) return null;
  const rows = view.statuses(event.tenantId, messageId).filter((r) => r.userId === event.actorId);
  return latestStatuses(rows, view, event.tenantId)[0] ?? null;
}

function buildTypingUpdates(event: ChatEvent, ctx: BuildContext): BuildOutcome {
  const dialogId = dialogIdOf(event) as string;
  const snap = event.data.typing;
  const typist = snap?.userId ?? event.actorId;
  if (!typist) return fail('dialog.typing names no typist: data.typing.userId or actorId is required');
  const dialog = dialogSection(event, dialogId, ctx.view);
  if (!dialog) return fail(missingDialog(dialogId));
  const typing = {
    userId: typist,
    expiresInMs: snap?.expiresInMs ?? DEFAULT_TYPING_EXPIRES_MS,
    timestamp: snap?.timestamp ?? event.createdAt,
    userInfo: snap?.userInfo ?? null,
  };
  const updates = activeMembers(event, dialogId, ctx.view)
    .filter((row) => row.userId !== typist)
    .map((row) =>
      draft(event, ctx, row.userId, 'TypingUpdate', dialogId, dialogId, {
        dialog,
        typing,
        member: memberSectionFromRow(row),
        context: context(event, { dialogId, entityId: dialogId }, ['dialog', 'typing', 'member']),
      }),
    );
  return { ok: true, updates, statsUserIds: [] };
}

function buildUserUpdates(event: ChatEvent, ctx: BuildContext): BuildOutcome {
  const userId = subjectUserIdOf(event);
  const user = userSection(event, userId, ctx.view);
  const update = draft(
    event,
    ctx,
    userId,
    'UserUpdate',
    userId,
    null,
    { user, context: context(event, { entityId: userId }, ['user']) },
    user.type,
  );
  return { ok: true, updates: [update], statsUserIds: [] };
}

/** `updatedFields` for a stats change; a user with no stats emitted yet gets every field. */
export function diffStats(previous: UserStats | null, next: UserStats): string[] {
  return (Object.keys(next) as Array<keyof UserStats>)
    .filter((field) => previous?.[field] !== next[field])
    .map((field) => `user.stats.${field}`);
}

/** The derived `user.stats.update` Update for one user, attributed to the event that changed the stats. */
export function buildStatsUpdate(
  event: ChatEvent,
  userId: string,
  stats: UserStats,
  updatedFields: string[],
  ctx: BuildContext,
  statsVersion?: number,
): UpdateDraft {
  const user = { ...userSection(event, userId, ctx.view), stats };
  const data: UpdateData = {
    user,
    context: { eventType: USER_STATS_EVENT_TYPE, entityId: userId, includedSections: ['user'], updatedFields },
  };
  return {
    ...draft(event, ctx, userId, 'UserStatsUpdate', userId, null, data, user.type),
    eventType: USER_STATS_EVENT_TYPE,
    statsVersion: statsVersion ?? 0,
  };
}

function activeMembers(event: ChatEvent, dialogId: string, view: ReadModelView): DialogMemberRow[] {
  return view
    .members(event.tenantId, dialogId)
    .filter((m) => m.isActive !== false)
    .sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
}

function context(
  event: ChatEvent,
  where: { dialogId?: string; entityId: string; messageId?: string; userId?: string },
  sections: string[],
): ContextSection {
  const ctx: ContextSection = { eventType: event.eventType, ...where, includedSections: sections };
  const updatedFields = event.data.context?.updatedFields;
  if (updatedFields) ctx.updatedFields = updatedFields;
  return ctx;
}

function draft(
  event: ChatEvent,
  ctx: BuildContext,
  recipient: string,
  updateType: UpdateType,
  entityId: string,
  dialogId: string | null,
  sections: Omit<UpdateData, 'context'> & { context: ContextSection },
  userType = ctx.view.userType(event.tenantId, recipient),
): UpdateDraft {
  const data = withoutAbsentSections(sections);
  return {
    tenantId: event.tenantId,
    userId: recipient,
    userType,
    entityId,
    eventId: event.eventId,
    eventType: event.eventType,
    dialogId,
    updateType,
    routingKey: scopedRoutingKey(ctx.routingKeyScope ?? 'seed', updateType, { tenantId: event.tenantId, userType, userId: recipient }),
    partition: partitionOf(event.tenantId, recipient),
    data,
    published: false,
    publishedAt: null,
    statsVersion: 0,
    createdAt: ctx.clock(),
    eventCreatedAt: event.createdAt,
  };
}

/** Drops sections that are undefined and keeps `includedSections` truthful. */
function withoutAbsentSections(sections: UpdateData): UpdateData {
  const data: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(sections)) if (value !== undefined) data[name] = value;
  const result = data as unknown as UpdateData;
  result.context = {
    ...sections.context,
    includedSections: sections.context.includedSections.filter(
      (s) => s === 'statusUpdate' || s === 'reactionUpdate' || data[s] !== undefined,
    ),
  };
  return result;
}

function uniqueInOrder(ids: string[]): string[] {
  return [...new Set(ids)];
}

function missingDialog(dialogId: string): string {
  return `dialog ${dialogId} not found in the read model and the event carries no dialog snapshot`;
}

export type { DialogSection };
