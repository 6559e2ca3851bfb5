/**
 * docs/guides/exports.md, run as written: the figures the guide quotes are checked here, so the
 * guide cannot drift from what the code does.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { prepareDataset, type PrepareOptions } from '../src/index.js';
import { tempDir } from './helpers/index.js';

const INPUTS: PrepareOptions['inputs'] = [
  { path: 'fixtures/exports/export', domain: 'legal' },
  { path: 'fixtures/exports/mysql.csv', domain: 'legal', escape: '\\' },
  { path: 'fixtures/exports/faq.csv', domain: 'legal' },
  { path: 'fixtures/exports/crm.json', domain: 'finance', recordsKey: 'data' },
  { path: 'fixtures/exports/notes.txt', domain: 'legal', format: 'jsonl' },
];

const lines = async (path: string) => (await readFile(path, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { messages: Array<{ role: string; content: string }> });

describe('the exports guide', () => {
  it('reads every source of the guide as it says, in one run', async () => {
    const result = await prepareDataset({ inputs: INPUTS, outDir: join(await tempDir(), 'out'), split: { validation: 0.1, seed: 42 } });
    expect(result.counts).toMatchObject({ input: 131, kept: 128, rejected: 3, train: 115, validation: 13, byReason: { duplicate: 3 } });
    expect(result.warnings).toEqual([]);
    const manifest = JSON.parse(await readFile(result.files.manifest, 'utf8'));
    expect(manifest.inputs.map((i: { file: string }) => i.file)).toEqual([
      'fixtures/exports/export/part-00000.jsonl.gz',
      'fixtures/exports/export/part-00001.jsonl.gz',
      'fixtures/exports/export/part-00002.jsonl.gz',
      'fixtures/exports/mysql.csv',
      'fixtures/exports/faq.csv',
      'fixtures/exports/crm.json',
      'fixtures/exports/notes.txt',
    ]);
    const texts = [...(await lines(result.files.train)), ...(await lines(result.files.validation as string))].flatMap((r) => r.messages.map((m) => m.content));
    expect(texts).toContain('The buyer takes the goods "as is": the seller gives no warranty of their condition.');
    expect(texts).toContain('In the shared drive under C:\\contracts\\2024, one folder per client.');
    expect(texts).toContain('What is a lien?');
    expect(texts).toContain('Money or documents held by a third party until the conditions of a deal are met.');
    expect(texts).toContain('What is a subpoena?');
    expect(texts.some((t) => t.includes('\\"'))).toBe(false);
  });

  it('tries the settings on the first 45 rows', async () => {
    const result = await prepareDataset({ inputs: INPUTS, outDir: join(await tempDir(), 'try'), maxRows: 45, split: { validation: 0.1, seed: 42 } });
    expect(result.counts).toMatchObject({ input: 45, kept: 45, train: 40, validation: 5 });
    expect(result.warnings).toEqual([
      'read the first 45 input rows (maxRows): not read to the end: fixtures/exports/export/part-00001.jsonl.gz, fixtures/exports/export/part-00002.jsonl.gz, fixtures/exports/mysql.csv, fixtures/exports/faq.csv, fixtures/exports/crm.json and 1 more',
    ]);
  });

  it('without the settings, each source says what it needs', async () => {
    const dir = await tempDir();
    const mysql = await prepareDataset({ inputs: ['fixtures/exports/mysql.csv'], outDir: join(dir, 'm'), split: { validation: 0 } });
    expect(mysql.warnings[0]).toMatch(/^fixtures\/exports\/mysql\.csv: 2 rows \(the first on line 2\) have a quoted field with \\" inside, kept as written/);
    await expect(prepareDataset({ inputs: ['fixtures/exports/crm.json'], outDir: join(dir, 'c') })).rejects.toThrow(/pass recordsKey: "data" \(CLI --records-key data\)/);
    await expect(prepareDataset({ inputs: ['fixtures/exports/notes.txt'], outDir: join(dir, 'n') })).rejects.toThrow(/\(CLI: --input-format\)/);
  });
});
