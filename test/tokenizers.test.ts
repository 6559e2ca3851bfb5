import { Tiktoken } from 'js-tiktoken/lite';
import cl100k from 'js-tiktoken/ranks/cl100k_base';
import o200k from 'js-tiktoken/ranks/o200k_base';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fastCounter, mergedCount } from '../src/tokenizers/_count.js';
import { loadTokenizer, openAiEncoding, openAiEncodingFor } from '../src/tokenizers/index.js';
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
  // Over 64 Ki characters: counted one piece at a time rather than split in one call.
  Array.from({ length: 2500 }, (_, i) => `Clause ${i}: the lessee's deposit of €${i * 37}.50 — 合同第${i}条 xqzv${i % 13}\n`).join(''),
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

  it('counts text holding U+FEFF (a byte-order mark inside the text) as js-tiktoken does', async () => {
    const tok = await loadTokenizer(name);
    const fixed = ['\uFEFF', '\uFEFFusing System;', 'a\uFEFF#b', 'line one\n\uFEFF{"id":1}', '\uFEFF\uFEFF\uFEFF', 'x \uFEFF y \uFEFFz 合同\uFEFF'];
    for (const text of fixed) expect(tok.count(text), JSON.stringify(text)).toBe(oracles[name].encode(text, [], []).length);
    const part = fc.oneof(fc.constantFrom('\uFEFF', '\uFEFFusing', '\uFEFF#', ' ', '\n', 'the', 'xqz', '合同', '12'), fc.string({ unit: 'grapheme', maxLength: 6 }));
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 20 }), (parts) => {
        const text = `${parts.join('')}\uFEFF`;
        expect(tok.count(text)).toBe(oracles[name].encode(text, [], []).length);
      }),
      { numRuns: 300 },
    );
  });

  it('counts any text as js-tiktoken does, again from its cache of merged pieces (property)', async () => {
    // The direct counter is in use with the gpt-tokenizer installed, so this tests it.
    const api = await openAiEncoding(name);
    expect(fastCounter(api, (text) => api.countTokens(text, { disallowedSpecial: new Set() }))).toBeTypeOf('function');
    const tok = await loadTokenizer(name);
    // Words in and out of the vocabulary, numbers, punctuation, spacing, other scripts, emoji and
    // lone surrogates, in any order.
    const part = fc.oneof(
      fc.constantFrom('the', ' income', "n't", 'EBITDA', 'xqzvjk', 'Überweisung', '12345', '3.14', '$', '…', '  ', '\n\n', '\t', '合同', 'عقد', '👩‍⚕️', '\uD800', '<|endoftext|>'),
      fc.string({ unit: 'grapheme', maxLength: 12 }),
      fc.string({ unit: 'binary', maxLength: 6 }),
    );
    fc.assert(
      fc.property(fc.array(part, { maxLength: 30 }), (parts) => {
        const text = parts.join('');
        const expected = oracles[name].encode(text, [], []).length;
        expect(tok.count(text)).toBe(expected);
        expect(tok.count(text)).toBe(expected);
      }),
      { numRuns: 300 },
    );
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

  it('measures chats one after another as each alone, where they share contents at some places (property)', async () => {
    const tok = await loadTokenizer(name);
    const o = oracles[name];
    const tokens = (text: string) => o.encode(text, [], []).length;
    // Few contents, so chats in a row share some at the same place (a system prompt) and not others;
    // two of them as long as each other.
    const content = fc.constantFrom('You are a careful analyst.', 'What is due?', 'Explain all.', 'The rent.', '', 'x'.repeat(300), 'Explain <|endoftext|>');
    const role = fc.constantFrom<Message['role']>('system', 'user', 'assistant');
    const chat = fc.array(fc.record({ role, content }), { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(fc.array(chat, { minLength: 2, maxLength: 6 }), (chats) => {
        for (const messages of chats) {
          const last = messages.length - 1;
          let total = 3;
          let prompt = 3;
          for (const [i, m] of messages.entries()) {
            const n = 3 + tokens(m.role) + tokens(m.content);
            total += n;
            prompt += i === last && m.role === 'assistant' ? n - tokens(m.content) : n;
          }
          expect(tok.measure(messages)).toEqual({ total, prompt });
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe('tokenizer names', () => {
  it.each([
    ['gpt-4o', 'o200k_base'],
    ['gpt-4o-mini-2024-07-18', 'o200k_base'],
    ['gpt-4.1-nano', 'o200k_base'],
    ['o3-mini', 'o200k_base'],
    ['o1', 'o200k_base'],
    ['o4-mini-2025-04-16', 'o200k_base'],
    // Not OpenAI model names, though they start like one.
    ['o300k', undefined],
    ['o1x', undefined],
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

describe('mergedCount (long pieces)', () => {
  type Core = { bytePairMerge(piece: Uint8Array): unknown[]; getBpeRankFromBytes(b: Uint8Array): number | undefined };
  const encoder = new TextEncoder();

  it.each(['o200k_base', 'cl100k_base'] as const)("%s: leaves as many tokens as gpt-tokenizer's own merge, on any bytes (property)", async (name) => {
    const core = (await openAiEncoding(name) as unknown as { bytePairEncodingCoreProcessor: Core }).bytePairEncodingCoreProcessor;
    const rankOf = (b: Uint8Array) => core.getBpeRankFromBytes(b);
    const piece = fc.oneof(
      fc.string({ unit: fc.constantFrom('A', 'C', 'G', 'T'), maxLength: 700 }),
      fc.string({ unit: fc.constantFrom('x', 'y', 'xy', 'ab'), maxLength: 700 }),
      fc.string({ unit: 'grapheme', maxLength: 200 }),
      fc.string({ unit: fc.constantFrom('é', '合', '😀', 'z', '='), maxLength: 400 }),
    );
    fc.assert(
      fc.property(piece, (text) => {
        const bytes = encoder.encode(text);
        expect(mergedCount(bytes, rankOf)).toBe(core.bytePairMerge(bytes).length);
      }),
      { numRuns: 150 },
    );
  });

  it('counts a long run of letters without a space as js-tiktoken does (a DNA sequence, a blob)', async () => {
    const tok = await loadTokenizer('o200k_base');
    for (const text of ['ACGT'.repeat(900), `Sequence: ${'GATTACA'.repeat(500)} end`, 'x'.repeat(4000), 'QUJDRA'.repeat(700)]) {
      expect(tok.count(text)).toBe(oracles.o200k_base.encode(text, [], []).length);
    }
  });
});

describe('fastCounter', () => {
  it("is not used where gpt-tokenizer's tables are not where it reads them, or where it would count otherwise", () => {
    const countTokens = (text: string) => text.length;
    expect(fastCounter({ countTokens }, countTokens)).toBeUndefined();
    // Tables of the expected shape whose merges disagree with the library's own count.
    const core = { tokenSplitRegex: /\S+|\s+/gu, bytePairStringRankEncoder: new Map<string, number>(), bytePairMerge: () => [1], getBpeRankFromBytes: () => undefined };
    expect(fastCounter({ countTokens, bytePairEncodingCoreProcessor: core }, countTokens)).toBeUndefined();
  });
});
