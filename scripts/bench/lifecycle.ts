/**
 * The lifecycle of a benchmark run, shared by bench-builder.ts and bench-relay.ts.
 * - Failure: the first fatal error (a service's onFatal, a channel error, an unhandled rejection, SIGINT or
 *   SIGTERM) is kept; the run checks it in its loops, cleans up and exits 1. A second signal exits at once.
 * - Clean-up: every database, exchange and queue is registered the moment it is named, so that clean-up
 *   finds them all, also after a failure.
 * - In-process services: the builder or the relay, started silent, stopped once.
 */
import { createSilentLogger } from '@chat3/runtime';
import type { ChannelModel } from 'amqplib';
import type { MongoClient } from 'mongodb';
import { deleteExchange, deleteQueue } from './broker';

// ---------------------------------------------------------------------------------------------------
// Failure

export interface Fatal {
  readonly error: Error | undefined;
  /** Keeps `err` unless an earlier error is kept already. */
  set(err: Error): void;
  /** Throws the kept error, if any. */
  check(): void;
}

/**
 * Tracks the run's fatal error. Unhandled rejections set it; SIGINT/SIGTERM set it (the run then cleans up),
 * and a second signal exits at once with 130.
 */
export function trackFatal(log: (msg: string) => void): Fatal {
  let error: Error | undefined;
  const fatal: Fatal = {
    get error() {
      return error;
    },
    set(err) {
      error ??= err;
    },
    check() {
      if (error) throw error;
    },
  };
  process.on('unhandledRejection', (err) => {
    fatal.set(err instanceof Error ? err : new Error(String(err)));
    log(`unhandled rejection: ${error!.stack ?? error!.message}`);
  });
  let interrupted = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (interrupted) process.exit(130);
      interrupted = true;
      fatal.set(new Error(`interrupted (${signal}); cleaning up`));
      log(`${signal}: cleaning up (send it again to exit at once)`);
    });
  }
  return fatal;
}

/** Exits 0 when `run` resolved and nothing fatal happened, 1 otherwise (with the error on stderr). */
export function exitWhenDone(run: Promise<void>, fatal: Fatal, log: (msg: string) => void): void {
  run.then(
    () => {
      if (fatal.error) {
        log(`failed: ${fatal.error.stack ?? fatal.error.message}`);
        process.exit(1);
      }
      process.exit(0);
    },
    (err: unknown) => {
      log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      process.exit(1);
    },
  );
}

// ---------------------------------------------------------------------------------------------------
// In-process services

/** What an in-process builder or relay takes besides its config and metrics. */
export interface InProcessDeps {
  mongo: MongoClient;
  logger: ReturnType<typeof createSilentLogger>;
  onFatal: (err: Error) => void;
}

/**
 * Creates and starts an in-process service (the builder or the relay) on `mongo`: silent, its fatal
 * errors end the run. `t0` is when start() was called, `startMs` how long it took; stop() stops the
 * service and then closes `mongo`, once however often it is called.
 */
export async function startInProcess(
  mongo: MongoClient,
  fatal: Fatal,
  create: (deps: InProcessDeps) => { start(): Promise<void>; stop(): Promise<void> },
) {
  const service = create({ mongo, logger: createSilentLogger(), onFatal: (err) => fatal.set(err) });
  const t0 = performance.now();
  await service.start();
  const startMs = performance.now() - t0;
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await service.stop();
      await mongo.close();
    })());
  return { t0, startMs, stop };
}

// ---------------------------------------------------------------------------------------------------
// Clean-up registry: every database, exchange and queue is registered the moment it is named.

/** What a run created, and its removal. */
export interface Registry {
  readonly dbs: Set<string>;
  readonly exchanges: Set<string>;
  readonly queues: Set<string>;
  /** Deletes the queues, then the exchanges, unregistering each once it is gone. */
  dropBroker(admin: ChannelModel, queues: readonly string[], exchanges: readonly string[]): Promise<void>;
  /** Tries to delete every registered queue and exchange; each failure goes to `onError` (`queue x`, `exchange y`). */
  deleteAllBroker(admin: ChannelModel, onError: (what: string, err: unknown) => void): Promise<void>;
  /** Drops every registered database and deletes every registered queue and exchange, logging what fails. */
  cleanupAll(dropDb: (name: string) => Promise<void>, admin: ChannelModel | undefined, log: (msg: string) => void): Promise<void>;
}

export function createRegistry(): Registry {
  const registry: Registry = {
    dbs: new Set(),
    exchanges: new Set(),
    queues: new Set(),
    async dropBroker(admin, queues, exchanges) {
      for (const q of queues) {
        await deleteQueue(admin, q);
        registry.queues.delete(q);
      }
      for (const e of exchanges) {
        await deleteExchange(admin, e);
        registry.exchanges.delete(e);
      }
    },
    async deleteAllBroker(admin, onError) {
      for (const q of [...registry.queues]) await deleteQueue(admin, q).catch((err) => onError(`queue ${q}`, err));
      for (const e of [...registry.exchanges]) await deleteExchange(admin, e).catch((err) => onError(`exchange ${e}`, err));
    },
    async cleanupAll(dropDb, admin, log) {
      for (const name of [...registry.dbs]) await dropDb(name).catch((err) => log(`could not drop database ${name}: ${String(err)}`));
      if (admin) await registry.deleteAllBroker(admin, (what, err) => log(`could not delete ${what}: ${String(err)}`));
    },
  };
  return registry;
}
