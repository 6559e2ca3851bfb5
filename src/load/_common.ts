/** Helpers shared by the loaders (not re-exported). */
import { throwIfAborted as abortCheck } from '../errors.js';
import type { SourceLocation, StageContext } from '../types.js';
import { describeInvalid, firstInvalid, isWellFormed, toWellFormed, utf8Length } from './_utf8.js';
import { MAX_JSON_DEPTH, RAW_EXCERPT_CHARS } from './limits.js';
import type { LoadSource } from './types.js';

/**
 * The name a source goes by in locations and messages: the path exactly as given, or `name`.
 *
 * @example
 * sourceName('data/a.csv') // 'data/a.csv'
 */
export function sourceName(source: LoadSource): string {
  return typeof source === 'string' ? source : source.name;
}

/**
 * `text` cut to {@link RAW_EXCERPT_CHARS}, never between the two halves of a surrogate pair, and
 * well-formed: an escaped bad byte (or any unpaired surrogate) becomes U+FFFD, so the excerpt
 * always serialises to valid UTF-8 JSON.
 *
 * @example
 * excerpt('x'.repeat(5000)).length // 1001 (1000 characters and '…')
 */
export function excerpt(text: string): string {
  if (text.length <= RAW_EXCERPT_CHARS) return toWellFormed(text);
  let end = RAW_EXCERPT_CHARS;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${toWellFormed(text.slice(0, end))}…`;
}

/**
 * {@link excerpt} of the text of `pieces` joined, joining no more of them than the excerpt needs
 * (a line over the length limit may be megabytes of pieces).
 *
 * @example
 * excerptOf(['ab', 'c']) // 'abc'
 */
export function excerptOf(pieces: readonly string[]): string {
  let text = '';
  for (const piece of pieces) {
    text += piece;
    if (text.length > RAW_EXCERPT_CHARS) break;
  }
  return excerpt(text);
}

/**
 * Throws `ABORTED` when `signal` is aborted; loaders call it between chunks and rows.
 *
 * @example
 * throwIfAborted(ctx.signal, 'data/a.csv');
 */
export function throwIfAborted(signal: AbortSignal | undefined, file: string): void {
  abortCheck(signal, 'loading stopped because the run was aborted.', file);
}

/**
 * Warns that `recordsKey` (an option of JSON files: the key whose array holds the records) was
 * given for a file read as another format, and so was ignored.
 *
 * @example
 * warnIgnoredRecordsKey('rows.jsonl', 'data', 'JSONL', ctx);
 */
export function warnIgnoredRecordsKey(file: string, recordsKey: string | undefined, readAs: 'JSONL' | 'CSV', ctx: StageContext): void {
  if (recordsKey === undefined) return;
  ctx.warn(
    `${file}: recordsKey ${JSON.stringify(recordsKey)} applies to JSON files only (one object holding the records ` +
      `under that key); this file is read as ${readAs}, so it was ignored. If the file is such an object, name it .json or pass format: 'json'.`,
  );
}

/**
 * True for what `JSON.parse` returns for a `{...}`: a non-null, non-array object.
 *
 * @example
 * isJsonObject({ a: 1 }) // true; isJsonObject([1]) // false
 */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * What a parsed JSON value is, as words for messages ("an array", "null", ...).
 *
 * @example
 * describeJsonValue([1, 2]) // 'an array'
 */
export function describeJsonValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'boolean':
      return `a boolean (${String(value)})`;
    default:
      return 'an object';
  }
}

/**
 * The message of a `JSON.parse` failure (or of anything thrown), as a well-formed string.
 *
 * @example
 * errorMessage(new SyntaxError('Unexpected end of JSON input')) // 'Unexpected end of JSON input'
 */
export function errorMessage(error: unknown): string {
  // Well-formed: V8 quotes the offending character, which may be half of a surrogate pair.
  return toWellFormed(error instanceof Error ? error.message : String(error));
}

/**
 * A hint for JSON text that holds `NaN` or `Infinity` as a value, which JSON has no words for:
 * Python's `json.dumps` writes them for a float that is missing or infinite (pandas' missing
 * values are NaN), and `JSON.parse` then stops at the `N` or `I`. Empty when there is none.
 * Not part of the public API.
 *
 * @example
 * nanHint('{"score": NaN}') // '; NaN is no JSON value: ...'
 */
export function nanHint(text: string): string {
  const m = NON_JSON_NUMBER.exec(text);
  return m
    ? `; ${m[1]} is no JSON value (Python's json.dumps writes it for a missing or infinite float, pandas for a missing value): write null instead (pandas: df.to_json(orient='records', lines=True); json.dumps(..., allow_nan=False) refuses such values)`
    : '';
}

const NON_JSON_NUMBER = /[:[,]\s*(NaN|-?Infinity)\s*[,\]}]/;

/**
 * What a row holds that its encoding cannot: a byte that is not UTF-8 (`byte`, undefined for an
 * unpaired surrogate of a caller's string), or, in UTF-16, an unpaired surrogate (`unit`) or the
 * file's odd last byte (`unit` U+DC00 + that byte, with `oddByte`).
 *
 * @example
 * const bad: InvalidChar = { unit: 0xd800 };
 */
export interface InvalidChar {
  byte?: number | undefined;
  unit?: number | undefined;
  oddByte?: boolean | undefined;
}

/**
 * Where a loader sends rows holding bytes that are not valid UTF-8 or UTF-16 (escaped by the
 * decoder, see `_utf8.ts` and `text.ts`): with `onInvalidEncoding: 'reject'` each becomes an
 * `invalid_encoding` rejection naming the first bad byte (or UTF-16 code unit) and where it is,
 * and {@link EncodingGuard.finish} sums them up in one warning; with `'replace'` the row is kept
 * with U+FFFD.
 *
 * @example
 * const guard = new EncodingGuard(file, ctx, 'reject');
 * const text = guard.clean(line.text, source, line.offset, 'line');
 * if (text !== undefined) JSON.parse(text);
 */
export class EncodingGuard {
  /** Bytes before the decoded text (a UTF-8 byte-order mark); set once the decoder has chosen. */
  bomBytes = 0;
  /** The encoding the decoder chose (a WHATWG label: `utf-8`, `utf-16le`, …); set with `bomBytes`. */
  encoding = 'utf-8';
  /** UTF-16: the file's odd last byte, when it has one. */
  trailingByte: number | undefined;
  readonly #file: string;
  readonly #ctx: StageContext;
  readonly #reject: boolean;
  #armed = false;
  #count = 0;
  #first: string | undefined;

  constructor(file: string, ctx: StageContext, mode: 'reject' | 'replace') {
    this.#file = file;
    this.#ctx = ctx;
    this.#reject = mode === 'reject';
  }

  /** True when bad bytes are rejected (and the decoder must escape them). */
  get rejects(): boolean {
    return this.#reject;
  }

  /** True once the decoder has escaped a bad byte: until then no row can hold one, and none is checked. */
  get armed(): boolean {
    return this.#armed;
  }

  /** Called by the decoder (`onEscape`) before the first text holding an escape reaches the loader. */
  arm(): void {
    this.#armed = this.#reject;
  }

  /**
   * The row's text to parse, or `undefined` when it held a bad byte and was rejected.
   *
   * @param rowOffset - the byte offset of the row's first byte in the decoded text (BOM excluded),
   * computed only when the row is rejected.
   * @param what - the row's kind for the message: `line`, `element`.
   */
  clean(text: string, source: SourceLocation, rowOffset: { get(): number }, what: string): string | undefined {
    if (!this.#armed || isWellFormed(text)) return text;
    const bad = firstInvalid(text);
    if (bad === undefined) return text;
    if (this.utf16) {
      // Offsets here count UTF-8 bytes, not the file's: the place is given in characters.
      const unit = text.charCodeAt(bad.index);
      const oddByte = this.isTrailingByte(unit, text.slice(bad.index + 1).trim() === '');
      this.rejectAt(source, { unit, oddByte }, undefined, bad.index, what, excerpt(text), 'characters');
      return undefined;
    }
    const inRow = utf8Length(text.slice(0, bad.index));
    this.rejectAt(source, { byte: bad.byte }, rowOffset.get() + inRow, inRow, what, excerpt(text));
    return undefined;
  }

  /** True when the file was decoded as UTF-16 (LE or BE). */
  get utf16(): boolean {
    return this.encoding.startsWith('utf-16');
  }

  /** Whether the unpaired surrogate `unit`, found at the end of the text, stands for the file's odd last byte. */
  isTrailingByte(unit: number, atEnd: boolean): boolean {
    return atEnd && this.trailingByte !== undefined && unit === 0xdc00 + this.trailingByte;
  }

  /**
   * Rejects a row as `invalid_encoding`.
   *
   * @param offset - the bad byte's offset in the decoded text (the BOM is added here), when known.
   * @param inRow - its offset from the row's first byte (or, with `inRowUnit: 'characters'`, its
   * first character), when known.
   */
  rejectAt(
    source: SourceLocation,
    bad: InvalidChar,
    offset: number | undefined,
    inRow: number | undefined,
    what: string,
    raw: string,
    inRowUnit: 'bytes' | 'characters' = 'bytes',
  ): void {
    const utf16 = this.utf16;
    const described = utf16 ? describeUtf16(bad) : describeInvalid(bad.byte);
    const unit = inRowUnit === 'bytes' ? 'byte' : 'character';
    let at: string;
    if (inRow === undefined) at = `${described} (in the ${what})`;
    else if (offset === undefined) at = `${described} (${inRow} ${unit}${inRow === 1 ? '' : 's'} into the ${what})`;
    else at = `${described} at byte offset ${this.bomBytes + offset} of the file (${inRow} ${unit}${inRow === 1 ? '' : 's'} into the ${what})`;
    this.#count++;
    this.#first ??= `${at}, on line ${source.line}`;
    const message = `${at} is not valid ${utf16 ? 'UTF-16' : 'UTF-8'}${bad.oddByte === true ? ': UTF-16 text has an even number of bytes, so the file may be cut short' : ''}`;
    this.#ctx.reject({ source, reason: 'invalid_encoding', message, raw });
  }

  /** Warns once when rows were rejected, saying how to read the file instead. */
  finish(): void {
    if (this.#count === 0) return;
    const rows = `${this.#file}: ${this.#count} row${this.#count === 1 ? ' was' : 's were'} rejected as invalid_encoding because ${this.#count === 1 ? 'it holds' : 'they hold'}`;
    const replace = "pass onInvalidEncoding: 'replace' (CLI --on-invalid-encoding replace).";
    if (this.utf16) {
      this.#ctx.warn(
        `${rows} text that is not valid UTF-16 (the first: ${this.#first}), as a damaged or cut-short file does. ` +
          `To keep such rows with U+FFFD in place of the bad characters, ${replace}`,
      );
      return;
    }
    this.#ctx.warn(
      `${rows} bytes that are not valid UTF-8 (the first: ${this.#first}). ` +
        "If the file was saved by Excel or another Windows program, pass encoding: 'windows-1252' (CLI --encoding windows-1252) for it; " +
        `to keep such rows with U+FFFD in place of the bad bytes, ${replace}`,
    );
  }
}

/** An invalid UTF-16 code unit (or the odd last byte), for messages. */
function describeUtf16(bad: InvalidChar): string {
  const unit = bad.unit ?? 0xfffd;
  if (bad.oddByte === true) return `the odd last byte (0x${(unit - 0xdc00).toString(16).toUpperCase().padStart(2, '0')})`;
  return `an unpaired surrogate (U+${unit.toString(16).toUpperCase()})`;
}

/**
 * The nesting depth of the JSON text `text` when it is over `max`, else 0. Brackets inside strings
 * do not count. Cheap for normal rows: a text with no more than `max` opening brackets in all is
 * not scanned.
 *
 * @example
 * depthOver('[[[]]]', 2) // 3
 */
export function depthOver(text: string, max: number): number {
  let opening = 0;
  for (let i = text.indexOf('['); i !== -1 && opening <= max; i = text.indexOf('[', i + 1)) opening++;
  for (let i = text.indexOf('{'); i !== -1 && opening <= max; i = text.indexOf('{', i + 1)) opening++;
  if (opening <= max) return 0;
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > deepest) deepest = depth;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest > max ? deepest : 0;
}

/**
 * The message of a row rejected for nesting deeper than {@link MAX_JSON_DEPTH}.
 *
 * @example
 * tooDeep(200_000) // 'the value is nested 200,000 levels deep, over the limit of 1,000 …'
 */
export function tooDeep(depth: number): string {
  return (
    `the value is nested ${depth.toLocaleString('en-US')} levels deep, over the limit of ` +
    `${MAX_JSON_DEPTH.toLocaleString('en-US')}; real records nest a few levels, and deeper ones crash the tools that read them`
  );
}
