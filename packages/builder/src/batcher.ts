/**
 * Micro-batching: items collect until `maxSize` or until the oldest has waited `maxWaitMs`, whichever
 * comes first. Flushes run one at a time and in arrival order, so a later batch is never written before
 * an earlier one; while a flush runs, new items queue up and go out as soon as it ends (batches grow
 * with load). `flush` must not throw: it owns its retries.
 */
export interface Batcher<T> {
  add(item: T): void;
  /** Resolves when everything added so far has been flushed. */
  drain(): Promise<void>;
  readonly pending: number;
  readonly flushing: boolean;
}

export function createBatcher<T>(options: { maxSize: number; maxWaitMs: number; flush: (items: T[]) => Promise<void> }): Batcher<T> {
  let buffer: T[] = [];
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  function kick(): void {
    clearTimeout(timer);
    timer = undefined;
    running ??= run().finally(() => {
      running = undefined;
      if (buffer.length > 0) kick();
    });
  }

  async function run(): Promise<void> {
    while (buffer.length > 0) {
      const batch = buffer.slice(0, options.maxSize);
      buffer = buffer.slice(batch.length);
      await options.flush(batch);
    }
  }

  return {
    add(item) {
      buffer.push(item);
      if (running) return; // picked up when the current flush ends
      if (buffer.length >= options.maxSize || options.maxWaitMs === 0) kick();
      else timer ??= setTimeout(kick, options.maxWaitMs);
    },
    async drain() {
      while (buffer.length > 0 || running) {
        if (!running) kick();
        await running;
      }
    },
    get pending() {
      return buffer.length;
    },
    get flushing() {
      return running !== undefined;
    },
  };
}
