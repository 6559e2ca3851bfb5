import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyBudget } from '../src/check/budget.js';
import { TemplateError } from '../src/tokenizers/huggingface.js';
import { loadTokenizer } from '../src/tokenizers/index.js';
import type { Tokenizer } from '../src/tokenizers/types.js';
import type { Message } from '../src/types.js';

let tok: Tokenizer;
beforeAll(async () => {
  tok = await loadTokenizer('o200k_base');
});

const S: Message = { role: 'system', content: 'You are a careful analyst.' };
const turn = (q: string, a: string): Message[] => [
  { role: 'user', content: q },
  { role: 'assistant', content: a },
];
const long = (word: string, n: number) => Array.from({ length: n }, (_, i) => `${word}${i}`).join(' ');

describe('applyBudget', () => {
  it('passes examples within the budget untouched, with total and prompt', () => {
    const messages = [S, ...turn('What is a bond?', 'A debt security.')];
    const r = applyBudget(tok, messages, { maxTokens: 1000, overlong: 'drop' });
    expect(r).toEqual({ ok: true, tokens: tok.countMessages(messages), prompt: tok.measure(messages).prompt });
  });

  it('drops an example over the budget as overlong', () => {
    const messages = turn('Q?', long('answer', 200));
    const r = applyBudget(tok, messages, { maxTokens: 100, overlong: 'drop' });
    expect(r).toMatchObject({ ok: false, reason: 'overlong', message: expect.stringMatching(/over maxTokens 100/) });
  });

  it('cuts an answer only between characters as read: no dangling joiner, accent or half flag (property)', () => {
    const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
    const unit = fc.constantFrom('👨\u200d👩\u200d👧\u200d👦', 'e\u0301', '🇫🇷', '👍🏽', 'a', ' ', '日本', 'ñ');
    fc.assert(
      fc.property(fc.array(unit, { minLength: 40, maxLength: 120 }), fc.integer({ min: 25, max: 60 }), (parts, maxTokens) => {
        const answer = `Answer: ${parts.join('')}`;
        const r = applyBudget(tok, turn('Q?', answer), { maxTokens, overlong: 'truncate' });
        if (!r.ok || !r.messages) return;
        const cut = r.messages[1]?.content ?? '';
        expect(answer.startsWith(cut)).toBe(true);
        expect(r.tokens).toBeLessThanOrEqual(maxTokens);
        // The cut ends where a grapheme of the whole answer ends.
        const ends = new Set([...segmenter.segment(answer)].map((g) => g.index + g.segment.length));
        expect(ends.has(cut.length)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('cuts a long run of flags between flags, however far into the run', () => {
    const flags = '🇫🇷🇩🇪🇯🇵🇺🇸'.repeat(80);
    for (const maxTokens of [40, 90, 150, 177, 260]) {
      const r = applyBudget(tok, turn('Q?', flags), { maxTokens, overlong: 'truncate' });
      if (!r.ok || !r.messages) throw new Error(`not cut at ${maxTokens}`);
      const cut = r.messages[1]?.content ?? '';
      expect(cut.length % 4, `maxTokens ${maxTokens}: ${cut.length} code units`).toBe(0);
      expect(cut.length).toBeGreaterThan(0);
    }
  });

  it('keeps it with overlong: keep, flagged as over the budget', () => {
    const r = applyBudget(tok, turn('Q?', long('answer', 200)), { maxTokens: 100, overlong: 'keep' });
    expect(r).toMatchObject({ ok: true, overBudget: true });
  });

  it.each(['drop', 'keep', 'truncate'] as const)('rejects as prompt_overflow when the prompt alone fills the budget (%s)', (overlong) => {
    const r = applyBudget(tok, turn(long('question', 200), 'Short answer.'), { maxTokens: 100, overlong });
    expect(r).toMatchObject({ ok: false, reason: 'prompt_overflow', message: expect.stringMatching(/no answer to train on/) });
  });

  it('judges minTokens on the example as truncated: a cut that leaves too few tokens is too_short', () => {
    const messages = [S, ...turn(long('alpha', 150), long('beta', 150)), ...turn('Second q?', 'Second answer ok.')];
    const kept = applyBudget(tok, messages, { maxTokens: 40, overlong: 'truncate' });
    expect(kept).toMatchObject({ ok: true });
    const written = (kept as { tokens: number }).tokens;
    expect(applyBudget(tok, messages, { maxTokens: 40, minTokens: written + 1, overlong: 'truncate' })).toMatchObject({
      ok: false,
      reason: 'too_short',
      message: expect.stringMatching(/once truncated to maxTokens 40 is under minTokens/),
    });
    expect(applyBudget(tok, messages, { maxTokens: 40, minTokens: written, overlong: 'truncate' })).toMatchObject({ ok: true });
  });

  it('cuts a row the same way whatever was cut before it (decoding keeps no state between rows)', () => {
    const parrots = turn('Send flags', `Here they are: ${'🦜'.repeat(100)}`);
    const alone = applyBudget(tok, parrots, { maxTokens: 40, overlong: 'truncate' });
    // A decode that ends inside a character (as a cut of the row before can), then the same row again.
    tok.decode(tok.encode('🦜').slice(0, 2));
    expect(applyBudget(tok, parrots, { maxTokens: 40, overlong: 'truncate' })).toEqual(alone);
    expect((alone as { messages: Message[] }).messages.at(-1)?.content).toMatch(/^Here they are: 🦜+$/u);
  });

  it('says so when no start of the answer fits beside the prompt, without calling the prompt too long', () => {
    const r = applyBudget(tok, turn('Say it', '🦜🦜🦜 parrots'), { maxTokens: 14, overlong: 'truncate' });
    expect(r).toMatchObject({ ok: false, reason: 'prompt_overflow', message: expect.stringMatching(/no start of the answer fits within maxTokens 14/) });
  });

  it('rejects examples under minTokens as too_short', () => {
    const r = applyBudget(tok, turn('Hi', 'Yo'), { minTokens: 50, overlong: 'drop' });
    expect(r).toMatchObject({ ok: false, reason: 'too_short' });
  });

  it('rejects a conversation the chat template refuses as template_error, without throwing', () => {
    const refusing: Tokenizer = {
      ...tok,
      measure: () => {
        throw new TemplateError('Conversation roles must alternate user/assistant');
      },
    };
    expect(applyBudget(refusing, turn('a', 'b'), { overlong: 'drop' })).toMatchObject({
      ok: false,
      reason: 'template_error',
      message: expect.stringMatching(/must alternate/),
    });
  });

  it('rejects an example the tokenizer fails on as tokenizer_error, without throwing', () => {
    const failing: Tokenizer = { ...tok, decode: () => { throw new TypeError('bad id'); } };
    const r = applyBudget(failing, turn('Q?', long('answer', 200)), { maxTokens: 100, overlong: 'truncate' });
    expect(r).toMatchObject({ ok: false, reason: 'tokenizer_error', message: expect.stringMatching(/bad id/) });
  });

  it('says what a stack overflow in the tokenizer usually means, and only then', () => {
    const deep = (n: number): number => (n === 0 ? 0 : 1 + deep(n - 1));
    const overflowing: Tokenizer = { ...tok, measure: () => ({ total: deep(1e9), prompt: 0 }) };
    const r = applyBudget(overflowing, turn('Q?', 'A.'), { maxTokens: 100, overlong: 'drop' });
    expect(r).toMatchObject({ ok: false, reason: 'tokenizer_error', message: expect.stringMatching(/Maximum call stack size exceeded \(with a Hugging Face tokenizer this is usually a run of millions of characters/) });
    const failing: Tokenizer = { ...tok, measure: () => { throw new TypeError('bad id'); } };
    expect(applyBudget(failing, turn('Q?', 'A.'), { maxTokens: 100, overlong: 'drop' })).toMatchObject({ message: expect.not.stringMatching(/millions/) });
  });

  describe('truncate', () => {
    it('cuts on the text when the tokenizer does not decode back to it (a lower-casing tokenizer)', async () => {
      const tiny = await loadTokenizer('fixtures/tokenizers/tiny-chatml');
      const answer = 'A bond is a debt security, a share is equity. It is the ownership of a company.';
      const messages = turn('What is a bond?', answer);
      const r = applyBudget(tiny, messages, { maxTokens: 22, overlong: 'truncate' });
      expect(r).toMatchObject({ ok: true, truncated: { cutAnswer: true } });
      if (!r.ok || !r.messages) return;
      const cut = r.messages.at(-1)?.content as string;
      expect(answer.startsWith(cut)).toBe(true);
      expect(r.tokens).toBeLessThanOrEqual(22);
      expect(answer.slice(cut.length)).toMatch(/^\s/); // ends on a word boundary
    });

    it('drops the oldest exchanges first, keeping the system message and the last exchange', () => {
      const messages = [S, ...turn('First question?', long('old', 80)), ...turn('Second question?', long('mid', 80)), ...turn('Last question?', 'Last answer.')];
      const r = applyBudget(tok, messages, { maxTokens: 120, overlong: 'truncate' });
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(r.messages).toEqual([S, ...turn('Last question?', 'Last answer.')]);
      expect(r.truncated).toEqual({ tokensBefore: tok.countMessages(messages), droppedTurns: 2, cutAnswer: false });
      expect(r.tokens).toBe(tok.countMessages(r.messages as Message[]));
    });

    it('keeps a cut answer a prefix of the original even when the cut falls inside an emoji', () => {
      // gpt-tokenizer decodes some partial byte sequences with U+FFFD in the middle ("bond� 👩").
      const messages = [...turn('Q', 'bond 👩‍⚕️')];
      for (let maxTokens = 12; maxTokens <= 20; maxTokens++) {
        const r = applyBudget(tok, messages, { maxTokens, overlong: 'truncate' });
        if (r.ok && r.messages) expect('bond 👩‍⚕️'.startsWith(r.messages.at(-1)?.content as string)).toBe(true);
      }
    });

    it('then cuts the last answer on a token boundary', () => {
      const answer = long('word', 300);
      const messages = [S, ...turn('Explain.', answer)];
      const r = applyBudget(tok, messages, { maxTokens: 200, overlong: 'truncate' });
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      const cut = r.messages?.at(-1)?.content as string;
      expect(answer.startsWith(cut)).toBe(true);
      expect(cut.length).toBeLessThan(answer.length);
      expect(r.tokens).toBeLessThanOrEqual(200);
      expect(r.tokens).toBeGreaterThan(190); // uses the budget, not a crude cut
      expect(r.truncated).toEqual({ tokensBefore: tok.countMessages(messages), droppedTurns: 0, cutAnswer: true });
    });

    it('always fits, keeps the system message and a final answer, and only shortens (property)', () => {
      const text = fc.array(fc.constantFrom('bond', 'equity', 'tort', 'clause', '€', 'é', '—', '👩‍⚕️', 'yield', '\n'), { minLength: 1, maxLength: 120 }).map((w) => w.join(' '));
      fc.assert(
        fc.property(fc.array(fc.tuple(text, text), { minLength: 1, maxLength: 4 }), fc.integer({ min: 20, max: 300 }), (pairs, maxTokens) => {
          const messages = [S, ...pairs.flatMap(([q, a]) => turn(q.trim() || 'q', a.trim() || 'a'))];
          const r = applyBudget(tok, messages, { maxTokens, overlong: 'truncate' });
          if (!r.ok) {
            expect(r.reason).toBe('prompt_overflow');
            return;
          }
          expect(r.tokens).toBeLessThanOrEqual(maxTokens);
          const out = r.messages ?? messages;
          expect(r.messages === undefined).toBe(r.truncated === undefined);
          expect(r.tokens).toBe(tok.countMessages(out));
          expect(out[0]).toEqual(S);
          expect(out.at(-1)?.role).toBe('assistant');
          expect((out.at(-1)?.content as string).length).toBeGreaterThan(0);
          // the kept messages are the original's tail, the last answer possibly cut
          const tail = messages.slice(messages.length - (out.length - 1));
          expect(out.slice(1, -1)).toEqual(tail.slice(0, -1));
          expect((tail.at(-1)?.content as string).startsWith(out.at(-1)?.content as string)).toBe(true);
        }),
        { numRuns: 300 },
      );
    });

    it('drops the fewest oldest exchanges that fit, as dropping them one at a time does, whatever the turns (property)', () => {
      // The reference: drop the oldest exchange (from the first turn to the next user message), measure, repeat.
      const dropOne = (messages: Message[]): Message[] | undefined => {
        const start = messages.findIndex((m) => m.role !== 'system');
        const lastUser = messages.findLastIndex((m) => m.role === 'user');
        if (start === -1 || lastUser <= start) return undefined;
        let end = start + 1;
        while (end < messages.length && messages[end]?.role !== 'user') end++;
        return end > lastUser ? undefined : [...messages.slice(0, start), ...messages.slice(end)];
      };
      const word = fc.constantFrom('bond', 'tort', 'yield', 'clause', 'é', '€');
      const message = fc.record({ role: fc.constantFrom('system', 'user', 'assistant', 'assistant', 'user'), content: fc.array(word, { minLength: 1, maxLength: 30 }).map((w) => w.join(' ')) });
      fc.assert(
        fc.property(fc.array(message, { minLength: 1, maxLength: 40 }), fc.integer({ min: 10, max: 400 }), (turns, maxTokens) => {
          const messages = [...turns, { role: 'user', content: 'last question' }, { role: 'assistant', content: 'last answer' }] as Message[];
          let expected = messages;
          let dropped = 0;
          while (tok.countMessages(expected) > maxTokens) {
            const next = dropOne(expected);
            if (!next) break;
            expected = next;
            dropped++;
          }
          const r = applyBudget(tok, messages, { maxTokens, overlong: 'truncate' });
          if (!r.ok) return;
          expect(r.truncated?.droppedTurns ?? 0).toBe(dropped);
          // The same messages kept; the last answer may then be cut.
          expect((r.messages ?? messages).slice(0, -1)).toEqual(expected.slice(0, -1));
        }),
        { numRuns: 300 },
      );
    });
  });
});
