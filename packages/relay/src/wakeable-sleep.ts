/** A pause that another part of the process can end early (new work, a new partition, shutdown). */
export function createWakeableSleep() {
  let wake: (() => void) | undefined;
  return {
    sleep(ms: number): Promise<void> {
      return new Promise((resolve) => {
        const timer = setTimeout(done, ms);
        wake = done;
        function done() {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        }
      });
    },
    wake(): void {
      wake?.();
    },
  };
}
