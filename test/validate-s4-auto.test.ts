/**
 * validate / --fix with `target: 'auto'`: the guess reads past line 1 while line 1 only fits the
 * default (OpenAI for messages, Axolotl for alpaca), up to 1,000 records, and the report's warning
 * names the line that decided.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prepareDataset } from '../src/index.js';
import { fixFile, validateFile } from '../src/validate/index.js';
import { GUESS_MAX_RECORDS, TargetGuesser } from '../src/validate/targets.js';
import { tempDir } from './helpers/index.js';

function jsonl(records: unknown[]): string {
  return records.map((r) => `${JSON.stringify(r)}\n`).join('');
}

const plain = (i: number) => ({
  messages: [
    { role: 'user', content: `What is bond number ${i}?` },
    { role: 'assistant', content: `Bond ${i} pays a fixed coupon.` },
  ],
});
const RATE_TOOL = { type: 'function', function: { name: 'get_rate', description: 'Current rate', parameters: { type: 'object', properties: { c: { type: 'string' } } } } };
const withTool = (id: string, tools: unknown) => ({
  messages: [
    { role: 'user', content: 'What is the ECB rate?' },
    { role: 'assistant', tool_calls: [{ id, type: 'function', function: { name: 'get_rate', arguments: '{"c":"EUR"}' } }] },
    { role: 'tool', content: '4.5', tool_call_id: id },
    { role: 'assistant', content: 'It is 4.5%.' },
  ],
  tools,
});

async function file(records: unknown[], name = 'train.jsonl'): Promise<string> {
  const path = join(await tempDir(), name);
  await writeFile(path, jsonl(records));
  return path;
}

describe('target auto reads past line 1', () => {
  it('tools written as JSON text on line 6 make it TRL, not OpenAI', async () => {
    const path = await file([...Array.from({ length: 5 }, (_, i) => plain(i)), withTool('call_1', JSON.stringify([RATE_TOOL])), ...Array.from({ length: 6 }, (_, i) => plain(i + 10))]);
    const r = await validateFile(path, { target: 'auto' });
    expect(r.problems).toEqual([]);
    expect(r).toMatchObject({ ok: true, target: 'trl', format: 'chat', guessed: true });
    expect(r.warnings[0]).toBe('guessed target trl (chat) from line 6: tools as JSON text (TRL, Unsloth); pass --target to choose');
  });

  it('Mistral tool-call ids on line 4 make it Mistral', async () => {
    const path = await file([plain(1), plain(2), plain(3), withTool('a1B2c3D4e', [RATE_TOOL]), plain(4)]);
    const r = await validateFile(path, { target: 'auto' });
    expect(r).toMatchObject({ target: 'mistral', format: 'chat', guessed: true });
    expect(r.warnings[0]).toMatch(/^guessed target mistral \(chat\) from line 4: messages with 9-character tool-call ids/);
  });

  it("tool-call arguments as objects make it MLX-LM, and prepare's own mlx-lm output passes", async () => {
    const objects = withTool('call_1', [RATE_TOOL]);
    (objects.messages[1] as { tool_calls: Array<{ function: { arguments: unknown } }> }).tool_calls[0]!.function.arguments = { c: 'EUR' };
    const path = await file([plain(1), plain(2), { ...objects, messages: objects.messages.map((m) => (m.role === 'assistant' && !m.content ? { ...m, content: '' } : m)) }, plain(3)]);
    const r = await validateFile(path, { target: 'auto' });
    expect(r.problems).toEqual([]);
    expect(r).toMatchObject({ ok: true, target: 'mlx-lm', format: 'chat', guessed: true });
    expect(r.warnings[0]).toBe('guessed target mlx-lm (chat) from line 3: tool-call arguments as objects (MLX-LM); pass --target to choose');
    const dir = await tempDir();
    const input = join(dir, 'tools.jsonl');
    await writeFile(input, jsonl(Array.from({ length: 12 }, (_, i) => ({ ...withTool(`call_${i}`, [RATE_TOOL]), messages: withTool(`call_${i}`, [RATE_TOOL]).messages.map((m) => (m.role === 'user' ? { ...m, content: `${m.content} (${i})` } : m)) }))));
    const prepared = await prepareDataset({ inputs: [input], outDir: join(dir, 'o'), target: 'mlx-lm', split: { validation: 0.34 } });
    const own = await validateFile(prepared.files.train, { target: 'auto' });
    expect(own).toMatchObject({ ok: true, target: 'mlx-lm' });
  });

  it('alpaca with a history further down is LLaMA-Factory', async () => {
    const path = await file([{ instruction: 'q', input: '', output: 'a' }, { instruction: 'q2', input: '', output: 'a2', history: [['h', 'r']] }]);
    const r = await validateFile(path, { target: 'auto' });
    expect(r).toMatchObject({ ok: true, target: 'llama-factory', format: 'instruction' });
    expect(r.warnings[0]).toMatch(/from line 2: alpaca keys with history/);
  });

  it('the first record fixes the format: a later record of another format does not decide', async () => {
    const path = await file([plain(1), { prompt: 'q', completion: 'a' }, plain(2)]);
    const r = await validateFile(path, { target: 'auto' });
    expect(r).toMatchObject({ target: 'openai', format: 'chat' });
    expect(r.warnings[0]).toMatch(/from line 1: a messages key; none of the 3 records read points to a particular trainer/);
  });

  it(`reads at most ${GUESS_MAX_RECORDS} records: a hint further down is not seen, and the line is checked as OpenAI`, async () => {
    const records = [...Array.from({ length: GUESS_MAX_RECORDS }, (_, i) => plain(i)), withTool('call_1', JSON.stringify([RATE_TOOL]))];
    const r = await validateFile(await file(records), { target: 'auto' });
    expect(r.target).toBe('openai');
    expect(r.warnings[0]).toMatch(/none of the 1,000 records read/);
    expect(r.problems.map(({ line, rule }) => ({ line, rule }))).toEqual([{ line: GUESS_MAX_RECORDS + 1, rule: 'B.8-tools' }]);
  });

  it('skips lines that are no record (blank, bad JSON) while reading the head', async () => {
    const path = join(await tempDir(), 'train.jsonl');
    await writeFile(path, `${jsonl([plain(1)])}not json\n${jsonl([withTool('call_1', '[]')])}`);
    const r = await validateFile(path, { target: 'auto' });
    expect(r.target).toBe('trl');
    expect(r.problems.map((p) => p.rule)).toEqual(['A.3-json']);
    expect(r.warnings[0]).toMatch(/from line 3/);
  });

  it('TargetGuesser stops at the first record that decides, and keeps the default otherwise', () => {
    const g = new TargetGuesser();
    expect(g.add(1, plain(1))).toBe(false);
    expect(g.add(2, plain(2))).toBe(false);
    expect(g.add(3, { messages: [], chat_template_kwargs: {} })).toBe(true);
    expect(g.result()).toMatchObject({ target: 'trl', format: 'chat', line: 3, firstLine: 1 });
    const sure = new TargetGuesser();
    expect(sure.add(1, { conversations: [] })).toBe(true);
    expect(sure.result()).toMatchObject({ target: 'llama-factory', line: 1 });
    const unknown = new TargetGuesser();
    expect(unknown.add(1, { question: 'q' })).toBe(true);
    expect(unknown.result()).toBeUndefined();
  });

  it('--fix settles the target the same way (role fixes are counted under the rule of the guessed target)', async () => {
    const human = { messages: [{ role: 'human', content: 'Hi' }, { role: 'gpt', content: 'Hello' }] };
    const path = await file([human, plain(1), withTool('a1B2c3D4e', [RATE_TOOL])]);
    const fix = await fixFile(path, undefined, { target: 'auto' });
    expect(fix.changes).toEqual([{ rule: 'D.2-role', count: 2 }]);
    expect((await validateFile(fix.outPath, { target: 'auto' })).target).toBe('mistral');
  });
});
