/**
 * Split stage: which of train / validation / test each kept example goes to.
 * `'random'` is a seeded shuffle with exact sizes (it needs the count first, so the pipeline spills
 * kept examples to a temporary file and routes them in a second pass: 1 byte per example in memory).
 * `'hash'` decides each example alone from a seeded hash of its content, so appending rows later
 * never moves an old one.
 */
import { seededRandom, seededUnit } from './_rng.js';

/** Split ids in the assignment arrays. */
export const TRAIN = 0;
export const VALIDATION = 1;
export const TEST = 2;
/** The split names, indexed by split id. */
export const SPLIT_NAMES = ['train', 'validation', 'test'] as const;
export type SplitName = (typeof SPLIT_NAMES)[number];

/** Fractions and seed. */
export interface SplitFractions {
  validation: number;
  test: number;
  seed: number;
}

/**
 * Exact split sizes for `n` examples: validation and test are rounded, and never take the last
 * training example.
 *
 * @example
 * splitSizes(100, { validation: 0.1, test: 0.05, seed: 1 }) // { train: 85, validation: 10, test: 5 }
 */
export function splitSizes(n: number, f: SplitFractions): { train: number; validation: number; test: number } {
  let validation = Math.round(n * f.validation);
  let test = Math.round(n * f.test);
  while (n > 0 && validation + test >= n) {
    if (test >= validation && test > 0) test--;
    else validation--;
  }
  return { train: n - validation - test, validation, test };
}

/**
 * A seeded shuffle with exact sizes: returns one split id per example, in input order.
 *
 * @example
 * const ids = assignRandom(1000, { validation: 0.1, test: 0, seed: 42 }); // 100 ones, 900 zeros
 */
export function assignRandom(n: number, f: SplitFractions): Uint8Array {
  const sizes = splitSizes(n, f);
  const out = new Uint8Array(n); // all TRAIN
  const take = sizes.validation + sizes.test;
  if (take === 0) return out;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const rand = seededRandom(f.seed);
  // Partial Fisher–Yates: only the first `take` positions need to be drawn.
  for (let i = 0; i < take; i++) {
    const j = i + Math.floor(rand() * (n - i));
    const tmp = order[i] as number;
    order[i] = order[j] as number;
    order[j] = tmp;
    out[order[i] as number] = i < sizes.validation ? VALIDATION : TEST;
  }
  return out;
}

/**
 * The split of one example from a seeded hash of its key (the expected sizes match the fractions;
 * the exact sizes vary with the data).
 *
 * @example
 * assignByHash('user\u0000what is ebitda?…', { validation: 0.1, test: 0, seed: 42 }) // 0, 1 or 2
 */
export function assignByHash(key: string, f: SplitFractions): number {
  const u = seededUnit(f.seed, key);
  if (u < f.validation) return VALIDATION;
  if (u < f.validation + f.test) return TEST;
  return TRAIN;
}
