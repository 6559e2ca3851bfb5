/**
 * validate: plain-text `{"text": ...}` records (language modelling / continued pre-training). The
 * text format is picked from the records' keys (or `format: 'text'`), read by Together (general
 * format), MLX-LM (TextDataset), TRL and Unsloth, Axolotl (type: completion) and torchtune
 * (text_completion_dataset); OpenAI, Mistral instruct data and LLaMA-Factory say why they do not.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/run.js';
import { guessTarget, TEXT_TARGETS, validateFile, type ValidationOptions, type ValidationTarget } from '../src/validate/index.js';
import { fakeIo } from './helpers/cli.js';
import { tempDir } from './helpers/index.js';

const TEXTS = [
  'An index fund holds the securities of a market index to match its return at low cost.',
  'APR is the annual percentage rate: the yearly cost of borrowing, fees included.',
  'A limitation period is the time limit for starting a claim.',
  'HbA1c measures average blood sugar over the past two to three months.',
  'Probate is the court process that confirms a will.',
];

function jsonl(records: unknown[]): string {
  return records.map((r) => `${JSON.stringify(r)}\n`).join('');
}

async function check(content: string, options: ValidationOptions, name = 'train.jsonl') {
  const file = join(await tempDir(), name);
  await writeFile(file, content);
  return validateFile(file, options);
}

const TEXT_FILE = jsonl(TEXTS.map((text) => ({ text })));

describe('text records pass for the trainers that read them', () => {
  it.each(['together', 'mlx-lm', 'trl', 'unsloth', 'axolotl', 'torchtune'] as ValidationTarget[])('%s: format text, taken from the keys', async (target) => {
    const report = await check(TEXT_FILE, { target });
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({ ok: true, target, format: 'text', records: 5 });
    expect((await check(TEXT_FILE, { target, format: 'text' })).ok).toBe(true);
  });

  it('lists exactly those targets', () => {
    expect([...TEXT_TARGETS].sort()).toEqual(['axolotl', 'mlx-lm', 'together', 'torchtune', 'trl', 'unsloth']);
  });

  it('auto guesses TRL language modelling from a text key, and says so', async () => {
    expect(guessTarget({ text: 'x' })).toEqual({ target: 'trl', format: 'text', why: 'a text key (language modelling)' });
    const report = await check(TEXT_FILE, { target: 'auto' });
    expect(report).toMatchObject({ ok: true, target: 'trl', format: 'text', guessed: true });
    expect(report.warnings[0]).toMatch(/^guessed target trl \(text\) from line 1: a text key/);
  });

  it('the CLI picks the text format from the records', async () => {
    const file = join(await tempDir(), 'train.jsonl');
    await writeFile(file, TEXT_FILE);
    const io = fakeIo();
    expect(await runCli(['validate', file, '--target', 'together', '--quiet'], io)).toBe(0);
    expect(io.out).toMatch(/together text, 5 records: no problems/);
  });

  it('says, once, what each reader does with a text (EOS, mask_prompt, type: completion)', async () => {
    expect((await check(TEXT_FILE, { target: 'mlx-lm' })).warnings.join('\n')).toMatch(/TextDataset.*appends the EOS token.*--mask-prompt/);
    expect((await check(TEXT_FILE, { target: 'trl' })).warnings.join('\n')).toMatch(/appends the tokenizer's EOS token/);
    expect((await check(TEXT_FILE, { target: 'axolotl' })).warnings.join('\n')).toMatch(/type: completion/);
    expect((await check(TEXT_FILE, { target: 'torchtune' })).warnings.join('\n')).toMatch(/text_completion_dataset.*BOS and EOS/);
  });

  it('warns, without failing, when texts end with a literal end-of-sequence marker', async () => {
    const r = await check(jsonl([{ text: TEXTS[0] }, { text: `${TEXTS[1]}</s>` }, { text: `${TEXTS[2]}</s>\n` }, { text: TEXTS[3] }]), { target: 'mlx-lm' });
    expect(r.ok).toBe(true);
    expect(r.warnings.join('\n')).toMatch(/2 texts end with a literal end-of-sequence marker \(line 2: "<\/s>"\)/);
  });

  it('counts the tokens of the text itself against maxTokens (nothing of it is prompt)', async () => {
    const r = await check(jsonl([{ text: TEXTS[0] }, { text: 'word '.repeat(200) }]), { target: 'trl', maxTokens: 50 });
    expect(r.problems.map(({ line, rule }) => ({ line, rule }))).toEqual([{ line: 2, rule: 'I.1-overlong' }]);
  });
});

describe("each reader's rules for text", () => {
  it.each([
    ['Together: exactly {text}, so an extra key is "Found extra column"', 'together', [{ text: 'a' }, { text: 'b', id: 2 }], [{ line: 2, rule: 'C.2-keys', message: /"id" is an extra key \(Together: "Found extra column"\); remove "id"/ }]],
    ['Together: one format per file', 'together', [{ text: 'a' }, { prompt: 'q', completion: 'a' }], [{ line: 2, rule: 'C.2-mixed-format', message: /general format/ }]],
    ['Together: text is a string', 'together', [{ text: 'a' }, { text: 7 }], [{ line: 2, rule: 'C.4-types', message: /text must be a string, got the number 7/ }]],
    ['MLX-LM: text on every line', 'mlx-lm', [{ text: 'a' }, { text: 'b' }, { text: 'c' }, { body: 'd' }], [{ line: 4, rule: 'E.3-keys', message: /missing "text"/ }]],
    ['MLX-LM: no prompt beside text', 'mlx-lm', [{ text: 'a' }, { text: 'b' }, { text: 'c', prompt: 'p' }, { text: 'd' }], [{ line: 3, rule: 'E.3-keys', message: /"prompt" beside text/ }]],
    ['MLX-LM: text is a string', 'mlx-lm', [{ text: 'a' }, { text: ['b'] }, { text: 'c' }, { text: 'd' }], [{ line: 2, rule: 'E.3-types', message: /text must be a string, got an array/ }]],
    ['MLX-LM ignores keys it does not read', 'mlx-lm', [{ text: 'a', id: 1 }, { text: 'b', id: 2 }, { text: 'c', id: 3 }, { text: 'd', id: 4 }], []],
    ['TRL: a prompt column sends TRL down the prompt-completion path', 'trl', [{ text: 'a' }, { text: 'b', prompt: 'p' }], [{ line: 2, rule: 'F.1-keys', message: /prompt-completion path/ }]],
    ['TRL: text is a string', 'trl', [{ text: 'a' }, { text: null }], [{ line: 2, rule: 'F.1-types', message: /text must be a string, got null/ }]],
    ['Axolotl: other keys are not read, but line 1 sets the key set', 'axolotl', [{ text: 'a', source: 'x' }, { text: 'b', source: 'y' }, { text: 'c' }], [{ line: 3, rule: 'A.5-key-set', message: /missing source/ }]],
    ['torchtune: text present', 'torchtune', [{ text: 'a' }, { body: 'b' }], [{ line: 2, rule: 'F.1-keys', message: /text_completion_dataset/ }]],
    ['every reader: text is not blank', 'unsloth', [{ text: 'a' }, { text: '  \n' }], [{ line: 2, rule: 'A.7-empty-content', message: /text is empty/ }]],
  ] as const)('%s', async (_name, target, records, expected) => {
    const r = await check(jsonl([...records]), { target, ...(target === 'mlx-lm' ? { batchSize: 1 } : {}) });
    expect(r.format).toBe('text');
    expect(r.problems).toEqual(expected.map((e) => ({ line: e.line, rule: e.rule, message: expect.stringMatching(e.message) })));
  });
});

describe('targets that do not read text say why, under their key rule', () => {
  it.each([
    ['openai', 'B.1-keys', /OpenAI fine-tuning reads chats only, not plain-text \{text\} records: write each example as \{"messages": \[\.\.\.\]\}/],
    ['mistral', 'D.1-keys', /only as pre-training data \(data\.data in its YAML\), not as instruct data/],
    ['llama-factory', 'G.1-keys', /pre-training \(stage: pt\) through a dataset_info\.json entry/],
  ] as const)('%s: %s', async (target, rule, message) => {
    const r = await check(jsonl(Array.from({ length: 10 }, (_, i) => ({ text: TEXTS[i % TEXTS.length] }))), { target });
    expect(r.ok).toBe(false);
    expect(new Set(r.problems.map((p) => p.rule))).toEqual(new Set([rule]));
    expect(r.problems).toHaveLength(10);
    expect(r.problems[0]?.message).toMatch(message);
  });

  it('format text for a target that does not read it is a bad option, naming the targets that do', async () => {
    await expect(check(TEXT_FILE, { target: 'openai', format: 'text' })).rejects.toMatchObject({
      code: 'OPTION_INVALID',
      message: expect.stringMatching(/openai reads chat only, got "text" \(plain \{text\} records are read by together, mlx-lm, trl, unsloth, axolotl, torchtune\)/),
    });
  });

  it('a text reader checked against another format points to the text format', async () => {
    const r = await check(TEXT_FILE, { target: 'trl', format: 'chat' });
    expect(r.problems[0]).toMatchObject({ rule: 'B.1-keys', message: expect.stringMatching(/trl reads \{text\} records as the text format/) });
  });
});

describe('MLX-LM completions with a text key beside them', () => {
  it('pass: MLX-LM reads prompt and completion first and ignores the other keys (FORMATS E.3); messages beside them fail', async () => {
    const rows = TEXTS.map((t, i) => ({ prompt: `Q${i}?`, completion: t, text: 'ignored' }));
    const report = await check(jsonl(rows), { target: 'mlx-lm', format: 'instruction' });
    expect(report.problems).toEqual([]);
    const withMessages = await check(jsonl(rows.map((r) => ({ ...r, messages: [] }))), { target: 'mlx-lm', format: 'instruction' });
    expect(withMessages.problems[0]).toMatchObject({ rule: 'E.3-keys', message: expect.stringMatching(/"messages" beside prompt\/completion/) });
  });
});
