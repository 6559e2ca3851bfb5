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
