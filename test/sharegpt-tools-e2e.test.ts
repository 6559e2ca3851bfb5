/**
 * Files lora-prep wrote for llama-factory with tool rows, read again through the public functions:
 * `checkLeakage` finds a copied tool row, `fileStats` counts the file, `prepareDataset` takes it as
 * input.
 */
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkLeakage, fileStats, prepareDataset } from '../src/index.js';
import { tempDir } from './helpers/index.js';
import { readJsonl } from './helpers/output.js';

const RATE_TOOL = { type: 'function', function: { name: 'get_rate', description: 'Exchange rate.', parameters: { type: 'object', properties: { from: { type: 'string' }, to: { type: 'string' } } } } };
const CASE_TOOL = { type: 'function', function: { name: 'find_case', description: 'Find a case by citation.', parameters: { type: 'object', properties: { citation: { type: 'string' } } } } };
const PAIRS = [
  ['EUR', 'USD', '1.08'],
  ['GBP', 'USD', '1.27'],
  ['USD', 'JPY', '151.2'],
  ['CHF', 'EUR', '1.04'],
  ['AUD', 'NZD', '1.09'],
  ['SEK', 'NOK', '1.01'],
] as const;

/** Tool conversations as `messages` rows (OpenAI style, no call ids), one a line. */
function toolRows(): string {
  const rows: Array<Record<string, unknown>> = PAIRS.map(([from, to, rate], i) => ({
    messages: [
      { role: 'user', content: `What is the ${from} to ${to} rate today?` },
      { role: 'assistant', content: null, tool_calls: [{ type: 'function', function: { name: 'get_rate', arguments: `{"from": "${from}", "to": "${to}", "ref": 1234567890123456789${i}}` } }] },
      { role: 'tool', content: `{"rate": ${rate}}`, tool_call_id: 'call_1_0' },
      { role: 'assistant', content: `One ${from} buys ${rate} ${to}.` },
    ],
    tools: [RATE_TOOL],
  }));
  rows.push({
    messages: [
      { role: 'user', content: 'Find Donoghue v Stevenson and the Rylands rule.' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { type: 'function', function: { name: 'find_case', arguments: '{"citation": "[1932] AC 562"}' } },
          { type: 'function', function: { name: 'find_case', arguments: '{"citation": "(1868) LR 3 HL 330"}' } },
        ],
      },
      { role: 'tool', content: 'Donoghue v Stevenson: duty of care. Rylands v Fletcher: strict liability.', tool_call_id: 'call_1_0' },
      { role: 'assistant', content: 'The first founded the duty of care; the second made escapes of dangerous things strict liability.' },
    ],
    tools: [CASE_TOOL],
  });
  return `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;
}

async function preparedForLlamaFactory() {
  const dir = await tempDir();
  const input = join(dir, 'tools.jsonl');
  await writeFile(input, toolRows());
  const result = await prepareDataset({ inputs: [input], outDir: join(dir, 'out'), target: 'llama-factory', split: { validation: 0.3, seed: 7 } });
  expect(result.counts.rejected).toBe(0);
  const train = await readJsonl(result.files.train);
  // Tool rows in LLaMA-Factory's form: what the rest of this file reads back.
  expect(train.some((r) => (r.conversations as Array<{ from: string }>).some((t) => t.from === 'function_call'))).toBe(true);
  expect(train.every((r) => typeof r.tools === 'string')).toBe(true);
  // The reference numbers keep their digits (past 2^53) in the function_call values.
  expect(JSON.stringify(train)).toMatch(/\\"ref\\":1234567890123456789\d/);
  return { dir, result };
}

describe('llama-factory files with tool rows, read again', () => {
  it('checkLeakage finds a tool row copied from the train file into the validation file', async () => {
    const { result } = await preparedForLlamaFactory();
    const train = result.files.train;
    const validation = result.files.validation as string;
    const clean = await checkLeakage([train, validation], { near: false });
    expect(clean.files.map((f) => f.unreadable)).toEqual([0, 0]);
    expect(clean.clean).toBe(true);

    const trainLines = (await readFile(train, 'utf8')).split('\n').filter((l) => l !== '');
    const copied = trainLines.findIndex((l) => l.includes('"function_call"'));
    await appendFile(validation, `${trainLines[copied]}\n`);
    const validationRows = (await readFile(validation, 'utf8')).split('\n').filter((l) => l !== '').length;
    const report = await checkLeakage([train, validation], { near: false });
    expect(report.files.map((f) => f.unreadable)).toEqual([0, 0]);
    expect(report.exactCount).toBe(1);
    expect(report.exact).toEqual([{ a: { file: train, line: copied + 1 }, b: { file: validation, line: validationRows }, similarity: 1 }]);
  });

  it('fileStats counts every row of the file', async () => {
    const { result } = await preparedForLlamaFactory();
    const s = await fileStats(result.files.train);
    expect(s.unreadable).toBe(0);
    expect(s.examples).toBe(result.counts.train);
    const v = await fileStats(result.files.validation as string);
    expect(v.unreadable).toBe(0);
    expect(v.examples).toBe(result.counts.validation);
    // Counted on what the file holds: the writer wrote the arguments compact (`{"from":"EUR",...}`),
    // where prepare counted them as the input spaced them.
    expect(s.tokens.total).toBeGreaterThan(0);
    expect(s.tokens.total + v.tokens.total).toBeLessThan(result.tokens.total);
  });

  it('prepareDataset re-prepares the file: every row kept, the same rows written again', async () => {
    const { dir, result } = await preparedForLlamaFactory();
    const again = await prepareDataset({ inputs: [result.files.train], outDir: join(dir, 'again'), target: 'llama-factory', split: { validation: 0 } });
    expect(again.counts.rejected).toBe(0);
    expect(again.counts.train).toBe(result.counts.train);
    const sorted = async (file: string) => (await readFile(file, 'utf8')).split('\n').filter((l) => l !== '').sort();
    expect(await sorted(again.files.train)).toEqual(await sorted(result.files.train));
    // And for a trainer that reads OpenAI messages: the calls and their answers, linked by id.
    const openai = await prepareDataset({ inputs: [result.files.train], outDir: join(dir, 'openai'), target: 'openai', split: { validation: 0 } });
    expect(openai.counts.rejected).toBe(0);
    const rows = await readJsonl(openai.files.train);
    for (const row of rows) {
      const [, call, answer] = row.messages as Array<{ tool_calls?: Array<{ id: string }>; tool_call_id?: string }>;
      expect(answer?.tool_call_id).toBe(call?.tool_calls?.[0]?.id);
    }
  });
});
