/**
 * What an action (one simulated Chat3 API call) works with: the tenant's state, the PRNG, the clock,
 * and `emit`, which stamps an event and pairs it with the writes Chat3 makes before publishing it.
 */
import type { EventBody, EventData, Snapshot } from './event-factory';
import { newEventId } from './ids';
import type { Action } from './mix';
import type { Random } from './prng';
import type { ReadModelWrite } from './read-model-writes';
import type { SimClock } from './sim-clock';
import {
  dialogRow,
  memberRow,
  messageRow,
  userRow,
  type SimDialog,
  type SimMember,
  type SimMessage,
  type SimUser,
  type TenantWorld,
} from './world-state';

export interface StepDraft {
  writes: ReadModelWrite[];
  event: EventBody;
}

export interface EventDraft {
  eventType: Action;
  entityType: EventBody['entityType'];
  entityId: string;
  actorId: string | null;
  actorType: string | null;
  data: EventData;
}

/** Gap between an event and the follow-up Chat3 sends for the same API call. */
const FOLLOW_UP_GAP_MS = 0.4;
const PICK_ATTEMPTS = 8;

export class ActionContext {
  readonly steps: StepDraft[] = [];
  private time: number;

  constructor(
    readonly world: TenantWorld,
    readonly random: Random,
    private readonly clock: SimClock,
    private readonly snapshotRate: number,
  ) {
    this.time = clock.now();
  }

  get now(): number {
    return this.time;
  }

  /** Moves on to a follow-up event of the same API call. */
  later(): number {
    this.time = this.clock.advance(FOLLOW_UP_GAP_MS);
    return this.time;
  }

  emit(draft: EventDraft, writes: ReadModelWrite[]): void {
    const event: EventBody = {
      eventId: newEventId(this.random),
      tenantId: this.world.tenantId,
      eventType: draft.eventType,
      entityType: draft.entityType,
      entityId: draft.entityId,
      actorId: draft.actorId,
      actorType: draft.actorType,
      data: withoutUndefined(draft.data),
      createdAt: this.time,
    };
    this.steps.push({ writes, event });
  }

  /** Whether this event carries a full snapshot; otherwise the builder reads the read model. */
  withSnapshot(): boolean {
    return this.random.chance(this.snapshotRate);
  }

  userType(userId: string): string {
    return this.world.users.get(userId)?.type ?? 'user';
  }

  /** A random dialog that satisfies `test`, or null after a few misses (the caller falls back). */
  pickDialog(test: (d: SimDialog) => boolean = () => true): SimDialog | null {
    const { dialogs } = this.world;
    if (dialogs.size === 0) return null;
    for (let i = 0; i < PICK_ATTEMPTS; i++) {
      const dialog = dialogs.at(this.random.int(0, dialogs.size - 1));
      if (test(dialog)) return dialog;
    }
    return null;
  }

  pickActive(dialog: SimDialog, except?: string): string | null {
    const { active } = dialog;
    if (active.size === 0 || (active.size === 1 && active.has(except ?? '\u0000'))) return null;
    for (;;) {
      const userId = active.at(this.random.int(0, active.size - 1));
      if (userId !== except) return userId;
    }
  }

  /** Usually the newest message (what people react to), sometimes an older one. */
  pickRecent(dialog: SimDialog): SimMessage | null {
    const { recent } = dialog;
    if (recent.length === 0) return null;
    return this.random.chance(0.7) ? (recent[recent.length - 1] as SimMessage) : this.random.pick(recent);
  }
}

// Snapshots as Chat3 puts them in `data`: the row without the tenant (the body names it).

function withoutTenant<Row extends { tenantId: string }>({ tenantId: _tenant, ...row }: Row): Snapshot {
  return { ...row };
}

export const dialogSnapshot = (d: SimDialog): Snapshot => withoutTenant(dialogRow(d));

export const memberSnapshot = (m: SimMember): Snapshot => withoutTenant(memberRow(m));

/** Full message snapshot, or just its header so the builder reads content and meta from `messages`. */
export const messageSnapshot = (m: SimMessage, full: boolean): Snapshot =>
  full ? withoutTenant(messageRow(m)) : { messageId: m.messageId, dialogId: m.dialogId, senderId: m.senderId, type: m.type };

export const userSnapshot = (u: SimUser): Snapshot => withoutTenant(userRow(u));

function withoutUndefined(data: EventData): EventData {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) if (v !== undefined) out[k] = v;
  return out as unknown as EventData;
}
