import { Tokenizer } from '@huggingface/tokenizers';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bpeCounter, neverUnknown } from '../src/tokenizers/_bpe.js';
import { fastHfCounter, wordCuts } from '../src/tokenizers/_hf-count.js';
import { ALPHABET, richBpeJson } from './helpers/rich-bpe.js';

const VARIANTS = {
  'unknown characters as the unknown token': { byteFallback: false, gemmaStyle: false },
  'byte fallback': { byteFallback: true, gemmaStyle: false },
  'Gemma 3 style: spaces as ▁, whole sections merged, byte fallback, fused unknowns': { byteFallback: true, gemmaStyle: true },
  'Gemma 3 style with SentencePiece words (▁ only leading, but in one token): counted word by word': { byteFallback: true, gemmaStyle: true, words: true },
};

// Mostly the alphabet, so merges meet and compete; now and then a character outside it, or the
// spelling of the words variant's one token with ▁ inside (which no cut may split).
const text = fc
  .array(
    fc.oneof(
      { weight: 12, arbitrary: fc.constantFrom(...ALPHABET, ' ') },
      { weight: 1, arbitrary: fc.constantFrom('x', '合', '\uD800', '👍🏽', '<unk>') },
      { weight: 1, arbitrary: fc.constantFrom('cbé😀béc▁bé😀a😀', 'cbé😀béc bé😀a😀', 'c▁') },
    ),
    { maxLength: 60 },
  )
  .map((parts) => parts.join(''));

type Model = { encode(tokens: string[]): string[] };

describe('wordCuts', () => {
  it('names the characters a ▁ follows inside some token, and nothing for a vocabulary without ▁', () => {
    const vocab = (options: { byteFallback: boolean; gemmaStyle: boolean; words?: boolean }) =>
      (new Tokenizer(richBpeJson(options), {}) as unknown as { model: { tokens_to_ids: Map<string, number> } }).model.tokens_to_ids;
    const words = vocab({ byteFallback: true, gemmaStyle: true, words: true });
    // The SentencePiece-style vocabulary: ▁ starts tokens, and one token has 'c▁' inside.
    expect([...words.keys()].filter((t) => t.startsWith('▁') && t.length > 1).length).toBeGreaterThan(3);
    expect([...(wordCuts(words) ?? [])].map((c) => String.fromCharCode(c))).toEqual(['c']);
    expect((wordCuts(vocab({ byteFallback: true, gemmaStyle: true }))?.size ?? 0) > 1).toBe(true);
    expect(wordCuts(new Map([['Ġthe', 1], ['a', 2]]))).toBeUndefined();
  });
});

describe('fastHfCounter on SentencePiece words with ignore_merges', () => {
  it('counts a word the merges never make as the port does, inside a longer piece and alone (property)', () => {
    const json = richBpeJson({ byteFallback: true, gemmaStyle: true, words: true, ignoreMerges: true });
    const hf = new Tokenizer(json, {});
    const count = fastHfCounter(hf);
    expect(count).toBeDefined();
    const piece = fc.array(fc.constantFrom(...ALPHABET, ' ', ' cab', 'cab', 'é '), { maxLength: 12 }).map((parts) => parts.join(''));
    fc.assert(
      fc.property(piece, (t) => {
        expect(count?.(t)).toBe(hf.encode(t, { add_special_tokens: false }).ids.length);
      }),
      { numRuns: 400 },
    );
    // Alone, ' cab' is the one token '▁cab'; inside a longer piece the merges make it.
    expect(hf.encode(' cab', { add_special_tokens: false }).ids.length).toBe(1);
    expect(hf.encode('a cab', { add_special_tokens: false }).ids.length).toBeGreaterThan(2);
  });
});

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
