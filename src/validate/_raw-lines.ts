/**
 * Raw lines of a file, as bytes: split on `\n` (0x0A) only, nothing decoded or stripped, so a BOM,
 * a `\r`, a blank line or a raw U+2028 reaches the validator exactly as a trainer's reader sees it.
 */
import { createReadStream } from 'node:fs';

/**
 * One physical line: its bytes without the `\n`, and whether a `\n` ended it (only the last line
 * of a file can lack one). A line over the size limit comes without bytes, with its length.
 */
export interface RawLine {
  line: number;
  bytes: Buffer;
  terminated: boolean;
  /** Set when the line was longer than the limit: its length in bytes (`bytes` is then empty). */
  overlong?: number;
}

/**
 * Longest line assembled, in bytes (64 MiB): guards against a file with no newline (a minified JSON
 * array) growing one buffer without bound. No sane training record comes near it.
 */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

/**
 * The lines of the file at `path`, streamed; memory holds one line at a time.
 *
 * @example
 * for await (const l of rawLines('train.jsonl')) console.log(l.line, l.bytes.length, l.terminated);
 */
export async function* rawLines(path: string, maxBytes: number = MAX_LINE_BYTES): AsyncGenerator<RawLine> {
  let parts: Buffer[] = [];
  let length = 0;
  let overlong = false;
  let line = 1;
  const take = (terminated: boolean): RawLine => {
    const result: RawLine = overlong
      ? { line, bytes: Buffer.alloc(0), terminated, overlong: length }
      : { line, bytes: parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, length), terminated };
    parts = [];
    length = 0;
    overlong = false;
    line++;
    return result;
  };
  const append = (piece: Buffer): void => {
    if (piece.length === 0) return;
    length += piece.length;
    if (overlong) return;
    if (length > maxBytes) {
      overlong = true;
      parts = [];
      return;
    }
    parts.push(piece);
  };
  for await (const chunk of createReadStream(path)) {
    const buf = chunk as Buffer;
    let start = 0;
    for (let nl = buf.indexOf(0x0a); nl !== -1; nl = buf.indexOf(0x0a, start)) {
      append(buf.subarray(start, nl));
      yield take(true);
      start = nl + 1;
    }
    // fs read streams hand out a fresh buffer per chunk, so keeping a view of the tail is safe.
    if (start < buf.length) append(buf.subarray(start));
  }
  if (length > 0) yield take(false);
}
