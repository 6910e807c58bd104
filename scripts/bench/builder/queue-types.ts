/**
 * The builder's throughput on each queue type (BUILDER_QUEUE_TYPE), measured in the same run: which types
 * a run measures, the order they take in each repetition, and the comparison of their runs (pure).
 */
import { QUEUE_TYPES, type QueueType } from '@chat3/builder';
import { median } from '../report';
import type { BrokerCeilingRun, ThroughputRun } from './results';

/**
 * The types named by `--queue-types` (comma-separated, e.g. `classic,quorum`), in the order given; the
 * first is the run's primary type. Throws on an unknown type, a repeated one or an empty list, naming
 * `source` (the flag, or the environment variable the list came from).
 */
export function parseQueueTypes(raw: string, source = '--queue-types'): QueueType[] {
  const names = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (names.length === 0) throw new Error(`${source} needs at least one of ${QUEUE_TYPES.join(', ')}`);
  const types: QueueType[] = [];
  for (const name of names) {
    const type = QUEUE_TYPES.find((t) => t === name);
    if (!type) throw new Error(`${source}: unknown queue type ${JSON.stringify(name)} (known: ${QUEUE_TYPES.join(', ')})`);
    if (types.includes(type)) throw new Error(`${source}: ${type} named twice`);
    types.push(type);
  }
  return types;
}

/**
 * The order of the types in repetition `rep`: as given in even repetitions, reversed in odd ones, so that
 * going first (or right after the other type) does not always fall to the same type.
 */
export function queueTypeOrder(types: readonly QueueType[], rep: number): QueueType[] {
  return rep % 2 === 0 ? [...types] : [...types].reverse();
}

export interface QueueTypeFigures {
  queueType: QueueType;
  /** Medians over this type's runs. */
  eventsPerSecond: number;
  updatesPerSecond: number;
  runs: ThroughputRun[];
  /** The broker alone on this queue type (broker-ceiling.ts): median events/s, and the runs. */
  brokerEventsPerSecond: number;
  brokerRuns: BrokerCeilingRun[];
}

export interface QueueTypeComparison {
  byType: QueueTypeFigures[];
  /** Median quorum events/s ÷ median classic events/s; null unless both types were measured. */
  quorumOverClassic: number | null;
  /**
   * Quorum ÷ classic events/s within each repetition (two runs close in time, which drift hits alike), in
   * repetition order: the runs of each type are paired in the order they ran.
   */
  quorumOverClassicByRepeat: number[];
  /** The same two ratios for the broker alone; null and empty unless both types were measured. */
  brokerQuorumOverClassic: number | null;
  brokerQuorumOverClassicByRepeat: number[];
}

/** The builder runs of `type` (a run without a type is a classic one: the default). */
export function runsOfType(runs: readonly ThroughputRun[], type: QueueType): ThroughputRun[] {
  return runs.filter((r) => (r.queueType ?? 'classic') === type);
}

/** Quorum ÷ classic of each pair of runs, paired in the order they ran. */
function pairRatios(classic: readonly { eventsPerSecond: number }[], quorum: readonly { eventsPerSecond: number }[]): number[] {
  const pairs = Math.min(classic.length, quorum.length);
  return Array.from({ length: pairs }, (_, i) => quorum[i]!.eventsPerSecond / classic[i]!.eventsPerSecond);
}

/** Medians per type and the quorum/classic ratios, from the builder runs and broker ceilings of every type. */
export function compareQueueTypes(
  runs: readonly ThroughputRun[],
  types: readonly QueueType[],
  broker: readonly BrokerCeilingRun[] = [],
): QueueTypeComparison {
  const byType = types.map((queueType) => {
    const of = runsOfType(runs, queueType);
    const brokerRuns = broker.filter((r) => r.queueType === queueType);
    return {
      queueType,
      eventsPerSecond: median(of.map((r) => r.eventsPerSecond)),
      updatesPerSecond: median(of.map((r) => r.updatesPerSecond)),
      runs: of,
      brokerEventsPerSecond: median(brokerRuns.map((r) => r.eventsPerSecond)),
      brokerRuns,
    };
  });
  const classic = byType.find((t) => t.queueType === 'classic');
  const quorum = byType.find((t) => t.queueType === 'quorum');
  if (!classic || !quorum) {
    return {
      byType,
      quorumOverClassic: null,
      quorumOverClassicByRepeat: [],
      brokerQuorumOverClassic: null,
      brokerQuorumOverClassicByRepeat: [],
    };
  }
  const brokerMeasured = classic.brokerRuns.length > 0 && quorum.brokerRuns.length > 0;
  return {
    byType,
    quorumOverClassic: quorum.eventsPerSecond / classic.eventsPerSecond,
    quorumOverClassicByRepeat: pairRatios(classic.runs, quorum.runs),
    brokerQuorumOverClassic: brokerMeasured ? quorum.brokerEventsPerSecond / classic.brokerEventsPerSecond : null,
    brokerQuorumOverClassicByRepeat: pairRatios(classic.brokerRuns, quorum.brokerRuns),
  };
}
