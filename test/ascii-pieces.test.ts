import { Tiktoken } from 'js-tiktoken/lite';
import cl100k from 'js-tiktoken/ranks/cl100k_base';
import o200k from 'js-tiktoken/ranks/o200k_base';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AsciiTable, asciiScanner, CL100K_SOURCE, LLAMA3_SOURCE, O200K_SOURCE, QWEN2_SOURCE } from '../src/tokenizers/_ascii-pieces.js';
import { Tokenizer } from '@huggingface/tokenizers';
import { fastCounter } from '../src/tokenizers/_count.js';
import { findTokenizerFiles } from '../src/tokenizers/huggingface.js';
import { readFileSync } from 'node:fs';
import { byteLevelJson, LLAMA3_PRE_TOKENIZER } from './helpers/byte-level-bpe.js';
import { loadTokenizer, openAiEncoding } from '../src/tokenizers/index.js';

const oracles = { o200k_base: new Tiktoken(o200k), cl100k_base: new Tiktoken(cl100k) };
const SOURCES = { o200k_base: O200K_SOURCE, cl100k_base: CL100K_SOURCE };

// Characters at the edges of the regexes' classes: letters of each case and those of the
// contractions, digits, every ASCII space, CR/LF, slash, apostrophe and other punctuation, control
// characters; then letters, marks, numbers and spaces outside ASCII, where the scanner must give up.
const ASCII = ['a', 'Z', 's', 'S', 't', 'l', 'L', 'v', 'e', 'E', 'r', 'd', 'm', "'", ' ', ' ', '\t', '\n', '\r', '\v', '\f', '0', '7', '/', '.', '-', '$', '\x00', '\x1f', '\x7f'];
const OTHER = ['é', 'É', 'ǅ', 'ʰ', '中', '\u0301', '²', '٣', '\u00a0', '\u2028', '\uFEFF', '—', '😀', '\uD800'];
const asciiText = fc.array(fc.constantFrom(...ASCII), { maxLength: 40 }).map((cs) => cs.join(''));
const anyText = fc.array(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...ASCII) }, { weight: 1, arbitrary: fc.constantFrom(...OTHER) }), { maxLength: 40 }).map((cs) => cs.join(''));

// The split as the scanner must find it: the regex's match at each place.
function checkScanner(source: string): (text: string) => void {
  const scan = asciiScanner(source);
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

const FIXED = ["it's", "IT'S", "we'll", "we'l", "they're", 'HelloWorld', 'ABCdef', '  \n\n  x', ' \n ', '\r\n', 'a  ', ' ...\n/\n', '1234567', ' 12', "''s", 'x\t\tY', ' \f!'];

/** The regex source of the port's first pre-tokenizer step built from `tokenizerJson`. */
function splitSource(tokenizerJson: object): string | undefined {
  const pre = (new Tokenizer(tokenizerJson, {}) as unknown as { pre_tokenizer: { tokenizers: Array<{ pattern?: RegExp }> } }).pre_tokenizer;
  return pre.tokenizers[0]?.pattern?.source;
}

describe.each([
  ['Llama 3', LLAMA3_SOURCE],
  ['Qwen 2', QWEN2_SOURCE],
])('the ASCII split of %s', (name, source) => {
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

  it("ends a piece where the regex's match from that place ends, or gives up (property)", () => {
    const check = checkScanner(source);
    for (const text of FIXED) check(text);
    fc.assert(fc.property(anyText, check), { numRuns: 3000 });
  });

  it('decides every piece of ASCII text itself (property)', () => {
    const scan = asciiScanner(source);
    fc.assert(
      fc.property(asciiText, (text) => {
        for (let p = 0; p < text.length; p++) expect(scan?.(text, p, text.length), `${JSON.stringify(text)} at ${p}`).toBeGreaterThan(p);
      }),
      { numRuns: 1000 },
    );
  });
});

describe.each(['o200k_base', 'cl100k_base'] as const)('the ASCII split of %s', (name) => {
  const scan = asciiScanner(SOURCES[name]);

  it("is the split of the installed gpt-tokenizer's regex (else counting would not use it)", async () => {
    const api = (await openAiEncoding(name)) as unknown as { bytePairEncodingCoreProcessor: { tokenSplitRegex: RegExp } };
    expect(api.bytePairEncodingCoreProcessor.tokenSplitRegex.source).toBe(SOURCES[name]);
    expect(scan).toBeTypeOf('function');
  });

  it("ends a piece where the regex's match from that place ends, or gives up (property)", () => {
    const check = checkScanner(SOURCES[name]);
    for (const text of FIXED) check(text);
    fc.assert(fc.property(anyText, check), { numRuns: 3000 });
  });

  it('decides every piece of ASCII text itself (property)', () => {
    fc.assert(
      fc.property(asciiText, (text) => {
        for (let p = 0; p < text.length; p++) expect(scan?.(text, p, text.length), `${JSON.stringify(text)} at ${p}`).toBeGreaterThan(p);
      }),
      { numRuns: 1000 },
    );
  });

  it('counts as js-tiktoken does (property)', async () => {
    const tok = await loadTokenizer(name);
    const word = fc.oneof(anyText, fc.constantFrom('EBITDA', 'xqzvjk', "shouldn't", 'Überweisung', 'the', ' income'));
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

describe('AsciiTable', () => {
  it('answers as a Map of the same entries, through seal and reset (property)', () => {
    const key = fc.array(fc.constantFrom('a', 'b', 'c', ' ', '1'), { minLength: 1, maxLength: 4 }).map((cs) => cs.join(''));
    const op = fc.oneof(
      fc.record({ add: key, value: fc.nat(1000) }),
      fc.record({ get: key }),
      fc.constant({ seal: true as const }),
      fc.constant({ reset: true as const }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.integer({ min: 1, max: 20 }), (ops, capacity) => {
        const table = new AsciiTable(capacity);
        let model = new Map<string, number>();
        let sealed = new Map<string, number>();
        for (const o of ops) {
          if ('add' in o) {
            // A prefix and suffix around the key: lookups read a range of a longer text.
            const text = `<${o.add}>`;
            const h = AsciiTable.hash(text, 1, text.length - 1);
            if (table.get(text, 1, text.length - 1, h) >= 0) continue;
            const added = table.add(text, 1, text.length - 1, h, o.value);
            expect(added).toBe(model.size < capacity);
            if (added) model.set(o.add, o.value);
          } else if ('get' in o) {
            expect(table.get(o.get, 0, o.get.length, AsciiTable.hash(o.get, 0, o.get.length))).toBe(model.get(o.get) ?? -1);
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
