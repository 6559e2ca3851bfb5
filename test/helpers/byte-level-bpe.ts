/**
 * Tiny byte-level BPE tokenizers (GPT-2 style, as Llama 3, Qwen and DeepSeek ship them) for tests
 * of the faster counting paths: every byte, a few merges, the pre-tokenizer given.
 */

/** GPT-2's byte-to-character table, as byte-level BPE vocabularies spell bytes. */
export function byteChars(): string[] {
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

/** A tokenizer.json of a small byte-level BPE tokenizer: every byte, a few merges, the parts given. */
export function byteLevelJson(preTokenizer: object, parts: { addedTokens?: object[]; normalizer?: object | null; model?: object } = {}): object {
  const vocab: Record<string, number> = {};
  byteChars().forEach((c, b) => (vocab[c] = b));
  // 'Ġworld' no merge makes: one token only where a model takes whole words from the vocabulary (ignore_merges).
  Object.assign(vocab, { 'Ġt': 256, he: 257, 'Ġthe': 258, 'Ã©': 259, 'Ġworld': 260 });
  return {
    version: '1.0',
    added_tokens: parts.addedTokens ?? [],
    normalizer: parts.normalizer ?? null,
    pre_tokenizer: preTokenizer,
    post_processor: null,
    decoder: { type: 'ByteLevel' },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: ['Ġ t', 'h e', 'Ġt he', 'Ã ©'],
      ...parts.model,
    },
  };
}

/** Llama 3's pre-tokenizer: a Split regex, then ByteLevel without its own. */
export const LLAMA3_PRE_TOKENIZER = {
  type: 'Sequence',
  pretokenizers: [
    { type: 'Split', pattern: { Regex: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" }, behavior: 'Isolated', invert: false },
    { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
  ],
};
