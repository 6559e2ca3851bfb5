import { Tokenizer } from '@huggingface/tokenizers';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fasterByteLevel } from '../src/tokenizers/_byte-level.js';
import { fastHfCounter, STREAMED_CHARS } from '../src/tokenizers/_hf-count.js';
import { loadTokenizer } from '../src/tokenizers/index.js';
import { byteLevelJson, LLAMA3_PRE_TOKENIZER } from './helpers/byte-level-bpe.js';

const added = (id: number, content: string, extra: Record<string, unknown> = {}) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true, ...extra });

// Chat markers as Llama 3 has them, one that eats the spaces around it, and one matched after normalising.
const ADDED_TOKENS = [
  added(300, '<|start_header_id|>'),
  added(301, '<|end_header_id|>'),
  added(302, '<|eot_id|>'),
  added(303, '<|begin_of_text|>'),
  added(304, '<mask>', { lstrip: true, rstrip: true }),
  added(305, '<|start|>'),
  added(306, 'hello', { normalized: true, special: false }),
];

const TOKENIZERS: Record<string, object> = {
  'Llama 3 style (Split, then ByteLevel), added tokens': byteLevelJson(LLAMA3_PRE_TOKENIZER, { addedTokens: ADDED_TOKENS, model: { ignore_merges: true } }),
  // Qwen 2/3's split (one digit a piece), merges for every piece: the ASCII scanner, no tokens known in advance.
  'Qwen style (Split, then ByteLevel), merges always': byteLevelJson(
    { ...LLAMA3_PRE_TOKENIZER, pretokenizers: [{ ...(LLAMA3_PRE_TOKENIZER.pretokenizers[0] as object), pattern: { Regex: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" } }, LLAMA3_PRE_TOKENIZER.pretokenizers[1] as object] },
    { addedTokens: ADDED_TOKENS },
  ),
  'GPT-2 style (ByteLevel with its regex, a prefix space)': byteLevelJson({ type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true }, { addedTokens: ADDED_TOKENS }),
  'a normalizer, and an added token matched after it': byteLevelJson(LLAMA3_PRE_TOKENIZER, { addedTokens: ADDED_TOKENS, normalizer: { type: 'Lowercase' } }),
  // No token is matched after normalising, yet a text that normalises to one's spelling is that token.
  'a normalizer, added tokens matched before it only': byteLevelJson(LLAMA3_PRE_TOKENIZER, { addedTokens: ADDED_TOKENS.slice(0, -1), normalizer: { type: 'Lowercase' } }),
  // A Split on a string leaves text between its matches: the library's own split is used there.
  'a Split that leaves gaps': byteLevelJson(
    { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { String: ' ' }, behavior: 'Isolated', invert: false }, { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false }] },
    { addedTokens: ADDED_TOKENS },
  ),
  'no pre-tokenizer': byteLevelJson(null as unknown as object, { addedTokens: ADDED_TOKENS }),
  // DeepSeek-V3's shape: digits, then CJK runs split off with the text between kept, then the
  // words, then bytes; and a Split whose regex also matches the empty string.
  'DeepSeek-V3 style (Splits that leave gaps, then ByteLevel)': byteLevelJson(
    {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: '\\p{N}{1,3}' }, behavior: 'Isolated', invert: false },
        { type: 'Split', pattern: { Regex: '[一-龥぀-ゟ゠-ヿ]+' }, behavior: 'Isolated', invert: false },
        (LLAMA3_PRE_TOKENIZER as { pretokenizers: object[] }).pretokenizers[0] as object,
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    { addedTokens: ADDED_TOKENS },
  ),
  'a Split whose regex matches the empty string': byteLevelJson(
    { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: 'e*' }, behavior: 'Isolated', invert: false }, { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false }] },
    { addedTokens: ADDED_TOKENS },
  ),
};

const libraryCount = (hf: Tokenizer, text: string) => hf.encode(text, { add_special_tokens: false }).ids.length;

/** The port's own tokenizer, and the fast counter over a second one built from the same file. */
function counterAndLibrary(json: object): { library: Tokenizer; count: (text: string) => number } {
  const library = new Tokenizer(json, {});
  const hf = new Tokenizer(json, {});
  fasterByteLevel(hf);
  const count = fastHfCounter(hf);
  expect(count).toBeDefined();
  return { library, count: count as (text: string) => number };
}

describe('fastHfCounter', () => {
  it.each(Object.entries(TOKENIZERS))('%s: counts what the library encodes, on any text (property)', (_name, json) => {
    const { library, count } = counterAndLibrary(json);
    const part = fc.oneof(
      fc.constantFrom(...ADDED_TOKENS.map((t) => t.content), 'HELLO', '<MASK>', '<|EOT_ID|>', ' world', ' the', 'the', "it's", 'é', ' é', '  ', '\n\n', '\t', '\r\n', '12345', '合同', '😀', '\uD800', '\u00a0', '<|', '|>'),
      fc.string({ unit: 'grapheme-ascii', maxLength: 10 }),
      fc.string({ unit: 'binary', maxLength: 6 }),
    );
    fc.assert(
      fc.property(fc.array(part, { maxLength: 25 }), (parts) => {
        const text = parts.join('');
        // Twice: the second count comes from the counter's own map of pieces.
        expect(count?.(text)).toBe(libraryCount(library, text));
        expect(count?.(text)).toBe(libraryCount(library, text));
      }),
      { numRuns: 300 },
    );
  });

  it.each(Object.entries(TOKENIZERS))('%s: counts texts that share sections at the same places as the library does, in any order (property)', (_name, json) => {
    const { library, count } = counterAndLibrary(json);
    // Few sections, so texts counted one after another share some at the same place and differ
    // in others, as a chat and its prompt do, or rows with one system prompt.
    const section = fc.constantFrom('\n\nhello world', ' the cat', 'hello', '  ', '', "it's 12345", '\n\n', ' é 😀');
    const marker = fc.constantFrom('<|start_header_id|>', '<|eot_id|>', '<mask>', '<|start|>');
    const text = fc.array(fc.tuple(section, marker), { maxLength: 6 }).map((pairs) => pairs.flat().join(''));
    fc.assert(
      fc.property(fc.array(text, { minLength: 2, maxLength: 8 }), (texts) => {
        for (const t of texts) expect(count?.(t)).toBe(libraryCount(library, t));
      }),
      { numRuns: 200 },
    );
  });

  it.each(Object.entries(TOKENIZERS))('%s: counts sections long enough to be split as matches are found as the library does (property)', (_name, json) => {
    const { library, count } = counterAndLibrary(json);
    // A long section (of STREAMED_CHARS or more) between added tokens, from a few random parts
    // repeated: words, spaces and newlines, other scripts, surrogate pairs, lone surrogates.
    const part = fc.oneof(fc.constantFrom(' the', 'word', '  ', '\n\n', "it's", '12345', '合同', '😀', '\uD800', ' é', '\u00a0'), fc.string({ unit: 'binary', maxLength: 8 }));
    const long = fc.array(part, { minLength: 1, maxLength: 12 }).map((parts) => {
      const unit = parts.join('') || 'x';
      return unit.repeat(Math.ceil(STREAMED_CHARS / unit.length) + 1);
    });
    fc.assert(
      fc.property(long, fc.constantFrom('', '<|eot_id|>', 'hello'), (text, after) => {
        const t = `${text}${after}${text.slice(0, 100)}`;
        expect(count?.(t)).toBe(libraryCount(library, t));
      }),
      { numRuns: 12 },
    );
  });

  it('counts only the sections that differ from the text counted before it', () => {
    const json = TOKENIZERS['a normalizer, added tokens matched before it only'] as object;
    const hf = new Tokenizer(json, {});
    const parts = hf as unknown as { normalizer: (text: string) => string };
    const normalize = parts.normalizer;
    const seen: string[] = [];
    parts.normalizer = (text) => {
      seen.push(text);
      return normalize(text);
    };
    const count = fastHfCounter(hf);
    expect(count).toBeDefined();
    const library = new Tokenizer(json, {});
    const head = '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are careful.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWhat is due?<|eot_id|><|start_header_id|>assistant<|end_header_id|>';
    const chat = `${head}\n\nThe rent.<|eot_id|>`;
    const prompt = `${head}\n\n`;
    seen.length = 0;
    expect(count?.(chat)).toBe(libraryCount(library, chat));
    expect(seen).toHaveLength(6);
    seen.length = 0;
    expect(count?.(prompt)).toBe(libraryCount(library, prompt));
    // The prompt's sections before the answer's place were all counted with the chat.
    expect(seen).toEqual(['\n\n']);
    // The next row: the same system prompt, another question.
    const next = chat.replace('What is due?', 'When?');
    seen.length = 0;
    expect(count?.(next)).toBe(libraryCount(library, next));
    expect(seen).toEqual(['\n\nWhen?', '\n\nThe rent.']);
  });

  it('declines a tokenizer built otherwise, and one whose parts count otherwise than its encode', () => {
    // Unknown tokens fused across pieces: counts would not add up piece by piece.
    const fused = new Tokenizer(byteLevelJson(LLAMA3_PRE_TOKENIZER, { model: { fuse_unk: true } }), {});
    expect(fastHfCounter(fused)).toBeUndefined();
    expect(fastHfCounter({})).toBeUndefined();
    // A model whose encode disagrees with the tokenizer's: the self-check finds it out.
    const odd = new Tokenizer(byteLevelJson(LLAMA3_PRE_TOKENIZER), {}) as unknown as { model: { encode: (t: string[]) => string[] } };
    const encode = odd.model.encode.bind(odd.model);
    odd.model.encode = (tokens) => [...encode(tokens), 'x'];
    const sabotaged = Object.assign(Object.create(Object.getPrototypeOf(odd) as object) as object, odd, {
      encode: (text: string) => ({ ids: new Array<number>(text.length).fill(0) }),
    });
    expect(fastHfCounter(sabotaged)).toBeUndefined();
  });

  it('gives loadTokenizer the counts of encoding, on a folder tokenizer', async () => {
    const tok = await loadTokenizer('fixtures/tokenizers/tiny-chatml');
    const chat = [
      { role: 'user' as const, content: 'hello world, how are you' },
      { role: 'assistant' as const, content: 'fine thanks hello' },
    ];
    for (const text of ['hello world', '<|im_start|>user\nhello<|im_end|>', '']) expect(tok.count(text)).toBe(tok.encode(text).length);
    expect(tok.measure(chat).total).toBe(tok.countMessages(chat));
  });
});
