import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prepareDataset } from '../src/index.js';
import { tempDir } from './helpers/index.js';

/** Twelve ordinary rows and one whose prompt holds half a surrogate pair (a JSON escape). */
async function input(dir: string): Promise<string> {
  const rows = Array.from({ length: 12 }, (_, i) => JSON.stringify({ prompt: `Question ${i} on the ledger?`, completion: `Answer ${i}.` }));
  rows.splice(5, 0, '{"prompt":"lone \\ud800 surrogate","completion":"kept or not"}');
  const file = join(dir, 'rows.jsonl');
  await writeFile(file, `${rows.join('\n')}\n`);
  return file;
}

describe('prepareDataset and lone surrogates in the text', () => {
  it('rejects the row as invalid_encoding at its line by default', async () => {
    const dir = await tempDir();
    const file = await input(dir);
    const result = await prepareDataset({ inputs: [file], outDir: join(dir, 'out'), dedup: { near: false } });
    expect(result.counts.rejected).toBe(1);
    const rejected = (await readFile(join(dir, 'out', 'report', 'rejected.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { reason: string; source: { line: number } });
    expect(rejected).toEqual([expect.objectContaining({ reason: 'invalid_encoding', source: expect.objectContaining({ line: 6 }) })]);
  });

  it("with onInvalidEncoding 'replace' writes U+FFFD in its place and warns", async () => {
    const dir = await tempDir();
    const file = await input(dir);
    const result = await prepareDataset({ inputs: [file], outDir: join(dir, 'out'), dedup: { near: false }, split: { validation: 0 }, onInvalidEncoding: 'replace' });
    expect(result.counts.rejected).toBe(0);
    const train = await readFile(join(dir, 'out', 'train.jsonl'), 'utf8');
    expect(train).toContain('lone \uFFFD surrogate');
    expect(train).not.toMatch(/\\ud800|[\ud800-\udfff]/);
    expect(result.warnings.join('\n')).toMatch(/U\+FFFD/);
  });
});
