/** Which loader reads a source: the explicit `format`, else the file extension. */
import { LoraPrepError } from '../errors.js';
import { sourceName } from './_common.js';
import type { InputFormat, LoadSource } from './types.js';

/**
 * The format of `source`: `explicit` when given, else from the extension of its path or name
 * (case-insensitive): `.csv` → csv, `.tsv`/`.tab` → tsv, `.jsonl`/`.ndjson` → jsonl, `.json` → json,
 * each also with `.gz` after it (the file is then decompressed as it is read).
 *
 * @param source - a path, or `{ name, chunks }` (the name's extension counts).
 * @param explicit - the user's `format` option; wins over the extension.
 * @returns the format to read the source as.
 * @throws LoraPrepError `INPUT_FORMAT` when there is no `explicit` format and the extension is unknown.
 *
 * @example
 * detectFormat('data/cases.NDJSON') // 'jsonl'
 * detectFormat('export.txt', 'tsv') // 'tsv'
 */
export function detectFormat(source: LoadSource, explicit?: InputFormat): InputFormat {
  if (explicit !== undefined) return explicit;
  const file = sourceName(source);
  const format = formatFromExtension(file);
  if (format !== undefined) return format;
  const ext = extensionOf(file);
  const binary = BINARY_FORMATS[ext.toLowerCase()];
  if (binary !== undefined) {
    throw new LoraPrepError('INPUT_FORMAT', `${file}: ${binary}; lora-prep reads CSV, TSV, JSONL and JSON text.`, { location: { file } });
  }
  const inside = isGzipped(file) ? ' before .gz' : '';
  const what = ext === '' ? `it has no extension${inside}` : `its extension "${ext}"${inside} is not one lora-prep knows`;
  throw new LoraPrepError(
    'INPUT_FORMAT',
    `${file}: cannot tell the file format because ${what}. If it is text, pass \`format\` ('csv', 'tsv', 'jsonl' or 'json') for this input ` +
      '(CLI: --input-format), or rename it to end in .csv, .tsv, .tab, .jsonl, .ndjson or .json.',
    { location: { file } },
  );
}

/** Files that are not text, by extension: what each is and how to get text out of it. */
const BINARY_FORMATS: Record<string, string> = {
  '.xlsx': 'an Excel workbook is not text: save the sheet as "CSV UTF-8" (File > Save As) and give the .csv',
  '.xls': 'an Excel workbook is not text: save the sheet as "CSV UTF-8" (File > Save As) and give the .csv',
  '.ods': 'a spreadsheet is not text: save the sheet as CSV (UTF-8) and give the .csv',
  '.parquet': "a Parquet file is not text: write it out as JSONL first, e.g. pandas.read_parquet(f).to_json('data.jsonl', orient='records', lines=True, force_ascii=False)",
  '.arrow': "an Arrow file is not text: write it out as JSONL first, e.g. datasets' Dataset.to_json('data.jsonl')",
  '.feather': "a Feather file is not text: write it out as JSONL first, e.g. pandas.read_feather(f).to_json('data.jsonl', orient='records', lines=True, force_ascii=False)",
  '.zip': 'a zip archive: unpack it and give the files inside',
  '.bz2': 'a bzip2-compressed file: decompress it first (gzip-compressed .gz inputs are read as they are)',
  '.xz': 'an xz-compressed file: decompress it first (gzip-compressed .gz inputs are read as they are)',
  '.zst': 'a zstd-compressed file: decompress it first (gzip-compressed .gz inputs are read as they are)',
  '.7z': 'a 7-Zip archive: unpack it and give the files inside',
};

/**
 * What a file's first bytes say it is, when they are those of a binary format that is often saved
 * or renamed with a text extension: its name and the advice of {@link BINARY_FORMATS}. gzip is
 * not among them (a gzip file of any name is read through gzip) unless it is found inside gzip data.
 *
 * @param head - the file's first bytes (after gzip, for a gzip file); a few hundred are plenty.
 * @returns what it is and how to get text out of it, or `undefined` for anything else.
 *
 * @example
 * binaryFormatOf(Buffer.from('PK\x03\x04...')) // { magic: 'a zip archive (an .xlsx workbook)', advice: 'an Excel workbook is not text: …' }
 */
export function binaryFormatOf(head: Uint8Array): { magic: string; advice: string } | undefined {
  const starts = (bytes: readonly number[], at = 0): boolean => bytes.every((b, i) => head[at + i] === b);
  const ascii = Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString('latin1');
  let magic: string | undefined;
  let ext: string | undefined;
  if (starts([0x50, 0x4b, 0x03, 0x04]) || starts([0x50, 0x4b, 0x05, 0x06])) {
    // A zip archive: Office and OpenDocument files are zips too; their first entries say which.
    if (ascii.includes('opendocument.spreadsheet')) [magic, ext] = ['a zip archive (an OpenDocument spreadsheet)', '.ods'];
    else if (ascii.includes('[Content_Types].xml') || ascii.includes('xl/')) [magic, ext] = ['a zip archive (an Excel .xlsx workbook)', '.xlsx'];
    else [magic, ext] = ['a zip archive', '.zip'];
  } else if (starts([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])) {
    [magic, ext] = ['an OLE compound file (an Excel .xls workbook)', '.xls'];
  } else if (starts([0x50, 0x41, 0x52, 0x31]) && head.length > 4 && isControl(head[4] as number)) {
    // "PAR1" then a binary page header: a CSV whose header starts with PAR1 has text there.
    [magic, ext] = ['a Parquet file', '.parquet'];
  } else if (starts([0x41, 0x52, 0x52, 0x4f, 0x57, 0x31, 0x00])) {
    [magic, ext] = ['an Arrow file', '.arrow'];
  } else if (starts([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c])) {
    [magic, ext] = ['a 7-Zip archive', '.7z'];
  } else if (/^BZh[1-9](1AY&SY|\x17rE8P\x90)/.test(ascii.slice(0, 10))) {
    [magic, ext] = ['bzip2-compressed data', '.bz2'];
  } else if (starts([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) {
    [magic, ext] = ['xz-compressed data', '.xz'];
  } else if (starts([0x28, 0xb5, 0x2f, 0xfd])) {
    [magic, ext] = ['zstd-compressed data', '.zst'];
  } else if (starts([0x1f, 0x8b, 0x08])) {
    return { magic: 'gzip data inside gzip data', advice: 'the file was compressed twice: decompress it (gunzip) and give the result' };
  }
  return magic === undefined || ext === undefined ? undefined : { magic, advice: BINARY_FORMATS[ext] as string };
}

/** A byte that is a control character other than tab, line feed and carriage return. */
function isControl(b: number): boolean {
  return b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d;
}

/**
 * Whether a file is read through gzip: its name ends in `.gz` (any case). Its format is then that
 * of the name without it: `data.jsonl.gz` is JSONL.
 *
 * @example
 * isGzipped('dump/rows.JSONL.GZ') // true
 */
export function isGzipped(file: string): boolean {
  return /\.gz$/i.test(file);
}

/**
 * The format implied by a file name's extension, or `undefined` when the extension is unknown.
 *
 * @example
 * formatFromExtension('a.tab') // 'tsv'
 */
export function formatFromExtension(file: string): InputFormat | undefined {
  return EXTENSIONS[extensionOf(file)];
}

// --- internal ---

const EXTENSIONS: Partial<Record<string, InputFormat>> = {
  '.csv': 'csv',
  '.tsv': 'tsv',
  '.tab': 'tsv',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.json': 'json',
};

/**
 * The lower-cased extension with its dot ('' when none), that of the name before a `.gz`;
 * `/` and `\` both separate folders.
 */
function extensionOf(file: string): string {
  const name = isGzipped(file) ? file.slice(0, -3) : file;
  const base = name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1);
  const dot = base.lastIndexOf('.');
  return dot <= 0 ? '' : base.slice(dot).toLowerCase();
}
