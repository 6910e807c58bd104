/**
 * Faults a scenario injects, at virtual times. Each one applied returns the window during which the
 * system is allowed to be slow (the fault itself plus the recovery it needs: reconnect backoff, lease
 * expiry, an election); the checker measures waits outside those windows only. Some are operations,
 * not faults, and open no window: a replay (the relay must keep up with it), a put-back by hand.
 */
import type { ReplaySpec } from './replays';
import type { SimProcess, World } from './world';

/** Which process a fault targets: the n-th started relay or builder (1-based), or a predicate. */
export type Target = { relay: number } | { builder: number };

export type Fault =
  | { kind: 'broker-close-connections'; target?: Target }
  | { kind: 'broker-down'; ms: number }
  | { kind: 'network-drop'; target: Target; clientNoticeMs: number; brokerNoticeMs: number }
  | { kind: 'alarm'; ms: number }
  | { kind: 'slow-confirms'; extraMs: number; ms: number }
  | { kind: 'nack'; ms: number; share: number; exchange?: string }
  | { kind: 'replication-lag'; lagMs: number; ms: number }
  | { kind: 'max-message-size'; bytes: number }
  | { kind: 'failover'; electionMs: number }
  | { kind: 'db-outage'; ms: number }
  | { kind: 'fail-ops'; ops: string[]; ms: number }
  | { kind: 'slow-db'; extraMs: number; ms: number }
  | { kind: 'invalidate' }
  | { kind: 'republish'; count: number }
  | ({ kind: 'replay' } & ReplaySpec)
  | { kind: 'truncate-oplog' }
  | { kind: 'kill'; target: Target }
  | { kind: 'stop'; target: Target }
  | { kind: 'start-relay'; env?: Record<string, string> }
  | { kind: 'start-builder'; env?: Record<string, string> }
  | { kind: 'partition-db'; target: Target; ms: number };

export type FaultKind = Fault['kind'];

export interface ScheduledFault {
  at: number;
  fault: Fault;
}

export interface Window {
  from: number;
  to: number;
  kind: FaultKind;
}

export interface RecoveryAllowance {
  /** Longest reconnect/backoff pause the services may be in when a fault ends. */
  backoffMs: number;
  leaseTtlMs: number;
}

export function resolveTarget(world: World, target: Target): SimProcess | undefined {
  const kind = 'relay' in target ? 'relay' : 'builder';
  const n = 'relay' in target ? target.relay : target.builder;
  return world.processes.filter((p) => p.kind === kind)[n - 1];
}

/** Applies a fault now; returns the window it makes unhealthy (empty for pure traffic changes). */
export function applyFault(
  world: World,
  fault: Fault,
  allowance: RecoveryAllowance,
  startEnv: { relay: Record<string, string>; builder: Record<string, string> },
): Window | null {
  const now = Date.now();
  const { backoffMs, leaseTtlMs } = allowance;
  const window = (ms: number): Window => ({ from: now, to: now + ms, kind: fault.kind });
  const nameOf = (target: Target | undefined) => {
    const proc = target ? resolveTarget(world, target) : undefined;
    return (name: string) => !target || (proc !== undefined && name.endsWith(` ${proc.id}`));
  };
  switch (fault.kind) {
    case 'broker-close-connections':
      world.broker.closeConnections(nameOf(fault.target));
      return window(backoffMs);
    case 'broker-down':
      world.broker.goDown(fault.ms);
      return window(fault.ms + backoffMs);
    case 'network-drop':
      world.broker.severConnections(nameOf(fault.target), fault.clientNoticeMs, fault.brokerNoticeMs);
      return window(Math.max(fault.clientNoticeMs, fault.brokerNoticeMs) + backoffMs);
    case 'alarm':
      world.broker.raiseAlarm(fault.ms);
      return window(fault.ms + backoffMs);
    case 'slow-confirms':
      world.broker.slowConfirmsMs = fault.extraMs;
      setTimeout(() => (world.broker.slowConfirmsMs = 0), fault.ms);
      return window(fault.ms + backoffMs);
    case 'nack':
      world.broker.nackMatching((exchange) => (!fault.exchange || exchange === fault.exchange) && Math.random() < fault.share);
      setTimeout(() => world.broker.nackMatching(undefined), fault.ms);
      return window(fault.ms + backoffMs);
    case 'max-message-size':
      world.broker.maxMessageSize = fault.bytes;
      return null;
    case 'failover':
      world.mongo.failover(fault.electionMs);
      return window(fault.electionMs + leaseTtlMs + backoffMs);
    case 'db-outage':
      world.mongo.outage(fault.ms);
      return window(fault.ms + leaseTtlMs + backoffMs);
    case 'replication-lag':
      world.mongo.lagReplication(fault.lagMs);
      setTimeout(() => world.mongo.lagReplication(0), fault.ms);
      return window(fault.ms + backoffMs);
    case 'fail-ops':
      world.mongo.failOps((op) => fault.ops.includes(op));
      setTimeout(() => world.mongo.failOps(undefined), fault.ms);
      return window(fault.ms + backoffMs);
    case 'slow-db':
      world.mongo.slowDown(fault.extraMs);
      setTimeout(() => world.mongo.slowDown(0), fault.ms);
      return window(fault.ms + backoffMs);
    case 'invalidate':
      world.mongo.invalidate();
      return window(backoffMs);
    case 'republish':
      world.mongo.republish(fault.count);
      return null;
    case 'replay':
      world.operator.start(fault);
      return null;
    case 'truncate-oplog':
      world.mongo.truncateOplog();
      return null;
    case 'kill': {
      const proc = resolveTarget(world, fault.target);
      if (proc) world.kill(proc);
      return window(leaseTtlMs * 2 + backoffMs);
    }
    case 'stop': {
      const proc = resolveTarget(world, fault.target);
      if (proc) void world.stop(proc);
      return window(leaseTtlMs + backoffMs);
    }
    case 'start-relay':
      world.startRelay({ ...startEnv.relay, ...fault.env });
      return window(leaseTtlMs + backoffMs);
    case 'start-builder':
      world.startBuilder({ ...startEnv.builder, ...fault.env });
      return window(leaseTtlMs + backoffMs);
    case 'partition-db': {
      const proc = resolveTarget(world, fault.target);
      if (proc) world.partition(proc, fault.ms);
      return window(fault.ms + leaseTtlMs * 2 + backoffMs);
    }
  }
}
