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
/** A split's name: `'train'`, `'validation'` or `'test'`. */
export type SplitName = (typeof SPLIT_NAMES)[number];

/** Fractions and seed. */
export interface SplitFractions {
  /** Fraction of examples for validation, in [0, 0.9]. */
  validation: number;
  /** Fraction of examples for test, in [0, 0.9]. */
  test: number;
  /** Seed of the shuffle or the hash. */
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

/** What {@link planSplits} splits: rows bound into units (groups, clusters) and strata. */
export interface SplitUnits {
  /** Unit of each row, `-1` for a row that is not written (a removed near-duplicate). */
  unitOf: Int32Array;
  /** Number of units (a unit is a group, a near-duplicate cluster kept together, or one row). */
  unitCount: number;
  /** Stratum index of each unit (its first row's: a unit goes where that stratum's share sends it). */
  unitStratum: Uint32Array;
  /**
   * Stratum index of each row, when rows of one unit may differ (groups, clusters): `byStratum`
   * then counts each row under its own stratum, and units that span strata are named in a warning.
   */
  rowStratum?: Uint32Array | undefined;
  /** Stratum names, by index. */
  strata: string[];
  /** The stable key of a unit, for `'hash'` (a group value, or the content key of its first row). */
  unitKey: (unit: number) => string;
}

/**
 * Validation and test sizes per stratum of `rows[s]` examples: the overall sizes of
 * {@link splitSizes} shared out by largest remainder (each stratum its fraction rounded down, and
 * one more for the largest remainders, the larger stratum first on a tie), so each stratum is
 * within one example of its fraction and the totals are exact, unless strata too small to take
 * their share hold them back (a stratum keeps one training example). Each stratum rounding on its
 * own gave 21 of 200 examples for 0.1 over three strata.
 *
 * @example
 * stratumTargets(Uint32Array.of(67, 67, 66), { validation: 0.1, test: 0, seed: 1 }).validation // [7, 7, 6]
 */
export function stratumTargets(rows: Uint32Array, f: SplitFractions): { validation: Uint32Array; test: Uint32Array } {
  let total = 0;
  for (const n of rows) total += n;
  const overall = splitSizes(total, f);
  const validation = shareOut(rows, f.validation, overall.validation, (s) => Math.max(0, (rows[s] as number) - 1));
  const test = shareOut(rows, f.test, overall.test, (s) => Math.max(0, (rows[s] as number) - 1 - (validation[s] as number)));
  return { validation, test };
}

/** `total` shared over strata by largest remainder of `rows[s] × fraction`, at most `cap(s)` each. */
function shareOut(rows: Uint32Array, fraction: number, total: number, cap: (s: number) => number): Uint32Array {
  const out = new Uint32Array(rows.length);
  let left = total;
  for (let s = 0; s < rows.length; s++) {
    out[s] = Math.min(Math.floor((rows[s] as number) * fraction), cap(s));
    left -= out[s] as number;
  }
  const remainder = (s: number): number => (rows[s] as number) * fraction - (out[s] as number);
  // The overall size can be under the strata's rounded-down shares (train kept its last example):
  // take the excess back from the smallest remainders.
  if (left < 0) {
    const back = Array.from(rows.keys())
      .filter((s) => (out[s] as number) > 0)
      .sort((a, b) => remainder(a) - remainder(b) || a - b);
    for (const s of back) {
      if (left === 0) break;
      out[s] = (out[s] as number) - 1;
      left++;
    }
  }
  if (left <= 0) return out;
  const order = Array.from(rows.keys())
    .filter((s) => (out[s] as number) < cap(s))
    .sort((a, b) => remainder(b) - remainder(a) || (rows[b] as number) - (rows[a] as number) || a - b);
  for (const s of order) {
    if (left === 0) break;
    out[s] = (out[s] as number) + 1;
    left--;
  }
  return out;
}

/** A split plan: the split of every row, and sizes per stratum. */
export interface SplitPlan {
  /** Split id per row (`TRAIN`, `VALIDATION`, `TEST`), `NOT_WRITTEN` for rows with unit -1. */
  assignment: Uint8Array;
  /** Rows per split, for each stratum (`(none)` without `stratifyBy`). */
  byStratum: Record<string, Record<SplitName, number>>;
  /** E.g. a stratum too small to split, sent to train. */
  warnings: string[];
}

/** Assignment of a row that is not written. */
export const NOT_WRITTEN = 255;

/** Strata too small for a share that are named in a warning each; past this, one warning for all. */
const TOO_FEW_NAMED = 10;

/**
 * Assigns whole units to splits. `'random'`: per stratum, units in seeded-shuffled order fill
 * validation and test up to the stratum's share of the overall sizes (shared out by largest
 * remainder: exact when every unit is one example; as close as whole units allow otherwise); a stratum given
 * none (too small to split) goes to train, with a warning.
 * `'hash'`: each unit by a seeded hash of its key.
 *
 * @example
 * planSplits(units, { validation: 0.1, test: 0, seed: 42 }, 'random').assignment
 */
export function planSplits(u: SplitUnits, f: SplitFractions, strategy: 'random' | 'hash'): SplitPlan {
  const unitSize = new Uint32Array(u.unitCount);
  for (let row = 0; row < u.unitOf.length; row++) {
    const unit = u.unitOf[row] as number;
    if (unit >= 0) unitSize[unit] = (unitSize[unit] as number) + 1;
  }
  const unitSplit = new Uint8Array(u.unitCount);
  const warnings: string[] = [];
  // Strata too small for a share: named one by one while few; past that, in one warning.
  const tooFew: string[] = [];
  if (strategy === 'hash') {
    for (let unit = 0; unit < u.unitCount; unit++) unitSplit[unit] = assignByHash(u.unitKey(unit), f);
  } else {
    // Units per stratum in typed arrays: a counting pass, then each stratum's units in one slice.
    const strata = u.strata.length;
    const start = new Uint32Array(strata + 1);
    for (let unit = 0; unit < u.unitCount; unit++) {
      const next = (u.unitStratum[unit] as number) + 1;
      start[next] = (start[next] as number) + 1;
    }
    for (let s = 0; s < strata; s++) start[s + 1] = (start[s + 1] as number) + (start[s] as number);
    const order = new Uint32Array(u.unitCount);
    const fill = start.slice(0, strata);
    for (let unit = 0; unit < u.unitCount; unit++) {
      const s = u.unitStratum[unit] as number;
      order[fill[s] as number] = unit;
      fill[s] = (fill[s] as number) + 1;
    }
    const rand = seededRandom(f.seed);
    const rows = new Uint32Array(strata);
    for (let s = 0; s < strata; s++) {
      const units = order.subarray(start[s] as number, start[s + 1] as number);
      for (let i = 0; i < units.length; i++) rows[s] = (rows[s] as number) + (unitSize[units[i] as number] as number);
    }
    const targets = stratumTargets(rows, f);
    for (let s = 0; s < strata; s++) {
      const units = order.subarray(start[s] as number, start[s + 1] as number);
      const n = rows[s] as number;
      if (n === 0) continue;
      const target = { validation: targets.validation[s] as number, test: targets.test[s] as number };
      if ((f.validation > 0 || f.test > 0) && target.validation + target.test === 0 && strata > 1) {
        // Its shares are under one example each: larger remainders of other strata took the examples there were.
        const share = (x: number) => Math.round(n * x * 100) / 100;
        const shares = [f.validation > 0 ? `${share(f.validation)} for validation` : '', f.test > 0 ? `${share(f.test)} for test` : ''].filter(Boolean).join(' and ');
        tooFew.push(`stratum ${u.strata[s]} has only ${n} example${n === 1 ? '' : 's'}, a share of ${shares}: too few for one, all in train`);
      }
      for (let i = units.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        const tmp = units[i] as number;
        units[i] = units[j] as number;
        units[j] = tmp;
      }
      let validation = 0;
      let test = 0;
      let train = 0;
      for (let i = 0; i < units.length; i++) {
        const unit = units[i] as number;
        const size = unitSize[unit] as number;
        const last = i === units.length - 1;
        // Take a unit when it brings the split closer to its target; never leave train empty.
        if (!(last && train === 0) && size < 2 * (target.validation - validation)) {
          unitSplit[unit] = VALIDATION;
          validation += size;
        } else if (!(last && train === 0) && size < 2 * (target.test - test)) {
          unitSplit[unit] = TEST;
          test += size;
        } else {
          unitSplit[unit] = TRAIN;
          train += size;
        }
      }
    }
  }
  if (tooFew.length <= TOO_FEW_NAMED) warnings.push(...tooFew);
  else {
    // Most strata of a row or two: a column of ids or free text, by which stratifying balances nothing.
    warnings.push(
      `${tooFew.length.toLocaleString('en-US')} of ${u.strata.length.toLocaleString('en-US')} strata have too few examples for a validation or test share and are all in train (${tooFew.slice(0, 3).map((w) => w.replace(/^stratum /, '').replace(/, a share of .*/, '')).join('; ')}; …): ` +
        'where most values stand on a row or two, the column is no category (an id, a date, free text) and stratifying by it balances nothing; give stratifyBy a column with few values, and groupBy for an id',
    );
  }
  const assignment = new Uint8Array(u.unitOf.length);
  // Rows per stratum and split, counted in a typed array and named once at the end.
  const perStratum = new Uint32Array(u.strata.length * 3);
  const rowStratum = u.rowStratum;
  let spanning = 0;
  let spanned: Uint8Array | undefined;
  for (let row = 0; row < u.unitOf.length; row++) {
    const unit = u.unitOf[row] as number;
    if (unit < 0) {
      assignment[row] = NOT_WRITTEN;
      continue;
    }
    const split = unitSplit[unit] as number;
    assignment[row] = split;
    const stratum = u.unitStratum[unit] as number;
    const own = rowStratum ? (rowStratum[row] as number) : stratum;
    if (own !== stratum) {
      spanned ??= new Uint8Array(u.unitCount);
      if (spanned[unit] === 0) {
        spanned[unit] = 1;
        spanning++;
      }
    }
    const cell = own * 3 + split;
    perStratum[cell] = (perStratum[cell] as number) + 1;
  }
  if (spanning > 0 && u.strata.length > 1) {
    warnings.push(
      `${spanning} group${spanning === 1 ? '' : 's'} (rows kept in one split) hold${spanning === 1 ? 's' : ''} rows of several strata: each went where its first row's stratum sent it, so the split fractions per stratum are approximate`,
    );
  }
  const byStratum: Record<string, Record<SplitName, number>> = {};
  for (const [s, name] of u.strata.entries()) {
    byStratum[name] = { train: perStratum[s * 3] as number, validation: perStratum[s * 3 + 1] as number, test: perStratum[s * 3 + 2] as number };
  }
  return { assignment, byStratum, warnings };
}
