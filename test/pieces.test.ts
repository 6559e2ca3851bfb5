import { Tiktoken } from 'js-tiktoken/lite';
import cl100k from 'js-tiktoken/ranks/cl100k_base';
import o200k from 'js-tiktoken/ranks/o200k_base';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PieceTable, pieceScanner, CL100K_SOURCE, LLAMA3_SOURCE, O200K_SOURCE, QWEN2_SOURCE } from '../src/tokenizers/_pieces.js';
import { Tokenizer } from '@huggingface/tokenizers';
import { fastCounter } from '../src/tokenizers/_count.js';
import { findTokenizerFiles } from '../src/tokenizers/huggingface.js';
import { readFileSync } from 'node:fs';
import { byteLevelJson, LLAMA3_PRE_TOKENIZER } from './helpers/byte-level-bpe.js';
import { loadTokenizer, openAiEncoding } from '../src/tokenizers/index.js';

const oracles = { o200k_base: new Tiktoken(o200k), cl100k_base: new Tiktoken(cl100k) };

// Characters at the edges of the regexes' classes: letters of each case and those of the
// contractions, digits, every ASCII space, CR/LF, slash, apostrophe and other punctuation, control
// characters; letters of both cases and a titlecase one, numbers and punctuation outside ASCII,
// which the scanners decide; for the splits of `\p{L}+` words also letters of no case, modifier
// letters and marks. Then what every scanner gives up on: spaces outside ASCII, surrogates, and
// for o200k's case-aware words letters of no case and marks.
const ASCII = ['a', 'Z', 's', 'S', 't', 'l', 'L', 'v', 'e', 'E', 'r', 'd', 'm', "'", ' ', ' ', '\t', '\n', '\r', '\v', '\f', '0', '7', '/', '.', '-', '$', '\x00', '\x1f', '\x7f'];
const CASED = [...ASCII, 'é', 'É', 'ǅ', 'ß', 'µ', 'д', 'Д', 'σ', 'ς', 'Σ', 'İ', '—', '“', '”', '’', '€', '§', '¿', '²', '½', '٣', 'Ⅻ'];
const LETTERS = [...CASED, '中', 'ﾃ', 'ʰ', 'ª', '\u0301', '\u0900', '\u093e'];
const GIVE_UP = ['\u00a0', '\u2028', '\u0085', '\u3000', '\uFEFF', '😀', '\uD800', '\uDC00', '𝟘', '中', 'ʰ', 'ª', '\u0301'];
const textOf = (chars: string[]) => fc.array(fc.constantFrom(...chars), { maxLength: 40 }).map((cs) => cs.join(''));
const anyText = fc.array(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...LETTERS) }, { weight: 1, arbitrary: fc.constantFrom(...GIVE_UP) }), { maxLength: 40 }).map((cs) => cs.join(''));

const SPLITS = [
  { name: 'o200k_base', source: O200K_SOURCE, decided: CASED },
  { name: 'cl100k_base', source: CL100K_SOURCE, decided: LETTERS },
  { name: 'Llama 3', source: LLAMA3_SOURCE, decided: LETTERS },
  { name: 'Qwen 2', source: QWEN2_SOURCE, decided: LETTERS },
];

// The split as the scanner must find it: the regex's match at each place.
function checkScanner(source: string): (text: string) => void {
  const scan = pieceScanner(source);
  const sticky = new RegExp(source, 'uy');
  return (text) => {
    expect(scan).toBeTypeOf('function');
    for (let p = 0; p < text.length; p++) {
      const end = scan?.(text, p, text.length) ?? -1;
      if (end < 0) continue;
      sticky.lastIndex = p;
      const m = sticky.exec(text);
      expect(m && p + m[0].length, `${JSON.stringify(text)} at ${p}`).toBe(end);
    }
  };
}

const FIXED = ["it's", "IT'S", "we'll", "we'l", "they're", 'HelloWorld', 'ABCdef', '  \n\n  x', ' \n ', '\r\n', 'a  ', ' ...\n/\n', '1234567', ' 12', "''s", 'x\t\tY', ' \f!', 'Ǆǅǆ', 'ÉCOLE', 'Débiteur’s', '“save”', 'e\u0301t\u0301', '中文abc', '²³⁴5'];

describe.each(SPLITS)('the split of $name', ({ source, decided }) => {
  it("ends a piece where the regex's match from that place ends, or gives up (property)", () => {
    const check = checkScanner(source);
    for (const text of FIXED) check(text);
    fc.assert(fc.property(anyText, check), { numRuns: 4000 });
  });

  it('decides every piece of text of the characters it knows itself (property)', () => {
    const scan = pieceScanner(source);
    fc.assert(
      fc.property(textOf(decided), (text) => {
        for (let p = 0; p < text.length; p++) expect(scan?.(text, p, text.length), `${JSON.stringify(text)} at ${p}`).toBeGreaterThan(p);
      }),
      { numRuns: 1000 },
    );
  });
});

/** The regex source of the port's first pre-tokenizer step built from `tokenizerJson`. */
function splitSource(tokenizerJson: object): string | undefined {
  const pre = (new Tokenizer(tokenizerJson, {}) as unknown as { pre_tokenizer: { tokenizers: Array<{ pattern?: RegExp }> } }).pre_tokenizer;
  return pre.tokenizers[0]?.pattern?.source;
}

describe.each([
  ['Llama 3', LLAMA3_SOURCE],
  ['Qwen 2', QWEN2_SOURCE],
])('the split of %s', (name, source) => {
  it("is the split of the port's compiled regex (else counting would not use it)", () => {
    const config = (LLAMA3_PRE_TOKENIZER.pretokenizers[0] as { pattern: { Regex: string } }).pattern.Regex;
    const regex = name === 'Llama 3' ? config : config.replace('\\p{N}{1,3}', '\\p{N}');
    expect(regex.includes('\\p{N}{1,3}')).toBe(name === 'Llama 3');
    const json = byteLevelJson({ ...LLAMA3_PRE_TOKENIZER, pretokenizers: [{ ...(LLAMA3_PRE_TOKENIZER.pretokenizers[0] as object), pattern: { Regex: regex } }, LLAMA3_PRE_TOKENIZER.pretokenizers[1] as object] });
    expect(splitSource(json)).toBe(source);
    if (name === 'Llama 3') {
      // The real Llama 3 tokenizer (a dev dependency).
      const files = findTokenizerFiles('llama-3');
      expect(files).toBeDefined();
      expect(splitSource(JSON.parse(readFileSync(files?.tokenizerJson as string, 'utf8')) as object)).toBe(source);
    }
  });
});

const SOURCES = { o200k_base: O200K_SOURCE, cl100k_base: CL100K_SOURCE };

describe.each(['o200k_base', 'cl100k_base'] as const)('counting %s', (name) => {
  const scan = pieceScanner(SOURCES[name]);

  it("is the split of the installed gpt-tokenizer's regex (else counting would not use it)", async () => {
    const api = (await openAiEncoding(name)) as unknown as { bytePairEncodingCoreProcessor: { tokenSplitRegex: RegExp } };
    expect(api.bytePairEncodingCoreProcessor.tokenSplitRegex.source).toBe(SOURCES[name]);
    expect(scan).toBeTypeOf('function');
  });

  it('counts as js-tiktoken does (property)', async () => {
    const tok = await loadTokenizer(name);
    const word = fc.oneof(anyText, fc.constantFrom('EBITDA', 'xqzvjk', "shouldn't", 'Überweisung', 'the', ' income', ' débiteur', ' “save', ' Пациент', 'ẞtraße'));
    fc.assert(
      fc.property(fc.array(word, { maxLength: 8 }), (parts) => {
        const text = parts.join('');
        expect(tok.count(text), JSON.stringify(text)).toBe(oracles[name].encode(text, [], []).length);
      }),
      { numRuns: 500 },
    );
  });

  it('merges words outside the vocabulary as js-tiktoken does, where a pair repeats (property)', async () => {
    const api = await openAiEncoding(name);
    // The counter itself, not the tokenizer (which falls back to the library's count where the
    // counter fails its self-check).
    const count = fastCounter(api, (text) => api.countTokens(text, { disallowedSpecial: new Set() }));
    expect(count).toBeTypeOf('function');
    const word = fc.array(fc.constantFrom('a', 'b', 'q', 'z', 'x', 'aa', 'ab', 'zz', 'qx'), { minLength: 1, maxLength: 40 }).map((cs) => cs.join(''));
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 6 }), (words) => {
        const text = words.join(' ');
        expect(count?.(text), text).toBe(oracles[name].encode(text, [], []).length);
      }),
      { numRuns: 500 },
    );
  });

  it('counts as js-tiktoken does past the room kept for merged pieces (60,000 words outside the vocabulary)', async () => {
    const tok = await loadTokenizer(name);
    let seed = 11;
    const letter = (): string => String.fromCharCode(97 + ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 26));
    const words = Array.from({ length: 60_000 }, () => Array.from({ length: 7 }, letter).join(''));
    for (let i = 0; i < words.length; i += 6_000) {
      const text = words.slice(i, i + 6_000).join(' ');
      expect(tok.count(text)).toBe(oracles[name].encode(text, [], []).length);
    }
    const again = words.slice(0, 500).join(' ');
    expect(tok.count(again)).toBe(oracles[name].encode(again, [], []).length);
  });
});

describe('PieceTable', () => {
  it('answers as a Map of the same entries, through seal, reset and keep (property)', () => {
    const key = fc.array(fc.constantFrom('a', 'b', 'c', ' ', '1'), { minLength: 1, maxLength: 4 }).map((cs) => cs.join(''));
    const op = fc.oneof(
      fc.record({ add: key, value: fc.nat(1000) }),
      fc.record({ keep: key, value: fc.nat(1000) }),
      fc.record({ get: key }),
      fc.constant({ seal: true as const }),
      fc.constant({ reset: true as const }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.integer({ min: 1, max: 20 }), (ops, capacity) => {
        const table = new PieceTable(capacity);
        let model = new Map<string, number>();
        let sealed = new Map<string, number>();
        for (const o of ops) {
          if ('add' in o) {
            // A prefix and suffix around the key: lookups read a range of a longer text.
            const text = `<${o.add}>`;
            const h = PieceTable.hash(text, 1, text.length - 1);
            if (table.get(text, 1, text.length - 1, h) >= 0) continue;
            const added = table.add(text, 1, text.length - 1, h, o.value);
            expect(added).toBe(model.size < capacity);
            if (added) model.set(o.add, o.value);
          } else if ('keep' in o) {
            // Full: the entries since seal go first.
            const h = PieceTable.hash(o.keep, 0, o.keep.length);
            if (table.get(o.keep, 0, o.keep.length, h) >= 0) continue;
            table.keep(o.keep, 0, o.keep.length, h, o.value);
            if (model.size >= capacity) model = new Map(sealed);
            if (model.size < capacity) model.set(o.keep, o.value);
          } else if ('get' in o) {
            expect(table.get(o.get, 0, o.get.length, PieceTable.hash(o.get, 0, o.get.length))).toBe(model.get(o.get) ?? -1);
          } else if ('seal' in o) {
            table.seal();
            sealed = new Map(model);
          } else {
            table.reset();
            model = new Map(sealed);
          }
          expect(table.size).toBe(model.size);
        }
      }),
      { numRuns: 500 },
    );
  });
});
