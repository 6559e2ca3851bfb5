import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { listed, naturalOrder, textBytes } from '../src/_inputs.js';

describe('textBytes (whether worker threads pay off)', () => {
  it('counts a gzip file as four times its size, whatever its name, and stops once enough is counted', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lora-prep-textbytes-'));
    const text = '{"q":"a","a":"b"}\n'.repeat(100);
    const gz = gzipSync(text);
    const files = {
      plain: join(dir, 'plain.jsonl'),
      hidden: join(dir, 'really-gzip.jsonl'),
      named: join(dir, 'named.jsonl.gz'),
    };
    await writeFile(files.plain, text);
    await writeFile(files.hidden, gz);
    // A name ending in .gz is taken at its word, without reading (this one is not even gzip).
    await writeFile(files.named, text);
    const of = (path: string, bytes: number) => ({ path, bytes });
    expect(await textBytes([of(files.plain, text.length)], Infinity)).toBe(text.length);
    expect(await textBytes([of(files.hidden, gz.length)], Infinity)).toBe(4 * gz.length);
    expect(await textBytes([of(files.named, 10)], Infinity)).toBe(40);
    expect(await textBytes([of(files.plain, 5), of(files.hidden, 7), of(files.named, 10)], Infinity)).toBe(5 + 28 + 40);
    expect(await textBytes([of(files.plain, 5), of(files.hidden, 7), of(files.named, 10)], 5)).toBe(5);
    // An unreadable file counts as text: its loader reports it.
    expect(await textBytes([of(join(dir, 'missing.jsonl'), 3)], Infinity)).toBe(3);
  });
});

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
