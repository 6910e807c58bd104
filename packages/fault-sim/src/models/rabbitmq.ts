/**
 * A model of the RabbitMQ broker (3.x/4.x, classic queues) as the builder and relay see it. Sources, as
 * summarised in shared/reference/semantics.md §3–4 (letters are that file's):
 *   - confirms [R1, R5]: numbered per channel from 1; each message acked or nacked exactly once; an
 *     unroutable `mandatory` message gets `basic.return` and then an ack; persistent messages are
 *     confirmed after a batched fsync, so confirms lag publishes by a few ms and come mostly in order;
 *   - channel exceptions [R2, R7]: a message over `max_message_size` closes the channel with 406
 *     PRECONDITION_FAILED, asynchronously; later frames on that channel are discarded; an ack of an
 *     unknown delivery tag closes the channel with 406; publishing to a missing exchange with 404;
 *   - alarms [R3]: the broker stops reading from connections (publishes and acks stall), sends
 *     `connection.blocked` once and `unblocked` when the alarm clears; deliveries keep flowing;
 *   - consumers [R4, R1, R6]: single active consumer: the first registered consumer is active, and on
 *     cancel or channel close the next waiting one becomes active at once; prefetch counts unacked
 *     deliveries per consumer; closing a channel or connection requeues its unacked deliveries to their
 *     original position (classic queues), flagged `redelivered`, after the broker has noticed the close
 *     (at once for a clean close, after a heartbeat delay for a dead socket); `basic.cancel` neither
 *     requeues nor discards in-flight deliveries, so a requeue after a cancel can land behind messages
 *     the next consumer already received.
 * Every frame between client and broker takes a few ms of virtual time, in order per connection.
 *
 * The model records what reached each "sink" queue (the per-user client queues) and which connection
 * published it, for the checker. Faults are methods: close connections, drop a connection's network,
 * take the broker down, raise an alarm, nack chosen messages, lower `max_message_size`.
 */
import type { Random } from '@chat3/simulator';

export interface MessageProperties {
  messageId?: string;
  headers?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface StoredMessage {
  seq: number;
  durableAt?: number;
  content: Buffer;
  exchange: string;
  routingKey: string;
  properties: MessageProperties;
  redelivered: boolean;
}

/** What the broker sends to a client connection. */
export type ServerFrame =
  | { kind: 'reply'; rpc: number; value?: unknown; error?: { code: number; text: string } }
  | { kind: 'confirm'; channel: number; tag: number; multiple: boolean; ack: boolean }
  | { kind: 'return'; channel: number; message: StoredMessage }
  | { kind: 'deliver'; channel: number; consumerTag: string; deliveryTag: number; message: StoredMessage }
  | { kind: 'cancelled'; channel: number; consumerTag: string }
  | { kind: 'channel-close'; channel: number; code: number; text: string }
  | { kind: 'connection-close'; code: number; text: string }
  | { kind: 'blocked'; reason: string }
  | { kind: 'unblocked' };

/** What a client sends to the broker. */
export type ClientFrame =
  | { kind: 'open-channel'; rpc: number; channel: number; confirm: boolean }
  | { kind: 'close-channel'; rpc: number; channel: number }
  | { kind: 'declare-exchange'; rpc: number; channel: number; name: string; type: string }
  | { kind: 'declare-queue'; rpc: number; channel: number; name: string; args: Record<string, unknown> }
  | { kind: 'bind'; rpc: number; channel: number; queue: string; exchange: string; pattern: string }
  | { kind: 'prefetch'; rpc: number; channel: number; count: number }
  | { kind: 'consume'; rpc: number; channel: number; queue: string }
  | { kind: 'cancel'; rpc: number; channel: number; consumerTag: string }
  | {
      kind: 'publish';
      channel: number;
      exchange: string;
      routingKey: string;
      content: Buffer;
      properties: MessageProperties;
      mandatory: boolean;
      /** When the client wrote it (the broker may read it much later, after an alarm). */
      sentAt: number;
    }
  | { kind: 'ack'; channel: number; tag: number; multiple: boolean }
  | { kind: 'nack'; channel: number; tag: number; multiple: boolean; requeue: boolean }
  | { kind: 'close-connection' };

export interface SinkRecord {
  at: number;
  queue: string;
  messageId: string;
  routingKey: string;
  content: Buffer;
  headers: Record<string, unknown>;
  /** The connection name of the publisher (`chat3-relay <instance>`). */
  publisher: string;
  /** When the publisher wrote it. */
  sentAt: number;
  /** When the broker has it on disk (its confirm time); a crash before then loses it. */
  durableAt: number;
}

interface Exchange {
  name: string;
  type: string;
  bindings: Array<{ queue: string; pattern: string }>;
}

interface Consumer {
  tag: string;
  connection: ServerConnection;
  channel: ServerChannel;
}

interface Queue {
  name: string;
  args: Record<string, unknown>;
  ready: StoredMessage[];
  consumers: Consumer[];
  sink: boolean;
}

interface Unacked {
  queue: Queue;
  message: StoredMessage;
  consumerTag: string;
}

interface ServerChannel {
  num: number;
  confirm: boolean;
  open: boolean;
  publishSeq: number;
  lastConfirmAt: number;
  prefetch: number;
  nextDeliveryTag: number;
  unacked: Map<number, Unacked>;
}

export interface ServerConnection {
  id: number;
  name: string;
  alive: boolean;
  channels: Map<number, ServerChannel>;
  /** Frames received while the connection is blocked by an alarm, processed when it clears. */
  held: ClientFrame[] | null;
  toClient: (frame: ServerFrame) => void;
  /** Tells the client's socket that one of its frames was read (backpressure). */
  onRead: () => void;
  /** Last time a frame to the client is scheduled for, so frames arrive in order. */
  lastOutAt: number;
}

export interface BrokerOptions {
  random: Random;
  /** One-way frame latency, ms. */
  netMs: () => number;
  /** Persist-and-confirm latency of one message, ms. */
  confirmMs: () => number;
}

export interface BrokerFaultCounts {
  [kind: string]: number;
}

let consumerTagCounter = 0;

export class RabbitMqModel {
  readonly sinks: SinkRecord[] = [];
  readonly nacked = new Set<string>();
  readonly faults: BrokerFaultCounts = {};
  /** Channels the broker closed with an exception (each one leaves its unconfirmed messages in doubt). */
  channelExceptions = 0;
  maxMessageSize = 128 * 1024 * 1024;
  /** Extra persist-and-confirm latency (a slow disk), ms. */
  slowConfirmsMs = 0;
  private readonly exchanges = new Map<string, Exchange>();
  private readonly queues = new Map<string, Queue>();
  private readonly connections = new Set<ServerConnection>();
  private nextConnectionId = 1;
  private downUntil = 0;
  private alarm = false;
  private nackWhen: ((exchange: string, message: MessageProperties) => boolean) | undefined;
  private seq = 0;

  constructor(private readonly options: BrokerOptions) {}

  // -------------------------------------------------------------------------------------------------
  // Set-up and inspection (the sim, not the code under test)

  /** A client queue that only records what is routed to it (the per-user queues of the seed). */
  addSink(queue: string, exchange: string, patterns: string[]): void {
    this.declareExchange(exchange, 'topic');
    this.queues.set(queue, { name: queue, args: {}, ready: [], consumers: [], sink: true });
    for (const pattern of patterns) this.exchanges.get(exchange)!.bindings.push({ queue, pattern });
  }

  /** Publishes as a producer outside the system (Chat3 emitting events): routed at once, in call order. */
  inject(exchange: string, routingKey: string, content: Buffer, properties: MessageProperties = {}): void {
    this.route(exchange, routingKey, content, properties, 'chat3');
  }

  queueDepth(name: string): { ready: number; unacked: number } {
    const queue = this.queues.get(name);
    let unacked = 0;
    for (const conn of this.connections)
      for (const ch of conn.channels.values()) for (const u of ch.unacked.values()) if (u.queue === queue) unacked++;
    return { ready: queue?.ready.length ?? 0, unacked };
  }

  readyMessages(name: string): readonly StoredMessage[] {
    return this.queues.get(name)?.ready ?? [];
  }

  // -------------------------------------------------------------------------------------------------
  // Faults

  private count(kind: string): void {
    this.faults[kind] = (this.faults[kind] ?? 0) + 1;
  }

  /** The broker closes matching connections (rabbitmqctl close_connection): 320 CONNECTION_FORCED. */
  closeConnections(match: (name: string) => boolean = () => true): void {
    this.count('broker-close-connection');
    for (const conn of [...this.connections]) {
      if (!match(conn.name)) continue;
      this.send(conn, { kind: 'connection-close', code: 320, text: 'CONNECTION_FORCED - closed by the fault simulation' });
      this.dropConnection(conn);
    }
  }

  /**
   * A connection's network dies: frames in flight are lost both ways; the client notices after
   * `clientNoticeMs` (heartbeat), the broker after `brokerNoticeMs`, and only then requeues.
   */
  severConnections(match: (name: string) => boolean, clientNoticeMs: number, brokerNoticeMs: number): void {
    this.count('network-drop');
    for (const conn of [...this.connections]) {
      if (!match(conn.name) || !conn.alive) continue;
      conn.alive = false; // nothing more is read from or sent to it
      setTimeout(() => this.dropConnection(conn), brokerNoticeMs);
      const toClient = conn.toClient;
      setTimeout(() => toClient({ kind: 'connection-close', code: 501, text: 'heartbeat timeout (socket dead)' }), clientNoticeMs);
    }
  }

  /**
   * The broker crashes and is unreachable for `ms`: every connection is closed, new ones are refused,
   * and persistent messages not yet on disk (not yet confirmable) are lost.
   */
  goDown(ms: number): void {
    this.count('broker-down');
    const now = Date.now();
    this.downUntil = now + ms;
    for (let i = this.sinks.length - 1; i >= 0; i--) if (this.sinks[i]!.durableAt > now) this.sinks.splice(i, 1);
    for (const queue of this.queues.values()) queue.ready = queue.ready.filter((m) => (m.durableAt ?? 0) <= now);
    for (const conn of [...this.connections]) {
      this.send(conn, { kind: 'connection-close', code: 320, text: 'CONNECTION_FORCED - broker shutdown' });
      this.dropConnection(conn);
    }
  }

  /** A memory or disk alarm for `ms`: publishing connections are blocked. */
  raiseAlarm(ms: number): void {
    this.count('alarm');
    this.alarm = true;
    for (const conn of this.connections) {
      if (!conn.alive) continue;
      conn.held ??= [];
      this.send(conn, { kind: 'blocked', reason: 'low on memory' });
    }
    setTimeout(() => this.clearAlarm(), ms);
  }

  private clearAlarm(): void {
    this.alarm = false;
    for (const conn of this.connections) {
      if (!conn.alive || !conn.held) continue;
      const held = conn.held;
      conn.held = null;
      this.send(conn, { kind: 'unblocked' });
      for (const frame of held) this.handle(conn, frame);
    }
  }

  /** Nacks every message published to `exchange` that matches, until cleared (undefined). */
  nackMatching(match: ((exchange: string, properties: MessageProperties) => boolean) | undefined): void {
    if (match) this.count('nack');
    this.nackWhen = match;
  }

  // -------------------------------------------------------------------------------------------------
  // Connections (called by the client model)

  /** Opens a connection, or throws ECONNREFUSED while the broker is down. */
  connect(name: string, toClient: (frame: ServerFrame) => void, onRead: () => void): ServerConnection {
    if (Date.now() < this.downUntil) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5672'), { code: 'ECONNREFUSED' });
    const conn: ServerConnection = {
      id: this.nextConnectionId++,
      name,
      alive: true,
      channels: new Map(),
      held: this.alarm ? [] : null,
      toClient,
      onRead,
      lastOutAt: 0,
    };
    this.connections.add(conn);
    if (this.alarm) this.send(conn, { kind: 'blocked', reason: 'low on memory' });
    return conn;
  }

  /** A frame from the client, after its network latency. */
  receive(conn: ServerConnection, frame: ClientFrame): void {
    if (!conn.alive) return;
    if (conn.held && frame.kind !== 'close-connection') {
      conn.held.push(frame);
      return;
    }
    this.handle(conn, frame);
  }

  private send(conn: ServerConnection, frame: ServerFrame): void {
    if (!conn.alive && frame.kind !== 'connection-close') return;
    const at = Math.max(conn.lastOutAt, Date.now() + this.options.netMs());
    conn.lastOutAt = at;
    const toClient = conn.toClient;
    setTimeout(() => toClient(frame), at - Date.now());
  }

  private dropConnection(conn: ServerConnection): void {
    if (!this.connections.has(conn)) return;
    conn.alive = false;
    this.connections.delete(conn);
    for (const ch of conn.channels.values()) this.closeServerChannel(conn, ch);
  }

  private handle(conn: ServerConnection, frame: ClientFrame): void {
    conn.onRead();
    const ch = 'channel' in frame ? conn.channels.get(frame.channel) : undefined;
    switch (frame.kind) {
      case 'close-connection':
        this.dropConnection(conn);
        return;
      case 'open-channel':
        conn.channels.set(frame.channel, {
          num: frame.channel,
          confirm: frame.confirm,
          open: true,
          publishSeq: 0,
          lastConfirmAt: 0,
          prefetch: 0,
          nextDeliveryTag: 1,
          unacked: new Map(),
        });
        return this.reply(conn, frame.rpc);
      case 'close-channel':
        if (ch) this.closeServerChannel(conn, ch);
        return this.reply(conn, frame.rpc);
    }
    if (!ch || !ch.open) return; // frames after a server-side channel close are discarded
    switch (frame.kind) {
      case 'declare-exchange':
        this.declareExchange(frame.name, frame.type);
        return this.reply(conn, frame.rpc);
      case 'declare-queue': {
        const existing = this.queues.get(frame.name);
        if (existing && !sameArgs(existing.args, frame.args)) {
          return this.channelException(conn, ch, 406, `PRECONDITION_FAILED - inequivalent arg for queue '${frame.name}'`, frame.rpc);
        }
        if (!existing) this.queues.set(frame.name, { name: frame.name, args: frame.args, ready: [], consumers: [], sink: false });
        return this.reply(conn, frame.rpc, { queue: frame.name });
      }
      case 'bind': {
        const exchange = this.exchanges.get(frame.exchange);
        if (!exchange || !this.queues.has(frame.queue)) {
          return this.channelException(conn, ch, 404, `NOT_FOUND - no exchange or queue for binding`, frame.rpc);
        }
        if (!exchange.bindings.some((b) => b.queue === frame.queue && b.pattern === frame.pattern)) {
          exchange.bindings.push({ queue: frame.queue, pattern: frame.pattern });
        }
        return this.reply(conn, frame.rpc);
      }
      case 'prefetch':
        ch.prefetch = frame.count;
        this.reply(conn, frame.rpc);
        return this.dispatchAll();
      case 'consume': {
        const queue = this.queues.get(frame.queue);
        if (!queue) return this.channelException(conn, ch, 404, `NOT_FOUND - no queue '${frame.queue}'`, frame.rpc);
        const tag = `amq.ctag-${++consumerTagCounter}`;
        queue.consumers.push({ tag, connection: conn, channel: ch });
        this.reply(conn, frame.rpc, { consumerTag: tag });
        return this.dispatch(queue);
      }
      case 'cancel':
        for (const queue of this.queues.values()) {
          const i = queue.consumers.findIndex((c) => c.tag === frame.consumerTag && c.channel === ch);
          if (i >= 0) queue.consumers.splice(i, 1);
        }
        this.reply(conn, frame.rpc, { consumerTag: frame.consumerTag });
        return this.dispatchAll();
      case 'publish':
        return this.publish(conn, ch, frame);
      case 'ack':
      case 'nack':
        return this.settle(conn, ch, frame);
    }
  }

  private reply(conn: ServerConnection, rpc: number, value?: unknown): void {
    this.send(conn, { kind: 'reply', rpc, value });
  }

  private channelException(conn: ServerConnection, ch: ServerChannel, code: number, text: string, rpc?: number): void {
    this.channelExceptions++;
    if (rpc !== undefined) this.send(conn, { kind: 'reply', rpc, error: { code, text } });
    this.send(conn, { kind: 'channel-close', channel: ch.num, code, text });
    this.closeServerChannel(conn, ch);
  }

  /** The channel is gone: pending confirms are never sent, unacked deliveries go back, consumers leave. */
  private closeServerChannel(conn: ServerConnection, ch: ServerChannel): void {
    ch.open = false;
    conn.channels.delete(ch.num);
    const returned = [...ch.unacked.values()];
    ch.unacked.clear();
    for (const queue of this.queues.values()) queue.consumers = queue.consumers.filter((c) => c.channel !== ch);
    for (const { queue, message } of returned) requeue(queue, message);
    this.dispatchAll();
  }

  private publish(conn: ServerConnection, ch: ServerChannel, frame: Extract<ClientFrame, { kind: 'publish' }>): void {
    const tag = ++ch.publishSeq;
    if (frame.content.length > this.maxMessageSize) {
      return this.channelException(
        conn,
        ch,
        406,
        `PRECONDITION_FAILED - message size ${frame.content.length} is larger than configured max size ${this.maxMessageSize}`,
      );
    }
    if (!this.exchanges.has(frame.exchange)) {
      return this.channelException(conn, ch, 404, `NOT_FOUND - no exchange '${frame.exchange}' in vhost '/'`);
    }
    const confirmAt = Math.max(ch.lastConfirmAt, Date.now() + this.options.confirmMs() + this.slowConfirmsMs);
    if (this.nackWhen?.(frame.exchange, frame.properties)) {
      if (frame.properties.messageId) this.nacked.add(frame.properties.messageId);
      return this.confirm(conn, ch, tag, false, confirmAt);
    }
    const routed = this.route(frame.exchange, frame.routingKey, frame.content, frame.properties, conn.name, confirmAt, frame.sentAt);
    if (!routed && frame.mandatory) {
      this.send(conn, {
        kind: 'return',
        channel: ch.num,
        message: {
          seq: 0,
          content: frame.content,
          exchange: frame.exchange,
          routingKey: frame.routingKey,
          properties: frame.properties,
          redelivered: false,
        },
      });
    }
    this.confirm(conn, ch, tag, true, confirmAt);
  }

  /** Confirms go out after the persistence latency, never before an earlier one of the same channel. */
  private confirm(conn: ServerConnection, ch: ServerChannel, tag: number, ack: boolean, at: number): void {
    if (!ch.confirm) return;
    ch.lastConfirmAt = at;
    setTimeout(() => {
      if (!ch.open || !conn.alive) return; // the channel closed first: this confirm is never sent
      this.send(conn, { kind: 'confirm', channel: ch.num, tag, multiple: false, ack });
    }, at - Date.now());
  }

  private route(
    exchangeName: string,
    routingKey: string,
    content: Buffer,
    properties: MessageProperties,
    publisher: string,
    durableAt = Date.now(),
    sentAt = Date.now(),
  ): boolean {
    const exchange = this.exchanges.get(exchangeName);
    if (!exchange) return false;
    const targets = new Set<string>();
    for (const b of exchange.bindings) if (matches(exchange.type, b.pattern, routingKey)) targets.add(b.queue);
    for (const name of targets) {
      const queue = this.queues.get(name);
      if (!queue) continue;
      if (queue.sink) {
        this.sinks.push({
          at: Date.now(),
          queue: name,
          messageId: String(properties.messageId ?? ''),
          routingKey,
          content,
          headers: properties.headers ?? {},
          publisher,
          durableAt,
          sentAt,
        });
        continue;
      }
      queue.ready.push({ seq: ++this.seq, durableAt, content, exchange: exchangeName, routingKey, properties, redelivered: false });
      this.dispatch(queue);
    }
    return targets.size > 0;
  }

  private settle(conn: ServerConnection, ch: ServerChannel, frame: Extract<ClientFrame, { kind: 'ack' | 'nack' }>): void {
    const tags = frame.multiple ? [...ch.unacked.keys()].filter((t) => t <= frame.tag) : [frame.tag];
    if (!ch.unacked.has(frame.tag)) {
      return this.channelException(conn, ch, 406, `PRECONDITION_FAILED - unknown delivery tag ${frame.tag}`);
    }
    for (const t of tags) {
      const u = ch.unacked.get(t)!;
      ch.unacked.delete(t);
      if (frame.kind === 'nack' && frame.requeue) requeue(u.queue, u.message);
    }
    this.dispatchAll();
  }

  private declareExchange(name: string, type: string): void {
    if (!this.exchanges.has(name)) this.exchanges.set(name, { name, type, bindings: [] });
  }

  private dispatchAll(): void {
    for (const queue of this.queues.values()) this.dispatch(queue);
  }

  /** Hands ready messages to consumers: the single active one, or round robin; within prefetch. */
  private dispatch(queue: Queue): void {
    if (queue.sink) return;
    const singleActive = queue.args['x-single-active-consumer'] === true;
    while (queue.ready.length > 0 && queue.consumers.length > 0) {
      const candidates = singleActive ? queue.consumers.slice(0, 1) : queue.consumers;
      const consumer = candidates.find((c) => c.channel.prefetch === 0 || countUnacked(c) < c.channel.prefetch);
      if (!consumer || !consumer.connection.alive) return;
      const message = queue.ready.shift()!;
      const tag = consumer.channel.nextDeliveryTag++;
      consumer.channel.unacked.set(tag, { queue, message, consumerTag: consumer.tag });
      this.send(consumer.connection, {
        kind: 'deliver',
        channel: consumer.channel.num,
        consumerTag: consumer.tag,
        deliveryTag: tag,
        message,
      });
      if (!singleActive) queue.consumers.push(queue.consumers.splice(queue.consumers.indexOf(consumer), 1)[0]!);
    }
  }
}

function countUnacked(c: Consumer): number {
  let n = 0;
  for (const u of c.channel.unacked.values()) if (u.consumerTag === c.tag) n++;
  return n;
}

/** Back to its original position among the ready messages (classic queues), flagged redelivered. */
function requeue(queue: Queue, message: StoredMessage): void {
  const again = { ...message, redelivered: true };
  const at = queue.ready.findIndex((m) => m.seq > message.seq);
  if (at < 0) queue.ready.push(again);
  else queue.ready.splice(at, 0, again);
}

function sameArgs(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if (a[k] !== b[k]) return false;
  return true;
}

/** AMQP exchange routing: direct = equality, fanout = all, topic = `*` one word, `#` zero or more. */
export function matches(type: string, pattern: string, key: string): boolean {
  if (type === 'fanout') return true;
  if (type === 'direct') return pattern === key;
  const p = pattern.split('.');
  const k = key.split('.');
  const go = (i: number, j: number): boolean => {
    if (i === p.length) return j === k.length;
    if (p[i] === '#') return go(i + 1, j) || (j < k.length && go(i, j + 1));
    return j < k.length && (p[i] === '*' || p[i] === k[j]) && go(i + 1, j + 1);
  };
  return go(0, 0);
}
