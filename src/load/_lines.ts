/** Splitting decoded text chunks into numbered lines, for the JSONL loader. */
import { excerpt } from './_common.js';
import { MAX_RECORD_CHARS } from './limits.js';

/**
 * One line of text (without its `\n` or `\r\n`) and its 1-based number.
 *
 * @example
 * const line: TextLine = { line: 3, text: '{"a":1}' };
 */
export interface TextLine {
  line: number;
  text: string;
}

/**
 * A line longer than the limit: only its length and start are kept.
 *
 * @example
 * if (!('text' in item)) console.log(item.line, item.length, item.head);
 */
export interface OverlongLine {
  line: number;
  length: number;
  head: string;
}

/**
 * The lines of `chunks`, split on `\n`; a `\r` before it is dropped, also when the `\r\n` falls
 * across two chunks. A line over `maxChars` is not assembled: it comes as an {@link OverlongLine}.
 * Linear in the text: a long line is kept as its parts and joined once, never re-scanned.
 *
 * @param chunks - decoded text in chunks of any size.
 * @param maxChars - the longest line assembled; defaults to {@link MAX_RECORD_CHARS}.
 *
 * @example
 * for await (const l of splitLines(readText('a.jsonl'))) if ('text' in l) console.log(l.line, l.text);
 */
export async function* splitLines(
  chunks: AsyncIterable<string>,
  maxChars: number = MAX_RECORD_CHARS,
): AsyncGenerator<TextLine | OverlongLine> {
  let parts: string[] = [];
  let length = 0;
  let head: string | undefined;
  let line = 1;
  const finish = (): TextLine | OverlongLine => {
    let result: TextLine | OverlongLine;
    if (head !== undefined) {
      result = { line, length, head };
    } else {
      let text = parts.length === 1 ? (parts[0] as string) : parts.join('');
      if (text.charCodeAt(text.length - 1) === 0x0d) text = text.slice(0, -1);
      result = { line, text };
    }
    parts = [];
    length = 0;
    head = undefined;
    line++;
    return result;
  };
  const append = (piece: string): void => {
    if (piece === '') return;
    length += piece.length;
    if (head !== undefined) return;
    if (length > maxChars) {
      head = excerpt(parts.join('') + piece);
      parts = [];
      return;
    }
    parts.push(piece);
  };
  for await (const chunk of chunks) {
    let start = 0;
    for (let nl = chunk.indexOf('\n'); nl !== -1; nl = chunk.indexOf('\n', start)) {
      append(chunk.slice(start, nl));
      yield finish();
      start = nl + 1;
    }
    append(chunk.slice(start));
  }
  if (length > 0) yield finish();
}
