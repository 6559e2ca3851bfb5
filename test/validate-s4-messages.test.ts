/**
 * validate: messages that say what is actually wrong and what to do (torchtune's tool and ipython
 * turns, Together's missing keys, role names inside TRL prompt-completion lists).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateFile, VALIDATION_RULES, type ValidationOptions } from '../src/validate/index.js';
import { tempDir } from './helpers/index.js';

function jsonl(records: unknown[]): string {
  return records.map((r) => `${JSON.stringify(r)}\n`).join('');
}

async function check(records: unknown[], options: ValidationOptions) {
  const file = join(await tempDir(), 'train.jsonl');
  await writeFile(file, jsonl(records));
  return validateFile(file, options);
}

describe('T.4: torchtune tool and ipython turns', () => {
  const chat = (role: string) => ({
    messages: [
      { role: 'user', content: 'Rate?' },
      { role: 'assistant', content: 'get_rate(c="EUR")' },
      { role, content: '4.5' },
      { role: 'assistant', content: 'It is 4.5%.' },
    ],
  });

  it.each(['ipython', 'tool'])('a %s message is T.4, with torchtune\'s own error and what to do', async (role) => {
    const r = await check([chat(role)], { target: 'torchtune' });
    expect(r.problems).toEqual([
      {
        line: 1,
        rule: 'T.4-tool-role',
        message: expect.stringMatching(new RegExp(`^message 2 is an? ${role} message: torchtune raises "Tool or ipython message at index 2 must follow an ipython message".*ipython=True.*drop the tool turns`)),
      },
    ]);
  });

  it('an ipython role is still a wrong role for the other targets', async () => {
    const r = await check([chat('ipython')], { target: 'trl' });
    expect(r.problems.map((p) => p.rule)).toEqual(['B.2-role']);
  });

  it('auto guesses torchtune from an ipython role and reports it under T.4, not as an unknown role', async () => {
    const r = await check([chat('ipython')], { target: 'auto' });
    expect(r.target).toBe('torchtune');
    expect(r.problems.map((p) => p.rule)).toEqual(['T.4-tool-role']);
  });

  it('the rule says so', () => {
    expect(VALIDATION_RULES['T.4-tool-role'].checks).toMatch(/no tool or ipython message/);
  });
});

describe("C.2: Together's key set", () => {
  const conv = { messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }] };

  it('a missing key is missing, not an extra column', async () => {
    const r = await check([{ prompt: 'q', completion: 'a' }, { prompt: 'q2' }], { target: 'together' });
    expect(r.problems).toEqual([
      {
        line: 2,
        rule: 'C.2-keys',
        message: `Together's instruction format needs exactly {completion,prompt} on every line: "completion" is missing (Together: "Could not detect a format for the line"); add "completion"`,
      },
    ]);
  });

  it('an extra key is an extra column', async () => {
    const r = await check([conv, { ...conv, id: 7 }], { target: 'together' });
    expect(r.problems[0]?.message).toBe(`Together's conversation format needs exactly {messages} on every line: "id" is an extra key (Together: "Found extra column"); remove "id"`);
  });

  it('both, each named for what it is', async () => {
    const r = await check([conv, { msgs: conv.messages }], { target: 'together' });
    expect(r.problems[0]?.message).toMatch(/"messages" is missing \(Together: "Could not detect a format for the line"\); "msgs" is an extra key \(Together: "Found extra column"\); add "messages" and remove "msgs"$/);
  });
});

describe('F.3: ShareGPT names inside TRL prompt-completion lists', () => {
  it('names the list item once, and --fix does rename them', async () => {
    const r = await check([{ prompt: [{ role: 'human', content: 'Hi' }], completion: [{ role: 'gpt', content: 'Hello' }] }], { target: 'trl' });
    expect(r.problems.map((p) => p.message)).toEqual([
      'prompt[0]: role "human" is a ShareGPT name; write "user" (--fix does)',
      'completion[0]: role "gpt" is a ShareGPT name; write "assistant" (--fix does)',
    ]);
  });
});
