/**
 * Physical line numbers for CSV records. csv-parse's own `info.lines` is the line a record *ends*
 * on and counts a CRLF inside a quoted field twice, so it cannot say where a record starts. Its
 * `info.bytes` is exact, though: the byte offset just past each record's delimiter. This cursor
 * keeps the bytes fed to the parser that no record has claimed yet and walks them forward record
 * by record, counting line breaks (CRLF, LF, or a lone CR: each one break) and skipping the blank
 * lines the parser drops before a record.
 */

const CR = 13;
const LF = 10;

/**
 * Where a record starts: the 1-based line and the absolute byte offset of its first byte.
 *
 * @example
 * const { line, offset }: RecordStart = cursor.startAt(info.bytes);
 */
export interface RecordStart {
  line: number;
  offset: number;
}

/**
 * Tracks line numbers over the bytes fed to csv-parse. Memory: the bytes from the last record's
 * end to the newest chunk, so one record plus one chunk.
 *
 * @example
 * const cursor = new CsvLineCursor();
 * cursor.push(Buffer.from('a,b\n\n1,2\n'));
 * cursor.advanceTo(4); // the header ends at byte 4
 * cursor.startAt(10); // { line: 3, offset: 5 }
 */
export class CsvLineCursor {
  /** Unclaimed bytes; `#segments[0]` starts at absolute offset `#base`. */
  #segments: Buffer[] = [];
  #base = 0;
  /** Absolute offset of the cursor, with `#line` the line number there. */
  #offset = 0;
  #line = 1;
  /** True when the byte before the cursor is a CR, so an LF right at the cursor ends no new line. */
  #afterCR = false;

  /** Appends bytes exactly as they are fed to the parser. */
  push(chunk: Buffer): void {
    if (chunk.length > 0) this.#segments.push(chunk);
  }

  /**
   * Skips the line breaks at the cursor (blank lines, which the parser drops) without passing
   * `limit`, and returns where the next record starts.
   */
  startAt(limit: number): RecordStart {
    for (;;) {
      if (this.#offset >= limit) break;
      const byte = this.#byteAt(this.#offset);
      if (byte !== CR && byte !== LF) break;
      this.#step(this.#offset, this.#offset + 1);
    }
    return { line: this.#line, offset: this.#offset };
  }

  /** Moves the cursor to the absolute offset `end`, counting the line breaks passed. */
  advanceTo(end: number): void {
    if (end > this.#offset) this.#step(this.#offset, end);
    this.#dropPassed();
  }

  /**
   * The line a record ending at `end` started on, counted backwards from its end: used after the
   * parser skipped a record mid-way, when the forward walk has lost where records begin.
   *
   * @param end - the record's end offset (past its delimiter), from `info.bytes`.
   * @param breaksInFields - line breaks inside the record's quoted fields.
   */
  startLineBackwards(end: number, breaksInFields: number): number {
    const last = end > 0 ? this.#byteAt(end - 1) : -1;
    this.advanceTo(end);
    const endsWithBreak = last === CR || last === LF;
    return this.#line - (endsWithBreak ? 1 : 0) - breaksInFields;
  }

  /** The bytes from `start` to `end` without a trailing record delimiter, decoded, at most `maxChars` long. */
  text(start: number, end: number, maxChars: number): string {
    // Three UTF-8 bytes at most per UTF-16 code unit, so this many bytes always hold maxChars + 1 units.
    const stop = Math.min(end, start + (maxChars + 1) * 3);
    const parts: Buffer[] = [];
    let segStart = this.#base;
    for (const seg of this.#segments) {
      const segEnd = segStart + seg.length;
      if (segEnd > start && segStart < stop) {
        parts.push(seg.subarray(Math.max(0, start - segStart), Math.min(seg.length, stop - segStart)));
      }
      segStart = segEnd;
    }
    let bytes = Buffer.concat(parts);
    if (stop === end) {
      let trim = bytes.length;
      while (trim > 0 && (bytes[trim - 1] === LF || bytes[trim - 1] === CR) && bytes.length - trim < 2) trim--;
      bytes = bytes.subarray(0, trim);
    }
    return bytes.toString('utf8');
  }

  /**
   * Moves the cursor to `end` and returns the last line up to there that holds more than line
   * breaks, looking back no further than `from` (a record start, so never a line break).
   */
  lastLineBefore(from: number, end: number): number {
    // Counted before advancing: advancing forgets the bytes behind the cursor.
    let trailing = 0;
    let i = end - 1;
    while (i >= from) {
      const byte = this.#byteAt(i);
      if (byte === LF) {
        trailing++;
        i -= i - 1 >= from && this.#byteAt(i - 1) === CR ? 2 : 1;
      } else if (byte === CR) {
        trailing++;
        i--;
      } else {
        break;
      }
    }
    this.advanceTo(end);
    return this.#line - trailing;
  }

  // --- internal ---

  /** Counts the line breaks in absolute range [from, to), which lies in one segment or across several. */
  #step(from: number, to: number): void {
    let segStart = this.#base;
    for (const seg of this.#segments) {
      const segEnd = segStart + seg.length;
      if (segEnd > from && segStart < to) {
        this.#count(seg.subarray(Math.max(0, from - segStart), Math.min(seg.length, to - segStart)));
      }
      segStart = segEnd;
      if (segStart >= to) break;
    }
    this.#offset = to;
  }

  /** Counts CRs, plus LFs not right after a CR; indexOf is native and fast on long runs without breaks. */
  #count(bytes: Buffer): void {
    if (bytes.length === 0) return;
    for (let i = bytes.indexOf(CR); i !== -1; i = bytes.indexOf(CR, i + 1)) this.#line++;
    for (let i = bytes.indexOf(LF); i !== -1; i = bytes.indexOf(LF, i + 1)) {
      const afterCR = i > 0 ? bytes[i - 1] === CR : this.#afterCR;
      if (!afterCR) this.#line++;
    }
    this.#afterCR = bytes[bytes.length - 1] === CR;
  }

  /** The byte at an absolute offset still held, or -1. */
  #byteAt(offset: number): number {
    if (offset < this.#base) return -1;
    let segStart = this.#base;
    for (const seg of this.#segments) {
      if (offset < segStart + seg.length) return seg[offset - segStart] as number;
      segStart += seg.length;
    }
    return -1;
  }

  /** Forgets the segments wholly before the cursor, keeping the one that ends at the cursor so the byte before it stays readable. */
  #dropPassed(): void {
    while (this.#segments.length > 1) {
      const first = this.#segments[0] as Buffer;
      if (this.#base + first.length >= this.#offset) break;
      this.#base += first.length;
      this.#segments.shift();
    }
  }
}
