/**
 * The decisions that need the whole input, made once every row is read: near-duplicate clusters
 * (remove all but one, or keep them together), the units that must share a split (near clusters,
 * exact copies when exact dedup is off, `groupBy` groups), the split itself, and the leakage gate
 * that proves no exact or near copy straddles two splits.
 */
import { GrowableUint32 } from './_growable.js';
import type { KeptRows } from './_kept.js';
import type { Pace } from './_pace.js';
import { FirstRows } from './dedup/index.js';
import { nearClusters, NearIndex, nearRejection, nearRemovals, UnionFind, type NearPair, type NearRemovals } from './dedup/near.js';
import { LoraPrepError } from './errors.js';
import type { ResolvedNear } from './options.js';
import { NOT_WRITTEN, planSplits, SPLIT_NAMES, type SplitFractions, type SplitName } from './split/index.js';
import type { Rejection, SourceLocation } from './types.js';

/** Near-duplicate facts for the report. */
export interface NearSummary {
  /** `dedup.near.threshold`: the Jaccard similarity at which rows are near-duplicates. */
  threshold: number;
  /** `dedup.near.action`: remove all but one row per cluster, or keep a cluster in one split. */
  action: 'remove' | 'group';
  /** `dedup.near.keep`: which row of a cluster `remove` keeps. */
  keep: 'first' | 'longest';
  /**
   * Verified pairs (exact Jaccard at or over the threshold) that joined rows into clusters: rows
   * already in one cluster are not compared again, so a cluster of k rows counts k − 1 pairs.
   */
  pairs: number;
  /** Clusters of two or more examples. */
  clusters: number;
  /** Examples in the largest cluster. */
  largestCluster: number;
  /** Examples rejected as `near_duplicate` (action `remove`). */
  removed: number;
  /** A few verified pairs with their comparison texts and exact similarity, to check what was merged. */
  samples: Array<{ a: { source: SourceLocation; text: string }; b: { source: SourceLocation; text: string }; similarity: number }>;
}

/** The leakage gate's findings on what is written (always zero unless a bug let one through). */
export interface LeakageCheck {
  /** Exact copies found in two splits. */
  exact: number;
  /** `null` when near-dedup is off (near copies were not looked for). */
  near: number | null;
  /** Rows checked (every row written). */
  rows: number;
}

/** The outcome of planning. */
export interface Plan {
  assignment: Uint8Array;
  /**
   * The near-duplicates removed: for each kept row, the row kept in its place, or -1. Four bytes
   * a row, where a rejection each would grow with every near-duplicate ({@link nearRejections}
   * makes them one at a time).
   */
  nearKeptFor: Int32Array;
  /** The size of the cluster of each row kept in place of others. */
  nearClusterSize: Map<number, number>;
  near: NearSummary | null;
  byStratum: Record<string, Record<SplitName, number>>;
  units: number;
  leakage: LeakageCheck;
  warnings: string[];
}

/** Settings of {@link planOutput}. */
export interface PlanOptions {
  split: SplitFractions & { strategy: 'random' | 'hash'; groupBy?: string | undefined };
  near: ResolvedNear;
  /** Whether exact duplicates were removed (else exact copies are kept together). */
  exactDedup: boolean;
  /** Gives way to the event loop during the near-duplicate search (see {@link Pace}). */
  pace?: Pace | undefined;
  /**
   * Applied to each sample pair's text before it is cut to an excerpt: personal data redacted for
   * the report when the written files still hold it (`pii.action: 'report'`).
   */
  sampleText?: ((text: string) => string) | undefined;
  /**
   * Applied to each stratum's name where the report and warnings show it (personal data redacted
   * while `pii` is set: a `stratifyBy` column may hold it); names that become alike are numbered.
   * The split itself goes by the values as read.
   */
  stratumName?: ((name: string) => string) | undefined;
}

/** Most distinct values of a stratifyBy column that the split is stratified by. */
export const MAX_STRATA = 5_000;

const SAMPLE_PAIRS = 5;
const SAMPLE_CHARS = 300;

/**
 * Plans the output of the kept rows.
 *
 * @example
 * const plan = await planOutput(kept, nearIndex, { split, near, exactDedup: true });
 */
export async function planOutput(kept: KeptRows, nearIndex: NearIndex | undefined, o: PlanOptions): Promise<Plan> {
  const n = kept.length;
  let removals: NearRemovals = { keptFor: new Int32Array(n).fill(-1), clusterSize: new Map(), removed: 0 };
  let pairs: NearPair[] = [];
  let near: NearSummary | null = null;
  const together = new UnionFind(n);
  const shown = o.sampleText ?? ((text: string) => text);
  // Rows that are the first turns of other rows (snapshots of one chat logged at each turn).
  const snapshots = snapshotPairs(kept);

  if (o.near && nearIndex) {
    pairs = await nearIndex.verifiedPairs(o.near.threshold, undefined, { linked: true, pace: o.pace });
    const clusters = nearClusters(pairs, n);
    const largest = clusters.reduce((most, list) => Math.max(most, list.length), 0);
    if (o.near.action === 'group') {
      for (const list of clusters) for (const row of list) together.union(list[0] as number, row);
    } else {
      removals = nearRemovals(clusters, n, o.near.keep, kept.tokens.view(), snapshots.shorter);
    }
    near = {
      threshold: o.near.threshold,
      action: o.near.action,
      keep: o.near.keep,
      pairs: pairs.length,
      clusters: clusters.length,
      largestCluster: largest,
      removed: removals.removed,
      samples: pairs.slice(0, SAMPLE_PAIRS).map((p) => ({
        a: { source: kept.source(p.a), text: excerpt(shown(nearIndex.text(p.a))) },
        b: { source: kept.source(p.b), text: excerpt(shown(nearIndex.text(p.b))) },
        similarity: round3(p.similarity),
      })),
    };
  }

  // Exact copies kept (exact dedup off) must share a split too.
  if (!o.exactDedup) {
    const first = new Map<string, number>();
    for (let row = 0; row < n; row++) {
      const key = kept.contentKey(row);
      const f = first.get(key);
      if (f === undefined) first.set(key, row);
      else together.union(f, row);
    }
  }
  // A row and its shorter versions share a split.
  for (let i = 0; i + 1 < snapshots.pairs.length; i += 2) together.union(snapshots.pairs[i] as number, snapshots.pairs[i + 1] as number);
  const group = kept.group.view();
  if (o.split.groupBy !== undefined) {
    const first = new Map<number, number>();
    for (let row = 0; row < n; row++) {
      const g = group[row] as number;
      if (g === 0) continue;
      const f = first.get(g);
      if (f === undefined) first.set(g, row);
      else together.union(f, row);
    }
  }

  // Units: one per root among the rows that are written; its first row gives stratum and key.
  // Typed arrays indexed by row, not Maps: this runs once every row is read, with only one thread
  // at work, so its time is the run's own.
  const unitOf = new Int32Array(n).fill(-1);
  const unitOfRoot = new Int32Array(n).fill(-1);
  const firstRows = new Int32Array(n);
  let unitCount = 0;
  const keptFor = removals.keptFor;
  for (let row = 0; row < n; row++) {
    if ((keptFor[row] as number) >= 0) continue;
    const root = together.find(row);
    let unit = unitOfRoot[root] as number;
    if (unit < 0) {
      unit = unitCount++;
      unitOfRoot[root] = unit;
      firstRows[unit] = row;
    }
    unitOf[row] = unit;
  }
  const unitFirstRow = firstRows.subarray(0, unitCount);
  // A column of thousands of values is no category (an id, a date, free text): stratifying by it
  // balances nothing, puts nearly every row in train (each stratum too small for a share) and costs
  // some kilobytes a value in the plan and the report. Past MAX_STRATA the split is not stratified.
  const uncategorized = kept.strata.names.length > MAX_STRATA;
  const stratum = uncategorized ? new Uint32Array(n) : kept.stratum.view();
  const unitStratum = new Uint32Array(unitCount);
  for (let unit = 0; unit < unitCount; unit++) unitStratum[unit] = stratum[unitFirstRow[unit] as number] as number;
  const unitKey = (unit: number): string => {
    const row = unitFirstRow[unit] as number;
    const g = group[row] as number;
    return g > 0 ? `group\u0000${kept.groups.names[g - 1]}` : `content\u0000${kept.contentKey(row)}`;
  };
  const strataNames = uncategorized ? ['(all)'] : kept.strata.names;
  const strata = o.stratumName ? shownNames(strataNames, o.stratumName) : strataNames;
  const split = planSplits({ unitOf, unitCount, unitStratum, rowStratum: stratum, strata, unitKey }, o.split, o.split.strategy);
  const leakage = leakageGate(kept, split.assignment, pairs, o.near !== false);
  const warnings = [...split.warnings];
  if (uncategorized) {
    warnings.push(
      `the stratifyBy column has ${kept.strata.names.length.toLocaleString('en-US')} distinct values, over ${MAX_STRATA.toLocaleString('en-US')}: it is no category (an id, a date, free text), and the split was not stratified. ` +
        'Give stratifyBy a column with few values, and groupBy for an id.',
    );
  }
  // Counted among the rows written: a snapshot removed as a near-duplicate is no longer kept.
  const written = new Set<number>();
  for (let i = 0; i + 1 < snapshots.pairs.length; i += 2) {
    const [longer, shorter] = [snapshots.pairs[i] as number, snapshots.pairs[i + 1] as number];
    if (removals.keptFor[longer] === -1 && removals.keptFor[shorter] === -1) written.add(shorter);
  }
  if (written.size > 0) {
    warnings.push(
      `${written.size.toLocaleString('en-US')} kept examples are the first turns of another kept example (a chat log that records each call with the history so far): each is kept in the split of the longer one`,
    );
  }
  return { assignment: split.assignment, nearKeptFor: removals.keptFor, nearClusterSize: removals.clusterSize, near, byStratum: split.byStratum, units: unitCount, leakage, warnings };
}

/**
 * The rejections of the near-duplicates a plan removes, in row order, each made as it is asked
 * for (its exact similarity to the row kept read back from the near-dedup spill).
 *
 * @example
 * for (const { row, rejection } of nearRejections(plan, kept, nearIndex, 0.8)) reject(row, rejection);
 */
export function* nearRejections(plan: Plan, kept: KeptRows, nearIndex: NearIndex, threshold: number): Iterable<{ row: number; rejection: Rejection }> {
  const keptFor = plan.nearKeptFor;
  for (let row = 0; row < keptFor.length; row++) {
    const rep = keptFor[row] as number;
    if (rep < 0) continue;
    yield { row, rejection: nearRejection(kept.source(row), kept.source(rep), nearIndex.similarity(row, rep), threshold, plan.nearClusterSize.get(rep) as number) };
  }
}

// --- internal ---

/**
 * Checks the plan: no two written rows with the same content, and no verified near pair, in
 * different splits. A finding is a bug, never a data problem: the run fails loudly.
 */
export function leakageGate(kept: KeptRows, assignment: Uint8Array, pairs: NearPair[], nearChecked: boolean): LeakageCheck {
  let exact = 0;
  let near = 0;
  let rows = 0;
  // The first written row of each content hash, in typed arrays (hex keys in a Map cost about
  // 100 bytes a row at the end of the run, when the other state is largest).
  const firstOfContent = new FirstRows({ capacity: assignment.length });
  const hi = kept.hashHi.view();
  const lo = kept.hashLo.view();
  for (let row = 0; row < assignment.length; row++) {
    const split = assignment[row] as number;
    if (split === NOT_WRITTEN) continue;
    rows++;
    const first = firstOfContent.firstOf(hi[row] as number, lo[row] as number, row);
    if (first >= 0 && assignment[first] !== split) exact++;
  }
  for (const p of pairs) {
    const a = assignment[p.a] as number;
    const b = assignment[p.b] as number;
    if (a !== NOT_WRITTEN && b !== NOT_WRITTEN && a !== b) near++;
  }
  if (exact > 0 || near > 0) {
    throw new LoraPrepError(
      'INTERNAL',
      `leakage gate: ${exact} exact and ${near} near-duplicate pairs would straddle ${SPLIT_NAMES.join('/')}; nothing was written. This is a bug: please report it.`,
    );
  }
  return { exact, near: nearChecked ? near : null, rows };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function excerpt(text: string): string {
  const t = text.trim().replace(/\n/g, ' ⏎ ');
  return t.length > SAMPLE_CHARS ? `${t.slice(0, SAMPLE_CHARS - 1)}…` : t;
}

/**
 * The kept rows that are the first turns of other kept rows (their conversation hash is one of the
 * other's prefix hashes): `pairs` (longer, shorter, ...), `shorter` (1 for such a row) and how many
 * there are. Costs nothing when no row has more than one exchange; else a table of the kept rows'
 * hashes, 24 bytes a row.
 */
function snapshotPairs(kept: KeptRows): { pairs: Uint32Array; shorter: Uint8Array | undefined; count: number } {
  const prefixes = kept.prefixes.view();
  if (prefixes.length === 0) return { pairs: new Uint32Array(0), shorter: undefined, count: 0 };
  const table = new FirstRows({ capacity: kept.length });
  const hi = kept.hashHi.view();
  const lo = kept.hashLo.view();
  for (let row = 0; row < kept.length; row++) table.firstOf(hi[row] as number, lo[row] as number, row);
  const shorter = new Uint8Array(kept.length);
  const pairs = new GrowableUint32();
  let count = 0;
  for (let i = 0; i + 2 < prefixes.length; i += 3) {
    const row = table.find(prefixes[i + 1] as number, prefixes[i + 2] as number);
    if (row < 0) continue;
    pairs.push(prefixes[i] as number);
    pairs.push(row);
    if (shorter[row] === 0) count++;
    shorter[row] = 1;
  }
  return { pairs: pairs.view(), shorter: count > 0 ? shorter : undefined, count };
}

/** Names as shown (`show` of each), one apart from another: a name shown as an earlier one gets ` (2)`, ` (3)`, … */
function shownNames(names: readonly string[], show: (name: string) => string): string[] {
  const used = new Set<string>();
  return names.map((name) => {
    const base = show(name);
    let shown = base;
    for (let n = 2; used.has(shown); n++) shown = `${base} (${n})`;
    used.add(shown);
    return shown;
  });
}
