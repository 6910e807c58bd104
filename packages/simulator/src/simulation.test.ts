import {
  ReadModelView,
  UPDATE_SOURCE_EVENT_TYPES,
  buildUpdates,
  createMonotonicClock,
  parseEvent,
  type ChatEvent,
  type DialogMemberRow,
} from '@chat3/core';
import { describe, expect, it } from 'vitest';
import { encodeEvent, eventIdOf } from './event-factory';
import { DANGEROUS_USER_IDS } from './ids';
import { MemoryReadModel } from './memory-read-model';
import { NOISE_ACTIONS } from './mix';
import { createSimulation, type TrafficStep } from './simulation';
import type { SimulationOptions } from './simulation-options';

const parse = (step: TrafficStep) => parseEvent(encodeEvent(step.event), { maxBytes: 1 << 20 });

/** Replays population and steps into memory, calling `check` after each step's writes. */
function replay(
  options: SimulationOptions,
  count: number,
  check: (step: TrafficStep, model: MemoryReadModel, before: Map<string, DialogMemberRow>) => void,
  { keepBefore = false } = {},
) {
  const sim = createSimulation(options);
  const model = new MemoryReadModel().apply(sim.seedWrites());
  for (const step of sim.take(count)) {
    const before = keepBefore ? new Map(model.rows('dialogMembers').map((m) => [`${m.dialogId}/${m.userId}`, { ...m }])) : new Map();
    model.apply(step.writes);
    check(step, model, before);
  }
  return { sim, model };
}

function activeCounts(model: MemoryReadModel): Map<string, number> {
  const live = new Set(model.rows('dialogs').map((d) => d.dialogId));
  const counts = new Map<string, number>([...live].map((id) => [id, 0]));
  for (const m of model.rows('dialogMembers'))
    if (m.isActive && live.has(m.dialogId)) counts.set(m.dialogId, (counts.get(m.dialogId) ?? 0) + 1);
  return counts;
}

describe('createSimulation', () => {
  it('produces the same population and steps for the same seed, and different ones for another seed', () => {
    const a = createSimulation({ seed: 42, dangerousUserIds: true });
    const b = createSimulation({ seed: 42, dangerousUserIds: true });
    const c = createSimulation({ seed: 43, dangerousUserIds: true });
    expect(b.population).toEqual(a.population);
    expect(b.seedWrites()).toEqual(a.seedWrites());
    const stepsA = a.take(1500);
    expect(JSON.stringify(b.take(1500))).toBe(JSON.stringify(stepsA));
    expect(c.population.users.map((u) => u.userId)).not.toEqual(a.population.users.map((u) => u.userId));
    expect(c.take(50).map((s) => eventIdOf(s.event))).not.toEqual(stepsA.slice(0, 50).map((s) => eventIdOf(s.event)));
  });

  it('keeps a known sequence for seed 1, so refactors cannot silently change generated traffic', () => {
    const head = createSimulation({ seed: 1 })
      .take(3)
      .map((s) => `${s.routingKey} ${eventIdOf(s.event)} ${s.event.entityId} ${s.event.createdAt}`);
    expect(head).toMatchInlineSnapshot(`
      [
        "dialog.member.remove.tnt_default evt_1137c5933abd287c9cdab6d415716250 dlg_6t70c10n663bvtwxvrok 1763551369473.488",
        "user.update.tnt_default evt_c31bbeeafe26bb1376e51937c6d2a050 kirill_wseao 1763551369497.53",
        "message.create.tnt_default evt_076b83dcdaa8aeb9912f41d9cd5299ae msg_zm0jrva6yspjzc5nsfm6 1763551369512.158",
      ]
    `);
  });

  it('numbers steps, keeps createdAt strictly increasing with a microsecond fraction, and stamps unique ids', () => {
    const steps = createSimulation({ seed: 'clock' }).take(2000);
    expect(steps.map((s) => s.seq)).toEqual(steps.map((_, i) => i));
    for (let i = 1; i < steps.length; i++) expect(steps[i]!.event.createdAt).toBeGreaterThan(steps[i - 1]!.event.createdAt);
    expect(steps.filter((s) => !Number.isInteger(s.event.createdAt)).length).toBeGreaterThan(1900);
    expect(new Set(steps.map((s) => eventIdOf(s.event))).size).toBe(steps.length);
    for (const s of steps) expect(eventIdOf(s.event)).toMatch(/^(evt_[0-9a-f]{32}|[0-9a-f]{24})$/);
  });

  it('stamps with the given clock in wall mode', () => {
    let t = 1_800_000_000_000;
    const steps = createSimulation({ seed: 1, now: () => (t += 2.5) }).take(20);
    for (const s of steps) expect(s.event.createdAt).toBeGreaterThan(1_800_000_000_000);
  });

  it('emits only bodies that pass parseEvent, routed as {entityType}.{action}.{tenantId}', () => {
    const steps = createSimulation({ seed: 7, tenants: 3, users: 90, dialogs: 30, dangerousUserIds: true }).take(4000);
    for (const step of steps) {
      const parsed = parse(step);
      expect(parsed.ok, JSON.stringify(parsed)).toBe(true);
      expect(step.routingKey).toBe(`${step.event.eventType}.${step.event.tenantId}`);
      expect(step.routingKey.startsWith(`${step.event.entityType}.`)).toBe(true);
    }
    expect(new Set(steps.map((s) => s.event.tenantId))).toEqual(new Set(['tnt_default', 'tnt_0002', 'tnt_0003']));
  });

  it('emits every Update-producing type, the no-Update types, *.changed aliases and legacy _id bodies by default', () => {
    const steps = createSimulation({ seed: 11 }).take(8000);
    const canonical = new Set(steps.map((s) => (parse(s) as { ok: true; event: ChatEvent }).event.eventType));
    for (const type of UPDATE_SOURCE_EVENT_TYPES) expect(canonical, type).toContain(type);
    const spelled = new Set(steps.map((s) => s.event.eventType));
    for (const type of NOISE_ACTIONS) expect(spelled, type).toContain(type);
    expect([...spelled].some((t) => t.endsWith('.changed'))).toBe(true);
    expect(steps.some((s) => s.event._id !== undefined && s.event.eventId === undefined)).toBe(true);
  });

  it('emits only canonical traffic when asked: seed spelling, eventId, Update-producing types', () => {
    for (const step of createSimulation({ seed: 11, canonicalOnly: true }).take(5000)) {
      expect(UPDATE_SOURCE_EVENT_TYPES as readonly string[]).toContain(step.event.eventType);
      expect(step.event.eventId).toMatch(/^evt_[0-9a-f]{32}$/);
      expect(step.event._id).toBeUndefined();
    }
  });

  it('creates users of every type and dialogs of 2 to 50 members, mostly small, and keeps them in range', () => {
    const { sim, model } = replay({ seed: 5, users: 400, dialogs: 300, dangerousUserIds: true }, 6000, (step, m) => {
      if (step.seq % 500 !== 0) return;
      for (const [dialogId, n] of activeCounts(m)) expect(n, dialogId).toBeGreaterThanOrEqual(2);
      for (const n of activeCounts(m).values()) expect(n).toBeLessThanOrEqual(50);
    });
    const types = new Set(sim.population.users.map((u) => u.type));
    expect(types).toEqual(new Set(['user', 'bot', 'contact']));
    const sizes = [...activeCounts(new MemoryReadModel().apply(sim.seedWrites())).values()];
    expect(Math.min(...sizes)).toBe(2);
    expect(Math.max(...sizes)).toBeGreaterThan(20);
    expect(sizes.filter((n) => n === 2).length).toBeGreaterThan(sizes.length / 3);
    for (const n of activeCounts(model).values()) expect(n).toBeGreaterThanOrEqual(2);
  });

  it('moves unread counts: a message bumps every active member but the sender, a read clears the reader', () => {
    let creates = 0;
    let reads = 0;
    let readPending: { dialogId: string; userId: string; seq: number } | null = null;
    replay(
      { seed: 9, canonicalOnly: true },
      5000,
      (step, model, before) => {
        const { event } = step;
        const ctx = event.data.context;
        if (event.eventType === 'message.create') {
          creates += 1;
          for (const row of model.rows('dialogMembers').filter((m) => m.dialogId === ctx.dialogId)) {
            const prev = before.get(`${row.dialogId}/${row.userId}`);
            if (!prev) continue;
            const bumped = row.isActive && row.userId !== event.actorId;
            expect(row.unreadCount).toBe((prev.unreadCount ?? 0) + (bumped ? 1 : 0));
            if (bumped) expect(row.lastMessageAt).toBe(event.createdAt);
          }
        }
        if (readPending) {
          expect(event.eventType).toBe('dialog.member.update');
          expect(step.seq).toBe(readPending.seq + 1);
          expect(ctx).toMatchObject({ dialogId: readPending.dialogId, userId: readPending.userId });
          const row = model.rows('dialogMembers').find((m) => m.dialogId === readPending!.dialogId && m.userId === readPending!.userId);
          expect(row?.unreadCount).toBe(0);
          expect(row?.lastSeenAt).toBeTypeOf('number');
          readPending = null;
          reads += 1;
        }
        const status = event.data.statusUpdate as { userId: string; status: string } | undefined;
        if (event.eventType === 'message.status.update' && status?.status === 'read') {
          expect(event.actorId).toBe(status.userId);
          readPending = { dialogId: ctx.dialogId as string, userId: status.userId, seq: step.seq };
        }
      },
      { keepBefore: true },
    );
    expect(creates).toBeGreaterThan(500);
    expect(reads).toBeGreaterThan(200);
  });

  it('writes the status history row before a status event', () => {
    replay({ seed: 3, canonicalOnly: true }, 2000, (step, model) => {
      if (step.event.eventType !== 'message.status.update') return;
      const s = step.event.data.statusUpdate as { userId: string; status: string; createdAt: number };
      const row = model
        .rows('messageStatuses')
        .find((r) => r.messageId === step.event.entityId && r.userId === s.userId && r.createdAt === s.createdAt);
      expect(row).toMatchObject({ status: s.status, dialogId: step.event.data.context.dialogId, tenantId: step.event.tenantId });
    });
  });

  it('carries snapshots that agree with the read model as written', () => {
    let compared = 0;
    replay({ seed: 21, canonicalOnly: true }, 4000, (step, model) => {
      const { data, tenantId, eventType } = step.event;
      if (data.member && eventType !== 'dialog.member.remove') {
        const row = model.rows('dialogMembers').find((m) => m.dialogId === data.context.dialogId && m.userId === data.member!.userId);
        expect(row).toMatchObject({ ...data.member, tenantId });
        compared += 1;
      }
      if (data.dialog && eventType !== 'dialog.delete') {
        expect(model.rows('dialogs').find((d) => d.dialogId === step.event.entityId)).toMatchObject(data.dialog);
        compared += 1;
      }
      if (data.user && eventType !== 'user.remove') {
        expect(model.rows('users').find((u) => u.userId === step.event.entityId)).toMatchObject(data.user);
        compared += 1;
      }
      if (data.message && 'content' in data.message) {
        expect(model.rows('messages').find((m) => m.messageId === step.event.entityId)).toMatchObject(data.message);
        compared += 1;
      }
    });
    expect(compared).toBeGreaterThan(1000);
  });

  it('puts routing-key-hostile userIds into traffic when asked, and never otherwise', () => {
    const hostile = new Set(DANGEROUS_USER_IDS.map((u) => u.userId));
    const mentioned = (s: TrafficStep) => [s.event.actorId, s.event.data.context.userId].filter((id) => id && hostile.has(id));
    const withIds = createSimulation({ seed: 2, dangerousUserIds: true });
    expect(withIds.population.users.filter((u) => hostile.has(u.userId))).toHaveLength(hostile.size);
    expect(withIds.take(6000).flatMap(mentioned).length).toBeGreaterThan(10);
    const without = createSimulation({ seed: 2 });
    expect(without.population.users.some((u) => hostile.has(u.userId))).toBe(false);
    expect(without.take(3000).flatMap(mentioned)).toHaveLength(0);
  });

  it('builds every Update-producing event against the read model as written so far', () => {
    const clock = createMonotonicClock(() => 1);
    const outcomes = new Map<string, number>();
    replay({ seed: 13, users: 120, dialogs: 60, tenants: 2, dangerousUserIds: true }, 3000, (step, model) => {
      const parsed = parse(step);
      if (!parsed.ok || parsed.class.kind !== 'update') return;
      const view: ReadModelView = model.view();
      const outcome = buildUpdates(parsed.event, { view, clock });
      expect(outcome.ok, `${step.seq} ${step.event.eventType}: ${outcome.ok ? '' : outcome.reason}`).toBe(true);
      if (!outcome.ok) return;
      outcomes.set(parsed.event.eventType, (outcomes.get(parsed.event.eventType) ?? 0) + outcome.updates.length);
      if (parsed.event.eventType === 'message.create') {
        const active = view.members(parsed.event.tenantId, step.event.data.context.dialogId as string).filter((m) => m.isActive);
        expect(outcome.updates).toHaveLength(active.length);
      }
    });
    for (const type of UPDATE_SOURCE_EVENT_TYPES) expect(outcomes.get(type), type).toBeGreaterThan(0);
  });

  it('rejects options it cannot honour', () => {
    expect(() => createSimulation({ tenants: 3, users: 5 })).toThrow(/2 users per tenant/);
    expect(() => createSimulation({ snapshotRate: 2 })).toThrow(/snapshotRate/);
    expect(() => createSimulation({ tenantIds: ['a.b'] })).toThrow(/tenantIds/);
    expect(() => createSimulation({ mix: { 'message.create': -1 } })).toThrow(/mix/);
  });
});
