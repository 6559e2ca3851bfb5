import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeptRows } from '../src/_kept.js';
import { leakageGate } from '../src/plan.js';
import { NOT_WRITTEN } from '../src/split/index.js';

function keptWith(hashes: Array<[number, number]>): KeptRows {
  const kept = new KeptRows(['a.jsonl']);
  for (const [i, [hashHi, hashLo]] of hashes.entries()) {
    kept.push({ tokens: 10, prompt: 5, file: 0, line: i + 1, hashHi, hashLo, domain: '(none)', stratum: '(all)', group: undefined });
  }
  return kept;
}

describe('leakage gate', () => {
  it('fails the run when two written rows with the same content sit in different splits, and only then (property)', () => {
    fc.assert(
      fc.property(
        // Few distinct hashes, so that shared content is common; split 0-2 or not written.
        fc.array(fc.tuple(fc.integer({ min: 0, max: 6 }), fc.constantFrom(0, 1, 2, NOT_WRITTEN)), { maxLength: 60 }),
        (rows) => {
          const kept = keptWith(rows.map(([h]) => [h * 7, h ^ 0x5bd1e995]));
          const assignment = Uint8Array.from(rows.map(([, s]) => s));
          const splitsOf = new Map<number, Set<number>>();
          for (const [h, s] of rows) if (s !== NOT_WRITTEN) splitsOf.set(h, (splitsOf.get(h) ?? new Set()).add(s));
          const leaks = [...splitsOf.values()].some((s) => s.size > 1);
          if (leaks) expect(() => leakageGate(kept, assignment, [], false)).toThrow(/leakage gate/);
          else expect(leakageGate(kept, assignment, [], false)).toEqual({ exact: 0, near: null, rows: rows.filter(([, s]) => s !== NOT_WRITTEN).length });
        },
      ),
    );
  });

  it('fails the run on a verified near pair split across train and validation', () => {
    const kept = keptWith([
      [1, 1],
      [2, 2],
    ]);
    expect(() => leakageGate(kept, Uint8Array.from([0, 1]), [{ a: 0, b: 1, similarity: 0.9 }] as never, true)).toThrow(/1 near-duplicate/);
    expect(leakageGate(kept, Uint8Array.from([1, 1]), [{ a: 0, b: 1, similarity: 0.9 }] as never, true)).toEqual({ exact: 0, near: 0, rows: 2 });
  });
});
