/** The JSONL loader: one JSON object per line → rows; a line that is not one is rejected. */
import type { SourceRow, StageContext } from '../types.js';
import {
  depthOver,
  describeJsonValue,
  EncodingGuard,
  errorMessage,
  excerpt,
  isJsonObject,
  sourceName,
  throwIfAborted,
  tooDeep,
} from './_common.js';
import { MAX_JSON_DEPTH, type ResolvedLimits } from './limits.js';
import { splitLines } from './_lines.js';
import { openDecoded } from './_open.js';
import type { LoadOptions, LoadSource } from './types.js';

/**
 * Reads a JSONL (NDJSON) source: each non-blank line must hold one JSON object, which becomes a
 * row stamped with its 1-based line. Blank and whitespace-only lines are skipped (not rows); a
 * line that does not parse is rejected as `invalid_json` with the parser's message, and one
 * that parses to anything but an object (array, string, number, null) as `invalid_record`, as is
 * one nested deeper than {@link MAX_JSON_DEPTH}. A line over `maxLineBytes` is rejected as
 * `line_too_long` without being held whole; a line holding bytes that are not valid UTF-8 as
 * `invalid_encoding` (unless `onInvalidEncoding: 'replace'`).
 * Lines end at `\n` (a `\r` before it is dropped); a lone `\r` does not end a line.
 *
 * @param source - a path, or a name plus chunks.
 * @param options - `encoding`, `onBytes`, `maxLineBytes`, `onInvalidEncoding` (`format` and
 * `delimiter` are ignored here).
 * @param ctx - receives rejected rows and file-wide warnings; its `signal` aborts the read.
 * @returns the rows, in file order, as an async iterable read lazily.
 * @throws LoraPrepError `INPUT_NOT_FOUND`, `INPUT_UNREADABLE`, `ABORTED`, `OPTION_INVALID`.
 *
 * @example
 * for await (const row of loadJsonl('data/chats.jsonl', {}, ctx)) console.log(row.source.line, row.data);
 */
export async function* loadJsonl(source: LoadSource, options: LoadOptions, ctx: StageContext): AsyncGenerator<SourceRow> {
  const file = sourceName(source);
  const { limits, guard, text } = openDecoded(source, options, ctx, file);
  yield* jsonlRows(text, file, ctx, limits, guard);
}

/**
 * The rows of JSONL text that is already decoded; the JSON loader falls back to it for a JSONL
 * file saved as `.json`. Not part of the public API.
 *
 * @example
 * yield* jsonlRows(readText(path), path, ctx, resolveLimits({}, path), new EncodingGuard(path, ctx, 'reject'));
 */
export async function* jsonlRows(
  text: AsyncIterable<string>,
  file: string,
  ctx: StageContext,
  limits: ResolvedLimits,
  guard: EncodingGuard,
): AsyncGenerator<SourceRow> {
  let rows = 0;
  for await (const item of splitLines(text, limits.maxLineBytes, guard)) {
    throwIfAborted(ctx.signal, file);
    const source = { file, line: item.line };
    if (!('text' in item)) {
      rows++;
      ctx.reject({
        source,
        reason: 'line_too_long',
        message:
          `the line is ${item.bytes.toLocaleString('en-US')} bytes long, over the limit of ` +
          `${limits.maxLineBytes.toLocaleString('en-US')} (maxLineBytes), so it was skipped unread; ` +
          'is this a JSON array saved as .jsonl, or a file without line breaks?',
        raw: item.head,
      });
      continue;
    }
    if (item.text.trim() === '') continue;
    rows++;
    const line = guard.clean(item.text, source, item.offset, 'line');
    if (line === undefined) continue;
    const depth = depthOver(line, MAX_JSON_DEPTH);
    if (depth > 0) {
      ctx.reject({ source, reason: 'invalid_record', message: tooDeep(depth), raw: excerpt(line) });
      continue;
    }
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
  guard.finish();
  if (rows === 0) ctx.warn(`${file}: the file is empty; it holds no rows.`);
}
