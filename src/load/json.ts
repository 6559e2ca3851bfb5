/**
 * The JSON loader: a file holding one top-level array of objects → one row per element, streamed
 * element by element. A JSONL file saved as `.json` is read as JSONL (with a warning); any other
 * top level is a job error that says what the file holds and where the records may be.
 */
import { LoraPrepError } from '../errors.js';
import type { SourceRow, StageContext } from '../types.js';
import {
  describeJsonValue,
  EncodingGuard,
  errorMessage,
  excerpt,
  isJsonObject,
  nanHint,
  sourceName,
  throwIfAborted,
  tooDeep,
} from './_common.js';
import { MAX_JSON_DEPTH, type ResolvedLimits } from './limits.js';
import { JsonArrayScanner, type ArrayScanEvent, type Recovered } from './_json-array.js';
import { MAX_KEYS_LISTED, TopObjectScanner, type TopObjectVerdict } from './_json-object.js';
import { RecordsUnder } from './_json-key.js';
import { crLinesAsLf, jsonlRows } from './_jsonl-rows.js';
import { openDecoded } from './_open.js';
import type { LoadOptions, LoadSource } from './types.js';

/**
 * Reads a JSON source holding one array of objects, e.g. `[{"q": "…", "a": "…"}, …]`, without
 * loading it whole: each element is parsed alone and stamped with the line it starts on. An
 * element that is not an object is rejected as `invalid_record`; a malformed one as
 * `invalid_json`, costing that element only where the text shows where it ends (a string run
 * over a line break or left open at a line's end, a missing `}`), else up to the next line that
 * starts like an element, the message naming its lines. A file cut off before its closing `]`
 * gives the elements before the cut, rejects the incomplete one as `invalid_json` and warns.
 * Arrays written one after another are all read (with a warning); any other text after the
 * array is rejected as `invalid_json` at its line, never dropped. An empty array gives no rows.
 * An element over `maxLineBytes` is rejected as `line_too_long` without being held whole, one
 * nested deeper than {@link MAX_JSON_DEPTH} as `invalid_record` (the scanner never recurses), and
 * one holding bytes that are not valid UTF-8 as `invalid_encoding` (unless `onInvalidEncoding:
 * 'replace'`). With `recordsKey`, the records are the array under that key of a top-level
 * object, read in place; text after that object is rejected as `invalid_json`.
 *
 * @param source - a path, or a name plus chunks.
 * @param options - `encoding`, `onBytes`, `maxLineBytes`, `onInvalidEncoding`, `recordsKey`
 * (`format` and `delimiter` are ignored here).
 * @param ctx - receives rejected rows and file-wide warnings; its `signal` aborts the read.
 * @returns the rows, in file order, as an async iterable read lazily.
 * @throws LoraPrepError `INPUT_FORMAT` when the top level is not an array (unless the file is
 * JSONL, which is then read as such), `INPUT_NOT_FOUND`, `INPUT_UNREADABLE`, `ABORTED`,
 * `OPTION_INVALID`.
 *
 * @example
 * for await (const row of loadJson('data/qa.json', {}, ctx)) console.log(row.source.line, row.data);
 */
export async function* loadJson(source: LoadSource, options: LoadOptions, ctx: StageContext): AsyncGenerator<SourceRow> {
  const file = sourceName(source);
  const { limits, guard, text } = openDecoded(source, options, ctx, file);
  const iterator = text[Symbol.asyncIterator]();
  try {
    // Chunks read while finding out what the file holds; replayed to the reader chosen.
    const seen: string[] = [];
    let first: string | undefined;
    while (first === undefined) {
      const step = await iterator.next();
      if (step.done === true) break;
      seen.push(step.value);
      first = NON_SPACE.exec(step.value)?.[0];
    }
    if (first === undefined) {
      ctx.warn(`${file}: the file is empty; it holds no rows.`);
      return;
    }
    const key = options.recordsKey;
    if (first === '[') {
      if (key !== undefined) ctx.warn(`${file}: the file is an array of records itself, so recordsKey ${JSON.stringify(key)} was not needed; the array was read.`);
      yield* arrayRows(replay(seen, iterator), file, ctx, limits, guard);
      return;
    }
    if (first !== '{') throw notAnArray(file, describeStart(first), START_HINT);
    if (key !== undefined) {
      yield* arrayRows(underKey(replay(seen, iterator), new RecordsUnder(key, file)), file, ctx, limits, guard, true);
      return;
    }
    const verdict = await sniffTopObject(seen, iterator, file, ctx, limits);
    if (verdict.kind === 'object') throw objectError(file, verdict);
    ctx.warn(
      `${file}: the file holds one JSON object per line (JSONL) although it is named like a JSON file; ` +
        "it was read as JSONL. Rename it to .jsonl or pass format: 'jsonl' to silence this warning.",
    );
    yield* jsonlRows(replay(seen, iterator), file, ctx, limits, guard);
  } finally {
    await iterator.return?.(undefined);
  }
}

// --- internal ---

/** The first character that is not JSON whitespace. */
const NON_SPACE = /[^ \t\r\n]/;

const START_HINT =
  'If the file is really CSV, TSV or JSONL, give it that extension or pass `format` for it.';

/** The text of the array under a top-level key (see {@link RecordsUnder}); throws at the end if there is none. */
async function* underKey(text: AsyncIterable<string>, under: RecordsUnder): AsyncGenerator<string> {
  for await (const chunk of text) {
    const out = under.push(chunk);
    if (out !== '') yield out;
  }
  under.end();
}

/**
 * The rows of decoded text holding one JSON array (the JSONL loader reads a JSON array saved as
 * `.jsonl` through it). Not part of the public API.
 *
 * @example
 * yield* jsonArrayRows(text, path, ctx, limits, guard);
 */
export function jsonArrayRows(text: AsyncIterable<string>, file: string, ctx: StageContext, limits: ResolvedLimits, guard: EncodingGuard, guessed = false): AsyncGenerator<SourceRow> {
  return arrayRows(text, file, ctx, limits, guard, false, guessed);
}

async function* arrayRows(
  text: AsyncIterable<string>,
  file: string,
  ctx: StageContext,
  limits: ResolvedLimits,
  guard: EncodingGuard,
  keyed = false,
  guessed = false,
): AsyncGenerator<SourceRow> {
  const scanner = new JsonArrayScanner(limits.maxLineBytes, guard, keyed);
  const state: ArrayState = { warnedComma: false, warnedArrays: false, file, ctx, limits, guard, underKey: keyed, guessed };
  // The scanner counts lines at line feeds: a file whose lines end with CR alone is read with LFs.
  for await (const chunk of crLinesAsLf(text, file, ctx)) {
    for (const event of scanner.push(chunk)) {
      throwIfAborted(ctx.signal, file);
      const row = handle(event, state);
      if (row !== undefined) yield row;
    }
  }
  for (const event of scanner.end()) {
    const row = handle(event, state);
    if (row !== undefined) yield row;
  }
  guard.finish();
}

interface ArrayState {
  warnedComma: boolean;
  warnedArrays: boolean;
  /** The array is a top-level key's value: the rest of the object follows it. */
  underKey: boolean;
  /** A `.jsonl` file read as an array because of how it starts: text after the array means it was not one. */
  guessed: boolean;
  file: string;
  ctx: StageContext;
  limits: ResolvedLimits;
  guard: EncodingGuard;
}

function handle(event: ArrayScanEvent, state: ArrayState): SourceRow | undefined {
  const { file, ctx } = state;
  switch (event.kind) {
    case 'element': {
      const source = { file, line: event.line };
      if (event.trailing === true) notAnArrayAfterAll(state, event.line);
      const text = state.guard.clean(event.text, source, event.offset, 'element');
      if (text === undefined) return undefined;
      if (event.trailing === true) {
        ctx.reject({ source, reason: 'invalid_json', message: trailingMessage(text, event.line, state), raw: excerpt(text) });
        return undefined;
      }
      if (event.depth > MAX_JSON_DEPTH) {
        ctx.reject({ source, reason: 'invalid_record', message: tooDeep(event.depth), raw: excerpt(text) });
        return undefined;
      }
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        ctx.reject({
          source,
          reason: 'invalid_json',
          message: `the array element${span(event.line, text)} is not valid JSON: ${errorMessage(error)}${RECOVERY_HINTS[event.recovered ?? 'none']}${nanHint(text)}`,
          raw: excerpt(text),
        });
        return undefined;
      }
      if (!isJsonObject(value)) {
        ctx.reject({
          source,
          reason: 'invalid_record',
          message: `expected an object as each element of the array, got ${describeJsonValue(value)}`,
          raw: excerpt(text),
        });
        return undefined;
      }
      return { data: value, source };
    }
    case 'incomplete': {
      const source = { file, line: event.line };
      if (event.trailing === true) notAnArrayAfterAll(state, event.line);
      const text = state.guard.clean(event.text, source, event.offset, 'element');
      if (text === undefined) return undefined;
      let detail = 'Unexpected end of JSON input';
      // An element too deep to keep is not parsed just for the message.
      if (event.depth <= MAX_JSON_DEPTH) {
        try {
          JSON.parse(text);
        } catch (error) {
          detail = errorMessage(error);
        }
      }
      const message =
        event.trailing === true
          ? `${trailingMessage(text, event.line, state)} (the file ends inside it)`
          : `the file ends inside this array element${span(event.line, text)}, so it is incomplete: ${detail}`;
      ctx.reject({ source, reason: 'invalid_json', message, raw: excerpt(text) });
      return undefined;
    }
    case 'overlong': {
      if (event.trailing === true) notAnArrayAfterAll(state, event.line);
      const what = event.trailing === true ? `the text after the ${closer(state)}` : 'the array element';
      const lines = event.endLine > event.line ? ` (lines ${event.line}–${event.endLine})` : '';
      ctx.reject({
        source: { file, line: event.line },
        reason: 'line_too_long',
        message:
          `${what}${lines} is ${event.bytes.toLocaleString('en-US')} bytes long, over the limit of ` +
          `${state.limits.maxLineBytes.toLocaleString('en-US')} (maxLineBytes), so it was skipped unread`,
        raw: event.head,
      });
      return undefined;
    }
    case 'missing-comma':
      if (!state.warnedComma) {
        state.warnedComma = true;
        ctx.warn(`${file}:${event.line}: expected "," or "]" after an array element; read on as if a comma stood there.`);
      }
      return undefined;
    case 'next-array':
      if (!state.warnedArrays) {
        state.warnedArrays = true;
        ctx.warn(
          `${file}:${event.line}: another JSON array starts after the first one's closing "]" (arrays written one after another, ` +
            'as `cat a.json b.json` makes them); the elements of every array were read.',
        );
      }
      return undefined;
    case 'unclosed':
      ctx.warn(
        event.of === 'array'
          ? `${file}: the file ended before the array's closing "]", so it may be cut off; the elements before the cut were read.`
          : `${file}: the file ended before the closing "}" of the object holding the records, so it may be cut off; the records of its array were read.`,
      );
      return undefined;
  }
}

/** What the loader adds to a broken element's parse error, by how the scanner found its end. */
const RECOVERY_HINTS: Record<Recovered | 'none', string> = {
  none: '',
  'raw-break': '; a string runs over a line break, which JSON does not allow: write the break as \\n',
  'open-string': '; a string is not closed before the end of its line',
  'next-line':
    '; its quotes or brackets do not pair up, so it was taken to end before the next line that starts like an element',
  'key-bracket': '; a "{" or "[" follows where a key must stand, so the element was taken to end before it (is a closing "}" missing?)',
};

/** ` (lines a–b)` for text that starts on line `line` and spans more than one line (blanks at its end aside), else ''. */
function span(line: number, text: string): string {
  let end = text.length;
  while (end > 0 && /[ \t\r\n]/.test(text.charAt(end - 1))) end--;
  let last = line;
  for (let i = text.indexOf('\n'); i !== -1 && i < end; i = text.indexOf('\n', i + 1)) last++;
  return last > line ? ` (lines ${line}–${last})` : '';
}

/** What closes the records' container: the array's `]`, or the object's `}` around it. */
function closer(state: ArrayState): string {
  return state.underKey ? 'closing "}" of the object holding the records' : 'array\'s closing "]"';
}

/** The message for text after the array (or the object around it), which holds no records. */
function trailingMessage(text: string, line: number, state: ArrayState): string {
  const where = `${span(line, text)} follows the ${closer(state)}`;
  if (state.underKey) return `this text${where}, where the end of the file should come, so it was not read`;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (isJsonObject(value)) return `this object${where}, outside the array, so it was not read: move it into the array (after a comma, before the "]")`;
  return `this text${where}, where another array [ … ] or the end of the file should come, so it was not read`;
}

/** A `.jsonl` file read as an array because of how it starts is not one when text follows the array. */
function notAnArrayAfterAll(state: ArrayState, line: number): void {
  if (!state.guessed) return;
  const { file } = state;
  throw new LoraPrepError(
    'INPUT_FORMAT',
    `${file}:${line}: the file started like one JSON array, so it was read as JSON, but more follows the array's closing "]". ` +
      "If it is JSONL with an array on its first line, pass format: 'jsonl' (that line will be rejected).",
    { location: { file, line } },
  );
}

/** The chunks read while sniffing, then the rest of the iterator (which the caller closes). */
export async function* replay(seen: string[], rest: AsyncIterator<string>): AsyncGenerator<string> {
  // Handed over one by one and dropped, so the prefix is not held while the rest streams.
  while (seen.length > 0) yield seen.shift() as string;
  for (;;) {
    const step = await rest.next();
    if (step.done === true) return;
    yield step.value;
  }
}

/**
 * Reads on from the start until the top object's verdict is known. Keeps every chunk in `seen`
 * for a JSONL replay while they fit `maxLineBytes` (counted in characters, which are never more
 * than bytes); past that the file cannot be read as JSONL anyway (its first line would be over the
 * limit), so they are dropped (`seen` emptied).
 */
async function sniffTopObject(
  seen: string[],
  iterator: AsyncIterator<string>,
  file: string,
  ctx: StageContext,
  limits: ResolvedLimits,
): Promise<TopObjectVerdict> {
  const scanner = new TopObjectScanner();
  let kept = 0;
  for (const chunk of seen) {
    kept += chunk.length;
    const verdict = scanner.push(chunk);
    if (verdict !== undefined) return verdict;
  }
  for (;;) {
    throwIfAborted(ctx.signal, file);
    const step = await iterator.next();
    if (step.done === true) return scanner.end();
    kept += step.value.length;
    if (kept <= limits.maxLineBytes) seen.push(step.value);
    else seen.length = 0;
    const verdict = scanner.push(step.value);
    if (verdict !== undefined) {
      if (verdict.kind === 'jsonl' && seen.length === 0) {
        throw new LoraPrepError(
          'INPUT_FORMAT',
          `${file}: the file looks like JSONL (one object per line) but its first object is over ` +
            `${limits.maxLineBytes.toLocaleString('en-US')} characters (maxLineBytes), so it cannot be read as either. ` +
            "If it is JSONL, pass format: 'jsonl' (the long line will be rejected); if it is JSON, it must be an array of objects.",
          { location: { file } },
        );
      }
      return verdict;
    }
  }
}

function objectError(file: string, verdict: Extract<TopObjectVerdict, { kind: 'object' }>): LoraPrepError {
  const { keys, closed, more } = verdict;
  const names = keys.slice(0, MAX_KEYS_LISTED).map((k) => JSON.stringify(k.name));
  if (keys.length > MAX_KEYS_LISTED) names.push(`… ${keys.length - MAX_KEYS_LISTED} more`);
  let what = keys.length === 0 ? 'one object without keys' : `one object with keys [${names.join(', ')}]`;
  if (!closed) what += ' that never closes (the file may be cut off)';
  else if (more) what += ', followed by more text';
  const holder = keys.find((k) => k.value === 'array of objects') ?? keys.find((k) => k.value === 'array');
  // Columns, not records: {"question": [...], "answer": [...]} (a Hugging Face Dataset's to_dict(),
  // pandas' orient='list') or {"question": {"0": ...}, "answer": {"0": ...}} (pandas' to_json default).
  const columns = keys.length >= 2 && closed && (keys.every((k) => k.value === 'array') || keys.every((k) => k.value === 'object'));
  const hint = columns
    ? `The keys look like columns, each holding every row's value (pandas' to_json() without orient='records', a Dataset's to_dict()): write records instead, df.to_json(path, orient='records', lines=True) or Dataset.to_json(path), and read that file.`
    : holder !== undefined
      ? `The records seem to be the array under ${JSON.stringify(holder.name)}: pass recordsKey: ${JSON.stringify(holder.name)} (CLI --records-key ${holder.name}) to read them.`
      : "If the object is one record, put it inside [ ]; if the file holds one object per line, name it .jsonl or pass format: 'jsonl'.";
  return notAnArray(file, what, hint);
}

function notAnArray(file: string, what: string, hint: string): LoraPrepError {
  return new LoraPrepError(
    'INPUT_FORMAT',
    `${file}: a JSON input must be an array of objects, like [{"prompt": "…", "completion": "…"}, …], but the file holds ${what}. ${hint}`,
    { location: { file } },
  );
}

function describeStart(first: string): string {
  const code = first.charCodeAt(0);
  if (code >= 0xd800 && code <= 0xdfff) {
    return 'bytes that are not valid UTF-8 (check the file; if it is not UTF-8, pass its `encoding`)';
  }
  if (first === '"') return 'a string';
  if (/[-0-9]/.test(first)) return 'a number';
  if (first === 't' || first === 'f') return 'a boolean';
  if (first === 'n') return 'null';
  return `text that is not JSON (it starts with ${JSON.stringify(first)})`;
}
