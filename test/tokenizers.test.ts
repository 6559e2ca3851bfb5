import { Tiktoken } from 'js-tiktoken/lite';
import cl100k from 'js-tiktoken/ranks/cl100k_base';
import o200k from 'js-tiktoken/ranks/o200k_base';
import { describe, expect, it } from 'vitest';
import { loadTokenizer, openAiEncodingFor } from '../src/tokenizers/index.js';
import type { Message } from '../src/types.js';

// js-tiktoken is the oracle: the engine we ship must give the same ids and counts.
const oracles = { o200k_base: new Tiktoken(o200k), cl100k_base: new Tiktoken(cl100k) };

const SAMPLES = [
  '',
  'What is the difference between EBITDA and operating income?',
  'Net income rose 12% to €4.2bn — “strong” quarter; see § 4(b).',
  'Pt. received 250 µg ± 5 °C ≥ 3× daily 👩‍⚕️🏥',
  '合同法第五十二条规定的无效合同',
  'عقد الإيجار',
  'e\u0301 NFD text',
  'x'.repeat(5000),
  'Literal <|endoftext|> and <|im_start|> in user data',
  '  leading and trailing spaces\n\n\ttabs  ',
];

describe.each(['o200k_base', 'cl100k_base'] as const)('%s', (name) => {
  it('gives the same ids as js-tiktoken, counting special-token text as plain text', async () => {
    const tok = await loadTokenizer(name);
    for (const s of SAMPLES) {
      const expected = oracles[name].encode(s, [], []);
      expect(tok.encode(s)).toEqual(expected);
      expect(tok.count(s)).toBe(expected.length);
    }
  });

  it("counts a chat by OpenAI's published formula", async () => {
    const tok = await loadTokenizer(name);
    const messages: Message[] = [
      { role: 'system', content: 'You are a careful analyst.' },
      { role: 'user', content: 'Explain <|endoftext|> please', name: 'ana' },
      { role: 'assistant', content: 'It is a control token.' },
    ];
    const o = oracles[name];
    let expected = 3; // reply priming
    for (const m of messages) {
      expected += 3 + o.encode(m.role, [], []).length + o.encode(m.content, [], []).length;
      if (m.name) expected += 1 + o.encode(m.name, [], []).length;
    }
    expect(tok.countMessages(messages)).toBe(expected);
  });
});

describe('tokenizer names', () => {
  it.each([
    ['gpt-4o', 'o200k_base'],
    ['gpt-4o-mini-2024-07-18', 'o200k_base'],
    ['gpt-4.1-nano', 'o200k_base'],
    ['o3-mini', 'o200k_base'],
    ['gpt-4', 'cl100k_base'],
    ['gpt-3.5-turbo-0125', 'cl100k_base'],
    ['CL100K_BASE', 'cl100k_base'],
    ['llama-3', undefined],
  ])('%s → %s', (spec, encoding) => {
    expect(openAiEncodingFor(spec)).toBe(encoding);
  });

  it('throws TOKENIZER_UNAVAILABLE for an unknown name, saying what works', async () => {
    await expect(loadTokenizer('bert')).rejects.toMatchObject({ code: 'TOKENIZER_UNAVAILABLE', message: expect.stringMatching(/o200k_base/) });
  });
});
