/** maxRows over CSV: a file is partial when the record after the last one read is a rejected one. */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prepareDataset } from '../src/index.js';
import { tempDir } from './helpers/index.js';

describe('maxRows with CSV', () => {
  it.each([
    ['a quote never closed', 'question,answer\nL2,a2\n"L3 open,a3\n'],
    ['a row with too many fields', 'question,answer\nL2,a2\nL3,a3,extra\n'],
    ['unbalanced quotes over lines', 'question,answer\nL2,a2\n"L3,a3\nL4" x,a4\n'],
  ])('marks the file partial and warns when the next record is %s', async (_name, text) => {
    const dir = await tempDir();
    const path = join(dir, 'mr5.csv');
    await writeFile(path, text);
    const result = await prepareDataset({ inputs: [path], mapping: 'qa', outDir: join(dir, 'o'), maxRows: 1, concurrency: 1, split: { validation: 0 } });
    expect(result.counts.input).toBe(1);
    expect(result.counts.rejected).toBe(0);
    expect(result.warnings).toContain(`read the first 1 input rows (maxRows): not read to the end: ${path}`);
    const manifest = JSON.parse(await readFile(result.files.manifest, 'utf8'));
    expect(manifest.inputs[0]).toMatchObject({ file: path, partial: true });
  });

  it('does not when the file ends with the last row read', async () => {
    const dir = await tempDir();
    const path = join(dir, 'whole.csv');
    await writeFile(path, 'question,answer\nL2,a2\n');
    const result = await prepareDataset({ inputs: [path], mapping: 'qa', outDir: join(dir, 'o'), maxRows: 1, concurrency: 1, split: { validation: 0 } });
    expect(result.warnings.some((w) => w.includes('maxRows'))).toBe(false);
    const manifest = JSON.parse(await readFile(result.files.manifest, 'utf8'));
    expect(manifest.inputs[0].partial).toBeUndefined();
  });
});
