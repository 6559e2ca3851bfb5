import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mergeTable } from '../src/tokenizers/_bpe.js';
import { buildLean, dropBuildTables } from '../src/tokenizers/_slim.js';
import { loadTokenizer } from '../src/tokenizers/index.js';
import { byteLevelJson, LLAMA3_PRE_TOKENIZER } from './helpers/byte-level-bpe.js';
import { ALPHABET, richBpeJson } from './helpers/rich-bpe.js';

type Parts = { model: { merges: unknown[]; bpe_ranks: Map<string, number>; config: { vocab?: unknown; merges?: unknown } }; tokenizer: { model: { vocab?: unknown; merges?: unknown } } };

describe('dropBuildTables', () => {
  it('lets go of the merge list and vocabulary it was built from, and encodes and decodes any text as before (property)', () => {
    const json = byteLevelJson(LLAMA3_PRE_TOKENIZER);
    const untouched = new Tokenizer(byteLevelJson(LLAMA3_PRE_TOKENIZER), {});
    const hf = new Tokenizer(json, {});
    expect(dropBuildTables(hf)).toBe(true);
    const parts = hf as unknown as Parts;
    expect(parts.model.merges).toEqual([]);
    expect(parts.model.config.vocab).toBeUndefined();
    expect(parts.model.config.merges).toBeUndefined();
    expect(parts.tokenizer.model.vocab).toBeUndefined();
    // The tables encoding reads stay.
    expect(parts.model.bpe_ranks.size).toBeGreaterThan(0);
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (text) => {
        const ids = untouched.encode(text, { add_special_tokens: false }).ids;
        expect(hf.encode(text, { add_special_tokens: false }).ids).toEqual(ids);
        if (ids.length > 0) expect(hf.decode(ids, { skip_special_tokens: false })).toBe(untouched.decode(ids, { skip_special_tokens: false }));
      }),
      { numRuns: 200 },
    );
  });

  it('given the merges as a table, lets go of the map of merges too, and encodes any text as before (property)', () => {
    const json = byteLevelJson(LLAMA3_PRE_TOKENIZER);
    const untouched = new Tokenizer(byteLevelJson(LLAMA3_PRE_TOKENIZER), {});
    const hf = new Tokenizer(json, {});
    const parts = hf as unknown as Parts;
    const table = mergeTable(parts.model);
    expect(table).toBeDefined();
    expect(dropBuildTables(hf, table)).toBe(true);
    expect(parts.model.bpe_ranks.size).toBe(0);
    fc.assert(
      fc.property(fc.array(fc.constantFrom(' the', 'the', 'he', ' t', 'é', 'x', ' world', '😀', '\n'), { maxLength: 20 }), (words) => {
        const text = words.join('');
        expect(hf.encode(text, { add_special_tokens: false }).ids).toEqual(untouched.encode(text, { add_special_tokens: false }).ids);
      }),
      { numRuns: 200 },
    );
  });

  it('keeps the map of merges where the table would merge otherwise', () => {
    const hf = new Tokenizer(byteLevelJson(LLAMA3_PRE_TOKENIZER), {});
    const parts = hf as unknown as Parts;
    const table = mergeTable(parts.model);
    expect(table).toBeDefined();
    // A table that knows no merge: the self-check text would come out in single bytes.
    const empty = { ...table!, find: () => -1 };
    const ranks = parts.model.bpe_ranks;
    expect(dropBuildTables(hf, empty)).toBe(true);
    expect(parts.model.bpe_ranks).toBe(ranks);
    expect(hf.encode(' the', { add_special_tokens: false }).ids).toHaveLength(1);
  });

  it('keeps them where encoding reads them', () => {
    const hf = new Tokenizer(byteLevelJson(LLAMA3_PRE_TOKENIZER), {});
    const parts = hf as unknown as Parts & { encode: (text: string, o: object) => { ids: number[] } };
    const encode = parts.encode.bind(hf);
    // An encoder that reads the merge list: without it, it would give other ids.
    parts.encode = (text, o) => ({ ids: [...encode(text, o).ids, parts.model.merges.length] });
    const merges = parts.model.merges;
    const vocab = parts.model.config.vocab;
    expect(dropBuildTables(hf)).toBe(false);
    expect(parts.model.merges).toBe(merges);
    expect(parts.model.config.vocab).toBe(vocab);
  });

  it('leaves what is not a BPE tokenizer of the port alone', () => {
    expect(dropBuildTables({})).toBe(false);
    expect(dropBuildTables({ model: { merges: [], bpe_ranks: {} } })).toBe(false);
  });

  it('leaves a folder tokenizer counting, encoding and decoding as the port does', async () => {
    const dir = 'fixtures/tokenizers/tiny-chatml';
    const tok = await loadTokenizer(dir);
    const read = (name: string) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as object;
    const untouched = new Tokenizer(read('tokenizer.json'), read('tokenizer_config.json'));
    for (const text of ['hello world, how are you', '<|im_start|>user\nhello<|im_end|>', 'é 😀 12345']) {
      const ids = untouched.encode(text, { add_special_tokens: false }).ids;
      expect(tok.encode(text)).toEqual(ids);
      expect(tok.count(text)).toBe(ids.length);
      expect(tok.decode(ids)).toBe(untouched.decode(ids, { skip_special_tokens: false }));
    }
  });
});

describe('buildLean', () => {
  const shapes = {
    'merges that compete, unknown characters as the unknown token': () => richBpeJson({ byteFallback: false, gemmaStyle: false }),
    'merges that compete, Gemma 3 style': () => richBpeJson({ byteFallback: true, gemmaStyle: true }),
    'Llama 3 style byte-level BPE': () => byteLevelJson(LLAMA3_PRE_TOKENIZER),
  };

  it.each(Object.entries(shapes))('%s: builds the model without its map of merges, and it encodes any text as the port built its own way (property)', (_name, json) => {
    const usual = new Tokenizer(json(), {});
    const { tokenizer, table } = buildLean(json(), {});
    expect(table).toBeDefined();
    expect((tokenizer as unknown as Parts).model.bpe_ranks.size).toBe(0);
    const text = fc.array(fc.constantFrom(...ALPHABET, ' ', ' the', 'he', 'x', '合'), { maxLength: 40 }).map((parts) => parts.join(''));
    fc.assert(
      fc.property(text, (t) => {
        expect(tokenizer.encode(t, { add_special_tokens: false }).ids).toEqual(usual.encode(t, { add_special_tokens: false }).ids);
      }),
      { numRuns: 300 },
    );
  });

  it('lets the port build a model whose merges it cannot hold as a table', () => {
    const json = richBpeJson({ byteFallback: false, gemmaStyle: false }) as { model: { vocab: Record<string, number>; merges: string[][] } };
    // A merge whose result is not in the vocabulary.
    const [a, b] = json.model.merges[0] as string[];
    delete json.model.vocab[`${a}${b}`];
    const { tokenizer, table } = buildLean(json, {});
    expect(table).toBeUndefined();
    expect((tokenizer as unknown as Parts).model.bpe_ranks.size).toBeGreaterThan(0);
  });
});
