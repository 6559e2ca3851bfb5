/** The loading stage's entry point: picks the loader for a source and reads it. */
import type { SourceRow, StageContext } from '../types.js';
import { loadCsv } from './csv.js';
import { detectFormat } from './format.js';
import { loadJson } from './json.js';
import { loadJsonl } from './jsonl.js';
import type { LoadOptions, LoadSource } from './types.js';

/**
 * Reads any supported source as rows: the format is `options.format`, else the extension (see
 * {@link detectFormat}), and the matching loader ({@link loadCsv} for csv and tsv,
 * {@link loadJsonl}, {@link loadJson}) does the reading. Every row of the file is either yielded
 * or passed to `ctx.reject`, never both, so input rows = yielded + rejected here.
 *
 * @param source - a path (kept exactly as given in `source.file`), or a name plus chunks.
 * @param options - `format`, `delimiter`, `encoding`, `onBytes`.
 * @param ctx - receives rejected rows and file-wide warnings; its `signal` aborts the read.
 * @returns the rows, in file order, read lazily as they are iterated.
 * @throws LoraPrepError `INPUT_FORMAT` at once (before any reading) when the format cannot be told
 * from the extension; while iterating, the errors of the chosen loader.
 *
 * @example
 * const ctx = { reject: (r) => rejected.push(r), warn: (m) => console.warn(m) };
 * for await (const row of loadRecords('data/cases.jsonl', {}, ctx)) rows.push(row);
 */
export function loadRecords(source: LoadSource, options: LoadOptions, ctx: StageContext): AsyncIterable<SourceRow> {
  const format = detectFormat(source, options.format);
  switch (format) {
    case 'csv':
    case 'tsv':
      return loadCsv(source, { ...options, format }, ctx);
    case 'jsonl':
      return loadJsonl(source, options, ctx);
    case 'json':
      return loadJson(source, options, ctx);
  }
}
