import { Tokenizer } from '@huggingface/tokenizers';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fasterByteLevel } from '../src/tokenizers/_byte-level.js';
import { loadTokenizer } from '../src/tokenizers/index.js';
import { byteLevelJson, LLAMA3_PRE_TOKENIZER } from './helpers/byte-level-bpe.js';

const PRE_TOKENIZERS = {
  'ByteLevel with its regex': { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
  'ByteLevel with a prefix space': { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
  // As Llama 3 has it: a Split regex, then ByteLevel without its own.
  'Split, then ByteLevel': LLAMA3_PRE_TOKENIZER,
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
