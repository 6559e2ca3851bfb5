import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { listed, naturalOrder } from '../src/_inputs.js';

describe('naturalOrder', () => {
  it('orders part files by their numbers, padded or not', () => {
    expect(['part-10.jsonl', 'part-2.jsonl', 'part-1.jsonl.gz', 'part-00003.jsonl', 'a.csv', 'part-2.csv'].sort(naturalOrder)).toEqual([
      'a.csv',
      'part-1.jsonl.gz',
      'part-2.csv',
      'part-2.jsonl',
      'part-00003.jsonl',
      'part-10.jsonl',
    ]);
  });

  it('is the order of the numbers for names that differ only in one, and a total order on any names', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.bigInt({ min: 0n, max: 10n ** 30n }), { maxLength: 20 }), (numbers) => {
        const names = numbers.map((n) => `shard-${n}.jsonl`);
        const byNumber = [...numbers].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((n) => `shard-${n}.jsonl`);
        expect([...names].sort(naturalOrder)).toEqual(byNumber);
      }),
    );
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', 'b', '0', '1', '9', '-', '.') }), fc.string({ unit: fc.constantFrom('a', 'b', '0', '1', '9', '-', '.') }), (a, b) => {
        expect(Math.sign(naturalOrder(a, b)) + Math.sign(naturalOrder(b, a))).toBe(0);
        expect(naturalOrder(a, b) === 0).toBe(a === b);
      }),
    );
  });
});

describe('listed', () => {
  it('lists five names at most, then says how many more', () => {
    expect(listed(['a'])).toBe('a');
    expect(listed(['a', 'b', 'c', 'd', 'e'])).toBe('a, b, c, d, e');
    expect(listed(['a', 'b', 'c', 'd', 'e', 'f', 'g'])).toBe('a, b, c, d, e and 2 more');
  });
});
