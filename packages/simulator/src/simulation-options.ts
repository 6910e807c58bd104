/** Library options of `createSimulation`, validated once with zod; defaults are documented here. */
import { z } from 'zod';
import { DEFAULT_VARIANT_RATES } from './event-factory';
import { tenantIdsFor } from './ids';
import { ALL_ACTIONS, resolveMix, type Action, type Mix } from './mix';
import { DEFAULT_START_TIME } from './sim-clock';

const rate = z.number().min(0).max(1);

const schema = z
  .object({
    /** Everything derives from it: same seed and options, same population and event sequence. */
    seed: z.union([z.number(), z.string()]).default(1),
    /** Number of tenants (`tnt_default`, `tnt_0002`, …); ignored when `tenantIds` is given. */
    tenants: z.number().int().min(1).max(10_000).default(1),
    tenantIds: z
      .array(
        z
          .string()
          .min(1)
          .max(128)
          .regex(/^[^.*#\s]+$/, 'no ".", "*", "#" or spaces'),
      )
      .min(1)
      .optional(),
    /** Users over all tenants, split evenly (plus the routing-key-hostile ones when enabled). */
    users: z.number().int().min(2).max(10_000_000).default(200),
    /** Dialogs over all tenants, split evenly. */
    dialogs: z.number().int().min(0).max(10_000_000).default(100),
    /** Relative weights per event type, merged over `DEFAULT_MIX`. */
    mix: z.partialRecord(z.enum(ALL_ACTIONS as [Action, ...Action[]]), z.number().min(0)).optional(),
    /** Only Update-producing types in the seed's spelling with `eventId`: every event builds. */
    canonicalOnly: z.boolean().default(false),
    variantRates: z.object({ alias: rate, legacy: rate }).default(DEFAULT_VARIANT_RATES),
    /** Adds users such as `a.b`, `bot*1`, `x#y` that an unencoded routing key would mis-route. */
    dangerousUserIds: z.boolean().default(false),
    /** Share of events that carry full snapshots; the rest make the builder read the read model. */
    snapshotRate: rate.default(0.7),
    /** Simulated clock start, epoch ms. */
    startTime: z.number().finite().default(DEFAULT_START_TIME),
    /** Mean simulated gap between API calls. */
    meanGapMs: z.number().positive().max(86_400_000).default(20),
    /** Stamp with this clock instead of the simulated one (timestamps then differ between runs). */
    now: z.custom<() => number>((v) => typeof v === 'function').optional(),
  })
  .superRefine((o, ctx) => {
    const tenants = o.tenantIds?.length ?? o.tenants;
    if (o.users < 2 * tenants)
      ctx.addIssue({ code: 'custom', path: ['users'], message: `needs at least 2 users per tenant (${tenants} tenants)` });
    if (o.tenantIds && new Set(o.tenantIds).size !== o.tenantIds.length) {
      ctx.addIssue({ code: 'custom', path: ['tenantIds'], message: 'must be unique' });
    }
  });

export type SimulationOptions = z.input<typeof schema>;

export interface ResolvedSimulationOptions extends Omit<z.output<typeof schema>, 'mix' | 'tenantIds'> {
  tenantIds: string[];
  mix: Mix;
}

export function resolveSimulationOptions(options: SimulationOptions = {}): ResolvedSimulationOptions {
  const parsed = schema.safeParse(options);
  if (!parsed.success) {
    throw new Error(`invalid simulation options: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const o = parsed.data;
  return {
    ...o,
    tenantIds: o.tenantIds ?? tenantIdsFor(o.tenants),
    mix: resolveMix(o.mix as Partial<Mix> | undefined, o.canonicalOnly),
  };
}
