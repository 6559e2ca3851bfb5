import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { isLoraPrepError } from '../src/errors.js';
import { prepareDataset } from '../src/index.js';
import { tempDir } from './helpers/index.js';

const row = (n: number) => `${JSON.stringify({ question: `What is clause ${n}?`, answer: `Clause ${n} limits liability.` })}\n`;

/** A folder as Spark or a sharded export leaves it: part files, markers, a stray file and a subfolder. */
async function exportFolder(): Promise<string> {
  const dir = join(await tempDir(), 'export');
  await mkdir(join(dir, 'logs'), { recursive: true });
  await writeFile(join(dir, 'part-10.jsonl'), row(10));
  await writeFile(join(dir, 'part-2.jsonl'), row(2));
  await writeFile(join(dir, 'part-1.jsonl.gz'), gzipSync(row(1)));
  await writeFile(join(dir, 'part-3.csv'), 'question,answer\nWhat is clause 3?,Clause 3 limits liability.\n');
  await writeFile(join(dir, '_SUCCESS'), '');
  await writeFile(join(dir, '.part-2.jsonl.crc'), 'xx');
  await writeFile(join(dir, 'notes.txt'), 'not data');
  await writeFile(join(dir, 'logs', 'run.jsonl'), row(99));
  return dir;
}

describe('a folder as an input', () => {
  it('stands for its files that name a format, in natural order, with the folder’s settings', async () => {
    const dir = await exportFolder();
    const result = await prepareDataset({ inputs: [{ path: dir, domain: 'legal' }], outDir: join(dir, '..', 'o'), split: { validation: 0 }, concurrency: 1 });
    expect(result.counts).toMatchObject({ input: 4, kept: 4, rejected: 0 });
    const manifest = JSON.parse(await readFile(result.files.manifest, 'utf8'));
    expect(manifest.inputs.map((i: { file: string }) => i.file)).toEqual(['part-1.jsonl.gz', 'part-2.jsonl', 'part-3.csv', 'part-10.jsonl'].map((f) => join(dir, f)));
    const train = (await readFile(result.files.train, 'utf8')).trim().split('\n').map((l) => JSON.parse(l).messages[0].content);
    expect(train).toEqual([1, 2, 3, 10].map((n) => `What is clause ${n}?`));
    expect(result.warnings).toContain(`${dir}: read 4 files of the folder; left out notes.txt (no format in the name) and logs/ (subfolders are not read)`);
    expect(result.warnings.join('\n')).not.toMatch(/_SUCCESS|\.crc/);
  });

  it('of many files: their first rows are read several at once, and the first file in order with a problem is the one named', async () => {
    // A binary file named .csv is refused as it is read (INPUT_FORMAT); a first row of unknown shape, after.
    const binary = { name: 'csv', bytes: Buffer.from('P\x01K\x03\x14,\x06\x07x\x08\nab\x02,\x1f9q\n', 'latin1') };
    const unknown = { name: 'jsonl', bytes: '{"foo":"x","bar":"y"}\n' };
    const cases = [
      { bad: { 7: unknown, 9: binary }, code: 'MAPPING_INVALID', named: 'part-7.jsonl' },
      { bad: { 7: binary, 9: unknown }, code: 'INPUT_FORMAT', named: 'part-7.csv' },
    ] as const;
    for (const { bad, code, named } of cases) {
      const dir = join(await tempDir(), 'parts');
      await mkdir(dir);
      for (let n = 1; n <= 30; n++) {
        const file = (bad as Record<number, { name: string; bytes: string | Buffer }>)[n];
        await writeFile(join(dir, `part-${n}.${file?.name ?? 'jsonl'}`), file?.bytes ?? row(n));
      }
      const error = await prepareDataset({ inputs: [dir], outDir: join(dir, '..', 'o'), concurrency: 1 }).catch((e: unknown) => e);
      expect(isLoraPrepError(error) && error.code).toBe(code);
      expect((error as Error).message).toContain(named);
    }
    // All good: every file's rows, in natural order.
    const dir = join(await tempDir(), 'parts');
    await mkdir(dir);
    for (let n = 1; n <= 30; n++) await writeFile(join(dir, `part-${n}.jsonl`), row(n));
    const result = await prepareDataset({ inputs: [dir], outDir: join(dir, '..', 'o'), split: { validation: 0 }, concurrency: 1 });
    const train = (await readFile(result.files.train, 'utf8')).trim().split('\n').map((l) => JSON.parse(l).messages[0].content);
    expect(train).toEqual(Array.from({ length: 30 }, (_, i) => `What is clause ${i + 1}?`));
  });

  it('with a format, reads every file of the folder as that format', async () => {
    const dir = join(await tempDir(), 'dump');
    await mkdir(dir);
    await writeFile(join(dir, 'a.txt'), row(1));
    await writeFile(join(dir, 'b.log'), row(2));
    const result = await prepareDataset({ inputs: [{ path: dir, format: 'jsonl' }], outDir: join(dir, '..', 'o'), split: { validation: 0 }, concurrency: 1 });
    expect(result.counts.input).toBe(2);
    expect(result.warnings.join('\n')).not.toMatch(/left out/);
  });

  it('says a glob pattern, standard input, a ~ or Windows separators are no input path', async () => {
    const dir = await tempDir();
    for (const [path, says] of [
      [join(dir, '*.csv'), 'Patterns such as *.csv are not expanded here'],
      ['-', 'not standard input'],
      ['~/data/rows.csv', 'A leading ~ is not expanded here'],
      ['~', 'A leading ~ is not expanded here'],
      ['fixtures\\finance\\fiqa-qa.csv', 'write "fixtures/finance/fiqa-qa.csv"'],
    ] as const) {
      const error = await prepareDataset({ inputs: [path], outDir: join(dir, 'o') }).catch((e: unknown) => e);
      expect(isLoraPrepError(error) && error.code).toBe('INPUT_NOT_FOUND');
      expect((error as Error).message).toContain(says);
    }
  });

  it('stops with INPUT_NOT_FOUND when the folder holds nothing to read, naming what it holds', async () => {
    const dir = join(await tempDir(), 'empty');
    await mkdir(join(dir, 'deeper'), { recursive: true });
    await writeFile(join(dir, 'README.md'), '#');
    const error = await prepareDataset({ inputs: [dir], outDir: join(dir, '..', 'o') }).then(() => undefined, (e: unknown) => e);
    expect(isLoraPrepError(error) && error.code).toBe('INPUT_NOT_FOUND');
    expect((error as Error).message).toBe(
      `input ${dir} is a folder with no CSV, TSV, JSONL or JSON file (.gz too) in it (it holds README.md, deeper/). List the files in inputs, or give the folder a format to read files of other names.`,
    );
  });
});

describe('a job-wide recordsKey', () => {
  it('applies to the JSON inputs and warns for no other input beside them; alone with other inputs, it warns', async () => {
    const dir = await tempDir();
    const csv = join(dir, 'a.csv');
    const json = join(dir, 'b.json');
    await writeFile(csv, 'question,answer\nWhat is a lien?,A right to keep property.\n');
    await writeFile(json, JSON.stringify({ version: 1, data: [{ question: 'What is escrow?', answer: 'Money a third party holds.' }] }));
    const both = await prepareDataset({ inputs: [csv, json], outDir: join(dir, 'o1'), recordsKey: 'data', split: { validation: 0 } });
    expect(both.counts.kept).toBe(2);
    expect(both.warnings.filter((w) => w.includes('recordsKey'))).toEqual([]);
    const alone = await prepareDataset({ inputs: [csv], outDir: join(dir, 'o2'), recordsKey: 'data', split: { validation: 0 } });
    expect(alone.warnings.some((w) => w.includes('recordsKey "data" applies to JSON files only'))).toBe(true);
  });
});

describe('an input cut while it is read', () => {
  it('is read as far as it went, with a warning that says so (and none for a file read whole)', async () => {
    const { truncateSync } = await import('node:fs');
    const dir = await tempDir();
    const file = join(dir, 'growing.jsonl');
    const rows = Array.from({ length: 400 }, (_, i) => JSON.stringify({ question: `Question ${i}: what is the ${i}th rule of bookkeeping?`, answer: `Rule ${i} says to record entry ${i} twice.` }));
    await writeFile(file, `${rows.join('\n')}\n`);
    const half = Buffer.byteLength(`${rows.slice(0, 200).join('\n')}\n`);
    let cut = false;
    const result = await prepareDataset({
      inputs: [file],
      outDir: join(dir, 'o'),
      // Once the run knows the file's size, before a byte is read: another process cuts it.
      onProgress: (e) => {
        if (e.stage === 'read' && !cut) {
          cut = true;
          truncateSync(file, half);
        }
      },
    });
    expect(result.counts.input).toBe(200);
    expect(result.warnings.find((w) => w.includes('shrank'))).toBe(`${file}: the file shrank while it was read (${Buffer.byteLength(`${rows.join('\n')}\n`).toLocaleString('en-US')} bytes when the run began, ${half.toLocaleString('en-US')} read): it was cut or rewritten meanwhile, and what stood after that point is not in the dataset; run again once the file is complete`);
    const whole = await prepareDataset({ inputs: [file], outDir: join(dir, 'o2') });
    expect(whole.warnings.some((w) => w.includes('shrank'))).toBe(false);
  });
});

describe('a binary file under a text name', () => {
  it('is refused as no text (INPUT_FORMAT, naming exports and encoding), not as a mapping problem listing garbage columns', async () => {
    const dir = await tempDir();
    const file = join(dir, 'export.csv');
    // Bytes no text has (controls), with commas and newlines among them.
    const bytes = Buffer.from('P\x01K\x03\x14,\x06\x07x\x08\nab\x02,\x1f9q\n', 'latin1');
    await writeFile(file, bytes);
    await expect(prepareDataset({ inputs: [file], outDir: join(dir, 'o') })).rejects.toMatchObject({
      code: 'INPUT_FORMAT',
      message: expect.stringMatching(/export\.csv: does not look like text: .*Export it as CSV or JSONL; for text in another encoding, pass encoding/),
    });
    // A text header that fits no preset is still a mapping problem.
    await writeFile(file, 'alpha,beta\n1,2\n');
    await expect(prepareDataset({ inputs: [file], outDir: join(dir, 'o') })).rejects.toMatchObject({ code: 'MAPPING_INVALID' });
  });
});
