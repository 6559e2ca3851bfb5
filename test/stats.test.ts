import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/run.js';
import { fileStats, loadTokenizer, prepareDataset } from '../src/index.js';
import { tempDir } from './helpers/index.js';
import { readJsonl } from './helpers/output.js';

describe('lora-prep stats', () => {
  it('counts every readable example of a file in any shape, with a histogram', async () => {
    const s = await fileStats('fixtures/medical/clinical-qa.jsonl', { maxTokens: 60 });
    expect(s.examples).toBe(13);
    expect(s.unreadable).toBe(2);
    expect(s.histogram.reduce((n, b) => n + b.count, 0)).toBe(13);
    expect(s.over).toBeGreaterThan(0);
    const tok = await loadTokenizer('o200k_base');
    // On our own output (no rejects), the total is the sum of each example's count.
    const chat = await fileStats('fixtures/targets/no-tools.jsonl');
    const records = await readJsonl('fixtures/targets/no-tools.jsonl');
    const counts = records.map((r) => tok.countMessages(r.messages as never));
    expect(chat.examples).toBe(records.length);
    expect(chat.tokens.total).toBe(counts.reduce((a, b) => a + b, 0));
    expect(chat.tokens.max).toBe(Math.max(...counts));
  });

  it.each(['trl', 'unsloth', 'axolotl', 'openai'] as const)('counts what prepare counted on its own %s output, tools written as JSON text included', async (target) => {
    const outDir = join(await tempDir(), 'o');
    const result = await prepareDataset({ inputs: ['fixtures/targets/conversations.jsonl'], outDir, target, split: { validation: 0 }, dedup: false });
    const s = await fileStats(result.files.train);
    expect(s.unreadable).toBe(0);
    expect(s.examples).toBe(result.counts.train);
    expect(s.tokens.total).toBe(result.tokens.total);
  });

  it('counts no trainable tokens for a final answer marked weight 0', async () => {
    const file = join(await tempDir(), 'weights.jsonl');
    const turns = [
      { role: 'user', content: 'Capital of France?' },
      { role: 'assistant', content: 'Paris.' },
      { role: 'user', content: 'And of Germany?' },
    ];
    const trained = { messages: [...turns, { role: 'assistant', content: 'Berlin, since reunification.' }] };
    const untrained = { messages: [...turns, { role: 'assistant', content: 'Berlin, since reunification.', weight: 0 }] };
    await writeFile(file, `${JSON.stringify(trained)}\n`);
    const one = await fileStats(file);
    expect(one.tokens.trainable).toBeGreaterThan(0);
    await writeFile(file, `${JSON.stringify(untrained)}\n`);
    expect((await fileStats(file)).tokens.trainable).toBe(0);
  });

  it('prints the statistics and exits 0; 2 on usage errors', async () => {
    let out = '';
    const io = { stdout: (t: string) => void (out += t), stderr: () => undefined };
    expect(await runCli(['stats', 'fixtures/legal/case-law-sharegpt.jsonl', '--tokenizer', 'cl100k_base'], io)).toBe(0);
    expect(out).toMatch(/10 examples, 2 unreadable rows \(cl100k_base\)/);
    expect(out).toMatch(/│█+ \d+/);
    expect(await runCli(['stats'], io)).toBe(2);
    expect(await runCli(['stats', 'fixtures/none.jsonl'], io)).toBe(2);
  });

  it('says a folder is no file, naming one it holds (not a format to give it)', async () => {
    await expect(fileStats('fixtures/legal')).rejects.toMatchObject({
      code: 'INPUT_NOT_FOUND',
      message: expect.stringMatching(/^fixtures\/legal is a folder: stats counts one file, such as fixtures\/legal\/\S+\.(jsonl|csv|json|tsv) \(the folder holds /),
    });
    await expect(fileStats('fixtures/legal')).rejects.not.toMatchObject({ message: expect.stringMatching(/input-format/) });
  });
});
