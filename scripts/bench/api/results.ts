/** The API benchmark's results: what each measurement returns, and the whole run's record. */
import type { Environment } from '../common';

export interface ApiBenchParams {
  /** Numbered Updates of the measured recipient. */
  updates: number;
  /** Updates of other recipients (other users, and the same userId in another tenant). */
  noise: number;
  /** Updates per page (the API's `limit`, the find's `limit`). */
  pageSize: number;
  /** Timed requests per method per round. */
  samples: number;
  rounds: number;
  warmup: number;
  seed: number;
  quick: boolean;
}

export type PageMethod = 'api' | 'find';

/** One round: `samples` pages of each method, alternating request by request, with the same `after`s. */
export interface PageRound {
  /** Milliseconds per page, in request order. */
  api: number[];
  find: number[];
  /** Bytes of one API answer (the last of the round). */
  apiBytes: number;
  /** Every API page held exactly `pageSize` Updates, after+1 … after+pageSize. */
  pagesChecked: boolean;
}

export interface ApiBenchResults {
  command: string;
  params: ApiBenchParams;
  env: Environment & { mongoUri: string };
  /** How the API ran: a child process (main.ts) on loopback, one keep-alive connection. */
  api: { process: string; startMs: number };
  seedMs: number;
  rounds: PageRound[];
  load: { start: number; end: number };
  totalSeconds: number;
}
