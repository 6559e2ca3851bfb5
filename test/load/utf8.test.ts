import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  encodeEscaped,
  firstInvalid,
  firstInvalidByte,
  isWellFormed,
  Utf8EscapeDecoder,
  utf8Length,
} from '../../src/load/_utf8.js';

function decodeInChunks(bytes: Uint8Array, cuts: number[]): string {
  const decoder = new Utf8EscapeDecoder();
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let out = '';
  let from = 0;
  for (const p of points) {
    out += decoder.decode(bytes.subarray(from, p), false);
    from = p;
  }
  return out + decoder.decode(bytes.subarray(from), true);
}

/** Bytes that are mostly UTF-8 with some damage: the interesting inputs for a decoder. */
const utf8ish = fc
  .array(
    fc.oneof(
      fc.string({ unit: 'binary', maxLength: 8 }).map((s) => [...Buffer.from(s, 'utf8')]),
      fc.array(fc.integer({ min: 0x80, max: 0xff }), { maxLength: 4 }),
      fc.constantFrom([0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0xef, 0xbf, 0xbd], [0xf0, 0x9f, 0x98]),
    ),
    { maxLength: 20 },
  )
  .map((parts) => Uint8Array.from(parts.flat()));

const LONE = /(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])/g;

describe('Utf8EscapeDecoder', () => {
  it.each([
    { name: 'valid text is decoded as usual', bytes: Buffer.from('aé€😀'), want: 'aé€😀' },
    { name: 'a bad byte becomes U+DC00 + byte', bytes: Uint8Array.of(0x61, 0xe9, 0x62), want: 'a\uDCE9b' },
    { name: 'each byte of a bad sequence is escaped', bytes: Uint8Array.of(0xed, 0xa0, 0x80), want: '\uDCED\uDCA0\uDC80' },
    { name: 'a sequence cut by the end', bytes: Uint8Array.of(0x61, 0xe2, 0x82), want: 'a\uDCE2\uDC82' },
    { name: 'a real U+FFFD stays', bytes: Buffer.from('\uFFFD'), want: '\uFFFD' },
  ])('$name', ({ bytes, want }) => {
    expect(new Utf8EscapeDecoder().decode(bytes, true)).toBe(want);
  });

  it('keeps a sequence split across chunks whole', () => {
    const bytes = Buffer.from('é😀');
    for (let cut = 0; cut <= bytes.length; cut++) expect(decodeInChunks(bytes, [cut])).toBe('é😀');
  });

  it('round-trips any bytes, in any chunks, and agrees with TextDecoder on the valid text', () => {
    fc.assert(
      fc.property(fc.oneof(utf8ish, fc.uint8Array({ maxLength: 64 })), fc.array(fc.nat(), { maxLength: 5 }), (bytes, cuts) => {
        const text = decodeInChunks(bytes, cuts);
        expect([...encodeEscaped(text)]).toEqual([...bytes]);
        expect(utf8Length(text)).toBe(bytes.length);
        const valid = isUtf8(bytes);
        expect(isWellFormed(text)).toBe(valid);
        expect(firstInvalid(text) === undefined).toBe(valid);
        expect(firstInvalidByte(bytes) === -1).toBe(valid);
        if (valid) expect(text).toBe(Buffer.from(bytes).toString('utf8'));
        const replaced = new TextDecoder().decode(bytes);
        expect(text.replace(LONE, '').replace(/\uFFFD/g, '')).toBe(replaced.replace(/\uFFFD/g, ''));
        if (!valid) {
          const bad = firstInvalid(text);
          const at = firstInvalidByte(bytes);
          expect(bad?.byte).toBe(bytes[at]);
          expect(utf8Length(text.slice(0, bad?.index))).toBe(at);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('encodeEscaped', () => {
  it('turns an unpaired surrogate that is not an escape into 0xFF', () => {
    expect([...encodeEscaped('a\uD800b')]).toEqual([0x61, 0xff, 0x62]);
  });
});
