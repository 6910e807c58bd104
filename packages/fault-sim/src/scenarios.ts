/**
 * Scenarios: the named ones reproduce, one each, the defects listed in issue #7 §1 (each failed on the
 * code before its fix), then the seq and replay ones; `randomScenario(seed)` draws a deployment,
 * traffic, a fault schedule and, for some seeds, replays from a seed for the seeded sweep. Times are
 * virtual ms after the processes started.
 */
import { createRandom } from '@chat3/simulator';
import type { Fault, FaultKind, ScheduledFault } from './faults';
import type { Durability } from './models/mongo';
import type { Traffic } from './workload';

export interface Scenario {
  name: string;
  /** What it exercises; for a named scenario, the defect it reproduces. */
  about: string;
  mode: 'change-stream' | 'polling';
  relays: number;
  builders: number;
  traffic: Traffic;
  durationMs: number;
  faults: ScheduledFault[];
  relayEnv?: Record<string, string>;
  builderEnv?: Record<string, string>;
  stallLimitMs?: number;
  /** Overrides what the code asks of MongoDB (only to show what a weaker concern would do). */
  durability?: Durability;
}

const steady = (perSecond: number, recipients = 8, dialogs = 3): Traffic => ({ kind: 'updates', recipients, dialogs, perSecond });
const events = (over: Partial<Extract<Traffic, { kind: 'events' }>> = {}): Traffic => ({
  kind: 'events',
  users: 12,
  dialogs: 6,
  membersPerDialog: 4,
  perSecond: 60,
  memberUpdates: 0.2,
  badEvents: 0,
  ...over,
});
const at = (ms: number, fault: Fault): ScheduledFault => ({ at: ms, fault });

export const NAMED_SCENARIOS: Scenario[] = [
  {
    name: 'cs-query-fails-while-idle',
    about: '§1.1: the "still unpublished?" query fails while the tailer waits on an idle stream',
    mode: 'change-stream',
    relays: 1,
    builders: 0,
    traffic: steady(5),
    durationMs: 4_000,
    faults: [at(1_500, { kind: 'fail-ops', ops: ['findIds'], ms: 1_500 })],
  },
  {
    name: 'cs-broker-outage-order',
    about: '§1.2: after a failed publish, newer Updates of the recipient overtake the failed ones',
    mode: 'change-stream',
    relays: 1,
    builders: 0,
    traffic: steady(50, 1, 1),
    durationMs: 5_000,
    faults: [at(1_000, { kind: 'broker-down', ms: 300 })],
  },
  {
    name: 'cs-slow-renewal-drop',
    about: '§1.2: Updates skipped while the lease check is briefly false are dropped until the safety net',
    mode: 'change-stream',
    relays: 1,
    builders: 0,
    traffic: steady(40),
    durationMs: 5_000,
    faults: [at(1_000, { kind: 'slow-db', extraMs: 450, ms: 2_500 })],
  },
  {
    name: 'poll-page-overtake',
    about: '§1.3: polling fetches page N+1 while page N is in flight; N fails and N+1 goes out first',
    mode: 'polling',
    relays: 1,
    builders: 0,
    relayEnv: { LEASE_TTL_MS: '10000' },
    traffic: steady(300, 4, 2),
    durationMs: 4_000,
    faults: [
      at(500, { kind: 'slow-db', extraMs: 300, ms: 3_000 }),
      at(500, { kind: 'slow-confirms', extraMs: 500, ms: 3_000 }),
      at(1_500, { kind: 'broker-down', ms: 150 }),
      at(2_500, { kind: 'broker-down', ms: 150 }),
    ],
  },
  {
    name: 'builder-lease-loss-order',
    about: '§1.4: a builder cut off from MongoDB loses its leases; the next holder overtakes it',
    mode: 'polling',
    relays: 1,
    builders: 2,
    traffic: events({ perSecond: 120 }),
    durationMs: 6_000,
    faults: [at(1_500, { kind: 'partition-db', target: { builder: 1 }, ms: 3_000 })],
  },
  {
    name: 'builder-stats-race',
    about: '§1.5: after losing the stats compare-and-set, a builder emits the stale stats it read before',
    mode: 'polling',
    relays: 1,
    builders: 2,
    traffic: events({ users: 2, dialogs: 8, membersPerDialog: 2, perSecond: 300, memberUpdates: 0.9 }),
    durationMs: 3_000,
    faults: [at(0, { kind: 'slow-db', extraMs: 40, ms: 10_000 })],
  },
  {
    name: 'cs-quiet-reopen',
    about: '§1.6: a relay with no token yet reopens its stream on a lease change; inserts in between wait for the safety net',
    mode: 'change-stream',
    relays: 1,
    builders: 0,
    traffic: { kind: 'updates', recipients: 8, dialogs: 3, perSecond: 150, pause: [0, 2_800] },
    durationMs: 6_000,
    faults: [at(2_500, { kind: 'start-relay' }), at(2_500, { kind: 'slow-db', extraMs: 300, ms: 2_000 })],
  },
  {
    name: 'partition-count-change',
    about: '§1.7: a rolling restart from RELAY_PARTITIONS=4 to 2; old and new relays publish the same recipients',
    mode: 'polling',
    relays: 2,
    builders: 0,
    traffic: steady(150),
    durationMs: 7_000,
    faults: [
      at(1_500, { kind: 'start-relay', env: { RELAY_PARTITIONS: '2' } }),
      at(2_500, { kind: 'stop', target: { relay: 1 } }),
      at(3_000, { kind: 'start-relay', env: { RELAY_PARTITIONS: '2' } }),
      at(4_000, { kind: 'stop', target: { relay: 2 } }),
    ],
  },
  {
    name: 'oversize-closes-channel',
    about: "§1.8: a body over the broker's max_message_size closes the channel (406) and stalls every partition",
    mode: 'polling',
    relays: 1,
    builders: 0,
    traffic: { kind: 'updates', recipients: 8, dialogs: 3, perSecond: 60, oversizeEvery: 97 },
    durationMs: 5_000,
    faults: [at(0, { kind: 'max-message-size', bytes: 3_000 })],
  },
  {
    name: 'builder-dead-letter-nacked',
    about: "§1.9: a nacked dead-letter publish; the next batch's ack covers the bad event, which is lost",
    mode: 'polling',
    relays: 1,
    builders: 1,
    traffic: events({ unbuildable: 0.05 }),
    durationMs: 4_000,
    faults: [at(0, { kind: 'nack', ms: 3_000, share: 1, exchange: 'chat3_update_builder.dlx' })],
  },
  {
    name: 'shutdown-during-backlog',
    about: '§1.10: a graceful stop does not interrupt a sweep of a large backlog',
    mode: 'polling',
    relays: 1,
    builders: 0,
    relayEnv: { LEASE_TTL_MS: '10000' },
    traffic: steady(400),
    durationMs: 8_000,
    faults: [
      at(0, { kind: 'broker-down', ms: 3_000 }),
      at(3_000, { kind: 'slow-db', extraMs: 300, ms: 9_000 }),
      at(8_000, { kind: 'stop', target: { relay: 1 } }),
      at(8_100, { kind: 'start-relay' }),
    ],
  },
  {
    name: 'safety-net-without-sampling',
    about: '§1.11: backlog sampling fails, so the safety-net sweep inside its loop never runs (re-published Updates wait for it)',
    mode: 'change-stream',
    relays: 1,
    builders: 0,
    traffic: steady(60),
    durationMs: 8_000,
    relayEnv: { RELAY_SWEEP_INTERVAL_MS: '2000', RELAY_SWEEP_GRACE_MS: '500' },
    faults: [at(0, { kind: 'fail-ops', ops: ['sampleBacklog'], ms: 120_000 }), at(3_000, { kind: 'republish', count: 20 })],
  },
  {
    name: 'broker-alarm',
    about: '§1.12: a resource alarm; confirm timeouts fire and the window is re-sent over and over',
    mode: 'polling',
    relays: 1,
    builders: 0,
    traffic: steady(100),
    durationMs: 9_000,
    faults: [at(1_000, { kind: 'alarm', ms: 7_000 })],
  },
  {
    name: 'cs-invalidate',
    about: '§1.13: the collection is renamed; the invalidated stream looks idle and the tailer spins',
    mode: 'change-stream',
    relays: 1,
    builders: 0,
    traffic: steady(40),
    durationMs: 4_000,
    faults: [at(1_500, { kind: 'invalidate' })],
  },
  {
    name: 'failover-rollback',
    about: '§1.14: a failover rolls back writes acknowledged at w:1 and Updates published from local reads',
    mode: 'polling',
    relays: 1,
    builders: 1,
    traffic: events({ perSecond: 100 }),
    durationMs: 5_000,
    faults: [at(1_000, { kind: 'replication-lag', lagMs: 400, ms: 3_000 }), at(2_000, { kind: 'failover', electionMs: 1_500 })],
  },
  {
    name: 'seq-takeover-lagging-counters',
    about:
      "issue #10 §1: a relay's seq counter writes fail, then it hands its partitions over; the successor's counters lag behind the Updates' seqs",
    mode: 'polling',
    relays: 1,
    builders: 0,
    traffic: steady(120, 4, 2),
    durationMs: 6_000,
    faults: [
      at(0, { kind: 'fail-ops', ops: ['raiseSeqCounters'], ms: 2_500 }),
      at(1_000, { kind: 'start-relay' }),
      at(1_500, { kind: 'stop', target: { relay: 1 } }),
    ],
  },
  replayUnderFaults('change-stream'),
  replayUnderFaults('polling'),
];

/**
 * Replays while faults hit: a recipient's whole history and a random sample are put back, and the
 * relay that tails or polls them is killed, cut off from MongoDB, loses its broker connections, and a
 * failover fails the operator's writes (resumed). Each Update must go out again, with the replay's id
 * and its seq, each recipient's copies in order, while live traffic keeps its guarantees.
 */
function replayUnderFaults(mode: Scenario['mode']): Scenario {
  return {
    name: mode === 'change-stream' ? 'replay-under-faults' : 'replay-under-faults-polling',
    about: `${mode}: two replays (one recipient, a sample) while a relay is killed, one is cut off from MongoDB, the broker closes connections and a failover fails the operator's writes`,
    mode,
    relays: 2,
    builders: 0,
    traffic: steady(100, 4, 2),
    durationMs: 8_000,
    faults: [
      at(2_500, { kind: 'replay', select: { user: 'u1' }, rate: 20 }),
      at(3_000, { kind: 'kill', target: { relay: 1 } }),
      at(3_500, { kind: 'partition-db', target: { relay: 2 }, ms: 1_500 }),
      at(4_000, { kind: 'start-relay' }),
      at(5_000, { kind: 'replay', select: { sample: 150 }, rate: 50 }),
      at(5_500, { kind: 'broker-close-connections' }),
      at(6_300, { kind: 'replication-lag', lagMs: 300, ms: 1_000 }),
      at(6_500, { kind: 'failover', electionMs: 500 }),
    ],
  };
}

export function namedScenario(name: string): Scenario | undefined {
  return NAMED_SCENARIOS.find((s) => s.name === name);
}

/** Faults the random schedule draws from, with their parameters. */
const RANDOM_FAULTS: Array<{
  kind: FaultKind;
  make: (r: ReturnType<typeof createRandom>, s: { relays: number; builders: number }) => Fault;
}> = [
  { kind: 'broker-close-connections', make: () => ({ kind: 'broker-close-connections' }) },
  { kind: 'broker-down', make: (r) => ({ kind: 'broker-down', ms: r.int(100, 1_500) }) },
  {
    kind: 'network-drop',
    make: (r, s) => ({
      kind: 'network-drop',
      target: { relay: r.int(1, s.relays) },
      clientNoticeMs: r.int(200, 2_000),
      brokerNoticeMs: r.int(200, 2_000),
    }),
  },
  { kind: 'alarm', make: (r) => ({ kind: 'alarm', ms: r.int(500, 4_000) }) },
  { kind: 'slow-confirms', make: (r) => ({ kind: 'slow-confirms', extraMs: r.int(50, 800), ms: r.int(500, 3_000) }) },
  { kind: 'nack', make: (r) => ({ kind: 'nack', ms: r.int(100, 1_000), share: 0.05 }) },
  { kind: 'failover', make: (r) => ({ kind: 'failover', electionMs: r.int(200, 3_000) }) },
  { kind: 'db-outage', make: (r) => ({ kind: 'db-outage', ms: r.int(100, 2_000) }) },
  {
    kind: 'fail-ops',
    make: (r) => ({
      kind: 'fail-ops',
      ops: [
        r.pick(['find', 'findIds', 'markPublished', 'getMore', 'insertMany', 'leases.renew', 'assignSeqs', 'lastSeqs', 'raiseSeqCounters']),
      ],
      ms: r.int(100, 1_500),
    }),
  },
  { kind: 'slow-db', make: (r) => ({ kind: 'slow-db', extraMs: r.int(20, 400), ms: r.int(500, 3_000) }) },
  { kind: 'replication-lag', make: (r) => ({ kind: 'replication-lag', lagMs: r.int(50, 500), ms: r.int(500, 2_000) }) },
  {
    kind: 'kill',
    make: (r, s) => ({
      kind: 'kill',
      target: r.chance(0.5) || s.builders === 0 ? { relay: r.int(1, s.relays) } : { builder: r.int(1, s.builders) },
    }),
  },
  {
    kind: 'partition-db',
    make: (r, s) => ({
      kind: 'partition-db',
      target: r.chance(0.5) || s.builders === 0 ? { relay: r.int(1, s.relays) } : { builder: r.int(1, s.builders) },
      ms: r.int(300, 4_000),
    }),
  },
  { kind: 'invalidate', make: () => ({ kind: 'invalidate' }) },
];

/** The share of random seeds that run replays too. */
const REPLAY_SHARE = 0.3;

/** A deployment, traffic and fault schedule (with replays, for some seeds) drawn from the seed. */
export function randomScenario(seed: string | number, options: { mode?: Scenario['mode']; builders?: boolean } = {}): Scenario {
  const r = createRandom(`random-scenario:${seed}`);
  const mode = options.mode ?? (r.chance(0.5) ? 'change-stream' : 'polling');
  const builders = options.builders === false ? 0 : options.builders ? r.int(1, 2) : r.chance(0.4) ? r.int(1, 2) : 0;
  const relays = r.int(1, 3);
  const durationMs = r.int(4_000, 7_000);
  const faults: ScheduledFault[] = [];
  const count = r.int(1, 4);
  for (let i = 0; i < count; i++) {
    const f = r.pick(RANDOM_FAULTS);
    faults.push({ at: r.int(200, durationMs - 500), fault: f.make(r, { relays, builders }) });
  }
  // A killed process is replaced later, as an orchestrator would.
  for (const { at: t, fault } of [...faults]) {
    if (fault.kind === 'kill')
      faults.push({ at: t + r.int(500, 3_000), fault: 'relay' in fault.target ? { kind: 'start-relay' } : { kind: 'start-builder' } });
  }
  const traffic: Traffic =
    builders > 0
      ? events({ perSecond: r.int(30, 120), badEvents: r.chance(0.3) ? 0.02 : 0 })
      : steady(r.int(30, 250), r.int(2, 12), r.int(1, 4));
  // Replays come from a stream of their own, so the rest of a seed's draws are as they were.
  const rr = createRandom(`random-scenario:${seed}`, 'replays');
  const replays = rr.chance(REPLAY_SHARE);
  if (replays) {
    const recipients = traffic.kind === 'updates' ? traffic.recipients : traffic.users;
    for (let i = rr.int(1, 2); i > 0; i--) {
      const select = rr.chance(0.5) ? { user: `u${rr.int(0, recipients - 1)}` } : { sample: rr.int(20, 150) };
      faults.push({ at: rr.int(1_000, durationMs - 500), fault: { kind: 'replay', select, rate: rr.pick([100, 200, 400]) } });
    }
  }
  faults.sort((a, b) => a.at - b.at);
  const name = options.mode ? `random-${options.mode}-${seed}` : `random-${seed}`;
  const about = `random deployment, traffic and faults${replays ? ', with replays' : ''}`;
  return { name, about, mode, relays, builders, traffic, durationMs, faults };
}
