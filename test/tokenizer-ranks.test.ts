import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it, vi } from 'vitest';
import { ranksFromTiktoken } from '../src/tokenizers/index.js';

const require = createRequire(import.meta.url);

describe('ranksFromTiktoken', () => {
  // The OpenAI tokenizers are built from gpt-tokenizer's .tiktoken files instead of its encoding
  // modules (less memory per thread): the ranks must be the modules' own, entry for entry.
  for (const encoding of ['o200k_base', 'cl100k_base'] as const) {
    it(`reads ${encoding}'s rank file into exactly the ranks gpt-tokenizer's module holds`, async () => {
      const fromFile = ranksFromTiktoken(readFileSync(require.resolve(`gpt-tokenizer/data/${encoding}.tiktoken`), 'latin1'));
      const fromModule = ((await import(`gpt-tokenizer/bpeRanks/${encoding}`)) as { default: Array<string | number[]> }).default;
      expect(fromFile.length).toBe(fromModule.length);
      let differing = 0;
      for (let rank = 0; rank < fromModule.length; rank++) {
        const a = fromFile[rank];
        const b = fromModule[rank];
        if (typeof a === 'string' ? a !== b : JSON.stringify(a) !== JSON.stringify(b)) differing++;
      }
      expect(differing).toBe(0);
      // Both kinds occur: tokens that are not valid UTF-8, or start with a byte-order mark, are bytes.
      expect(fromFile.some((t) => Array.isArray(t) && t[0] === 0xef && t[1] === 0xbb && t[2] === 0xbf)).toBe(true);
      expect(fromFile.filter((t) => typeof t === 'string').length).toBeGreaterThan(fromFile.length * 0.9);
    });
  }
});

describe('loading the OpenAI encodings', () => {
  it('falls back to gpt-tokenizer\'s encoding module, same counts, when its rank file layout is not there', async () => {
    const text = 'Clause 4.2: the lessee’s liability is capped at €1,000,000 — see 合同 §7.';
    const normal = await (await import('../src/tokenizers/index.js')).loadTokenizer('o200k_base');
    vi.resetModules();
    vi.doMock('gpt-tokenizer/GptEncoding', () => {
      throw new Error('moved');
    });
    try {
      const { loadTokenizer } = await import('../src/tokenizers/index.js');
      const fallback = await loadTokenizer('o200k_base');
      expect(fallback.count(text)).toBe(normal.count(text));
      expect(fallback.count(text)).toBeGreaterThan(10);
    } finally {
      vi.doUnmock('gpt-tokenizer/GptEncoding');
      vi.resetModules();
    }
  });
});
