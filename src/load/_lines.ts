/** Splitting decoded text chunks into numbered lines, for the JSONL loader. */
import { excerptOf } from './_common.js';
import { ByteOffset, utf8Length } from './_utf8.js';
import { DEFAULT_MAX_LINE_BYTES } from './limits.js';

/**
 * One line of text (without its `\n` or `\r\n`), its 1-based number, and where it starts.
 *
 * @example
 * const line: TextLine = { line: 3, text: '{"a":1}', offset: new ByteOffset(chunk, 16, 0) };
 */
export interface TextLine {
  line: number;
  text: string;
  /**
   * The byte offset where the line starts, counted in UTF-8 over the decoded text (an escaped bad
   * byte as one byte; the loader adds the length of a byte-order mark). Computed on `get()`, as only
   * a rejected line needs it.
   */
  offset: ByteOffset;
}

/**
 * A line longer than the limit: only its length in bytes, its start and its head are kept.
 *
 * @example
 * if (!('text' in item)) console.log(item.line, item.bytes, item.head);
 */
export interface OverlongLine {
  line: number;
  bytes: number;
  head: string;
}

/**
 * The lines of `chunks`, split on `\n`; a `\r` before it is dropped, also when the `\r\n` falls
 * across two chunks. A line over `maxBytes` (UTF-8) is not assembled: its parts are dropped as soon
 * as it passes the limit, and it comes as an {@link OverlongLine}, so memory stays bounded by the
 * limit whatever the line's length. Linear in the text: a long line is kept as its parts and joined
 * once, never re-scanned.
 *
 * @param chunks - decoded text in chunks of any size.
 * @param maxBytes - the longest line assembled; defaults to {@link DEFAULT_MAX_LINE_BYTES}.
 * @param escapes - `armed` once the text may hold escaped bad bytes (until then byte counts skip
 * looking for them); default: always armed.
 *
 * @example
 * for await (const l of splitLines(readText('a.jsonl'))) if ('text' in l) console.log(l.line, l.text);
 */
export async function* splitLines(
  chunks: AsyncIterable<string>,
  maxBytes: number = DEFAULT_MAX_LINE_BYTES,
  escapes: { readonly armed: boolean } = { armed: true },
): AsyncGenerator<TextLine | OverlongLine> {
  let parts: string[] = [];
  /** Characters in the line so far; each is at most 3 UTF-8 bytes, so bytes are counted only past maxBytes / 3. */
  let length = 0;
  /** Bytes in the line so far, once counted (-1 until then). */
  let bytes = -1;
  let head: string | undefined;
  let line = 1;
  /** Byte offset of the current chunk's start, and where the current line starts (its chunk, index, chunk offset). */
  let chunkBytes = 0;
  let startChunk = '';
  let startIndex = 0;
  let startBase = 0;
  const finish = (): TextLine | OverlongLine => {
    let result: TextLine | OverlongLine;
    if (head !== undefined) {
      result = { line, bytes, head };
    } else {
      let text = parts.length === 1 ? (parts[0] as string) : parts.join('');
      if (text.charCodeAt(text.length - 1) === 0x0d) text = text.slice(0, -1);
      result = { line, text, offset: new ByteOffset(startChunk, startIndex, startBase) };
    }
    parts = [];
    length = 0;
    bytes = -1;
    head = undefined;
    line++;
    return result;
  };
  const append = (piece: string): void => {
    if (piece === '') return;
    length += piece.length;
    if (bytes >= 0) bytes += utf8Length(piece);
    else if (length * 3 > maxBytes) bytes = parts.reduce((n, p) => n + utf8Length(p), utf8Length(piece));
    if (head !== undefined) return;
    if (bytes > maxBytes) {
      head = excerptOf([...parts, piece]);
      parts = [];
      return;
    }
    parts.push(piece);
  };
  for await (const chunk of chunks) {
    let start = 0;
    if (length === 0) {
      startChunk = chunk;
      startIndex = 0;
      startBase = chunkBytes;
    }
    for (let nl = chunk.indexOf('\n'); nl !== -1; nl = chunk.indexOf('\n', start)) {
      append(chunk.slice(start, nl));
      yield finish();
      start = nl + 1;
      startChunk = chunk;
      startIndex = start;
      startBase = chunkBytes;
    }
    append(chunk.slice(start));
    chunkBytes += escapes.armed ? utf8Length(chunk) : Buffer.byteLength(chunk, 'utf8');
  }
  if (length > 0) yield finish();
}
