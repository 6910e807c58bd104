/**
 * `createUpdatesClient`: one user's Updates, in seq order, from their RabbitMQ queue and the catch-up API.
 * The ordering lives in `sequencer.ts`; this file is the edge that runs its steps: amqplib (through the
 * runtime's self-recovering connection and managed channel) and the API port.
 *
 * Modes: idle → starting → catching-up → live ⇄ filling-gap / resyncing → stopping → stopped (or failed).
 *
 * Subscribing: the queue, its TTL and its binding are the seed's for scope `seed` (`user_{userId}_updates`,
 * `x-message-ttl` 3600000, `update.*.{userType}.{userId}.*`) and core's tenant-scoped ones for `tenant`.
 * They are declared again after every reconnect.
 *
 * Delivery: the handler receives seq last+1, last+2, … one at a time. A queue message is acked only after
 * the handler resolved for its seq (duplicates right away); at most `prefetch` messages are unacked.
 * Gaps are filled from the API, `tooLong` calls `onResync`. A channel that closes returns its unacked
 * messages to the queue; their redeliveries are dropped as duplicates if already delivered.
 *
 * Failures never crash the process:
 *   - malformed bodies, another tenant's or user's Updates → `onError`, acked away;
 *   - Updates without seq (published before the relay numbered them) → `onUnsequenced` if given, else
 *     `onError` and acked away (they have no place in the order and the API cannot serve them);
 *   - a handler that throws is called again for the same Update with backoff, up to `handlerAttempts`;
 *     then the client fails: it stops consuming and closes its channel, so the unacked messages go back
 *     to the queue, and `done` rejects. Restarting from the stored position resumes without loss;
 *   - API failures are retried with backoff forever (nothing newer is delivered meanwhile), except
 *     those that cannot heal (400, 401, 403, 404), which fail the client.
 */
import { bindingKeyFor, queueNameFor } from '@chat3/core';
import {
  backoffDelay,
  connectAmqp,
  createLogger,
  createManagedChannel,
  errorMessage,
  sleep,
  type AmqpChannel,
  type AmqpConnection,
  type ConsumeMessage,
} from '@chat3/runtime';
import { CatchUpApiError, createHttpCatchUpApi, type CatchUpApi } from './catch-up-api';
import { optionProblems, type ClientError, type UpdatesClientOptions } from './client-options';
import { applyPage, delivered, forget, initialState, nextStep, receive, resynced, type SequencerState, type Step } from './sequencer';
import { classifyUpdate, parseUpdateMessage, type SequencedUpdate, type UnsequencedUpdate } from './update-body';

export type ClientMode = 'idle' | 'starting' | 'catching-up' | 'live' | 'filling-gap' | 'resyncing' | 'stopping' | 'stopped' | 'failed';

export interface ClientStatus {
  mode: ClientMode;
  position: number;
  held: number;
  connected: boolean;
  lastError: ClientError | null;
  lastDeliveredAt: number | null;
}

export interface UpdatesClient {
  /** Resolves once the queue is subscribed (the catch-up then runs on its own). */
  start(): Promise<void>;
  /** Stops consuming, waits for the handler in flight, closes. Safe to call twice. */
  stop(): Promise<void>;
  /** Resolves when stopped, rejects with the reason when the client failed. */
  readonly done: Promise<void>;
  /** The seq last delivered. */
  readonly position: number;
  status(): ClientStatus;
}

/** The SDK's queue-message handle: the message and the channel it must be acked on. */
interface QueueMessage {
  msg: ConsumeMessage;
  channel: AmqpChannel;
}

export const SEED_QUEUE_TTL_MS = 3_600_000;

export function createUpdatesClient(options: UpdatesClientOptions): UpdatesClient {
  const problems = optionProblems(options);
  if (problems.length > 0) throw new TypeError(`invalid updates client options: ${problems.join('; ')}`);
  const scope = options.scope ?? 'seed';
  const exchange = options.exchange ?? 'chat3_updates';
  const recipient = { tenantId: options.tenantId, userId: options.userId };
  const address = { ...recipient, userType: options.userType ?? 'user' };
  const queue = queueNameFor(scope, recipient);
  const binding = bindingKeyFor(scope, address);
  const bindings = scope === 'tenant' && options.alsoBindSeed ? [binding, bindingKeyFor('seed', address)] : [binding];
  const prefetch = options.prefetch ?? 100;
  const pageSize = options.pageSize ?? 100;
  const handlerAttempts = options.handlerAttempts ?? 5;
  const backoff = options.backoff ?? { baseMs: 200, maxMs: 10_000 };
  const logger = (options.logger ?? createLogger({ name: 'chat3-updates-client', level: 'warn' })).child({
    component: 'updates-client',
    queue,
  });
  const api: CatchUpApi = 'fetchUpdates' in options.api ? options.api : createHttpCatchUpApi({ ...options.api, ...recipient });

  let mode: ClientMode = 'idle';
  let state: SequencerState<QueueMessage> = initialState(0);
  let lastError: ClientError | null = null;
  let lastDeliveredAt: number | null = null;
  let unsequenced: Array<{ update: UnsequencedUpdate; message: QueueMessage }> = [];
  let amqp: AmqpConnection | undefined;
  let consumerTag: string | undefined;
  let loop: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;
  let failure: Error | undefined;
  let wakeLoop: (() => void) | undefined;
  const abort = new AbortController();
  let settle!: { resolve: () => void; reject: (err: Error) => void };
  const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  done.catch(() => undefined); // observed through `done` by the app; never an unhandled rejection

  function report(error: ClientError): void {
    lastError = error;
    const fields = { kind: error.kind, seq: error.seq, err: error.err === undefined ? undefined : errorMessage(error.err) };
    if (options.onError) {
      try {
        options.onError(error);
      } catch (err) {
        logger.warn({ err: errorMessage(err) }, 'onError threw');
      }
    }
    logger[error.kind === 'fatal' ? 'error' : 'warn'](fields, error.message);
  }

  function wake(): void {
    const w = wakeLoop;
    wakeLoop = undefined;
    w?.();
  }

  /**
   * Channels that closed. Not `channel.current`: a new channel delivers (and its duplicates are acked)
   * from inside its setup, before the managed channel makes it current.
   */
  const closed = new WeakSet<AmqpChannel>();
  const channel = createManagedChannel<AmqpChannel>({
    name: 'updates-client',
    logger,
    open: (model) => model.createChannel(),
    setup: async (ch) => {
      await ch.prefetch(prefetch);
      await ch.assertQueue(queue, { durable: true, arguments: { 'x-message-ttl': SEED_QUEUE_TTL_MS } });
      for (const key of bindings) await ch.bindQueue(queue, exchange, key);
      const reply = await ch.consume(queue, (msg) => onMessage(ch, msg));
      consumerTag = reply.consumerTag;
    },
    onClose: (ch) => {
      // Its unacked messages are back in the queue; the handles can no longer be acked.
      closed.add(ch);
      state = forget(state, (m) => m.channel === ch);
      unsequenced = unsequenced.filter((u) => u.message.channel !== ch);
    },
    onFatal: (err) => fail(err),
  });

  function ackEach(messages: QueueMessage[]): void {
    for (const m of messages) {
      if (closed.has(m.channel)) continue; // redelivered on the new channel; dropped there as a duplicate
      try {
        m.channel.ack(m.msg);
      } catch (err) {
        logger.warn({ err: errorMessage(err) }, 'ack failed');
      }
    }
  }

  function onMessage(ch: AmqpChannel, msg: ConsumeMessage | null): void {
    if (!msg) {
      // The broker cancelled the consumer (the queue was deleted): a new channel declares it again.
      logger.warn('consumer cancelled by the broker; resubscribing');
      void ch.close().catch(() => undefined);
      return;
    }
    const parsed = parseUpdateMessage(msg.content, recipient);
    const handle: QueueMessage = { msg, channel: ch };
    if (parsed.kind === 'malformed' || parsed.kind === 'foreign') {
      report({ kind: parsed.kind, message: `dropped a queue message: ${parsed.reason}` });
      ackEach([handle]);
    } else if (parsed.kind === 'unsequenced') {
      unsequenced.push({ update: parsed.update, message: handle });
    } else {
      state = receive(state, { seq: parsed.update.seq, update: parsed.update, message: handle });
    }
    wake();
  }

  /** Calls `fn` until it resolves, at most `handlerAttempts` times; false if it never did (or we stopped). */
  async function callHandler(what: string, seq: number | undefined, fn: () => Promise<void> | void): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await fn();
        return true;
      } catch (err) {
        report({ kind: 'handler', message: `${what} threw (attempt ${attempt} of ${handlerAttempts})`, seq, err });
        if (attempt >= handlerAttempts) {
          fail(new Error(`${what} failed ${attempt} times${seq === undefined ? '' : ` for seq ${seq}`}: ${errorMessage(err)}`));
          return false;
        }
        await sleep(backoffDelay(attempt - 1, backoff), abort.signal);
        if (abort.signal.aborted) return false;
      }
    }
  }

  let apiFailures = 0;
  async function backOff(): Promise<void> {
    await sleep(backoffDelay(apiFailures++, backoff), abort.signal);
  }

  async function deliver(step: Extract<Step<QueueMessage>, { kind: 'deliver' }>): Promise<void> {
    const { update, source } = step;
    const ok = await callHandler('onUpdate', update.seq, () => options.onUpdate(update, { source }));
    if (!ok) return;
    state = delivered(state, update.seq);
    lastDeliveredAt = Date.now();
    ackEach(step.messages);
  }

  async function fetchStep(step: Extract<Step<QueueMessage>, { kind: 'fetch' }>): Promise<void> {
    try {
      const page = await api.fetchUpdates(step.after, pageSize);
      if (page.kind === 'too-long') return await resync(step.after, page.oldestSeq);
      const updates: SequencedUpdate[] = [];
      for (const raw of page.updates) {
        const parsed = classifyUpdate(raw, recipient);
        if (parsed.kind === 'sequenced') updates.push(parsed.update);
        else
          report({
            kind: 'api',
            message: `the API returned an Update that cannot be used (${parsed.kind}${'reason' in parsed ? `: ${parsed.reason}` : ''})`,
          });
      }
      const result = applyPage(state, step.reason, { updates, hasMore: page.hasMore });
      state = result.state;
      if (!result.stalled) {
        apiFailures = 0;
        return;
      }
      report({
        kind: 'gap-stalled',
        message: `the API has nothing after seq ${step.after} yet${step.until ? ` (missing up to ${step.until})` : ''}; asking again`,
      });
      await backOff();
    } catch (err) {
      if (err instanceof CatchUpApiError && !err.retryable) return fail(err);
      report({ kind: 'api', message: `catch-up API call failed; retrying: ${errorMessage(err)}`, err });
      await backOff();
    }
  }

  let resyncFailures = 0;
  async function resync(from: number, oldestSeq: number | null): Promise<void> {
    mode = 'resyncing';
    const { seq } = await api.fetchState();
    logger.warn({ from, oldestSeq, seq }, 'the API no longer holds the missed Updates; resyncing');
    try {
      await options.onResync({ from, oldestSeq, seq });
    } catch (err) {
      resyncFailures += 1;
      report({ kind: 'resync', message: `onResync threw (attempt ${resyncFailures} of ${handlerAttempts})`, err });
      if (resyncFailures >= handlerAttempts) return fail(new Error(`onResync failed ${resyncFailures} times: ${errorMessage(err)}`));
      return backOff();
    }
    resyncFailures = 0;
    apiFailures = 0;
    state = resynced(state, seq);
  }

  async function run(): Promise<void> {
    while (!abort.signal.aborted) {
      const next = unsequenced[0];
      if (next) {
        if (options.onUnsequenced) {
          if (!(await callHandler('onUnsequenced', undefined, () => options.onUnsequenced!(next.update)))) return;
        } else {
          report({
            kind: 'unsequenced',
            message: `dropped Update ${next.update._id}: it has no seq (published before sequence numbers) and no onUnsequenced handler is set`,
          });
        }
        unsequenced = unsequenced.filter((u) => u !== next);
        ackEach([next.message]);
        continue;
      }
      const step = nextStep(state);
      mode = state.mode === 'catching-up' ? 'catching-up' : step.kind === 'fetch' ? 'filling-gap' : 'live';
      if (step.kind === 'idle') {
        await new Promise<void>((resolve) => (wakeLoop = resolve));
      } else if (step.kind === 'ack') {
        ackEach(step.messages);
        state = forget(state, (m) => step.messages.includes(m));
      } else if (step.kind === 'deliver') {
        await deliver(step);
      } else {
        await fetchStep(step);
      }
    }
  }

  function fail(err: Error): void {
    if (failure || stopping) return;
    failure = err;
    report({ kind: 'fatal', message: `updates client failed: ${err.message}`, err });
    void stop();
  }

  async function start(): Promise<void> {
    if (mode !== 'idle') throw new Error(`start() called in mode ${mode}`);
    mode = 'starting';
    let from = options.fromSeq;
    while (from === 'latest') {
      try {
        from = (await api.fetchState()).seq;
      } catch (err) {
        if ((err instanceof CatchUpApiError && !err.retryable) || abort.signal.aborted) {
          fail(err as Error);
          throw err;
        }
        report({ kind: 'api', message: `fetching the state to start from failed; retrying: ${errorMessage(err)}`, err });
        await backOff();
      }
    }
    state = initialState(from);
    const fatal = new Promise<never>((_, reject) => done.catch(reject));
    amqp = await connectAmqp({
      url: options.rabbitUrl,
      name: `chat3-updates-client ${options.tenantId}/${options.userId}`,
      logger,
      onConnect: (model) => channel.attach(model),
      onFatal: (err) => fail(err),
    });
    // stop() (or a failure) while connecting found no connection to close.
    if (stopping) await amqp.close();
    await Promise.race([channel.whenOpen(), fatal]);
    if (failure) throw failure;
    if (stopping) return;
    loop = run().catch((err: unknown) => fail(err as Error));
    logger.info({ scope, bindings, fromSeq: from }, 'updates client subscribed');
  }

  function stop(): Promise<void> {
    stopping ??= (async () => {
      mode = 'stopping';
      abort.abort();
      wake();
      const ch = channel.current;
      if (ch && consumerTag) await ch.cancel(consumerTag).catch(() => undefined);
      await loop;
      await channel.stop();
      await amqp?.close();
      mode = failure ? 'failed' : 'stopped';
      if (failure) settle.reject(failure);
      else settle.resolve();
    })();
    return stopping;
  }

  return {
    start,
    stop,
    done,
    get position() {
      return state.last;
    },
    status: () => ({
      mode,
      position: state.last,
      held: state.held.length,
      connected: amqp?.connected ?? false,
      lastError,
      lastDeliveredAt,
    }),
  };
}
