/**
 * A model of amqplib 2.3.1's promise API with opt-in recovery, talking to the RabbitMQ model. It
 * implements the runtime's AMQP ports, so the real managed channels, confirm publisher, consumers and
 * routers run against it unchanged. Behaviour, from amqplib's source as summarised in
 * shared/reference/semantics.md §3 (A1 lib/channel.js, A3 lib/connection.js, A4 lib/recovery.js):
 *   - `publish` on a confirm channel numbers the message, writes the frame at once and keeps the
 *     callback; it returns false once more than `highWaterMark` frames wait unread by the broker (still
 *     queued), and `'drain'` follows when they are read; on a closed channel it throws
 *     IllegalOperationError synchronously and the callback is never called;
 *   - an ack calls back with null, a nack with Error('message nacked'); a multiple ack settles in order;
 *   - a server-side channel close: pending RPCs reject, `'error'` (with `code`) is emitted, then every
 *     unconfirmed callback fails with Error('channel closed') in publish order, then `'close'`;
 *   - a client `close()` ignores acks that arrive meanwhile and fails what is unconfirmed;
 *   - a lost connection fails every channel's callbacks and emits their `'close'` (no `'error'`), then
 *     the connection's `'error'` (not for 320/200) and `'close'`;
 *   - `ack`/`nack` on a closed channel throw IllegalOperationError;
 *   - recovery reconnects only the connection, after 100 ms × 2ⁿ (capped) with jitter from Math.random,
 *     runs `setup` on the new connection before emitting `'connect'`, and forwards blocked/unblocked.
 */
import { EventEmitter } from 'node:events';
import type {
  AmqpChannel,
  AmqpConfirmChannel,
  AmqpConnect,
  AmqpModel,
  ConsumeMessage,
  Message,
  Options,
  RecoveringAmqp,
} from '@chat3/runtime';
import type { ClientFrame, MessageProperties, RabbitMqModel, ServerConnection, ServerFrame, StoredMessage } from './rabbitmq';

const HIGH_WATER_MARK = 1024;

export class IllegalOperationError extends Error {
  override name = 'IllegalOperationError';
}

type Rpc = { resolve: (value: unknown) => void; reject: (err: Error) => void; channel: number };

/**
 * A deliberately broken client, to prove the checker catches what it must (test/checker.test.ts):
 * `drop` acks every 40th message without sending it, `duplicate` sends every 40th twice, `reorder`
 * holds every 40th back and sends it after the next one, `drop-replays` acks every message that
 * carries a replay id (`x-chat3-replay`) without sending it.
 */
export type Sabotage = 'drop' | 'duplicate' | 'reorder' | 'drop-replays';

/** One client process's view of the network: `dead` blackholes everything (a killed process). */
export interface ClientHost {
  name: string;
  dead: boolean;
  sabotage?: Sabotage;
}

class SimConnection extends EventEmitter implements AmqpModel {
  private readonly channels = new Map<number, SimChannel>();
  private readonly rpcs = new Map<number, Rpc>();
  private server!: ServerConnection;
  private nextChannel = 1;
  private nextRpc = 1;
  private lastInAt = 0;
  private unread = 0;
  closed = false;

  constructor(
    private readonly broker: RabbitMqModel,
    private readonly host: ClientHost,
    private readonly netMs: () => number,
  ) {
    super();
  }

  static async open(broker: RabbitMqModel, host: ClientHost, name: string, netMs: () => number): Promise<SimConnection> {
    await delay(netMs() * 3); // TCP + AMQP handshake
    if (host.dead) return new Promise(() => undefined);
    const conn = new SimConnection(broker, host, netMs);
    conn.server = broker.connect(
      name,
      (frame) => conn.onFrame(frame),
      () => conn.onRead(),
    );
    return conn;
  }

  get sabotage(): Sabotage | undefined {
    return this.host.sabotage;
  }

  get backpressured(): boolean {
    return this.unread > HIGH_WATER_MARK;
  }

  send(frame: ClientFrame): void {
    if (this.closed || this.host.dead) return;
    this.unread++;
    const at = Math.max(this.lastInAt, Date.now() + this.netMs());
    this.lastInAt = at;
    const server = this.server;
    setTimeout(() => this.broker.receive(server, frame), at - Date.now());
  }

  private onRead(): void {
    this.unread--;
    if (this.unread === 0) for (const ch of this.channels.values()) ch.drained();
  }

  rpc<T>(channel: number, make: (rpc: number) => ClientFrame): Promise<T> {
    if (this.closed) return Promise.reject(new IllegalOperationError('Connection closed'));
    const id = this.nextRpc++;
    return new Promise<T>((resolve, reject) => {
      this.rpcs.set(id, { resolve: resolve as (v: unknown) => void, reject, channel });
      this.send(make(id));
    });
  }

  failRpcs(channel: number, err: Error): void {
    for (const [id, rpc] of this.rpcs) {
      if (rpc.channel !== channel) continue;
      this.rpcs.delete(id);
      rpc.reject(err);
    }
  }

  private onFrame(frame: ServerFrame): void {
    if (this.closed || this.host.dead) return;
    switch (frame.kind) {
      case 'reply': {
        const rpc = this.rpcs.get(frame.rpc);
        if (!rpc) return;
        this.rpcs.delete(frame.rpc);
        if (frame.error) rpc.reject(Object.assign(new Error(`Operation failed: ${frame.error.text}`), { code: frame.error.code }));
        else rpc.resolve(frame.value);
        return;
      }
      case 'connection-close':
        return this.lost(Object.assign(new Error(`Connection closed: ${frame.code} (${frame.text})`), { code: frame.code }));
      case 'blocked':
        return void this.emit('blocked', frame.reason);
      case 'unblocked':
        return void this.emit('unblocked');
      default:
        this.channels.get(frame.channel)?.onFrame(frame);
    }
  }

  private async openChannel(confirm: boolean): Promise<SimChannel> {
    const num = this.nextChannel++;
    const ch = new SimChannel(this, num, confirm);
    this.channels.set(num, ch);
    try {
      await this.rpc(num, (rpc) => ({ kind: 'open-channel', rpc, channel: num, confirm }));
    } catch (err) {
      this.channels.delete(num);
      throw err;
    }
    return ch;
  }

  createChannel(): Promise<AmqpChannel> {
    return this.openChannel(false);
  }

  createConfirmChannel(): Promise<AmqpConfirmChannel> {
    return this.openChannel(true);
  }

  forget(num: number): void {
    this.channels.delete(num);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.send({ kind: 'close-connection' });
    await delay(this.netMs() * 2);
    this.lost(null);
  }

  /** The connection is gone: channels first, then the connection's own events. */
  lost(err: (Error & { code?: number }) | null): void {
    if (this.closed) return;
    this.closed = true;
    for (const [id, rpc] of this.rpcs) {
      this.rpcs.delete(id);
      rpc.reject(new IllegalOperationError('Connection closed'));
    }
    for (const ch of [...this.channels.values()]) ch.teardown(null);
    this.channels.clear();
    if (err && err.code !== 320 && err.code !== 200) this.emit('error', err);
    this.emit('close', err ?? undefined);
  }
}

class SimChannel extends EventEmitter implements AmqpConfirmChannel {
  private state: 'open' | 'closing' | 'closed' = 'open';
  private nextTag = 1;
  private readonly unconfirmed: Array<{ tag: number; cb: (err: unknown) => void }> = [];
  private readonly consumers = new Map<string, (msg: ConsumeMessage | null) => void>();
  private wantsDrain = false;
  private publishes = 0;
  private heldBack: { frame: ClientFrame; callback: (err: unknown) => void } | undefined;

  constructor(
    private readonly conn: SimConnection,
    readonly num: number,
    private readonly confirm: boolean,
  ) {
    super();
  }

  private rpc<T>(make: (rpc: number) => ClientFrame): Promise<T> {
    if (this.state !== 'open') return Promise.reject(new IllegalOperationError('Channel closed'));
    return this.conn.rpc<T>(this.num, make);
  }

  assertExchange(exchange: string, type: string): Promise<unknown> {
    return this.rpc((rpc) => ({ kind: 'declare-exchange', rpc, channel: this.num, name: exchange, type }));
  }

  assertQueue(queue: string, options?: Options.AssertQueue): Promise<unknown> {
    const args = { ...(options?.arguments ?? {}) } as Record<string, unknown>;
    return this.rpc((rpc) => ({ kind: 'declare-queue', rpc, channel: this.num, name: queue, args }));
  }

  bindQueue(queue: string, source: string, pattern: string): Promise<unknown> {
    return this.rpc((rpc) => ({ kind: 'bind', rpc, channel: this.num, queue, exchange: source, pattern }));
  }

  prefetch(count: number): Promise<unknown> {
    return this.rpc((rpc) => ({ kind: 'prefetch', rpc, channel: this.num, count }));
  }

  async consume(queue: string, onMessage: (msg: ConsumeMessage | null) => void): Promise<{ consumerTag: string }> {
    const reply = await this.rpc<{ consumerTag: string }>((rpc) => ({ kind: 'consume', rpc, channel: this.num, queue }));
    this.consumers.set(reply.consumerTag, onMessage);
    return reply;
  }

  async cancel(consumerTag: string): Promise<unknown> {
    const reply = await this.rpc((rpc) => ({ kind: 'cancel', rpc, channel: this.num, consumerTag }));
    this.consumers.delete(consumerTag);
    return reply;
  }

  publish(exchange: string, routingKey: string, content: Buffer, options: Options.Publish, callback: (err: unknown) => void): boolean {
    if (this.state !== 'open') throw new IllegalOperationError('Channel closed');
    if (!Buffer.isBuffer(content)) throw new TypeError('content is not a buffer');
    const properties: MessageProperties = { ...(options as Record<string, unknown>) };
    const frame: ClientFrame = {
      kind: 'publish',
      channel: this.num,
      exchange,
      routingKey,
      content,
      properties,
      mandatory: options.mandatory === true,
      sentAt: Date.now(),
    };
    const replayCopy = options.headers?.['x-chat3-replay'] !== undefined;
    const sabotaged = this.conn.sabotage === 'drop-replays' ? replayCopy : this.conn.sabotage !== undefined && ++this.publishes % 40 === 0;
    if (sabotaged && (this.conn.sabotage === 'drop' || this.conn.sabotage === 'drop-replays')) setTimeout(() => callback(null), 1);
    else if (sabotaged && this.conn.sabotage === 'reorder') this.heldBack = { frame, callback };
    else {
      this.write(frame, callback);
      if (sabotaged && this.conn.sabotage === 'duplicate') this.write({ ...frame }, () => undefined);
      const held = this.heldBack;
      this.heldBack = undefined;
      if (held) this.write(held.frame, held.callback);
    }
    if (this.conn.backpressured) {
      this.wantsDrain = true;
      return false;
    }
    return true;
  }

  /** Numbers the message as the broker will (publish order on this channel) and sends it. */
  private write(frame: ClientFrame, callback: (err: unknown) => void): void {
    if (this.confirm) this.unconfirmed.push({ tag: this.nextTag++, cb: callback });
    this.conn.send(frame);
  }

  ack(message: Message, allUpTo = false): void {
    if (this.state !== 'open') throw new IllegalOperationError('Channel closed');
    this.conn.send({ kind: 'ack', channel: this.num, tag: message.fields.deliveryTag, multiple: allUpTo });
  }

  nack(message: Message, allUpTo = false, requeue = true): void {
    if (this.state !== 'open') throw new IllegalOperationError('Channel closed');
    this.conn.send({ kind: 'nack', channel: this.num, tag: message.fields.deliveryTag, multiple: allUpTo, requeue });
  }

  async close(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closing';
    try {
      await this.conn.rpc(this.num, (rpc) => ({ kind: 'close-channel', rpc, channel: this.num }));
    } catch {
      // the connection went first; teardown already ran
    }
    this.teardown(null);
  }

  drained(): void {
    if (!this.wantsDrain || this.state !== 'open') return;
    this.wantsDrain = false;
    this.emit('drain');
  }

  onFrame(frame: ServerFrame): void {
    if (this.state === 'closed') return;
    switch (frame.kind) {
      case 'confirm': {
        if (this.state === 'closing') return; // amqplib ignores acks after a local close
        const settled = frame.multiple
          ? this.unconfirmed.filter((u) => u.tag <= frame.tag)
          : this.unconfirmed.filter((u) => u.tag === frame.tag);
        for (const u of settled) this.unconfirmed.splice(this.unconfirmed.indexOf(u), 1);
        for (const { cb } of settled) cb(frame.ack ? null : new Error('message nacked'));
        return;
      }
      case 'return':
        return void this.emit('return', toMessage(frame.message, 0, ''));
      case 'deliver': {
        if (this.state !== 'open') return;
        this.consumers.get(frame.consumerTag)?.(toMessage(frame.message, frame.deliveryTag, frame.consumerTag));
        return;
      }
      case 'cancelled': {
        const cb = this.consumers.get(frame.consumerTag);
        this.consumers.delete(frame.consumerTag);
        return cb?.(null);
      }
      case 'channel-close': {
        const err = Object.assign(new Error(`Channel closed by server: ${frame.code} (${frame.text})`), { code: frame.code });
        this.teardown(err);
        return;
      }
    }
  }

  /** amqplib's order: reject RPCs, emit 'error' (server close only), fail callbacks in order, emit 'close'. */
  teardown(err: Error | null): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.conn.failRpcs(this.num, err ?? new IllegalOperationError('Channel closed'));
    if (err) this.emit('error', err);
    const failed = this.unconfirmed.splice(0);
    for (const { cb } of failed) cb(new Error('channel closed'));
    this.consumers.clear();
    this.conn.forget(this.num);
    this.emit('close');
  }
}

function toMessage(m: StoredMessage, deliveryTag: number, consumerTag: string): ConsumeMessage {
  return {
    content: m.content,
    fields: { deliveryTag, redelivered: m.redelivered, exchange: m.exchange, routingKey: m.routingKey, consumerTag },
    properties: {
      contentType: m.properties.contentType,
      contentEncoding: m.properties.contentEncoding,
      headers: (m.properties.headers ?? {}) as Record<string, unknown>,
      deliveryMode: m.properties.persistent ? 2 : undefined,
      priority: undefined,
      correlationId: m.properties.correlationId,
      replyTo: undefined,
      expiration: undefined,
      messageId: m.properties.messageId,
      timestamp: m.properties.timestamp,
      type: m.properties.type,
      userId: undefined,
      appId: m.properties.appId,
      clusterId: undefined,
    },
  } as ConsumeMessage;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** amqplib's RecoveringChannelModel over the model connection (lib/recovery.js, RecoveringCore). */
class SimRecovering extends EventEmitter implements RecoveringAmqp {
  private model: SimConnection | undefined;
  private stopped = false;
  private connecting = false;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly initial: Promise<void>;
  private resolveInitial!: () => void;

  constructor(
    private readonly broker: RabbitMqModel,
    private readonly host: ClientHost,
    private readonly name: string,
    private readonly recovery: Parameters<AmqpConnect>[1]['recovery'],
    private readonly netMs: () => number,
  ) {
    super();
    this.initial = new Promise((resolve) => (this.resolveInitial = resolve));
    setImmediate(() => void this.connect());
  }

  waitForConnect(): Promise<unknown> {
    return this.initial;
  }

  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    const model = this.model;
    this.model = undefined;
    await model?.close().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.stopped || this.connecting || this.host.dead) return;
    this.connecting = true;
    let model: SimConnection | undefined;
    try {
      model = await SimConnection.open(this.broker, this.host, this.name, this.netMs);
      await this.recovery.setup(model);
      if (this.stopped) {
        await model.close();
        return;
      }
      this.model = model;
      this.attempt = 0;
      const bound = model;
      model.on('close', (err?: Error) => {
        if (this.model !== bound) return;
        this.model = undefined;
        if (this.stopped) return;
        this.emit('disconnect', err ?? new Error('Connection closed'));
        this.scheduleReconnect();
      });
      model.on('blocked', (reason: string) => this.emit('blocked', reason));
      model.on('unblocked', () => this.emit('unblocked'));
      model.on('error', (err: Error) => this.emit('error', err));
      this.resolveInitial();
      this.emit('connect', model);
    } catch (err) {
      if (model) await model.close().catch(() => undefined);
      this.emit('connect-failed', err instanceof Error ? err : new Error(String(err)));
      this.scheduleReconnect();
    } finally {
      this.connecting = false;
    }
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.timer || this.host.dead) return;
    const { initialDelay, maxDelay, jitter } = this.recovery;
    this.attempt += 1;
    const base = Math.min(maxDelay / (1 + jitter), initialDelay * 2 ** (this.attempt - 1));
    const offset = Math.random() * base * jitter * 2 - base * jitter;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        void this.connect();
      },
      Math.max(0, Math.round(base + offset)),
    );
  }
}

/** `amqplib.connect` for one simulated process. */
export function simulatedConnect(broker: RabbitMqModel, host: ClientHost, netMs: () => number): AmqpConnect {
  return async (_url, { clientProperties, recovery }) =>
    new SimRecovering(broker, host, clientProperties.connection_name ?? host.name, recovery, netMs);
}
