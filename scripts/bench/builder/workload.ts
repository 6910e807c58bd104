/**
 * The builder benchmark's workload: one sequence of simulated steps (seed, users, dialogs), the same for
 * every throughput run of both systems, and a template database holding the read model as it stands
 * after all of them (population plus every step's writes), which each throughput run copies.
 */
import type { TrafficStep } from '@chat3/simulator';
import { ensureReadModelIndexes } from '@chat3/simulator';
import type { Db } from 'mongodb';
import { writeReadModel } from '../read-model-writes';
import { countBy, median } from '../report';
import { measurementNames, type BuilderBenchContext } from './context';
import { simulation, type SimulationOptions } from './latency';
import type { BuilderWorkload } from './results';

export interface PreparedWorkload {
  steps: TrafficStep[];
  /** Database name of the template read model (drop it when the throughput runs are done). */
  templateName: string;
  template: Db;
  workload: BuilderWorkload;
}

export async function prepareWorkload(
  ctx: BuilderBenchContext,
  options: SimulationOptions & { events: number },
): Promise<PreparedWorkload> {
  const t = performance.now();
  const sim = simulation(options);
  const seedWrites = sim.seedWrites();
  const steps = sim.take(options.events);
  const population = sim.population;
  const sizes = new Map<string, number>();
  for (const m of population.memberships) sizes.set(m.dialogId, (sizes.get(m.dialogId) ?? 0) + 1);
  const templateName = measurementNames(ctx, 'template', { broker: false }).db;
  const template = ctx.mongo.db(templateName);
  await ensureReadModelIndexes(template);
  await writeReadModel(template, seedWrites);
  await writeReadModel(
    template,
    steps.flatMap((s) => s.writes),
  );
  const workload: BuilderWorkload = {
    users: population.users.length,
    userTypes: countBy(population.users, (u) => u.type ?? 'user'),
    dialogs: population.dialogs.length,
    membersMedian: median([...sizes.values()]),
    membersMax: Math.max(0, ...sizes.values()),
    eventsByType: countBy(steps, (s) => s.event.eventType),
    stepWrites: steps.reduce((s, x) => s + x.writes.length, 0),
    readModelApplyMs: performance.now() - t,
  };
  return { steps, templateName, template, workload };
}
