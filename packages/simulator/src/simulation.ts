/**
 * A deterministic stream of Chat3 traffic: each step is the read-model writes of one Chat3 API call
 * and the event Chat3 publishes after them. Pure (no I/O); `runTraffic` does the writing and publishing.
 *
 * Stateful: `next()` advances the tenant worlds, the PRNG streams and the clock. Same options (seed
 * included) ⇒ the same population and the same n-th step, whatever the pacing.
 */
import { ActionContext, type StepDraft } from './action-context';
import { createDialog, deleteDialog, typing, updateDialog } from './dialog-actions';
import { decorateEvent, eventRoutingKey, type EventBody } from './event-factory';
import { addMember, removeMember, updateMember } from './member-actions';
import { createMessage, createStatus, deleteMessage, editMessage, react, updateStatus } from './message-actions';
import { ALL_ACTIONS, type Action } from './mix';
import { createPopulation, populationOf, populationWrites, type Population } from './population';
import { createRandom } from './prng';
import type { ReadModelWrite } from './read-model-writes';
import { createSimulatedClock, createWallClock } from './sim-clock';
import { resolveSimulationOptions, type ResolvedSimulationOptions, type SimulationOptions } from './simulation-options';
import { addUser, removeUser, updateUser } from './user-actions';

export interface TrafficStep {
  /** 0-based position in the stream. */
  seq: number;
  /** Applied, and acknowledged, before `event` is published. */
  writes: ReadModelWrite[];
  event: EventBody;
  routingKey: string;
}

export interface Simulation extends Iterable<TrafficStep> {
  readonly options: ResolvedSimulationOptions;
  /** The world before the first step. */
  readonly population: Population;
  /** The population as read-model inserts; apply them once before the traffic. */
  seedWrites(): ReadModelWrite[];
  next(): TrafficStep;
  take(count: number): TrafficStep[];
}

const ACTIONS: Record<Action, (ctx: ActionContext) => boolean> = {
  'message.create': createMessage,
  'message.update': editMessage,
  'message.status.update': updateStatus,
  'message.reaction.update': (ctx) => react(ctx, 'message.reaction.update'),
  'dialog.typing': typing,
  'dialog.create': createDialog,
  'dialog.update': updateDialog,
  'dialog.delete': deleteDialog,
  'dialog.member.add': addMember,
  'dialog.member.remove': removeMember,
  'dialog.member.update': updateMember,
  'user.add': addUser,
  'user.update': updateUser,
  'user.remove': removeUser,
  'message.delete': deleteMessage,
  'message.reaction.add': (ctx) => react(ctx, 'message.reaction.add'),
  'message.status.create': createStatus,
};

/** When the drawn action has nothing to act on (no messages yet, dialog full…), Chat3 traffic goes on. */
const FALLBACKS: readonly Action[] = ['message.create', 'dialog.create', 'user.add'];
const MAX_ATTEMPTS = 1_000;

export function createSimulation(options: SimulationOptions = {}): Simulation {
  const resolved = resolveSimulationOptions(options);
  const { seed } = resolved;
  // Separate streams: the population, the traffic and the spelling variants never shift each other.
  const trafficRandom = createRandom(seed, 'traffic');
  const variantRandom = createRandom(seed, 'variants');
  const clock = resolved.now ? createWallClock(resolved.now) : createSimulatedClock(resolved.startTime, createRandom(seed, 'clock'));
  const worlds = createPopulation(
    {
      tenantIds: resolved.tenantIds,
      users: resolved.users,
      dialogs: resolved.dialogs,
      dangerousUserIds: resolved.dangerousUserIds,
      startTime: clock.now(),
    },
    createRandom(seed, 'population'),
  );
  const population = populationOf(worlds);
  const weights = ALL_ACTIONS.map((a) => resolved.mix[a]);
  const pending: TrafficStep[] = [];
  let seq = 0;

  function generate(): StepDraft[] {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      clock.advance(resolved.meanGapMs);
      const world = trafficRandom.pick(worlds);
      const ctx = new ActionContext(world, trafficRandom, clock, resolved.snapshotRate);
      const action = ALL_ACTIONS[trafficRandom.weighted(weights)] as Action;
      if (ACTIONS[action](ctx) || FALLBACKS.some((fallback) => ACTIONS[fallback](ctx))) return ctx.steps;
    }
    throw new Error(`no applicable action in ${MAX_ATTEMPTS} attempts; check the mix and population`);
  }

  function toStep(draft: StepDraft): TrafficStep {
    const event = resolved.canonicalOnly ? draft.event : decorateEvent(draft.event, variantRandom, resolved.variantRates);
    return { seq: seq++, writes: draft.writes, event, routingKey: eventRoutingKey(event) };
  }

  const next = (): TrafficStep => {
    if (pending.length === 0) pending.push(...generate().map(toStep));
    return pending.shift() as TrafficStep;
  };

  return {
    options: resolved,
    population,
    seedWrites: () => populationWrites(population),
    next,
    take: (count) => Array.from({ length: count }, next),
    *[Symbol.iterator]() {
      for (;;) yield next();
    },
  };
}
