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
  const rows = (() => {
    switch (format) {
      case 'csv':
      case 'tsv':
        return loadCsv(source, { ...options, format }, ctx);
      case 'jsonl':
        return loadJsonl(source, options, ctx);
      case 'json':
        return loadJson(source, options, ctx);
    }
  })();
  return options.encoding === 'latin1' || options.encoding === 'windows-1252' ? withMojibakeCheck(rows, typeof source === 'string' ? source : source.name, options.encoding, ctx) : rows;
}

/**
 * Rows read as Latin-1 or Windows-1252, with a warning where their text reads as UTF-8 read in that
 * encoding (`CafÃ©`, `â€”`): the option was given for every input, or for a file that is UTF-8
 * after all, and the rows were written garbled.
 */
async function* withMojibakeCheck(rows: AsyncIterable<SourceRow>, file: string, encoding: string, ctx: StageContext): AsyncGenerator<SourceRow> {
  let garbled = 0;
  let first: { line: number; text: string } | undefined;
  for await (const row of rows) {
    for (const value of Object.values(row.data)) {
      if (typeof value !== 'string') continue;
      const m = MOJIBAKE_RE.exec(value);
      if (m === null) continue;
      garbled++;
      first ??= { line: row.source.line, text: value.slice(Math.max(0, m.index - 12), m.index + 14) };
      break;
    }
    yield row;
  }
  if (first !== undefined) {
    ctx.warn(
      `${file}: ${garbled.toLocaleString('en-US')} row${garbled === 1 ? '' : 's'} read as ${encoding} hold${garbled === 1 ? 's' : ''} what UTF-8 text becomes when read so ` +
        `(the first on line ${first.line}: ${JSON.stringify(first.text)}): if the file is UTF-8, leave encoding out for it (in a config file, set encoding on the one input that needs it).`,
    );
  }
}

// The two or three characters a UTF-8 sequence of an accented letter, a dash, a quote or a no-break
// space becomes in Windows-1252 (é → Ã©, — → â€”, ’ → â€™, U+00A0 → Â + U+00A0).
const MOJIBAKE_RE = /Ã[\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]|Â[\u00a0-\u00bf]|â€/;
