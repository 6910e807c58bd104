/**
 * Progress for long-running ops commands, on stderr so stdout stays the result. On a TTY a cli-progress
 * bar with count, rate and ETA; otherwise (a pipe, a log file, CI) a plain line at most every
 * `intervalMs` and a last one at the end, so a log shows the run advancing without a wall of bars.
 */
import { SingleBar } from 'cli-progress';

export interface ProgressStream {
  write(chunk: string): boolean;
  isTTY?: boolean;
}

export interface Progress {
  /** `value` of `total` done; `detail` is shown after the count (e.g. "requeued 10, kept 2"). */
  update(value: number, detail: string): void;
  stop(): void;
}

export interface ProgressOptions {
  label: string;
  total: number;
  stream: ProgressStream;
  /** Plain mode: the least time between two lines. */
  intervalMs?: number;
  now?: () => number;
}

export function createProgress(options: ProgressOptions): Progress {
  return options.stream.isTTY ? barProgress(options) : lineProgress(options);
}

function barProgress({ label, total, stream }: ProgressOptions): Progress {
  const bar = new SingleBar({
    format: `${label} [{bar}] {value}/{total} | {rate}/s | ETA {eta_formatted} | {detail}`,
    stream: stream as NodeJS.WriteStream,
    hideCursor: true,
    clearOnComplete: false,
    etaBuffer: 50,
  });
  const started = Date.now();
  bar.start(total, 0, { detail: '', rate: '0' });
  let stopped = false;
  return {
    update(value, detail) {
      const seconds = (Date.now() - started) / 1000;
      bar.update(value, { detail, rate: seconds > 0 ? Math.round(value / seconds).toString() : '0' });
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}

function lineProgress({ label, total, stream, intervalMs = 2_000, now = Date.now }: ProgressOptions): Progress {
  let last = now();
  let latest: { value: number; detail: string } | undefined;
  let printed: number | undefined;
  let stopped = false;
  const print = (value: number, detail: string) => {
    printed = value;
    stream.write(`${label}: ${value}/${total}${detail ? `, ${detail}` : ''}\n`);
  };
  return {
    update(value, detail) {
      latest = { value, detail };
      if (now() - last < intervalMs) return;
      last = now();
      print(value, detail);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      if (latest && latest.value !== printed) print(latest.value, latest.detail);
    },
  };
}
