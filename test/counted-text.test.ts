/**
 * Instruction records that trainers build as plain text (Axolotl's and Unsloth's Alpaca prompts,
 * TRL's and Together's prompt + completion) are counted as that text, not as a chat.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { getEncoding } from 'js-tiktoken';
import { describe, expect, it } from 'vitest';
import { applyBudget } from '../src/check/budget.js';
import { countedText, targets } from '../src/formats/index.js';
import { loadTokenizer } from '../src/tokenizers/index.js';
import type { Message } from '../src/types.js';
import type { Target } from '../src/formats/index.js';
import { prepareDataset, validateFile } from '../src/index.js';
import { tempDir, tinyTokenizer } from './helpers/index.js';

const chat = (user: string, assistant: string, system?: string): Message[] => [
  ...(system === undefined ? [] : [{ role: 'system' as const, content: system }]),
  { role: 'user', content: user },
  { role: 'assistant', content: assistant },
];

const PREAMBLE = 'Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.\n\n';
const PREAMBLE_NO_INPUT = 'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n';

describe('countedText', () => {
  it('builds the text each trainer builds from the record as written', () => {
    const withInput = chat('Summarise clause 1.\n\nThe tenant pays monthly.', 'Rent is monthly.');
    expect(countedText('alpaca-axolotl', withInput, 'The tenant pays monthly.')).toEqual({
      prompt: `${PREAMBLE}### Instruction:\nSummarise clause 1.\n\n### Input:\nThe tenant pays monthly.\n\n### Response:\n`,
      completion: 'Rent is monthly.',
      apart: true,
    });
    expect(countedText('alpaca-axolotl', chat('What is APR?', 'A yearly rate.'))).toEqual({
      prompt: `${PREAMBLE_NO_INPUT}### Instruction:\nWhat is APR?\n\n### Response:\n`,
      completion: 'A yearly rate.',
      apart: true,
    });
    // With a system prompt Axolotl reads alpaca_w_system: the system section and no preamble.
    expect(countedText('alpaca-axolotl', chat('What is APR?', 'A yearly rate.', 'Be exact.'))?.prompt).toBe('### System:\nBe exact.\n\n### Instruction:\nWhat is APR?\n\n### Response:\n');
    // Unsloth's notebook prompt always has the Input section; a system prompt goes first.
    expect(countedText('alpaca-unsloth', chat('What is APR?', 'A yearly rate.', 'Be exact.'))).toEqual({
      prompt: `Be exact.\n\n${PREAMBLE}### Instruction:\nWhat is APR?\n\n### Input:\n\n\n### Response:\n`,
      completion: 'A yearly rate.',
      apart: false,
    });
    expect(countedText('prompt-completion', chat('What is APR?', 'A yearly rate.'))).toEqual({ prompt: 'What is APR?', completion: 'A yearly rate.', apart: false });
    // What the writer refuses (a multi-turn chat for alpaca) is no text.
    expect(countedText('alpaca-axolotl', [...chat('a', 'b'), ...chat('c', 'd')])).toBeUndefined();
  });

  it('is what the targets whose trainers do not use the chat template count their instruction records as', () => {
    const counted = (Object.values(targets) as Target[]).flatMap((t) => (t.countsAs?.instruction ? [[t.name, t.countsAs.instruction]] : []));
    expect(Object.fromEntries(counted)).toEqual({ together: 'prompt-completion', trl: 'prompt-completion', axolotl: 'alpaca-axolotl', unsloth: 'alpaca-unsloth' });
  });
});

describe('counting instruction records as text', () => {
  const messages = chat('Summarise clause 1 of the lease.\n\nThe tenant shall pay rent monthly in advance.', 'Clause 1: rent is due monthly, in advance.');
  const input = 'The tenant shall pay rent monthly in advance.';

  it('with an OpenAI encoding: the text\'s tokens and one end-of-text token (js-tiktoken as the oracle)', async () => {
    const tok = await loadTokenizer('o200k_base');
    const oracle = getEncoding('o200k_base');
    const axolotl = countedText('alpaca-axolotl', messages, input);
    const m = applyBudget(tok, messages, { overlong: 'drop', countAs: 'alpaca-axolotl' }, undefined, input);
    expect(m).toMatchObject({ ok: true, tokens: oracle.encode(axolotl!.prompt).length + oracle.encode(axolotl!.completion).length + 1, prompt: oracle.encode(axolotl!.prompt).length });
    // Counted as a chat it was far fewer: what let rows over the trainer's limit through.
    const asChat = applyBudget(tok, messages, { overlong: 'drop' });
    expect(asChat.ok && m.ok && m.tokens - asChat.tokens).toBeGreaterThan(20);
    const pc = applyBudget(tok, messages, { overlong: 'drop', countAs: 'prompt-completion' });
    expect(pc).toMatchObject({ ok: true, tokens: oracle.encode(messages[0]!.content + messages[1]!.content).length + 1 });
  });

  it('with a Hugging Face tokenizer: the BOS its post-processor adds to a text, and its EOS (the library\'s own encode as the oracle)', async () => {
    const json = JSON.parse(readFileSync('fixtures/tokenizers/tiny-chatml/tokenizer.json', 'utf8')) as Record<string, unknown>;
    // As Llama 3's own file has it: <s> before every text encoded with its special tokens.
    json.post_processor = {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [3], tokens: ['<s>'] } },
    };
    const dir = await tinyTokenizer({}, { 'tokenizer.json': JSON.stringify(json) });
    const oracle = new HfTokenizer(json, { bos_token: '<s>', eos_token: '</s>' });
    const ids = (text: string, special: boolean) => oracle.encode(text, { add_special_tokens: special }).ids;
    expect(ids('hello', true).length - ids('hello', false).length).toBe(1);
    const tok = await loadTokenizer(dir);
    for (const countAs of ['alpaca-unsloth', 'prompt-completion'] as const) {
      const text = countedText(countAs, messages, input)!;
      const m = applyBudget(tok, messages, { overlong: 'drop', countAs }, undefined, input);
      // <s> + the text as one + </s>
      expect(m).toMatchObject({ ok: true, tokens: ids(text.prompt + text.completion, true).length + 1, prompt: ids(text.prompt, true).length });
    }
    const axolotl = countedText('alpaca-axolotl', messages, input)!;
    expect(applyBudget(tok, messages, { overlong: 'drop', countAs: 'alpaca-axolotl' }, undefined, input)).toMatchObject({
      ok: true,
      tokens: ids(axolotl.prompt, true).length + ids(axolotl.completion, false).length + 1,
    });
  });

  it('truncates to the budget as counted as text: what is written fits', async () => {
    const tok = await loadTokenizer('o200k_base');
    const oracle = getEncoding('o200k_base');
    const long = chat('Explain the lease.', 'The lease says many things. '.repeat(40));
    const m = applyBudget(tok, long, { maxTokens: 80, overlong: 'truncate', countAs: 'alpaca-axolotl' });
    expect(m.ok).toBe(true);
    if (!m.ok) return;
    const text = countedText('alpaca-axolotl', m.messages!)!;
    const tokens = oracle.encode(text.prompt).length + oracle.encode(text.completion).length + 1;
    expect(tokens).toBe(m.tokens);
    expect(tokens).toBeLessThanOrEqual(80);
    expect(tokens).toBeGreaterThan(70);
    // Over the budget and not truncating: rejected by the text's count, which the chat count was under.
    const short = chat('What is APR?', 'A yearly rate, stated as a percent.');
    const asChat = applyBudget(tok, short, { overlong: 'drop' });
    const asText = applyBudget(tok, short, { overlong: 'drop', countAs: 'alpaca-axolotl' });
    expect(asChat.ok && asText.ok && asChat.tokens < asText.tokens).toBe(true);
    // Room for the text's prompt and a token of its answer: more than the whole chat counted.
    const between = asText.ok ? asText.prompt + 1 : 0;
    expect(asChat.ok && asChat.tokens).toBeLessThanOrEqual(between);
    expect(applyBudget(tok, short, { maxTokens: between, overlong: 'drop', countAs: 'alpaca-axolotl' })).toMatchObject({ ok: false, reason: 'overlong' });
    expect(applyBudget(tok, short, { maxTokens: between, overlong: 'drop' }).ok).toBe(true);
  });
});

describe('prepareDataset with instruction records', () => {
  it('judges each row by the text the target\'s trainer builds: over the limit as Axolotl reads it, rejected; as a chat, kept', async () => {
    const dir = await tempDir();
    const file = join(dir, 'alpaca.jsonl');
    const rows = Array.from({ length: 12 }, (_, i) => ({ instruction: `Summarise clause ${i} of the lease.`, input: 'The tenant shall pay rent monthly in advance.', output: `Clause ${i}: rent is due monthly, in advance.` }));
    await writeFile(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const tok = await loadTokenizer('o200k_base');
    const texts = rows.map((r) => countedText('alpaca-axolotl', chat(`${r.instruction}\n\n${r.input}`, r.output), r.input)!);
    const oracle = getEncoding('o200k_base');
    const textTokens = texts.map((t) => oracle.encode(t.prompt).length + oracle.encode(t.completion).length + 1);
    const chatTokens = rows.map((r) => tok.countMessages(chat(`${r.instruction}\n\n${r.input}`, r.output)));
    const promptTokens = texts.map((t) => oracle.encode(t.prompt).length);
    // Room for each chat whole and each text's prompt, not for any text whole.
    const maxTokens = Math.max(...chatTokens, ...promptTokens) + 1;
    expect(Math.min(...textTokens)).toBeGreaterThan(maxTokens);
    const common = { inputs: [file], format: 'instruction' as const, maxTokens, split: { validation: 0 }, dedup: false as const, concurrency: 1 };
    // Every row over the limit: nothing is written, and the job says why.
    await expect(prepareDataset({ ...common, target: 'axolotl', outDir: join(dir, 'axolotl') })).rejects.toMatchObject({ code: 'DATA_FAILED', message: expect.stringMatching(/all 12 input rows were rejected \(12 overlong\)/) });
    // LLaMA-Factory renders alpaca rows with the chat template: counted as a chat, all within the limit.
    const factory = await prepareDataset({ ...common, target: 'llama-factory', outDir: join(dir, 'factory') });
    expect(factory.counts).toMatchObject({ kept: 12, rejected: 0 });
    // Without a limit, the result's total is the texts' count, and what trains is the answers and EOS.
    const counted = await prepareDataset({ ...common, maxTokens: undefined, target: 'axolotl', outDir: join(dir, 'counted') });
    expect(counted.tokens.total).toBe(textTokens.reduce((a, b) => a + b, 0));
    expect(counted.tokens.trainable).toBe(textTokens.reduce((a, b) => a + b, 0) - promptTokens.reduce((a, b) => a + b, 0));
  });
});

describe('validate with instruction records', () => {
  it('flags a record over the limit as its trainer builds the text, as prepare counts it', async () => {
    const dir = await tempDir();
    const file = join(dir, 'train.jsonl');
    const record = { instruction: 'Summarise clause 1 of the lease.', input: 'The tenant shall pay rent monthly in advance.', output: 'Clause 1: rent is due monthly, in advance.' };
    await writeFile(file, `${JSON.stringify(record)}\n`);
    const messages = chat(`${record.instruction}\n\n${record.input}`, record.output);
    const tok = await loadTokenizer('o200k_base');
    const asText = applyBudget(tok, messages, { overlong: 'keep', countAs: 'alpaca-axolotl' }, undefined, record.input);
    const asChat = applyBudget(tok, messages, { overlong: 'keep' });
    if (!asText.ok || !asChat.ok) throw new Error('not counted');
    const limit = asText.tokens - 1;
    expect(limit).toBeGreaterThan(asText.prompt);
    const axolotl = await validateFile(file, { target: 'axolotl', maxTokens: limit });
    expect(axolotl.problems.map((p) => p.rule)).toEqual(['I.1-overlong']);
    expect(axolotl.problems[0]?.message).toContain(`${asText.tokens} tokens`);
    // LLaMA-Factory renders the record with the chat template: within the limit.
    expect(asChat.tokens).toBeLessThanOrEqual(limit);
    expect((await validateFile(file, { target: 'llama-factory', maxTokens: limit })).problems.filter((p) => p.rule.startsWith('I.1'))).toEqual([]);
  });
});
