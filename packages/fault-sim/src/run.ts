/**
 * One simulation run: a scenario and a seed in, a report out. The same scenario and seed replay the
 * same run exactly: virtual time, seeded randomness, and models that answer only through timers.
 *
 * Phases (virtual time): start the processes (1 s) → traffic, faults and replays for `durationMs` →
 * quiesce (faults over, replays done; wait until everything is delivered, and everything a replay put
 * back delivered again, at most 60 s) → stop every process gracefully → check.
 */
import { COMMITTED_READS, DURABLE_WRITES } from '@chat3/runtime';
import { createRandom } from '@chat3/simulator';
import type { UserStats } from '@chat3/core';
import { check, type RunSummary, type Violation } from './checker';
import { applyFault, type FaultKind, type Window } from './faults';
import type { Sabotage } from './models/amqplib';
import type { Durability } from './models/mongo';
import type { Scenario } from './scenarios';
import { installVirtualTime } from './virtual-time';
import { startTraffic } from './workload';
import { BUILDER_QUEUE, World } from './world';

export const STARTUP_MS = 1_000;
export const QUIESCE_MS = 60_000;

export const SIM_RELAY_ENV: Record<string, string> = {
  RELAY_PARTITIONS: '4',
  RELAY_BATCH_SIZE: '50',
  RELAY_WINDOW: '100',
  RELAY_POLL_INTERVAL_MS: '100',
  RELAY_CONFIRM_TIMEOUT_MS: '2000',
  RELAY_STATS_INTERVAL_MS: '500',
  LEASE_TTL_MS: '2000',
  SHUTDOWN_TIMEOUT_MS: '5000',
};

export const SIM_BUILDER_ENV: Record<string, string> = {
  BUILDER_PARTITIONS: '4',
  BUILDER_BATCH_SIZE: '50',
  BUILDER_BATCH_WAIT_MS: '10',
  BUILDER_PREFETCH: '200',
  BUILDER_ROUTER_PREFETCH: '200',
  BUILDER_CONFIRM_TIMEOUT_MS: '2000',
  LEASE_TTL_MS: '2000',
  SHUTDOWN_TIMEOUT_MS: '5000',
};

/** What the services' MongoDB code asks for (runtime's DURABLE_WRITES and COMMITTED_READS). */
export function codeDurability(): Durability {
  const readLevel = typeof COMMITTED_READS === 'string' ? COMMITTED_READS : COMMITTED_READS.level;
  return { writes: DURABLE_WRITES.w === 'majority' ? 'majority' : 'w1', reads: readLevel === 'majority' ? 'majority' : 'local' };
}

export interface RunReport {
  scenario: string;
  seed: string;
  violations: Violation[];
  summary: RunSummary;
  faults: Partial<Record<FaultKind, number>>;
  virtualMs: number;
  realMs: number;
  logs: string[];
}

export interface RunOptions {
  keepLogs?: boolean;
  /** Plug a deliberately broken AMQP client into every relay (to show the checker catches it). */
  sabotage?: Sabotage;
  /** False: run without the unique index `recipient_seq` (to show the checker catches a seq given twice). */
  seqIndex?: boolean;
  /** False: change streams miss replays' updates (to show the checker catches replays left to the safety net). */
  matchReplays?: boolean;
  /** Look at the world before the run is torn down (debugging a seed). */
  inspect?: (world: World) => void;
}

export async function runScenario(scenario: Scenario, seed: string, options: RunOptions = {}): Promise<RunReport> {
  const realStart = process.hrtime.bigint();
  const vt = installVirtualTime(`${scenario.name}:${seed}`);
  const world = new World({
    random: createRandom(`${scenario.name}:${seed}`, 'models'),
    durability: scenario.durability ?? codeDurability(),
    changeStreams: scenario.mode === 'change-stream',
    keepLogs: options.keepLogs ?? false,
    sabotage: options.sabotage,
    seqIndex: options.seqIndex,
    matchReplays: options.matchReplays,
  });
  const onUnhandled = (err: unknown) => world.recordUnhandled(err);
  process.on('unhandledRejection', onUnhandled);
  const startAt = Date.now();
  try {
    const relayEnv: Record<string, string> = { ...SIM_RELAY_ENV, RELAY_MODE: scenario.mode, ...scenario.relayEnv };
    const builderEnv: Record<string, string> = { ...SIM_BUILDER_ENV, ...scenario.builderEnv };
    for (let i = 0; i < scenario.relays; i++) world.startRelay(relayEnv);
    for (let i = 0; i < scenario.builders; i++) world.startBuilder(builderEnv);
    await vt.runUntil(STARTUP_MS);

    const leaseTtlMs = Number(relayEnv.LEASE_TTL_MS);
    const allowance = { backoffMs: 5_500, leaseTtlMs };
    const windows: Window[] = [];
    const faultCounts: Partial<Record<FaultKind, number>> = {};
    for (const { at, fault } of scenario.faults) {
      setTimeout(() => {
        faultCounts[fault.kind] = (faultCounts[fault.kind] ?? 0) + 1;
        world.note('sim', `fault ${fault.kind}`);
        const w = applyFault(world, fault, allowance, { relay: relayEnv, builder: builderEnv });
        if (w) windows.push(w);
      }, at);
    }
    let trafficOn = true;
    const produced = startTraffic(world, scenario.traffic, createRandom(`${scenario.name}:${seed}`, 'traffic'), () => !trafficOn);
    await vt.runUntil(STARTUP_MS + scenario.durationMs);
    trafficOn = false;

    const quiet = () => {
      // Writes that waited out an outage or a partition land right after it: wait for them too.
      const disruptedUntil = Math.max(
        world.mongo.unavailableUntilTime,
        ...world.processes.filter((p) => !p.host.dead).map((p) => p.host.partitionedUntil),
      );
      if (Date.now() < disruptedUntil + 1_000 || !world.operator.idle) return false;
      const lastAt = new Map(world.broker.sinks.map((s) => [s.messageId, s.at]));
      const committed = world.mongo.committedDocs();
      if (committed.some((d) => !d.parked && !lastAt.has(d._id.toHexString()))) return false;
      if (world.mongo.replayed.length > 0) {
        const parked = new Set(committed.filter((d) => d.parked).map((d) => d._id.toHexString()));
        if (world.mongo.replayed.some((p) => !parked.has(p.id) && (lastAt.get(p.id) ?? -Infinity) < p.at)) return false;
      }
      if (scenario.traffic.kind === 'updates') return committed.length >= produced.updates.length;
      const topology = World.builderTopology(Number(builderEnv.BUILDER_PARTITIONS));
      return [topology.intakeQueue, ...topology.partitionQueues].every((q) => {
        const depth = world.broker.queueDepth(q);
        return depth.ready === 0 && depth.unacked === 0;
      });
    };
    const checkEvery = async (untilMs: number) => {
      while (vt.elapsed() < untilMs && !quiet()) await vt.runUntil(Math.min(untilMs, vt.elapsed() + 100));
    };
    await checkEvery(vt.elapsed() + QUIESCE_MS);
    const endAt = Date.now();

    const stopping = world.live().map((p) => world.stop(p));
    let stopped = false;
    void Promise.all(stopping).then(() => (stopped = true));
    await vt.runUntil(vt.elapsed() + 60_000, () => stopped);

    const committed = world.mongo.committedDocs();
    const deadLettered = new Set(world.broker.readyMessages(`${BUILDER_QUEUE}.dlq`).map((m) => String(m.properties.messageId ?? '')));
    const { violations, summary } = check({
      traffic: scenario.traffic.kind,
      produced,
      committed,
      deliveries: world.broker.sinks,
      nacked: world.broker.nacked,
      republished: world.mongo.republished,
      replays: world.mongo.replayed,
      deadLettered,
      windows,
      otherIncidents: world.broker.channelExceptions,
      startAt,
      endAt,
      stallLimitMs: scenario.stallLimitMs ?? 6_000,
      window: Number(relayEnv.RELAY_WINDOW),
      leaseTtlMs,
      exits: world.exits,
      spinning: [...world.spinning],
      stops: world.processes
        .filter((p) => p.stopStartedAt !== undefined)
        .map((p) => ({ process: p.id, ms: p.stopMs ?? Date.now() - p.stopStartedAt!, timeoutMs: p.config.SHUTDOWN_TIMEOUT_MS })),
      stats: scenario.traffic.kind === 'events' ? statsOf(world, committed) : undefined,
    });
    options.inspect?.(world);
    return {
      scenario: scenario.name,
      seed,
      violations,
      summary,
      faults: faultCounts,
      virtualMs: Date.now() - startAt,
      realMs: Number((process.hrtime.bigint() - realStart) / 1_000_000n),
      logs: world.logs,
    };
  } finally {
    process.off('unhandledRejection', onUnhandled);
    vt.uninstall();
  }
}

function statsOf(world: World, committed: ReturnType<World['mongo']['committedDocs']>) {
  const emitted = new Map<string, Array<{ at: number; stats: UserStats }>>();
  for (const d of committed) {
    const stats = d.data.user?.stats;
    if (d.updateType !== 'UserStatsUpdate' || !stats) continue;
    emitted.set(d.userId, [...(emitted.get(d.userId) ?? []), { at: d.createdAt, stats }]);
  }
  for (const list of emitted.values()) list.sort((a, b) => a.at - b.at);
  return { history: world.readModel.statsHistory, emitted };
}
