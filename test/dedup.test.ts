import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { conversationKey, dedupe, findShared, FirstRows, hash64, hash64Parts, normalizeForDedup, type SharedFirstRows } from '../src/dedup/index.js';
import type { Example } from '../src/types.js';
import { collect, fromArray, recordingContext } from './helpers/index.js';

const ex = (line: number, user: string, assistant: string): Example => ({
  id: String(line),
  messages: [
    { role: 'user', content: user },
    { role: 'assistant', content: assistant },
  ],
  meta: { source: { file: 'f', line } },
});

describe('normalizeForDedup', () => {
  it.each([
    ['  Net   Income\n', 'net income'],
    ['A\tB\r\nC', 'a b c'],
    ['Ｆｕｌｌｗｉｄｔｈ', 'fullwidth'], // NFKC
    ['ﬁnance', 'finance'], // ligature, NFKC
    ['Crème Brûlée', 'crème brûlée'],
    ['e\u0301', 'é'], // combining accent composed by NFKC
  ])('%j → %j', (input, expected) => {
    expect(normalizeForDedup(input)).toBe(expected);
  });
});

describe('conversationKey', () => {
  it('tells roles apart', () => {
    const a = conversationKey([{ role: 'user', content: 'x' }]);
    const b = conversationKey([{ role: 'assistant', content: 'x' }]);
    expect(a).not.toBe(b);
  });
  it('takes tool-call arguments as compact JSON: other spacing is the same call, other values are not', () => {
    const call = (args: string) => [
      { role: 'user' as const, content: 'Rate?' },
      { role: 'assistant' as const, content: '', tool_calls: [{ id: 'c1', type: 'function' as const, function: { name: 'get_rate', arguments: args } }] },
    ];
    expect(conversationKey(call('{"from": "EUR", "n": 1.0}'))).toBe(conversationKey(call('{"from":"EUR","n":1.0}')));
    expect(conversationKey(call('{"from":"EUR","n":1.0}'))).not.toBe(conversationKey(call('{"from":"EUR","n":1}')));
    expect(conversationKey(call('{"from":"EUR"}'))).not.toBe(conversationKey(call('{"from":"USD"}')));
    // Text that is not JSON is kept as written.
    expect(conversationKey(call('not json'))).not.toBe(conversationKey(call('not  json')));
  });

  it('tells message boundaries apart', () => {
    const a = conversationKey([{ role: 'user', content: 'a b' }, { role: 'assistant', content: 'c' }]);
    const b = conversationKey([{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b c' }]);
    expect(a).not.toBe(b);
  });
});

describe('dedupe', () => {
  it('rejects later copies that differ only in case and spacing, pointing at the first', async () => {
    const ctx = recordingContext();
    const out = await collect(dedupe(fromArray([ex(1, 'What is EBITDA?', 'Earnings before…'), ex(2, 'Other', 'x'), ex(5, 'what  is ebitda? ', 'EARNINGS BEFORE…')]), ctx));
    expect(out.map((e) => e.meta.source.line)).toEqual([1, 2]);
    expect(ctx.rejected).toEqual([
      expect.objectContaining({ source: { file: 'f', line: 5 }, reason: 'duplicate', duplicateOf: { file: 'f', line: 1 } }),
    ]);
  });

  it('keeps exactly one example per distinct key, and accounts for every input (property)', async () => {
    const texts = fc.constantFrom('alpha', 'Alpha ', 'beta', 'BETA', 'gamma delta', 'gamma  delta', 'é', 'e\u0301');
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(texts, texts), { maxLength: 40 }), async (pairs) => {
        const input = pairs.map(([u, a], i) => ex(i + 1, u, a));
        const ctx = recordingContext();
        const kept = await collect(dedupe(fromArray(input), ctx));
        expect(kept.length + ctx.rejected.length).toBe(input.length);
        const keys = kept.map((e) => conversationKey(e.messages));
        expect(new Set(keys).size).toBe(keys.length);
        expect(new Set(keys)).toEqual(new Set(input.map((e) => conversationKey(e.messages))));
        for (const r of ctx.rejected) {
          const original = kept.find((k) => k.meta.source.line === r.duplicateOf?.line) as Example;
          const copy = input.find((k) => k.meta.source.line === r.source.line) as Example;
          expect(conversationKey(original.messages)).toBe(conversationKey(copy.messages));
          expect(original.meta.source.line).toBeLessThan(copy.meta.source.line);
        }
      }),
    );
  });
});

describe('hash64', () => {
  it('is 16 hex digits and stable', () => {
    expect(hash64('abc')).toMatch(/^[0-9a-f]{16}$/);
    expect(hash64('abc')).toBe(hash64('abc'));
    expect(hash64('abc')).not.toBe(hash64('abd'));
  });

  // The split's hash strategy and the leakage check read these bits: they must not change between
  // versions, whatever the code that computes them.
  it('is the first 64 bits of the UTF-8 SHA-1 of the key, for any text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (key) => {
        const oracle = createHash('sha1').update(key, 'utf8').digest('hex').slice(0, 16);
        expect(hash64(key)).toBe(oracle);
        const [hi, lo] = hash64Parts(key);
        expect(`${hi.toString(16).padStart(8, '0')}${lo.toString(16).padStart(8, '0')}`).toBe(oracle);
      }),
      { numRuns: 300 },
    );
  });
});

describe('FirstRows', () => {
  it('answers like a Map from hash to first row (firstOf and find), through every growth, colliding slots included', () => {
    fc.assert(
      fc.property(
        // Few distinct values per half so that equal halves and shared slots are common.
        fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 3000 })), { maxLength: 4000 }),
        (pairs) => {
          const table = new FirstRows();
          const map = new Map<string, number>();
          for (const [row, [hi, lo]] of pairs.entries()) {
            const want = map.get(`${hi}:${lo}`) ?? -1;
            // find() answers the same without remembering anything.
            expect(table.find(hi * 0x01000193, lo)).toBe(want);
            if (want < 0) map.set(`${hi}:${lo}`, row);
            expect(table.firstOf(hi * 0x01000193, lo, row)).toBe(want);
            expect(table.find(hi * 0x01000193, lo)).toBe(map.get(`${hi}:${lo}`));
          }
          expect(table.size).toBe(map.size);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('shared: other threads read the same answers from its tables, and a table from before a growth never answers wrongly', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 3000 })), { maxLength: 3000 }), (pairs) => {
        const table = new FirstRows({ shared: true });
        const map = new Map<string, number>();
        let old = table.tables as SharedFirstRows;
        expect(old.row.buffer).toBeInstanceOf(SharedArrayBuffer);
        for (const [row, [hi, lo]] of pairs.entries()) {
          table.firstOf(hi * 0x01000193, lo, row);
          if (!map.has(`${hi}:${lo}`)) map.set(`${hi}:${lo}`, row);
          const now = table.tables as SharedFirstRows;
          expect(findShared(now, hi * 0x01000193, lo)).toBe(map.get(`${hi}:${lo}`));
          // A reader still holding the arrays from before a growth may miss rows, never invent one.
          const stale = findShared(old, hi * 0x01000193, lo);
          expect(stale === -1 || stale === map.get(`${hi}:${lo}`)).toBe(true);
          if (row % 97 === 0) old = now;
        }
        expect(new FirstRows().tables).toBeUndefined();
      }),
      { numRuns: 30 },
    );
  });

  it('hash64Parts holds the same bits as hash64', () => {
    for (const key of ['', 'user\u0000hi\u0001', 'é€😀'.repeat(50)]) {
      const [hi, lo] = hash64Parts(key);
      expect(`${hi.toString(16).padStart(8, '0')}${lo.toString(16).padStart(8, '0')}`).toBe(hash64(key));
    }
  });
});
