/**
 * Scoring of {@link findPii} against labelled texts: per type true positives, false positives and
 * false negatives, matched on type and exact text (a multiset per line). Used by the tests and by
 * scripts/bench-pii.ts; not part of the public API.
 */
import { findPii, PII_TYPES, type PiiFinding, type PiiType } from './index.js';

/** One labelled line of fixtures/pii/labelled.jsonl. */
export interface LabelledText {
  text: string;
  pii: Array<{ type: PiiType; text: string }>;
}

/** Counts and derived scores of one type (or of all types together). */
export interface PiiScore {
  tp: number;
  fp: number;
  fn: number;
  precision: number;
  recall: number;
}

/** A finding that was not labelled, or a label that was not found. */
export interface PiiMiss {
  line: number;
  kind: 'fp' | 'fn';
  type: PiiType;
  text: string;
}

/** Scores the detector on labelled lines. Precision (recall) is 1 when nothing was found (labelled). */
export function scorePii(lines: readonly LabelledText[]): {
  perType: Record<PiiType, PiiScore>;
  overall: PiiScore;
  misses: PiiMiss[];
} {
  const counts = new Map<PiiType, { tp: number; fp: number; fn: number }>(PII_TYPES.map((t) => [t, { tp: 0, fp: 0, fn: 0 }]));
  const misses: PiiMiss[] = [];
  lines.forEach((line, i) => {
    const expected = [...line.pii];
    const found: PiiFinding[] = findPii(line.text);
    for (const f of found) {
      const c = counts.get(f.type)!;
      const k = expected.findIndex((e) => e.type === f.type && e.text === f.text);
      if (k >= 0) {
        c.tp++;
        expected.splice(k, 1);
      } else {
        c.fp++;
        misses.push({ line: i + 1, kind: 'fp', type: f.type, text: f.text });
      }
    }
    for (const e of expected) {
      counts.get(e.type)!.fn++;
      misses.push({ line: i + 1, kind: 'fn', type: e.type, text: e.text });
    }
  });
  const score = (c: { tp: number; fp: number; fn: number }): PiiScore => ({
    ...c,
    precision: c.tp + c.fp === 0 ? 1 : c.tp / (c.tp + c.fp),
    recall: c.tp + c.fn === 0 ? 1 : c.tp / (c.tp + c.fn),
  });
  const total = { tp: 0, fp: 0, fn: 0 };
  const perType = {} as Record<PiiType, PiiScore>;
  for (const t of PII_TYPES) {
    const c = counts.get(t)!;
    total.tp += c.tp;
    total.fp += c.fp;
    total.fn += c.fn;
    perType[t] = score(c);
  }
  return { perType, overall: score(total), misses };
}
