/**
 * What the simulator emits and how often. Weights are relative; a read status adds a follow-up
 * `dialog.member.update`, so the emitted share of that type is higher than its weight.
 */

/** Types that produce Updates (SPEC §2). */
export const CANONICAL_ACTIONS = [
  'message.create',
  'message.update',
  'message.status.update',
  'message.reaction.update',
  'dialog.typing',
  'dialog.create',
  'dialog.update',
  'dialog.delete',
  'dialog.member.add',
  'dialog.member.remove',
  'dialog.member.update',
  'user.add',
  'user.update',
  'user.remove',
] as const;

/** Types Chat3 also emits that produce no Update; the builder must ack and count them. */
export const NOISE_ACTIONS = ['message.delete', 'message.reaction.add', 'message.status.create'] as const;

export type CanonicalAction = (typeof CANONICAL_ACTIONS)[number];
export type NoiseAction = (typeof NOISE_ACTIONS)[number];
export type Action = CanonicalAction | NoiseAction;
export type Mix = Record<Action, number>;

export const ALL_ACTIONS: readonly Action[] = [...CANONICAL_ACTIONS, ...NOISE_ACTIONS];

/** Chat-shaped: mostly messages, statuses and typing; structure changes are rare. */
export const DEFAULT_MIX: Readonly<Mix> = {
  'message.create': 30,
  'message.status.update': 26,
  'dialog.typing': 14,
  'message.reaction.update': 6,
  'message.update': 4,
  'dialog.member.add': 2.5,
  'dialog.member.remove': 2,
  'dialog.member.update': 2,
  'dialog.create': 1.5,
  'dialog.update': 1.5,
  'user.update': 1.5,
  'user.add': 1,
  'dialog.delete': 0.2,
  'user.remove': 0.2,
  'message.delete': 0.6,
  'message.reaction.add': 0.6,
  'message.status.create': 0.6,
};

/** The mix in force: defaults overridden by `overrides`, noise removed for canonical-only traffic. */
export function resolveMix(overrides: Partial<Mix> | undefined, canonicalOnly: boolean): Mix {
  const mix: Mix = { ...DEFAULT_MIX, ...overrides };
  for (const action of ALL_ACTIONS) {
    const w = mix[action];
    if (!Number.isFinite(w) || w < 0) throw new Error(`mix weight for ${action} must be a finite number >= 0, got ${w}`);
  }
  if (canonicalOnly) for (const action of NOISE_ACTIONS) mix[action] = 0;
  if (CANONICAL_ACTIONS.every((a) => mix[a] === 0) && NOISE_ACTIONS.every((a) => mix[a] === 0)) {
    throw new Error('mix has no positive weight');
  }
  return mix;
}

export function isAction(name: string): name is Action {
  return (ALL_ACTIONS as readonly string[]).includes(name);
}
