import { describe, expect, it } from 'vitest';
import { isLoraPrepError } from '../../src/errors.js';
import { detectFormat, loadRecords, type InputFormat } from '../../src/load/index.js';
import { runLoad, writeTemp } from '../helpers/load-helpers.js';

/** The message of the INPUT_FORMAT error detectFormat throws for `path` (fails the test if it throws none, or another). */
function formatError(path: string): string {
  let error: unknown;
  try {
    detectFormat(path);
  } catch (e) {
    error = e;
  }
  expect(isLoraPrepError(error) && error.code).toBe('INPUT_FORMAT');
  return (error as Error).message;
}

describe('detectFormat', () => {
  it.each([
    ['data/a.csv', 'csv'],
    ['A.CSV', 'csv'],
    ['a.tsv', 'tsv'],
    ['a.tab', 'tsv'],
    ['a.jsonl', 'jsonl'],
    ['a.ndjson', 'jsonl'],
    ['a.json', 'json'],
    ['dir.v2\\file.Json', 'json'],
    ['./archive.2024.csv', 'csv'],
  ] as const)('%s → %s', (path, want) => {
    expect(detectFormat(path)).toBe(want);
    expect(detectFormat({ name: path, chunks: (async function* () {})() })).toBe(want);
  });

  it('lets an explicit format win over the extension', () => {
    expect(detectFormat('a.csv', 'jsonl')).toBe('jsonl');
    expect(detectFormat('a.txt', 'tsv')).toBe('tsv');
  });

  it.each([
    ['notes.txt', /its extension "\.txt" is not one lora-prep knows/],
    ['data.jsonl.bak', /its extension "\.bak"/],
    ['README', /it has no extension/],
    ['dir.d/file', /it has no extension/],
    ['.json', /it has no extension/],
  ])('throws INPUT_FORMAT for %s, telling the user to pass format', (path, why) => {
    const message = formatError(path);
    expect(message.startsWith(`${path}: cannot tell the file format`)).toBe(true);
    expect(message).toMatch(why);
    expect(message).toMatch(/pass `format` \('csv', 'tsv', 'jsonl' or 'json'\) for this input \(CLI: --input-format\)/);
  });

  it.each([
    ['sheet.xlsx', /an Excel workbook is not text: save the sheet as "CSV UTF-8"/],
    ['OLD.XLS', /an Excel workbook is not text/],
    ['part-0.parquet', /a Parquet file is not text: write it out as JSONL first/],
    ['data.jsonl.bz2', /a bzip2-compressed file: decompress it first \(gzip-compressed \.gz inputs are read as they are\)/],
    ['bundle.zip', /a zip archive: unpack it/],
  ])('says what %s is and how to get text out of it, instead of telling to rename it', (path, what) => {
    const message = formatError(path);
    expect(message.startsWith(`${path}: `)).toBe(true);
    expect(message).toMatch(what);
    expect(message).toMatch(/lora-prep reads CSV, TSV, JSONL and JSON text\.$/);
    expect(message).not.toMatch(/rename/);
    // A format given explicitly still wins.
    expect(detectFormat(path, 'csv')).toBe('csv');
  });
});

describe('loadRecords', () => {
  it.each([
    ['t.csv', 'q,a\nx,y\n', undefined, 2],
    ['t.tsv', 'q\ta\nx\ty\n', undefined, 2],
    ['t.jsonl', '{"q":"x","a":"y"}\n', undefined, 1],
    ['t.json', '[{"q":"x","a":"y"}]', undefined, 1],
    ['t.txt', '{"q":"x","a":"y"}\n', 'jsonl', 1],
    ['t.data', 'q;a\nx;y\n', 'csv', 2],
  ] as [string, string, InputFormat | undefined, number][])('reads %s (format %s)', async (name, text, format, line) => {
    const path = await writeTemp(name, text);
    const result = await runLoad((ctx) => loadRecords(path, { format }, ctx));
    expect(result.rows).toEqual([{ data: { q: 'x', a: 'y' }, source: { file: path, line } }]);
  });

  it('throws INPUT_FORMAT at once, before reading, for an unknown extension', () => {
    expect(() => loadRecords('missing.xlsx', {}, { reject: () => {}, warn: () => {} })).toThrow(/an Excel workbook is not text/);
    expect(() => loadRecords('missing.txt', {}, { reject: () => {}, warn: () => {} })).toThrow(/cannot tell the file format/);
  });

  it('throws INPUT_NOT_FOUND when iterated for a missing file', async () => {
    const result = await runLoad((ctx) => loadRecords('nope/missing.csv', {}, ctx));
    expect(isLoraPrepError(result.error) && result.error.code).toBe('INPUT_NOT_FOUND');
  });
});
