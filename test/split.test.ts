import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assignByHash, assignRandom, planSplits, splitSizes, stratumTargets, TEST, TRAIN, VALIDATION } from '../src/split/index.js';
import { seededRandom } from '../src/split/_rng.js';

const count = (a: Uint8Array, id: number) => a.reduce((n, x) => n + (x === id ? 1 : 0), 0);

describe('stratumTargets', () => {
  it('gives exact totals (three strata of 67/67/66 at 0.1: 20, not 21 as each rounding alone)', () => {
    const t = stratumTargets(Uint32Array.of(67, 67, 66), { validation: 0.1, test: 0.1, seed: 1 });
    expect([...t.validation]).toEqual([7, 7, 6]);
    expect([...t.test]).toEqual([7, 7, 6]);
  });

  it('never gives more than the overall sizes, where train keeps its last example (4 rows at 0.75 and 0.14)', () => {
    const t = stratumTargets(Uint32Array.of(4), { validation: 0.75, test: 0.14, seed: 1 });
    expect([t.validation[0], t.test[0]]).toEqual([2, 1]);
  });

  it('never above a stratum\'s fraction plus one nor the overall sizes, keeping one for train; within one and exact where the strata have room (property)', () => {
    const fraction = fc.double({ min: 0, max: 0.45, noNaN: true });
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 12 }), fraction, fraction, (sizes, validation, test) => {
        const rows = Uint32Array.from(sizes);
        const f = { validation, test, seed: 1 };
        const t = stratumTargets(rows, f);
        const overall = splitSizes(sizes.reduce((a, b) => a + b, 0), f);
        const sum = (a: Uint32Array) => a.reduce((x, y) => x + y, 0);
        // Exact where no stratum is held back by the training example it keeps: with validation +
        // test at most 0.5, a stratum takes under n/2 + 2 of them, which leaves one for train from
        // 6 examples on.
        const roomy = validation + test <= 0.5 && sizes.every((n) => n === 0 || n >= 6);
        for (const [s, n] of sizes.entries()) {
          const v = t.validation[s] as number;
          const e = t.test[s] as number;
          if (n > 0) expect(v + e).toBeLessThan(n);
          else expect(v + e).toBe(0);
          expect(v).toBeLessThan(n * validation + 1 + 1e-9);
          expect(e).toBeLessThan(n * test + 1 + 1e-9);
          if (roomy) {
            expect(Math.abs(v - n * validation)).toBeLessThan(1 + 1e-9);
            expect(Math.abs(e - n * test)).toBeLessThan(1 + 1e-9);
          }
        }
        expect(sum(t.validation)).toBeLessThanOrEqual(overall.validation);
        expect(sum(t.test)).toBeLessThanOrEqual(overall.test);
        if (roomy) {
          expect(sum(t.validation)).toBe(overall.validation);
          expect(sum(t.test)).toBe(overall.test);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('splitSizes', () => {
  it.each([
    [100, 0.1, 0, { train: 90, validation: 10, test: 0 }],
    [100, 0.1, 0.05, { train: 85, validation: 10, test: 5 }],
    [5, 0.1, 0, { train: 4, validation: 1, test: 0 }], // 0.5 rounds up
    [4, 0.1, 0, { train: 4, validation: 0, test: 0 }],
    [1, 0.5, 0, { train: 1, validation: 0, test: 0 }],
    [2, 0.5, 0.4, { train: 1, validation: 1, test: 0 }],
    [0, 0.1, 0.1, { train: 0, validation: 0, test: 0 }],
  ])('%i examples at %f/%f', (n, validation, test, expected) => {
    expect(splitSizes(n, { validation, test, seed: 1 })).toEqual(expected);
  });
});

describe('assignRandom', () => {
  it('has exact sizes, covers every example once, and never empties train (property)', () => {
    fc.assert(
      fc.property(fc.nat(3000), fc.double({ min: 0, max: 0.5, noNaN: true }), fc.double({ min: 0, max: 0.4, noNaN: true }), fc.integer(), (n, validation, test, seed) => {
        const a = assignRandom(n, { validation, test, seed });
        const sizes = splitSizes(n, { validation, test, seed });
        expect(a.length).toBe(n);
        expect(count(a, TRAIN)).toBe(sizes.train);
        expect(count(a, VALIDATION)).toBe(sizes.validation);
        expect(count(a, TEST)).toBe(sizes.test);
        if (n > 0) expect(sizes.train).toBeGreaterThan(0);
      }),
    );
  });

  it('is the same for the same seed and differs for another seed', () => {
    const a = assignRandom(1000, { validation: 0.1, test: 0.1, seed: 42 });
    expect(assignRandom(1000, { validation: 0.1, test: 0.1, seed: 42 })).toEqual(a);
    expect(assignRandom(1000, { validation: 0.1, test: 0.1, seed: 43 })).not.toEqual(a);
  });

  it('spreads validation across the input (not a block at the start or the end)', () => {
    const a = assignRandom(10_000, { validation: 0.1, test: 0, seed: 7 });
    const firstHalf = count(a.subarray(0, 5000), VALIDATION);
    expect(firstHalf).toBeGreaterThan(400);
    expect(firstHalf).toBeLessThan(600);
  });
});

describe('assignByHash', () => {
  it('never moves an example when others are added (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 50 }), fc.array(fc.string(), { maxLength: 50 }), fc.integer(), (old, added, seed) => {
        const f = { validation: 0.2, test: 0.1, seed };
        const before = old.map((k) => assignByHash(k, f));
        const after = [...old, ...added].map((k) => assignByHash(k, f)).slice(0, old.length);
        expect(after).toEqual(before);
      }),
    );
  });

  it('matches the fractions in expectation', () => {
    const f = { validation: 0.2, test: 0.1, seed: 3 };
    const a = Uint8Array.from({ length: 20_000 }, (_, i) => assignByHash(`row ${i}`, f));
    expect(count(a, VALIDATION) / a.length).toBeCloseTo(0.2, 1);
    expect(count(a, TEST) / a.length).toBeCloseTo(0.1, 1);
  });
});

describe('seededRandom', () => {
  it('is deterministic and in [0, 1)', () => {
    const r1 = seededRandom(5);
    const r2 = seededRandom(5);
    for (let i = 0; i < 1000; i++) {
      const x = r1();
      expect(x).toBe(r2());
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
    }
  });
});

describe('planSplits with units that span strata', () => {
  it('counts every row under its own stratum, whichever split its unit went to, and warns (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 40 }), fc.integer(), (groups, seed) => {
        // groups[g] holds the strata of the rows of unit g; rows are laid out unit by unit.
        const unitOf = Int32Array.from(groups.flatMap((rows, g) => rows.map(() => g)));
        const rowStratum = Uint32Array.from(groups.flat());
        const unitStratum = Uint32Array.from(groups.map((rows) => rows[0] as number));
        const strata = ['finance', 'legal', 'medical'];
        const plan = planSplits({ unitOf, unitCount: groups.length, unitStratum, rowStratum, strata, unitKey: (u) => `g${u}` }, { validation: 0.3, test: 0, seed }, 'random');
        const expected: Record<string, Record<string, number>> = Object.fromEntries(strata.map((s) => [s, { train: 0, validation: 0, test: 0 }]));
        const names = ['train', 'validation', 'test'];
        for (let row = 0; row < unitOf.length; row++) {
          const cell = expected[strata[rowStratum[row] as number] as string] as Record<string, number>;
          const split = names[plan.assignment[row] as number] as string;
          cell[split] = (cell[split] as number) + 1;
        }
        expect(plan.byStratum).toEqual(expected);
        const spanning = groups.filter((rows) => rows.some((s) => s !== rows[0])).length;
        expect(plan.warnings.some((w) => w.startsWith(`${spanning} group`))).toBe(spanning > 0);
      }),
    );
  });
});
