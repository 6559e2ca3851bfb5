import { Tokenizer } from '@huggingface/tokenizers';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fasterByteLevel } from '../src/tokenizers/_byte-level.js';
import { loadTokenizer } from '../src/tokenizers/index.js';

/** GPT-2's byte-to-character table, as byte-level BPE vocabularies spell bytes. */
function byteChars(): string[] {
  const bs = [...range(33, 126), ...range(161, 172), ...range(174, 255)];
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  const out: string[] = [];
  bs.forEach((b, i) => (out[b] = String.fromCharCode(cs[i] as number)));
  return out;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** A small byte-level BPE tokenizer: every byte, a few merges, and the pre-tokenizer given. */
function byteLevelJson(preTokenizer: object): object {
  const vocab: Record<string, number> = {};
  byteChars().forEach((c, b) => (vocab[c] = b));
  Object.assign(vocab, { 'Ġt': 256, he: 257, 'Ġthe': 258, 'Ã©': 259 });
  return {
    version: '1.0',
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: preTokenizer,
    post_processor: null,
    decoder: { type: 'ByteLevel' },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: ['Ġ t', 'h e', 'Ġt he', 'Ã ©'] },
  };
}

const PRE_TOKENIZERS = {
  'ByteLevel with its regex': { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
  'ByteLevel with a prefix space': { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
  // As Llama 3 has it: a Split regex, then ByteLevel without its own.
  'Split, then ByteLevel': {
    type: 'Sequence',
    pretokenizers: [
      { type: 'Split', pattern: { Regex: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" }, behavior: 'Isolated', invert: false },
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    ],
  },
};

describe('fasterByteLevel', () => {
  it.each(Object.entries(PRE_TOKENIZERS))('%s: gives the ids of the library on any text (property)', (_name, pre) => {
    const library = new Tokenizer(byteLevelJson(pre), {});
    const faster = new Tokenizer(byteLevelJson(pre), {});
    expect(fasterByteLevel(faster)).toBe(1);
    const part = fc.oneof(
      fc.constantFrom(' the', 'the', "it's", 'é', ' é', '  ', '\n\n', '\t', '\r\n', '\u0000', '\u007f', '12345', '合同', '😀', '\uD800', '\u00a0'),
      fc.string({ unit: 'grapheme-ascii', maxLength: 10 }),
      fc.string({ unit: 'binary', maxLength: 6 }),
    );
    fc.assert(
      fc.property(fc.array(part, { maxLength: 25 }), (parts) => {
        const text = parts.join('');
        expect(faster.encode(text, { add_special_tokens: false }).ids).toEqual(library.encode(text, { add_special_tokens: false }).ids);
      }),
      { numRuns: 300 },
    );
  });

  it('leaves other pre-tokenizers alone, and keeps the library\'s method where the faster one would disagree', async () => {
    // A word-level tokenizer has no byte-level step.
    const wordLevel = await loadTokenizer('fixtures/tokenizers/tiny-chatml');
    expect(wordLevel.count('hello world')).toBeGreaterThan(0);
    expect(fasterByteLevel({ pre_tokenizer: { type: 'Whitespace', pre_tokenize_text: () => [] } })).toBe(0);
    // The fields of a ByteLevel, but a method that maps otherwise: the self-check finds it out.
    const library = new Tokenizer(byteLevelJson(PRE_TOKENIZERS['ByteLevel with its regex']), {}) as unknown as { pre_tokenizer: Record<string, unknown> };
    const odd = (text: string) => [text.toUpperCase()];
    const impostor = { ...library.pre_tokenizer, pattern: library.pre_tokenizer.pattern, byte_encoder: library.pre_tokenizer.byte_encoder, pre_tokenize_text: odd };
    expect(fasterByteLevel({ pre_tokenizer: impostor })).toBe(0);
    expect(impostor.pre_tokenize_text).toBe(odd);
  });
});
