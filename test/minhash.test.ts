import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bandKeys, jaccard, jaccardAtLeast, nearText, shingles, signature } from '../src/dedup/minhash.js';

const word = fc.constantFrom('bond', 'yield', 'tort', 'clause', 'dose', 'renal', 'équité', '合同', 'µg', '2024');
const text = fc.array(word, { minLength: 1, maxLength: 60 }).map((w) => w.join(' '));

describe('shingles', () => {
  it('are sorted, distinct word bigrams; case and punctuation are not words', () => {
    const s = shingles('A bond, a BOND; a bond.', 2);
    expect([...s]).toEqual([...new Set(s)].sort((a, b) => a - b));
    expect(shingles(nearText([{ role: 'user', content: 'A bond, a BOND; a bond.' }]), 2)).toEqual(shingles('a bond a bond a bond', 2));
    expect(shingles('one', 2)).toHaveLength(1);
    expect(shingles('naïve café 👩‍⚕️ x', 1)).toHaveLength(3);
  });
});

describe('jaccard', () => {
  it('is 1 for equal sets, 0 for disjoint ones, and symmetric (property)', () => {
    fc.assert(
      fc.property(text, text, (a, b) => {
        const sa = shingles(a, 2);
        const sb = shingles(b, 2);
        expect(jaccard(sa, sa)).toBe(1);
        expect(jaccard(sa, sb)).toBe(jaccard(sb, sa));
        const inter = [...sa].filter((x) => sb.includes(x)).length;
        expect(jaccard(sa, sb)).toBeCloseTo(inter / (sa.length + sb.length - inter), 10);
      }),
    );
  });
});

describe('jaccardAtLeast', () => {
  it('is jaccard exactly when that reaches the threshold, and below the threshold otherwise (property)', () => {
    // Sets that overlap a lot (a shared body, a few words changed) so that both sides of every threshold are met.
    const body = fc.array(word, { minLength: 0, maxLength: 40 });
    const threshold = fc.oneof(fc.constantFrom(0.5, 0.8, 0.9, 1, 2 / 3, 0.75), fc.double({ min: 0.01, max: 1, noNaN: true }));
    fc.assert(
      fc.property(body, body, body, threshold, (shared, onlyA, onlyB, t) => {
        const sa = shingles([...shared, ...onlyA].join(' '), 2);
        const sb = shingles([...onlyB, ...shared].join(' '), 2);
        // From the sets themselves: jaccard is jaccardAtLeast at threshold 0.
        const inter = [...sa].filter((x) => sb.includes(x)).length;
        const exact = sa.length + sb.length === 0 ? 1 : inter / (sa.length + sb.length - inter);
        expect(jaccard(sa, sb)).toBe(exact);
        const got = jaccardAtLeast(sa, sb, t);
        if (exact >= t) expect(got).toBe(exact);
        else expect(got).toBeLessThan(t);
        // Equal sets, each size a threshold is exactly reached at.
        expect(jaccardAtLeast(sa, sa, t)).toBe(1);
      }),
      { numRuns: 1000 },
    );
  });

  it('stops at the first element a pair at the threshold cannot spare, and decides exact ties for the pair', () => {
    // 8 shared, 2 apart: J = 8 / 10 = 0.8, so 0.8 passes and anything above does not.
    const a = Uint32Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9);
    const b = Uint32Array.of(1, 2, 3, 4, 5, 6, 7, 8, 10);
    expect(jaccardAtLeast(a, b, 0.8)).toBe(0.8);
    expect(jaccardAtLeast(a, b, 0.81)).toBeLessThan(0.81);
    expect(jaccardAtLeast(new Uint32Array(0), new Uint32Array(0), 0.8)).toBe(1);
    expect(jaccardAtLeast(Uint32Array.of(1), new Uint32Array(0), 0.8)).toBe(0);
  });
});

describe('signature', () => {
  it('agrees on about J of its permutations (property: within 0.25 at 100 permutations)', () => {
    fc.assert(
      fc.property(text, text, (a, b) => {
        const sa = shingles(a, 2);
        const sb = shingles(`${a} ${b}`, 2);
        const x = signature(sa, 100);
        const y = signature(sb, 100);
        let agree = 0;
        for (let i = 0; i < 100; i++) if (x[i] === y[i]) agree++;
        expect(Math.abs(agree / 100 - jaccard(sa, sb))).toBeLessThan(0.25);
      }),
      { numRuns: 200 },
    );
  });

  it('gives equal band keys to equal texts and different ones to unrelated texts', () => {
    const k1 = bandKeys(signature(shingles('the lessee shall pay rent monthly in advance', 2), 100), 20);
    const k2 = bandKeys(signature(shingles('the lessee shall pay rent monthly in advance', 2), 100), 20);
    const k3 = bandKeys(signature(shingles('metformin dose is reduced when egfr falls', 2), 100), 20);
    expect(k1).toEqual(k2);
    expect([...k1].filter((k, i) => k === k3[i])).toHaveLength(0);
  });
});

describe('shingles into a reused array', () => {
  it('gives the shingles of a fresh call, whether the array is long enough or not (property)', () => {
    let reused: Uint32Array | undefined;
    fc.assert(
      fc.property(fc.array(fc.constantFrom('bond', 'debt', 'risk', 'yield', 'é', '合同', 'a'), { maxLength: 80 }), fc.integer({ min: 1, max: 4 }), (words, n) => {
        const text = words.join(' ');
        const fresh = shingles(text, n);
        reused = shingles(text, n, reused);
        expect([...reused]).toEqual([...fresh]);
      }),
      { numRuns: 300 },
    );
  });
});

