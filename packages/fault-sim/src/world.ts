/**
 * One simulated deployment: the models (RabbitMQ, MongoDB with `updates`, leases, the read model and
 * user stats) and the real relay and builder processes wired to them through their ports. A process
 * can be started, stopped gracefully, killed (every call it makes hangs, the broker notices its
 * connections die after a heartbeat) or partitioned from MongoDB.
 *
 * The operator runs replays (`pnpm republish`, see replays.ts) against the same models.
 *
 * The world also records what the checker needs: unhandled rejections and fatal errors, graceful stop
 * times, change streams that spun, and who published what (the broker's sink records).
 */
import { builderTopology, createBuilder, createBuilderMetrics, loadBuilderConfig, type Builder, type BuilderConfig } from '@chat3/builder';
import { createRelay, createRelayMetrics, loadRelayConfig, type Relay, type RelayConfig } from '@chat3/relay';
import type { Random } from '@chat3/simulator';
import { pino, type Logger } from 'pino';
import { simulatedConnect, type ClientHost, type Sabotage } from './models/amqplib';
import type { ChangeStreamModel } from './models/change-stream';
import { LeaseModel } from './models/leases';
import { MongoModel, type Durability, type MongoHost } from './models/mongo';
import { ReadModelState, UserStatsModel, simulatedBuilderStore, simulatedUpdateStore } from './models/ports';
import { RabbitMqModel } from './models/rabbitmq';
import { ReplayOperator } from './replays';

export const UPDATES_EXCHANGE = 'chat3_updates';
export const EVENTS_EXCHANGE = 'chat3_events';
export const BUILDER_QUEUE = 'chat3_update_builder';

export interface Host extends ClientHost, MongoHost {}

export interface SimProcess {
  kind: 'relay' | 'builder';
  id: string;
  host: Host;
  config: RelayConfig | BuilderConfig;
  service: Relay | Builder;
  state: 'starting' | 'running' | 'stopping' | 'stopped' | 'killed';
  /** When a graceful stop began, and how long it took, ms. */
  stopStartedAt?: number;
  stopMs?: number;
}

export interface ProcessEvent {
  at: number;
  process: string;
  what: string;
}

export interface WorldOptions {
  random: Random;
  durability: Durability;
  changeStreams: boolean;
  /** Keep the services' logs (debug level) for the report. */
  keepLogs: boolean;
  /** A broken AMQP client for every relay (checker self-test only). */
  sabotage?: Sabotage;
  /** False: MongoDB without the unique index `recipient_seq` (checker self-test only). */
  seqIndex?: boolean;
  /** False: change streams miss replays' updates, as the relay's pipeline did before (checker self-test only). */
  matchReplays?: boolean;
}

export class World {
  readonly broker: RabbitMqModel;
  readonly mongo: MongoModel;
  readonly leases: LeaseModel;
  readonly operator: ReplayOperator;
  readonly readModel = new ReadModelState();
  readonly userStats = new UserStatsModel();
  readonly processes: SimProcess[] = [];
  readonly events: ProcessEvent[] = [];
  /** Unhandled rejections and fatal errors: a real process would have exited. */
  readonly exits: ProcessEvent[] = [];
  readonly spinning = new Set<string>();
  readonly streams: Array<{ process: string; stream: ChangeStreamModel }> = [];
  readonly logs: string[] = [];
  private readonly netMs: () => number;
  private counter = 0;

  constructor(private readonly options: WorldOptions) {
    const { random } = options;
    this.netMs = () => 0.2 + random.float() * 1.5;
    this.broker = new RabbitMqModel({ random, netMs: this.netMs, confirmMs: () => 2 + random.exponential(15) });
    this.mongo = new MongoModel({
      random,
      opMs: () => 0.5 + random.exponential(1.5),
      majorityLagMs: () => 1 + random.exponential(3),
      durability: options.durability,
      seqIndex: options.seqIndex,
    });
    this.leases = new LeaseModel(this.mongo);
    this.operator = new ReplayOperator(this.mongo, random);
  }

  note(process: string, what: string): void {
    this.events.push({ at: Date.now(), process, what });
  }

  private logger(name: string): Logger {
    if (!this.options.keepLogs) return pino({ level: 'silent' });
    const logs = this.logs;
    return pino(
      { level: 'debug', base: { p: name }, timestamp: () => `,"t":${Date.now()}` },
      { write: (line: string) => void logs.push(line.trimEnd()) },
    );
  }

  private host(id: string): Host {
    return { name: id, dead: false, partitionedUntil: 0 };
  }

  /** Starts a relay; `env` overrides the simulation's relay settings. */
  startRelay(env: Record<string, string>): SimProcess {
    const id = `relay-${++this.counter}`;
    const host = { ...this.host(id), sabotage: this.options.sabotage };
    const config = loadRelayConfig({
      MONGODB_URI: 'mongodb://sim/',
      RABBITMQ_UPDATES_EXCHANGE: UPDATES_EXCHANGE,
      RELAY_INSTANCE_ID: id,
      ...env,
    });
    const service: Relay = createRelay({
      config,
      instanceId: id,
      store: simulatedUpdateStore(this.mongo, host, {
        changeStreams: this.options.changeStreams,
        matchReplays: this.options.matchReplays,
        onStream: (stream) => this.streams.push({ process: id, stream }),
        onSpin: () => this.spinning.add(id),
      }),
      leases: this.leases.store(host),
      layouts: this.leases.layouts(host),
      resumeTokens: (group, owner) => this.leases.resumeTokens(host, group, owner),
      metrics: createRelayMetrics({ defaultMetrics: false }),
      logger: this.logger(id),
      onFatal: (err) => this.fatal(proc, err),
      connect: simulatedConnect(this.broker, host, this.netMs),
    });
    const proc: SimProcess = { kind: 'relay', id, host, config, service, state: 'starting' };
    this.launch(proc);
    return proc;
  }

  startBuilder(env: Record<string, string>): SimProcess {
    const id = `builder-${++this.counter}`;
    const host = this.host(id);
    const config = loadBuilderConfig({
      MONGODB_URI: 'mongodb://sim/',
      RABBITMQ_EVENTS_EXCHANGE: EVENTS_EXCHANGE,
      BUILDER_QUEUE,
      BUILDER_INSTANCE_ID: id,
      ...env,
    });
    const service: Builder = createBuilder({
      config,
      instanceId: id,
      store: simulatedBuilderStore(this.mongo, host, this.readModel, this.userStats),
      leases: this.leases.store(host),
      metrics: createBuilderMetrics({ defaultMetrics: false }),
      logger: this.logger(id),
      onFatal: (err) => this.fatal(proc, err),
      connect: simulatedConnect(this.broker, host, this.netMs),
    });
    const proc: SimProcess = { kind: 'builder', id, host, config, service, state: 'starting' };
    this.launch(proc);
    return proc;
  }

  private launch(proc: SimProcess): void {
    this.processes.push(proc);
    this.note(proc.id, 'start');
    proc.service.start().then(
      () => {
        if (proc.state === 'starting') proc.state = 'running';
      },
      (err: unknown) => this.fatal(proc, err instanceof Error ? err : new Error(String(err))),
    );
  }

  private fatal(proc: SimProcess, err: Error): void {
    if (proc.state === 'killed') return;
    this.exits.push({ at: Date.now(), process: proc.id, what: `fatal: ${err.message}` });
    this.kill(proc);
  }

  /** SIGKILL: the process stops answering at once; the broker notices after a heartbeat. */
  kill(proc: SimProcess, brokerNoticeMs = 1_000): void {
    if (proc.state === 'killed' || proc.state === 'stopped') return;
    proc.state = 'killed';
    proc.host.dead = true;
    this.note(proc.id, 'killed');
    this.broker.severConnections((name) => name.endsWith(` ${proc.id}`), Number.MAX_SAFE_INTEGER, brokerNoticeMs);
  }

  /** SIGTERM: a graceful stop; records how long it took. */
  async stop(proc: SimProcess): Promise<void> {
    if (proc.state !== 'running' && proc.state !== 'starting') return;
    proc.state = 'stopping';
    const started = Date.now();
    proc.stopStartedAt = started;
    this.note(proc.id, 'stopping');
    await proc.service.stop();
    proc.stopMs = Date.now() - started;
    proc.state = 'stopped';
    this.note(proc.id, `stopped in ${proc.stopMs} ms`);
  }

  /** The process cannot reach MongoDB for `ms` (its calls fail), the rest of the world can. */
  partition(proc: SimProcess, ms: number): void {
    this.note(proc.id, `partitioned from mongodb for ${ms} ms`);
    proc.host.partitionedUntil = Date.now() + ms;
  }

  recordUnhandled(err: unknown): void {
    this.exits.push({
      at: Date.now(),
      process: '?',
      what: `unhandled rejection: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    });
  }

  live(kind?: 'relay' | 'builder'): SimProcess[] {
    return this.processes.filter((p) => (p.state === 'running' || p.state === 'starting') && (!kind || p.kind === kind));
  }

  /** Builder topology names, for the checker (dead letters). */
  static builderTopology(partitions: number) {
    return builderTopology(EVENTS_EXCHANGE, BUILDER_QUEUE, partitions);
  }
}
