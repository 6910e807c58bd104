/**
 * A small seeded PRNG (sfc32, seeded through xmur3) and the draws the simulator needs. Hand-written so
 * the sequence never changes under a dependency upgrade: the same seed gives the same traffic forever.
 * Stateful: every draw advances the stream, so call order is part of the contract.
 */

export interface Random {
  /** Uniform in [0, 1). */
  float(): number;
  /** Uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number;
  chance(probability: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** Index into `weights`, with probability proportional to each weight. */
  weighted(weights: readonly number[]): number;
  /** `length` lowercase hex characters. */
  hex(length: number): string;
  /** Exponentially distributed with the given mean (gaps between arrivals). */
  exponential(mean: number): number;
}

/** xmur3: turns any string into a stream of well-mixed 32-bit seeds. */
function xmur3(text: string): () => number {
  let h = 1779033703 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), 3432918353);
    h = (h << 13) | (h >>> 19);
  }
  return () => {
    h = Math.imul(h ^ (h >>> 16), 2246822507);
    h = Math.imul(h ^ (h >>> 13), 3266489909);
    return (h ^= h >>> 16) >>> 0;
  };
}

/** sfc32: 128-bit state, passes PractRand for far longer than any simulation runs. */
function sfc32(a: number, b: number, c: number, d: number): () => number {
  return () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return t >>> 0;
  };
}

/**
 * A stream for `seed`, optionally a named sub-stream: separate concerns draw from separate streams so
 * that, say, decorating events never shifts which dialog the next message goes to.
 */
export function createRandom(seed: number | string, stream = ''): Random {
  const mix = xmur3(`${String(seed)}\u0000${stream}`);
  const next = sfc32(mix(), mix(), mix(), mix());
  // Discard the first outputs: sfc32 needs a few rounds to spread a weak seed over its state.
  for (let i = 0; i < 15; i++) next();

  const float = () => next() / 4294967296;
  const int = (min: number, max: number) => min + Math.floor(float() * (max - min + 1));
  return {
    float,
    int,
    chance: (p) => float() < p,
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new Error('pick from an empty list');
      return items[int(0, items.length - 1)] as T;
    },
    weighted(weights) {
      let total = 0;
      for (const w of weights) total += w;
      if (!(total > 0)) throw new Error('weighted pick needs a positive total weight');
      let r = float() * total;
      for (let i = 0; i < weights.length; i++) {
        r -= weights[i] as number;
        if (r < 0) return i;
      }
      // Rounding left r at ~0: fall back to the last index that can be chosen at all.
      for (let i = weights.length - 1; i >= 0; i--) if ((weights[i] as number) > 0) return i;
      return weights.length - 1;
    },
    hex(length) {
      let out = '';
      while (out.length < length) out += next().toString(16).padStart(8, '0');
      return out.slice(0, length);
    },
    exponential: (mean) => -Math.log(1 - float()) * mean,
  };
}
