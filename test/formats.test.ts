import { describe, expect, it } from 'vitest';
import { recordBuilder } from '../src/formats/index.js';
import type { Example, Message } from '../src/types.js';

const ex = (messages: Message[]): Example => ({ id: 'x', messages, meta: { source: { file: 'f', line: 1 } } });
const S: Message = { role: 'system', content: 'S' };
const U: Message = { role: 'user', content: 'Q' };
const A: Message = { role: 'assistant', content: 'A' };

describe('openai / axolotl chat', () => {
  it('writes messages with weight only on assistant messages', () => {
    const r = recordBuilder('openai', 'chat')(ex([S, { ...U, name: 'ana', weight: 1 }, { ...A, weight: 0 }, U, A]));
    expect(r).toEqual({
      ok: true,
      record: {
        messages: [
          { role: 'system', content: 'S' },
          { role: 'user', content: 'Q', name: 'ana' },
          { role: 'assistant', content: 'A', weight: 0 },
          { role: 'user', content: 'Q' },
          { role: 'assistant', content: 'A' },
        ],
      },
    });
    expect(recordBuilder('axolotl', 'chat')(ex([U, A]))).toEqual({ ok: true, record: { messages: [{ role: 'user', content: 'Q' }, { role: 'assistant', content: 'A' }] } });
  });
});

describe('axolotl instruction (alpaca)', () => {
  const alpaca = recordBuilder('axolotl', 'instruction');

  it.each([
    [[U, A], { instruction: 'Q', input: '', output: 'A' }],
    [[S, U, A], { instruction: 'Q', input: '', output: 'A', system: 'S' }],
  ])('%j → %j (input always present)', (messages, record) => {
    expect(alpaca(ex(messages))).toEqual({ ok: true, record });
  });

  it.each([
    ['multi-turn', [U, A, U, A], /one instruction and one answer.*2 exchanges/],
    ['two system prompts', [S, S, U, A], /at most one system prompt/],
    ['an untrained answer', [U, { ...A, weight: 0 as const }], /weight 0/],
  ])('rejects %s as unsupported_shape', (_name, messages, message) => {
    const r = alpaca(ex(messages as Message[]));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toBe('unsupported_shape');
      expect(r.message).toMatch(message);
    }
  });
});
