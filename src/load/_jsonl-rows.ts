/** The rows of decoded JSONL text: shared by the JSONL loader and the JSON loader's fallback. */
import type { SourceRow, StageContext } from '../types.js';
import { depthOver, describeJsonValue, EncodingGuard, errorMessage, excerpt, isJsonObject, throwIfAborted, tooDeep } from './_common.js';
import { MAX_JSON_DEPTH, type ResolvedLimits } from './limits.js';
import { splitLines } from './_lines.js';

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
