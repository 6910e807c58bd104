import { describe, expect, it } from 'vitest';
import { apiJson, renderApiText, summarizeApi, summarizeRound } from './render';
import type { ApiBenchResults, PageRound } from './results';

const round = (api: number[], find: number[]): PageRound => ({ api, find, apiBytes: 2048, pagesChecked: true });

const results = (rounds: PageRound[]): ApiBenchResults => ({
  command: 'tsx scripts/bench-api.ts --quick',
  params: { updates: 2000, noise: 2000, pageSize: 1000, samples: 4, rounds: rounds.length, warmup: 1, seed: 1, quick: true },
  env: { cpu: 'cpu', cores: 2, ramGiB: 24, node: 'v20', mongo: 'FerretDB 1.24', rabbitmq: 'no broker', mongoUri: 'mongodb://h/' },
  api: { process: 'child', startMs: 900 },
  seedMs: 1200,
  rounds,
  load: { start: 1, end: 2 },
  totalSeconds: 60,
});

describe('API benchmark report', () => {
  it('takes per-round p50/p99 and their ratios, and the medians over rounds', () => {
    const r = results([
      round([10, 20, 30, 40], [5, 10, 15, 20]),
      round([12, 12, 12, 60], [6, 6, 6, 30]),
      round([9, 9, 9, 9], [9, 9, 9, 9]),
    ]);
    expect(summarizeRound(r.rounds[0]!)).toMatchObject({ p50Ratio: 2, p99Ratio: 2 });
    const s = summarizeApi(r);
    expect(s.rounds.map((q) => q.p99Ratio)).toEqual([2, 2, 1]);
    expect(s.p99Ratio).toBe(2);
    expect(s.api).toEqual({ p50: 12, p99: 40 });
    expect(s.find).toEqual({ p50: 9, p99: 20 });
    expect(s.pagesChecked).toBe(true);
    expect(s.apiKiB).toBe(2);
  });

  it('renders tables and a JSON line with the headline figures', () => {
    const r = results([round([10, 20], [5, 10])]);
    const s = summarizeApi(r);
    const text = renderApiText(r, s);
    expect(text).toContain('# Catch-up API benchmark');
    expect(text).toMatch(/p99\s+\| 20\.0 \| 10\.0 \| 2\.00×/);
    expect(text).toContain('every API page held 1000 Updates after+1 … after+1000: yes');
    expect(apiJson(r, s).medians).toEqual({ apiP50Ms: 10, apiP99Ms: 20, findP50Ms: 5, findP99Ms: 10, p50Ratio: 2, p99Ratio: 2 });
  });

  it('says so when a page was wrong', () => {
    const r = results([{ ...round([1], [1]), pagesChecked: false }]);
    expect(renderApiText(r, summarizeApi(r))).toContain('after+1000: NO');
  });
});
