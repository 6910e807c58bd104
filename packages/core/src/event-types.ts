/**
 * The Chat3 event types this product understands (SPEC §2).
 *
 * Later Chat3 versions renamed `*.update` to `*.changed`; both spellings are accepted and the seed's
 * spelling is the one stored on Updates.
 */

export const UPDATE_SOURCE_EVENT_TYPES = [
  'dialog.create',
  'dialog.update',
  'dialog.delete',
  'dialog.member.add',
  'dialog.member.remove',
  'dialog.member.update',
  'message.create',
  'message.update',
  'message.status.update',
  'message.reaction.update',
  'dialog.typing',
  'user.add',
  'user.update',
  'user.remove',
] as const;

export type SourceEventType = (typeof UPDATE_SOURCE_EVENT_TYPES)[number];

/** Known event types that produce no Update: acknowledged and counted, never failed. */
export const IGNORED_EVENT_TYPES = ['message.delete', 'message.reaction.add', 'message.reaction.remove', 'message.status.create'] as const;

/** The derived type; never an input event. */
export const USER_STATS_EVENT_TYPE = 'user.stats.update';

const sourceTypes = new Set<string>(UPDATE_SOURCE_EVENT_TYPES);

export type EventClass =
  { kind: 'update'; eventType: SourceEventType } | { kind: 'ignored'; eventType: string; reason: 'no-update-type' | 'unknown-type' };

/** Maps an incoming type (including `*.changed` aliases) to what the builder does with it. */
export function classifyEventType(raw: string): EventClass {
  const canonical = raw.endsWith('.changed') ? `${raw.slice(0, -'.changed'.length)}.update` : raw;
  if (sourceTypes.has(canonical)) return { kind: 'update', eventType: canonical as SourceEventType };
  if ((IGNORED_EVENT_TYPES as readonly string[]).includes(raw)) {
    return { kind: 'ignored', eventType: raw, reason: 'no-update-type' };
  }
  return { kind: 'ignored', eventType: raw, reason: 'unknown-type' };
}

/** Every event type spelling the builder knows: the source types, their `*.changed` aliases, the ignored ones. */
const KNOWN_SPELLINGS = new Set<string>([
  ...UPDATE_SOURCE_EVENT_TYPES,
  ...UPDATE_SOURCE_EVENT_TYPES.filter((t) => t.endsWith('.update')).map((t) => `${t.slice(0, -'.update'.length)}.changed`),
  ...IGNORED_EVENT_TYPES,
]);

/**
 * An event type as a metric label: a known spelling as received, anything else `other`. Labels taken
 * from input verbatim would let a stream of made-up types grow /metrics without bound.
 */
export function eventTypeLabel(raw: string): string {
  return KNOWN_SPELLINGS.has(raw) ? raw : 'other';
}
