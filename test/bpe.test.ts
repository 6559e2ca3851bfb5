import { Tokenizer } from '@huggingface/tokenizers';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bpeCounter, neverUnknown } from '../src/tokenizers/_bpe.js';
import { fastHfCounter } from '../src/tokenizers/_hf-count.js';

const ALPHABET = ['a', 'b', 'c', '▁', 'é', '😀'];
const BYTES = Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);

/**
 * A BPE tokenizer.json with many merges that compete for the same characters: merges of random
 * pairs of tokens made so far (a small PRNG, so the same every run), one pair listed twice.
 */
function richBpeJson(options: { byteFallback: boolean; gemmaStyle: boolean }): object {
  let seed = 12345;
  const random = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const tokens = [...ALPHABET];
  const merges: string[][] = [];
  while (merges.length < 80) {
    const a = tokens[random(tokens.length)] as string;
    const b = tokens[random(tokens.length)] as string;
    if (merges.some(([x, y]) => x === a && y === b)) continue;
    merges.push([a, b]);
    if (!tokens.includes(a + b)) tokens.push(a + b);
  }
  merges.push(merges[3] as string[]);
  const vocab: Record<string, number> = {};
  for (const t of ['<unk>', ...(options.byteFallback ? BYTES : []), ...tokens]) vocab[t] ??= Object.keys(vocab).length;
  return {
    version: '1.0',
    added_tokens: [{ id: 0, content: '<unk>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: options.gemmaStyle ? { type: 'Replace', pattern: { String: ' ' }, content: '▁' } : null,
    pre_tokenizer: options.gemmaStyle ? { type: 'Split', pattern: { String: ' ' }, behavior: 'MergedWithPrevious', invert: false } : null,
    post_processor: null,
    decoder: null,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: options.gemmaStyle,
      byte_fallback: options.byteFallback,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}

const VARIANTS = {
  'unknown characters as the unknown token': { byteFallback: false, gemmaStyle: false },
  'byte fallback': { byteFallback: true, gemmaStyle: false },
  'Gemma 3 style: spaces as ▁, whole sections merged, byte fallback, fused unknowns': { byteFallback: true, gemmaStyle: true },
};

// Mostly the alphabet, so merges meet and compete; now and then a character outside it.
const text = fc
  .array(fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...ALPHABET, ' ') }, { weight: 1, arbitrary: fc.constantFrom('x', '合', '\uD800', '👍🏽', '<unk>') }), { maxLength: 60 })
  .map((parts) => parts.join(''));

type Model = { encode(tokens: string[]): string[] };

describe('bpeCounter', () => {
  it.each(Object.entries(VARIANTS))('%s: gives as many tokens as the port merges a piece into (property)', (_name, options) => {
    const hf = new Tokenizer(richBpeJson(options), {});
    const model = (hf as unknown as { model: Model }).model;
    const count = bpeCounter(model);
    expect(count).toBeDefined();
    fc.assert(
      fc.property(text, (piece) => {
        expect(count?.(piece)).toBe(model.encode([piece]).length);
      }),
      { numRuns: 500 },
    );
  });

  it.each(Object.entries(VARIANTS))('%s: the counter built on it counts what the port encodes (property)', (_name, options) => {
    const hf = new Tokenizer(richBpeJson(options), {});
    const count = fastHfCounter(hf);
    expect(count).toBeDefined();
    fc.assert(
      fc.property(text, (t) => {
        expect(count?.(t)).toBe(hf.encode(t, { add_special_tokens: false }).ids.length);
      }),
      { numRuns: 300 },
    );
  });

  it('declines a model whose merges make a token outside its vocabulary, or that adds suffixes to words', () => {
    const json = richBpeJson({ byteFallback: false, gemmaStyle: false }) as { model: { vocab: Record<string, number>; merges: string[][]; end_of_word_suffix: string | null } };
    const [a, b] = json.model.merges[0] as string[];
    const model = new Tokenizer(json, {}) as unknown as { model: { tokens_to_ids: Map<string, number>; end_of_word_suffix: string | null } };
    model.model.tokens_to_ids.delete(`${a}${b}`);
    expect(bpeCounter(model.model)).toBeUndefined();
    const suffixed = new Tokenizer(richBpeJson({ byteFallback: false, gemmaStyle: false }), {}) as unknown as { model: { end_of_word_suffix: string } };
    suffixed.model.end_of_word_suffix = '</w>';
    expect(bpeCounter(suffixed.model)).toBeUndefined();
    expect(bpeCounter({})).toBeUndefined();
  });

  it('says a piece can never give the unknown token only with a byte token for every byte', () => {
    const added = new Map([['<unk>', {}]]);
    const model = (options: { byteFallback: boolean; gemmaStyle: boolean }) => (new Tokenizer(richBpeJson(options), {}) as unknown as { model: { tokens_to_ids: Map<string, number> } }).model;
    expect(neverUnknown(model({ byteFallback: true, gemmaStyle: true }), added)).toBe(true);
    expect(neverUnknown(model({ byteFallback: false, gemmaStyle: true }), added)).toBe(false);
    // The unknown token's text not split off as an added token: a piece could spell it.
    expect(neverUnknown(model({ byteFallback: true, gemmaStyle: true }), new Map())).toBe(false);
    const missing = model({ byteFallback: true, gemmaStyle: true });
    missing.tokens_to_ids.delete('<0x80>');
    expect(neverUnknown(missing, added)).toBe(false);
  });
});
