/** The JSONL loader: one JSON object per line → rows; a line that is not one is rejected. */
import type { SourceRow, StageContext } from '../types.js';
import { isJsonObject, sourceName, warnIgnoredRecordsKey } from './_common.js';
import { jsonArrayRows, replay } from './json.js';
import { jsonlRows } from './_jsonl-rows.js';
import { MAX_JSON_DEPTH } from './limits.js';
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
 * Lines end at `\n` (a `\r` before it is dropped); a lone `\r` does not end a line, except in a file
 * with CR line endings (classic Mac OS: a `\r` and no `\n` in its first 64 Ki characters), where each
 * lone `\r` ends one, with a warning.
 * A JSON array saved as `.jsonl` (its first line opens an array it does not close, or the whole
 * file is one array of objects) is read as the array, with a warning, unless `options.format`
 * names the format.
 *
 * @param source - a path, or a name plus chunks.
 * @param options - `encoding`, `onBytes`, `maxLineBytes`, `onInvalidEncoding`; `format` given turns
 * the array check off (`delimiter` is ignored here; `recordsKey`, which only JSON files have, is
 * ignored with a warning).
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
  warnIgnoredRecordsKey(file, options.recordsKey, 'JSONL', ctx);
  const iterator = text[Symbol.asyncIterator]();
  try {
    // A JSON array saved as .jsonl is read as the array it is, unless the caller named the format.
    const seen: string[] = [];
    if (options.format === undefined && (await isJsonArray(iterator, seen))) {
      ctx.warn(
        `${file}: the file holds one JSON array although it is named like JSONL; ` +
          "it was read as JSON. Rename it to .json or pass format: 'json' to silence this warning.",
      );
      yield* jsonArrayRows(replay(seen, iterator), file, ctx, limits, guard, true);
      return;
    }
    yield* jsonlRows(replay(seen, iterator), file, ctx, limits, guard);
  } finally {
    await iterator.return?.(undefined);
  }
}

/** Characters looked at for a JSON array saved as `.jsonl`: its first line, or as much of it. */
const ARRAY_SNIFF_CHARS = 64 * 1024;

/**
 * Whether a `.jsonl` file is a JSON array of records, from its start (the chunks read go to
 * `seen`): its first non-blank line is `[` alone or opens `[{` without holding a whole JSON value,
 * as a pretty-printed array starts, or it holds a whole array of objects and nothing else follows
 * (a minified array). Any other first line, whole or broken, is a JSONL line.
 */
async function isJsonArray(iterator: AsyncIterator<string>, seen: string[]): Promise<boolean> {
  let head = '';
  let ended = false;
  const more = async (): Promise<boolean> => {
    const step = await iterator.next();
    if (step.done === true) {
      ended = true;
      return false;
    }
    seen.push(step.value);
    head += step.value;
    return true;
  };
  // The first non-blank line, whole (or its first ARRAY_SNIFF_CHARS).
  let start = -1;
  let end = -1;
  for (;;) {
    start = head.search(/\S/);
    end = start === -1 ? -1 : head.indexOf('\n', start);
    if (end !== -1 || (start !== -1 && head.length - start >= ARRAY_SNIFF_CHARS) || head.length >= 2 * ARRAY_SNIFF_CHARS || !(await more())) break;
  }
  if (start === -1 || head[start] !== '[') return false;
  const first = end === -1 ? head.slice(start) : head.slice(start, end);
  let value: unknown;
  try {
    value = JSON.parse(first);
  } catch {
    // An array of records begins `[` alone or `[{`; a line such as `[1,` is a broken JSONL line.
    return /^\[\s*(?:\{|$)/.test(first);
  }
  if (!Array.isArray(value) || value.length === 0 || !value.every(isJsonObject)) return false;
  // A whole array of objects on the first line: the file is that array if nothing follows it.
  const after = end === -1 ? head.length : end;
  for (;;) {
    if (/\S/.test(head.slice(after))) return false;
    if (ended || head.length - after >= ARRAY_SNIFF_CHARS || !(await more())) return ended;
  }
}

