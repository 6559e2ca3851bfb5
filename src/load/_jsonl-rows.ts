/** The rows of decoded JSONL text: shared by the JSONL loader and the JSON loader's fallback. */
import type { SourceRow, StageContext } from '../types.js';
import { depthOver, describeJsonValue, EncodingGuard, errorMessage, excerpt, nanHint, isJsonObject, throwIfAborted, tooDeep } from './_common.js';
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
  for await (const item of splitLines(crLinesAsLf(text, file, ctx), limits.maxLineBytes, guard)) {
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
          'is this a JSON array saved as .jsonl, or a file without line breaks?' +
          (item.head.includes('\r') ? CR_HINT : ''),
        raw: item.head,
      });
      continue;
    }
    if (item.text.trim() === '') continue;
    rows++;
    const cleaned = guard.clean(item.text, source, item.offset, 'line');
    if (cleaned === undefined) continue;
    // A byte order mark where files were joined (cat a.jsonl b.jsonl) opens a line, invisibly.
    const line = cleaned.charCodeAt(0) === 0xfeff ? cleaned.slice(1) : cleaned;
    const depth = depthOver(line, MAX_JSON_DEPTH);
    if (depth > 0) {
      ctx.reject({ source, reason: 'invalid_record', message: tooDeep(depth), raw: excerpt(line) });
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      const hint = (line.includes('\r') ? CR_HINT : '') + nanHint(line) + shapeHint(line);
      ctx.reject({ source, reason: 'invalid_json', message: `the line is not valid JSON: ${errorMessage(error)}${hint}`, raw: excerpt(line) });
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

// --- internal ---

/**
 * What a line that is not JSON seems to be: a piece of a record pretty-printed over several lines
 * (`{`, `"question": "…",`, `}`: jq without -c, json.dumps with indent), or a record with a comma
 * after it (records written as a JSON array's elements); else `''`.
 */
function shapeHint(line: string): string {
  const t = line.trim();
  // Python's repr of a dict (print(row), str(row), df.to_string): single quotes, True/None.
  if (/^\{\s*'[^']*'\s*:/.test(t)) {
    return "; the line looks like a Python dict as print() or str() writes it (single quotes, True, None), not JSON: write each record with json.dumps (or pandas' to_json(orient='records', lines=True))";
  }
  // MongoDB's extended JSON in canonical mode is JSON; the shell's own output is not.
  if (/\b(ObjectId|ISODate|NumberLong|NumberInt|NumberDecimal)\(/.test(t)) {
    return '; the line looks like MongoDB shell output (ObjectId(…), ISODate(…)), not JSON: export with mongoexport (it writes one JSON record per line; --jsonFormat=relaxed keeps dates and numbers plain)';
  }
  if (/^[{}[\]],?$/.test(t) || /^"[^"]*"\s*:/.test(t)) {
    return '; the line looks like part of a record pretty-printed over several lines (as jq writes without -c): JSONL holds one record per line (jq -c, or json.dumps without indent)';
  }
  if (t.endsWith(',')) {
    try {
      JSON.parse(t.slice(0, -1));
      return '; the line ends with a comma after its record: JSONL has nothing between records';
    } catch {
      return '';
    }
  }
  return '';
}

/**
 * Characters looked at to tell a file with CR line endings (classic Mac OS): one whose first
 * decoded chunks, until they reach 64 Ki characters (or the end), hold a carriage return and no
 * line feed. Any line feed there keeps the JSONL rule (lines end at `\n`; a lone `\r` is JSON
 * whitespace), so a mixed file reads as before.
 */
const CR_SNIFF_CHARS = 64 * 1024;

/** Added to the message of a rejected line that holds a lone `\r` (see CR_SNIFF_CHARS). */
const CR_HINT =
  '; the line holds a carriage return (CR) that does not end it: a file with a line feed in its first ' +
  '64 Ki characters is split at line feeds only, so if its lines end with CR alone (classic Mac OS), convert them to LF';

/**
 * `text` as it is, or, for a file with CR line endings, with each lone `\r` turned into `\n` (one
 * character for one, so byte offsets stay those of the file; a `\r\n` is left as it is). The JSON
 * array reader counts lines through it too. Not part of the public API.
 *
 * @example
 * for await (const chunk of crLinesAsLf(text, file, ctx)) scanner.push(chunk);
 */
export async function* crLinesAsLf(text: AsyncIterable<string>, file: string, ctx: StageContext): AsyncGenerator<string> {
  const iterator = text[Symbol.asyncIterator]();
  try {
    yield* sniffed(iterator, file, ctx);
  } finally {
    await iterator.return?.(undefined);
  }
}

async function* sniffed(iterator: AsyncIterator<string>, file: string, ctx: StageContext): AsyncGenerator<string> {
  const head: string[] = [];
  let chars = 0;
  let cr = false;
  let lf = false;
  let done = false;
  while (!lf && chars < CR_SNIFF_CHARS) {
    const step = await iterator.next();
    if (step.done === true) {
      done = true;
      break;
    }
    head.push(step.value);
    chars += step.value.length;
    lf = step.value.includes('\n');
    cr ||= step.value.includes('\r');
  }
  if (lf || !cr) {
    yield* head;
    if (!done) for (let step = await iterator.next(); step.done !== true; step = await iterator.next()) yield step.value;
    return;
  }
  ctx.warn(
    `${file}: the file ends its lines with a carriage return alone (CR, as classic Mac OS wrote them), with no line feed ` +
      'in its first 65,536 characters; each lone CR was read as a line break.',
  );
  // A `\r` at a chunk's end waits for the next chunk: a `\n` there makes it a CRLF.
  let held = false;
  const convert = (chunk: string): string => {
    let piece = held ? `\r${chunk}` : chunk;
    held = piece.endsWith('\r');
    if (held) piece = piece.slice(0, -1);
    return piece.replace(LONE_CR, '\n');
  };
  for (const chunk of head) yield convert(chunk);
  if (!done) for (let step = await iterator.next(); step.done !== true; step = await iterator.next()) yield convert(step.value);
  if (held) yield '\n';
}

const LONE_CR = /\r(?!\n)/g;
