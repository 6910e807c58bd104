/** The builder's reads of the Chat3 read model: a few `$in` queries per batch. */
import {
  ReadModelView,
  type ChatEvent,
  type DialogMemberRow,
  type DialogRow,
  type MessageRow,
  type MessageStatusRow,
  type UserRow,
} from '@chat3/core';
import type { Collection, Db, Document, Filter } from 'mongodb';
import { byTenantFilter, dialogsToLoad, messagesToLoad, usersToLoad, type IdsByTenant } from '../read-plan';

export interface ReadModelCollections {
  users: Collection<UserRow>;
  dialogs: Collection<DialogRow>;
  dialogMembers: Collection<DialogMemberRow>;
  messages: Collection<MessageRow>;
  messageStatuses: Collection<MessageStatusRow>;
}

export interface ReadModelNames {
  users: string;
  dialogs: string;
  dialogMembers: string;
  messages: string;
  messageStatuses: string;
}

export function readModelCollections(db: Db, names: ReadModelNames): ReadModelCollections {
  return {
    users: db.collection<UserRow>(names.users),
    dialogs: db.collection<DialogRow>(names.dialogs),
    dialogMembers: db.collection<DialogMemberRow>(names.dialogMembers),
    messages: db.collection<MessageRow>(names.messages),
    messageStatuses: db.collection<MessageStatusRow>(names.messageStatuses),
  };
}

const noId = { projection: { _id: 0 } };

async function findIn<T extends Document>(col: Collection<T>, field: string, ids: IdsByTenant): Promise<T[]> {
  const filter = byTenantFilter(field, ids);
  if (!filter) return [];
  return (await col.find(filter as Filter<T>, noId).toArray()) as unknown as T[];
}

export async function loadReadModel(cols: ReadModelCollections, events: readonly ChatEvent[]): Promise<ReadModelView> {
  const view = new ReadModelView();
  const wanted = messagesToLoad(events);
  const [messages, statuses] = await Promise.all([
    findIn(cols.messages, 'messageId', wanted.messages),
    findIn(cols.messageStatuses, 'messageId', wanted.statuses),
  ]);
  view.addMessages(messages).addStatuses(statuses);

  const dialogIds = dialogsToLoad(events, view);
  const [dialogs, members] = await Promise.all([
    findIn(cols.dialogs, 'dialogId', dialogIds),
    findIn(cols.dialogMembers, 'dialogId', dialogIds),
  ]);
  view.addDialogs(dialogs).addMembers(members);

  view.addUsers(await findIn(cols.users, 'userId', usersToLoad(events, view)));
  return view;
}

/** For routing a message event that names no dialog. */
export async function findDialogIdOfMessage(cols: ReadModelCollections, tenantId: string, messageId: string): Promise<string | null> {
  const row = await cols.messages.findOne({ tenantId, messageId }, { projection: { _id: 0, dialogId: 1 } });
  return row?.dialogId ?? null;
}
