/**
 * Shared set-up of the API's integration tests: a database of their own on the real MongoDB-compatible
 * server, Update documents as the builder writes and the relay numbers them, the relay's counters, and
 * the API itself, in process (createApiServer over the Mongo store, listening on a free port) or as a
 * child process (main.ts).
 */
import { createMonotonicClock, partitionOf, routingKeyFor, type UpdateDocument } from '@chat3/core';
import { createSilentLogger, ensureIndexes } from '@chat3/runtime';
import { createTestDatabase, spawnService, type ManagedProcess, type TestDatabase } from '@chat3/testkit';
import { ObjectId, type Collection, type Document } from 'mongodb';
import {
  counterId,
  createApiMetrics,
  createApiServer,
  createAuthorizer,
  createUpdateReader,
  RECIPIENT_SEQ_INDEX,
  type ApiServer,
  type ApiToken,
  type SeqCounter,
} from '../src/index';

const clock = createMonotonicClock();

export const TOKEN_A = 'tok-tenant-a-4f9c2e71b8d3';
export const TOKEN_B = 'tok-tenant-b-a81d5c3e9f02';
export const TOKEN_ALL = 'tok-all-tenants-7e3b90c1d4a6';
export const TOKENS: ApiToken[] = [
  { token: TOKEN_A, tenant: 'tnt_a' },
  { token: TOKEN_B, tenant: 'tnt_b' },
  { token: TOKEN_ALL, tenant: '*' },
];
export const TOKENS_ENV = TOKENS.map((t) => `${t.token}=${t.tenant}`).join(',');

/** An Update of `userId` in `tenantId` as stored after the relay numbered it (`seq` undefined: not numbered). */
export function makeUpdate(tenantId: string, userId: string, seq: number | undefined, n = seq ?? 0): UpdateDocument<ObjectId> {
  const doc: UpdateDocument<ObjectId> = {
    _id: new ObjectId(),
    tenantId,
    userId,
    userType: 'user',
    entityId: 'dlg_1',
    eventId: `evt_${n.toString(16).padStart(32, '0')}`,
    eventType: 'message.create',
    dialogId: 'dlg_1',
    updateType: 'MessageUpdate',
    routingKey: routingKeyFor('MessageUpdate', 'user', userId),
    partition: partitionOf(tenantId, userId),
    data: {
      context: { eventType: 'message.create', dialogId: 'dlg_1', entityId: `msg_${n}`, includedSections: ['dialog', 'message'] },
      message: {
        messageId: `msg_${n}`,
        dialogId: 'dlg_1',
        senderId: 'carl',
        type: 'internal.text',
        content: `#${n} ü "q"`,
        meta: {},
      } as never,
    },
    published: true,
    publishedAt: Date.now(),
    statsVersion: 0,
    createdAt: clock(),
    eventCreatedAt: Date.now(),
  };
  if (seq !== undefined) doc.seq = seq;
  return doc;
}

export async function createApiFixture(prefix: string) {
  const database: TestDatabase = await createTestDatabase(prefix);
  const updates: Collection<Document> = database.db.collection('updates');
  const seqs = database.db.collection<SeqCounter>('update_seqs');
  await ensureIndexes(updates, [RECIPIENT_SEQ_INDEX], createSilentLogger());
  const servers: ApiServer[] = [];
  const processes: ManagedProcess[] = [];

  async function insert(docs: Document[]): Promise<void> {
    for (let i = 0; i < docs.length; i += 1_000) await updates.insertMany(docs.slice(i, i + 1_000), { ordered: false });
  }

  async function setCounter(tenantId: string, userId: string, lastSeq: number): Promise<void> {
    await seqs.updateOne({ _id: counterId({ tenantId, userId }) }, { $set: { tenantId, userId }, $max: { lastSeq } }, { upsert: true });
  }

  /** The API in this process, on a free port; returns its base URL. */
  async function startInProcess(): Promise<{ url: string; server: ApiServer }> {
    const store = createUpdateReader({ updates, seqs, maxTimeMS: 10_000 });
    const server = createApiServer({
      store,
      authorizer: createAuthorizer(TOKENS),
      metrics: createApiMetrics({ defaultMetrics: false }),
      logger: createSilentLogger(),
    });
    servers.push(server);
    await server.listen({ host: '127.0.0.1', port: 0 });
    const address = server.server.address();
    if (!address || typeof address !== 'object') throw new Error('no address');
    return { url: `http://127.0.0.1:${address.port}`, server };
  }

  function startProcess(extra: Record<string, string> = {}): ManagedProcess {
    const proc = spawnService({
      name: `api-${processes.length + 1}`,
      entry: 'packages/api/src/main.ts',
      env: {
        MONGODB_URI: database.uri,
        MONGODB_DB: database.name,
        API_TOKENS: TOKENS_ENV,
        API_PORT: '0',
        METRICS_PORT: '0',
        READY_INTERVAL_MS: '200',
        LOG_LEVEL: 'debug',
        ...extra,
      },
    });
    processes.push(proc);
    return proc;
  }

  async function cleanUp(): Promise<void> {
    await Promise.all(processes.map((p) => p.stop(10_000)));
    await Promise.all(servers.map((s) => s.close()));
    await database.drop();
  }

  return { database, updates, seqs, insert, setCounter, startInProcess, startProcess, cleanUp };
}

export type ApiFixture = Awaited<ReturnType<typeof createApiFixture>>;

/** GET with a bearer token (null: none); the status and the parsed JSON body. */
export async function getJson(url: string, token: string | null = TOKEN_ALL): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
