/**
 * A BPE tokenizer.json with many merges that compete for the same characters, for tests of the
 * counting and merging paths against the port's own.
 */

/** The characters its merges are made of. */
export const ALPHABET = ['a', 'b', 'c', '▁', 'é', '😀'];

const BYTES = Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);

/**
 * A BPE tokenizer.json with many merges that compete for the same characters: merges of random
 * pairs of tokens made so far (a small PRNG, so the same every run), one pair listed twice. With
 * `words`, ▁ starts words as in SentencePiece: no token has it inside, but one (`…c▁…`).
 */
export function richBpeJson(options: { byteFallback: boolean; gemmaStyle: boolean; words?: boolean; ignoreMerges?: boolean }): object {
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
    // SentencePiece words: ▁ only at a token's start, but for one token with 'c▁' inside (as
    // Gemma 3 has `>▁</`).
    if (options.words && /[^▁]▁/.test(a + b)) {
      if (!/^[^▁]*c▁/.test(a + b) || merges.some(([x, y]) => /[^▁]▁/.test(`${x}${y}`))) continue;
    }
    merges.push([a, b]);
    if (!tokens.includes(a + b)) tokens.push(a + b);
  }
  merges.push(merges[3] as string[]);
  const vocab: Record<string, number> = {};
  // With `ignoreMerges`, a word the merges never make: one token when it is a whole piece alone.
  const unmade = options.ignoreMerges ? ['▁cab', 'é▁'] : [];
  for (const t of ['<unk>', ...(options.byteFallback ? BYTES : []), ...tokens, ...unmade]) vocab[t] ??= Object.keys(vocab).length;
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
      ignore_merges: options.ignoreMerges === true,
      vocab,
      merges,
    },
  };
}

