/**
 * The demo's SDK client (issue #10 §5): one user subscribed with `@chat3/updates-client`, and a forced gap.
 * Once the client has delivered a couple of Updates, a raw consumer joins its queue with prefetch 1, so
 * RabbitMQ hands it the next message; it acks that message away (the Update is lost from the queue) and
 * leaves. The client then sees the seq after it, notices the gap and fetches the missing Update from the
 * catch-up API before delivering anything newer. `summarizeGapRecovery` is the pure part: it judges what
 * happened and renders the summary lines.
 *
 * Without sequence numbers (a relay that does not number Updates yet) there is nothing to recover: the
 * client reports the Updates as unsequenced, the drop still happens, and the summary says so.
 */
import amqplib, { type ConsumeMessage } from 'amqplib';
import { createSilentLogger } from '@chat3/runtime';
import { createUpdatesClient, type UpdatesClient } from '@chat3/updates-client';
import type { SampleUser } from './sample-consumers';

export interface GapDemoResult {
  userId: string;
  queueName: string;
  /** Seqs in the order the handler got them, and where each came from. */
  delivered: Array<{ seq: number; source: 'queue' | 'api' }>;
  unsequenced: number;
  /** The message taken off the queue: its seq, or null when it had none; undefined if none was taken. */
  dropped: { seq: number | null } | undefined;
  errors: string[];
  position: number;
}

export interface GapDemo {
  readonly queueName: string;
  result(): GapDemoResult;
  /** Resolves once the client's position reaches `seq` (or the deadline passes). */
  waitForPosition(seq: number, timeoutMs: number): Promise<boolean>;
  stop(): Promise<void>;
}

export async function startGapDemo(options: {
  rabbitUrl: string;
  exchange: string;
  apiUrl: string;
  token: string;
  tenantId: string;
  user: SampleUser;
  /** Deliveries (of any kind) before the drop; default 2. */
  dropAfter?: number;
}): Promise<GapDemo> {
  const { user } = options;
  const result: GapDemoResult = {
    userId: user.userId,
    queueName: `user_${user.userId}_updates`,
    delivered: [],
    unsequenced: 0,
    dropped: undefined,
    errors: [],
    position: 0,
  };
  const dropAfter = options.dropAfter ?? 2;
  let armed = false;
  const connection = await amqplib.connect(options.rabbitUrl, { clientProperties: { connection_name: `chat3-demo gap ${user.userId}` } });
  connection.on('error', () => undefined);
  const thief = await connection.createChannel();
  thief.on('error', () => undefined);

  /**
   * Takes exactly one message off the client's queue and acks it away. The consumer is cancelled before
   * the ack: with prefetch 1 the broker sends it nothing more while that one is unacked.
   */
  async function dropOne(): Promise<void> {
    await thief.prefetch(1);
    let taken: ConsumeMessage | undefined;
    let gotOne!: () => void;
    const got = new Promise<void>((resolve) => (gotOne = resolve));
    const { consumerTag } = await thief.consume(result.queueName, (msg) => {
      if (!msg || taken) return;
      taken = msg;
      gotOne();
    });
    await got;
    await thief.cancel(consumerTag);
    let seq: number | null = null;
    try {
      const body = JSON.parse(taken!.content.toString('utf8')) as { seq?: unknown };
      seq = typeof body.seq === 'number' ? body.seq : null;
    } catch {
      // Not an Update: dropped all the same.
    }
    thief.ack(taken!);
    result.dropped = { seq };
  }

  function maybeArm(): void {
    if (armed || result.delivered.length + result.unsequenced < dropAfter) return;
    armed = true;
    void dropOne().catch((err: Error) => result.errors.push(`could not drop a message: ${err.message}`));
  }

  const client: UpdatesClient = createUpdatesClient({
    rabbitUrl: options.rabbitUrl,
    exchange: options.exchange,
    tenantId: options.tenantId,
    userId: user.userId,
    userType: user.type,
    fromSeq: 0,
    api: { baseUrl: options.apiUrl, token: options.token },
    onUpdate: (update, info) => {
      result.delivered.push({ seq: update.seq, source: info.source });
      maybeArm();
    },
    onUnsequenced: () => {
      result.unsequenced += 1;
      maybeArm();
    },
    onResync: (info) => void result.errors.push(`resync from ${info.from} to ${info.seq}`),
    onError: (e) => {
      if (e.kind !== 'gap-stalled') result.errors.push(`${e.kind}: ${e.message}`);
    },
    logger: createSilentLogger(),
  });
  await client.start();

  return {
    queueName: result.queueName,
    result: () => ({ ...result, position: client.position }),
    async waitForPosition(seq, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (client.position < seq && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      return client.position >= seq;
    },
    async stop() {
      await client.stop();
      await thief.deleteQueue(result.queueName).catch(() => undefined);
      await connection.close().catch(() => undefined);
    },
  };
}

export interface GapVerdict {
  /** Summary lines, indented for the demo's summary. */
  lines: string[];
  /** A problem that fails the demo, or null. */
  problem: string | null;
}

/**
 * What the run showed. `latestSeq` is the highest seq stored for the user (null: none numbered).
 * Recovery is shown when the dropped seq was delivered from the API while every seq arrived once, in order.
 */
export function summarizeGapRecovery(r: GapDemoResult, latestSeq: number | null): GapVerdict {
  const head = `  SDK client         ${r.userId} (@chat3/updates-client, queue ${r.queueName})`;
  const seqs = r.delivered.map((d) => d.seq);
  const inOrder = seqs.every((s, i) => s === i + 1);
  const fromApi = r.delivered.filter((d) => d.source === 'api').map((d) => d.seq);
  const lines = [head];
  if (seqs.length === 0 && latestSeq === null) {
    lines.push(
      `    no Update carried a seq (this relay does not number Updates yet): nothing to recover; ` +
        `${r.unsequenced} unsequenced Updates reported, ${r.dropped ? 'one message dropped from the queue and lost' : 'none dropped'}`,
    );
    return { lines, problem: null };
  }
  lines.push(
    `    delivered seq 1..${seqs.at(-1) ?? 0} (${seqs.length} Updates, ${inOrder ? 'in order, none missing or twice' : 'OUT OF ORDER or with gaps'}), ` +
      `${fromApi.length} from the catch-up API, position ${r.position} of ${latestSeq ?? 0} stored`,
  );
  if (!inOrder) return { lines, problem: `the SDK client delivered seqs out of order: ${seqs.slice(0, 20).join(',')}…` };
  if (!r.dropped) {
    lines.push('    no message was dropped (the client received too few Updates to force a gap)');
    return { lines, problem: null };
  }
  if (r.dropped.seq === null) {
    lines.push('    the dropped message carried no seq: it is lost, as for any client without sequence numbers');
    return { lines, problem: null };
  }
  const recovered = fromApi.includes(r.dropped.seq);
  if (recovered) {
    lines.push(
      `    forced gap: seq ${r.dropped.seq} was taken off the queue and dropped; the client noticed the gap and fetched it from the API: recovered`,
    );
    return { lines, problem: null };
  }
  if (r.position < r.dropped.seq) {
    lines.push(`    forced gap: seq ${r.dropped.seq} dropped, but no later Update arrived to reveal the gap before the end`);
    return { lines, problem: null };
  }
  return { lines, problem: `seq ${r.dropped.seq} was dropped from the queue but the SDK client did not fetch it from the API` };
}
