/**
 * Seeded randomness for the local runtime: the same `--seed` gives the same workload, node rates
 * and fault decisions, so a run that found something can be run again.
 */

/** A source of numbers in [0, 1). */
export type Random = () => number;

/** mulberry32: tiny, fast, and good enough to drive a simulation (not for anything secret). */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * An independent stream for one purpose (`'faults'`, `'workload'`, …) of a run's seed, so that
 * turning one fault on does not change the workload another seed-mate sees.
 */
export function streamOf(seed: number, purpose: string): Random {
  // FNV-1a over the text, then murmur3's finaliser, so that similar names give unrelated streams.
  let hash = 2_166_136_261;
  for (const character of `${seed}:${purpose}`) hash = Math.imul(hash ^ character.charCodeAt(0), 16_777_619);
  hash = Math.imul(hash ^ (hash >>> 16), 0x85eb_ca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2_ae35);
  return seededRandom(hash ^ (hash >>> 16));
}

/** True with probability `p`. */
export function chance(random: Random, p: number): boolean {
  return p > 0 && random() < p;
}

/** A whole number in [0, n). */
export function below(random: Random, n: number): number {
  return Math.floor(random() * n);
}

/** A shuffled copy (Fisher–Yates). */
export function shuffled<T>(items: readonly T[], random: Random): T[] {
  const copy = [...items];
  for (let index = copy.length - 1; index > 0; index -= 1) {
    const other = below(random, index + 1);
    const held = copy[index] as T;
    copy[index] = copy[other] as T;
    copy[other] = held;
  }
  return copy;
}
