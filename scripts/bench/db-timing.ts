/**
 * Where a process's database time goes, measured from outside: the MongoDB driver's command monitoring
 * events on the client handed to the builder or relay (nothing in them is wrapped). Per `command collection`
 * (e.g. `update updates`, `find updates`) it sums the durations and also the wall time during which at
 * least one such command was running, since the relay overlaps its queries.
 */
import type { CommandFailedEvent, CommandStartedEvent, CommandSucceededEvent, MongoClient } from 'mongodb';

interface Bucket {
  calls: number;
  totalMs: number;
  maxMs: number;
  active: number;
  activeSince: number;
  busyMs: number;
}

export interface CommandTiming {
  key: string;
  calls: number;
  totalMs: number;
  meanMs: number;
  maxMs: number;
  /** Wall time with at least one of these commands outstanding. */
  busyMs: number;
}

const IGNORED = new Set(['hello', 'isMaster', 'ismaster', 'ping', 'endSessions', 'buildInfo']);

export function monitorCommands(client: MongoClient) {
  const buckets = new Map<string, Bucket>();
  const open = new Map<number, { key: string; at: number }>();
  // Wall time with any command on `updates` running, whatever it is.
  const anyUpdates = { active: 0, since: 0, busyMs: 0 };

  const bucket = (key: string): Bucket => {
    let b = buckets.get(key);
    if (!b) buckets.set(key, (b = { calls: 0, totalMs: 0, maxMs: 0, active: 0, activeSince: 0, busyMs: 0 }));
    return b;
  };

  const onStarted = (e: CommandStartedEvent) => {
    if (IGNORED.has(e.commandName)) return;
    const target = e.commandName === 'getMore' ? e.command.collection : e.command[e.commandName];
    // The backlog sampler's "oldest unpublished" query is the only `find` with limit 1; keep it apart from sweeps.
    const sampler = e.commandName === 'find' && e.command.limit === 1 ? ' (limit 1)' : '';
    const key = `${e.commandName} ${typeof target === 'string' ? target : '-'}${sampler}`;
    const at = performance.now();
    open.set(e.requestId, { key, at });
    const b = bucket(key);
    if (b.active === 0) b.activeSince = at;
    b.active += 1;
    if (target === 'updates' && anyUpdates.active++ === 0) anyUpdates.since = at;
  };
  const onEnded = (e: CommandSucceededEvent | CommandFailedEvent) => {
    const o = open.get(e.requestId);
    if (!o) return;
    open.delete(e.requestId);
    const at = performance.now();
    const b = bucket(o.key);
    const ms = at - o.at;
    b.calls += 1;
    b.totalMs += ms;
    b.maxMs = Math.max(b.maxMs, ms);
    b.active -= 1;
    if (b.active === 0) b.busyMs += at - b.activeSince;
    if (o.key.split(' ')[1] === 'updates' && --anyUpdates.active === 0) anyUpdates.busyMs += at - anyUpdates.since;
  };
  client.on('commandStarted', onStarted);
  client.on('commandSucceeded', onEnded);
  client.on('commandFailed', onEnded);

  return {
    /** Forgets what was measured so far (commands still running are counted when they end). */
    reset(): void {
      for (const b of buckets.values()) Object.assign(b, { calls: 0, totalMs: 0, maxMs: 0, busyMs: 0, activeSince: performance.now() });
      anyUpdates.busyMs = 0;
      anyUpdates.since = performance.now();
    },
    /** Wall time (ms) during which at least one command on `updates` was outstanding. */
    updatesBusyMs: () => anyUpdates.busyMs,
    snapshot(): CommandTiming[] {
      return [...buckets.entries()]
        .map(([key, b]) => ({
          key,
          calls: b.calls,
          totalMs: b.totalMs,
          meanMs: b.calls ? b.totalMs / b.calls : 0,
          maxMs: b.maxMs,
          busyMs: b.busyMs,
        }))
        .sort((a, b) => b.totalMs - a.totalMs);
    },
  };
}
