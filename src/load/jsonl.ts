/** The JSONL loader: one JSON object per line → rows; a line that is not one is rejected. */
import type { SourceRow, StageContext } from '../types.js';
import {
  describeJsonValue,
  errorMessage,
  excerpt,
  isJsonObject,
  sourceName,
  throwIfAborted,
} from './_common.js';
import { MAX_RECORD_CHARS } from './limits.js';
import { splitLines } from './_lines.js';
import { readText } from './text.js';
import type { LoadOptions, LoadSource } from './types.js';

/**
 * Reads a JSONL (NDJSON) source: each non-blank line must hold one JSON object, which becomes a
 * row stamped with its 1-based line. Blank and whitespace-only lines are skipped (not rows); a
 * line that does not parse is rejected as `invalid_json` with the parser's message, and one
 * that parses to anything but an object (array, string, number, null) as `invalid_record`.
 * Lines end at `\n` (a `\r` before it is dropped); a lone `\r` does not end a line.
 *
 * @param source - a path, or a name plus chunks.
 * @param options - `encoding`, `onBytes` (`format` and `delimiter` are ignored here).
 * @param ctx - receives rejected rows and file-wide warnings; its `signal` aborts the read.
 * @returns the rows, in file order, as an async iterable read lazily.
 * @throws LoraPrepError `INPUT_NOT_FOUND`, `INPUT_UNREADABLE`, `ABORTED`.
 *
 * @example
 * for await (const row of loadJsonl('data/chats.jsonl', {}, ctx)) console.log(row.source.line, row.data);
 */
export async function* loadJsonl(source: LoadSource, options: LoadOptions, ctx: StageContext): AsyncGenerator<SourceRow> {
  const file = sourceName(source);
  yield* jsonlRows(readText(source, { ...options, signal: ctx.signal, warn: ctx.warn }), file, ctx);
}

/**
 * The rows of JSONL text that is already decoded; the JSON loader falls back to it for a JSONL
 * file saved as `.json`. Not part of the public API.
 *
 * @example
 * yield* jsonlRows(readText(path), path, ctx);
 */
export async function* jsonlRows(text: AsyncIterable<string>, file: string, ctx: StageContext): AsyncGenerator<SourceRow> {
  let rows = 0;
  for await (const item of splitLines(text)) {
    throwIfAborted(ctx.signal, file);
    const source = { file, line: item.line };
    if (!('text' in item)) {
      rows++;
      ctx.reject({
        source,
        reason: 'invalid_json',
        message:
          `the line is ${item.length.toLocaleString('en-US')} characters long, over the limit of ` +
          `${MAX_RECORD_CHARS.toLocaleString('en-US')}, so it was not parsed; is this a JSON array saved as .jsonl?`,
        raw: item.head,
      });
      continue;
    }
    const line = item.text;
    if (line.trim() === '') continue;
    rows++;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      ctx.reject({ source, reason: 'invalid_json', message: `the line is not valid JSON: ${errorMessage(error)}`, raw: excerpt(line) });
      continue;
    }
    if (!isJsonObject(value)) {
      ctx.reject({
        source,
        reason: 'invalid_record',
        message: `expected a JSON object on each line, got ${describeJsonValue(value)}`,
        raw: excerpt(line),
      });
      continue;
    }
    yield { data: value, source };
  }
  if (rows === 0) ctx.warn(`${file}: the file is empty; it holds no rows.`);
}
