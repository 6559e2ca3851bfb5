/**
 * A streaming scanner for a file holding one JSON array: it finds the text of each top-level
 * element and the line it starts on, without parsing, so each element can be `JSON.parse`d alone
 * and memory is bounded by the largest element, not the file. It only tracks strings, escapes and
 * bracket depth, without recursion (its bracket stack is an array, capped); anything it cannot
 * place becomes an element that then fails to parse.
 */
import { excerptOf } from './_common.js';
import { ByteOffset, utf8Length } from './_utf8.js';
import { DEFAULT_MAX_LINE_BYTES, MAX_JSON_DEPTH } from './limits.js';

/**
 * What the scanner reports, in file order. `line` is where the thing starts (1-based); `offset.get()`
 * gives the byte offset of an element's first character in the text (UTF-8, an escaped bad byte as
 * one byte; computed on call, as only a rejected element needs it); `depth` is the deepest nesting
 * of brackets in it.
 *
 * @example
 * for (const event of scanner.push(chunk)) if (event.kind === 'element') JSON.parse(event.text);
 */
export type ArrayScanEvent =
  /** A whole element's text (for a number or literal, what stood before the next `,` or `]`). */
  | { kind: 'element'; line: number; text: string; offset: ByteOffset; depth: number }
  /** The file ended inside this element (a string or bracket still open). */
  | { kind: 'incomplete'; line: number; text: string; offset: ByteOffset; depth: number }
  /** An element over the length limit (in UTF-8 bytes): only its length, start and head are kept. */
  | { kind: 'overlong'; line: number; bytes: number; head: string }
  /** Something other than `,` or `]` followed an element; the scanner read on as if a comma stood there. */
  | { kind: 'missing-comma'; line: number }
  /** Text after the closing `]`; it is ignored. */
  | { kind: 'trailing-text'; line: number }
  /** The file ended before the closing `]` (`line` is the line count at the end). */
  | { kind: 'unclosed'; line: number };

/**
 * Feed it the file's text chunk by chunk (from the start, leading whitespace and `[` included);
 * each call returns the events the chunk completed.
 *
 * @example
 * const scanner = new JsonArrayScanner();
 * scanner.push('[{"a":1},\n {"a"'); // [{ kind: 'element', line: 1, text: '{"a":1}', depth: 1, offset }]
 * scanner.push(':2}]');            // [{ kind: 'element', line: 2, text: '{"a":2}', depth: 1, offset }]
 */
export class JsonArrayScanner {
  readonly #maxBytes: number;
  readonly #escapes: { readonly armed: boolean };
  #mode: Mode = Mode.Start;
  #line = 1;
  #events: ArrayScanEvent[] = [];
  /** Byte offset of the current chunk's start. */
  #chunkBytes = 0;
  #chunk = '';
  // The element being scanned.
  #startLine = 0;
  #startOffset = new ByteOffset('', 0, 0);
  #parts: string[] = [];
  /** Characters so far; bytes are counted (from -1) once the characters could exceed the limit. */
  #length = 0;
  #bytes = -1;
  #head: string | undefined;
  /** Open brackets, innermost last, up to STACK_CAP; deeper levels are only counted in #extra. */
  #stack: number[] = [];
  #extra = 0;
  #deepest = 0;
  #inString = false;
  #escaped = false;

  /**
   * @param maxBytes - the longest element assembled.
   * @param escapes - `armed` once the text may hold escaped bad bytes (until then byte counts skip
   * looking for them); default: always armed.
   */
  constructor(maxBytes: number = DEFAULT_MAX_LINE_BYTES, escapes: { readonly armed: boolean } = { armed: true }) {
    this.#maxBytes = maxBytes;
    this.#escapes = escapes;
  }

  push(chunk: string): ArrayScanEvent[] {
    this.#chunk = chunk;
    let elementStart = this.#mode === Mode.Element ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (c === LF) this.#line++;
      switch (this.#mode) {
        case Mode.Start:
          if (c === OPEN_ARRAY) this.#mode = Mode.Expect;
          break;
        case Mode.Expect:
          if (isSpace(c) || c === COMMA) break; // a stray comma (an elision) holds no element
          if (c === CLOSE_ARRAY) this.#mode = Mode.Closed;
          else elementStart = this.#begin(i, c);
          break;
        case Mode.After:
          if (isSpace(c)) break;
          if (c === COMMA) this.#mode = Mode.Expect;
          else if (c === CLOSE_ARRAY) this.#mode = Mode.Closed;
          else {
            this.#events.push({ kind: 'missing-comma', line: this.#line });
            elementStart = this.#begin(i, c);
          }
          break;
        case Mode.Closed:
          if (isSpace(c)) break;
          this.#events.push({ kind: 'trailing-text', line: this.#line });
          this.#mode = Mode.Ignore;
          return this.#endChunk();
        case Mode.Ignore:
          return this.#endChunk();
        case Mode.Element: {
          if (this.#inString && !this.#escaped && c !== QUOTE && c !== BACKSLASH && c !== LF) {
            // Most of an element is string content, where only a quote, a backslash or a line break
            // matters: skip to the next one in a tight loop.
            let j = i + 1;
            for (; j < chunk.length; j++) {
              const d = chunk.charCodeAt(j);
              if (d === QUOTE || d === BACKSLASH || d === LF) break;
            }
            i = j - 1;
            break;
          }
          const end = this.#scan(c);
          if (end === Continue) break;
          this.#finish(chunk.slice(elementStart, end === Inclusive ? i + 1 : i));
          elementStart = -1;
          // `,` and `]` end a number or literal and are then read again as separators.
          if (end === Exclusive && !isSpace(c)) i--;
          break;
        }
      }
    }
    if (this.#mode === Mode.Element) this.#append(chunk.slice(elementStart));
    return this.#endChunk();
  }

  end(): ArrayScanEvent[] {
    if (this.#mode === Mode.Element) {
      if (this.#inString || this.#stack.length > 0) {
        if (this.#head !== undefined) this.#events.push({ kind: 'overlong', line: this.#startLine, bytes: this.#bytes, head: this.#head });
        else {
          const text = this.#parts.join('');
          this.#events.push({ kind: 'incomplete', line: this.#startLine, text, offset: this.#startOffset, depth: this.#deepest });
        }
        this.#reset();
      } else {
        this.#finish('');
      }
    }
    if (this.#mode === Mode.Element || this.#mode === Mode.Expect || this.#mode === Mode.After) {
      this.#events.push({ kind: 'unclosed', line: this.#line });
    }
    this.#mode = Mode.Ignore;
    return this.#take();
  }

  // --- internal ---

  /** Starts an element at index `i` with character `c`; returns the index its text starts at. */
  #begin(i: number, c: number): number {
    this.#mode = Mode.Element;
    this.#startLine = this.#line;
    this.#startOffset = new ByteOffset(this.#chunk, i, this.#chunkBytes);
    this.#scan(c);
    return i;
  }

  /** Moves the byte count past the chunk just scanned and hands over its events. */
  #endChunk(): ArrayScanEvent[] {
    this.#chunkBytes += this.#escapes.armed ? utf8Length(this.#chunk) : Buffer.byteLength(this.#chunk, 'utf8');
    this.#chunk = '';
    return this.#take();
  }

  /** Advances the element state by one character and says whether the element ended there. */
  #scan(c: number): Boundary {
    if (this.#inString) {
      if (c === LF) {
        // JSON strings cannot hold a raw newline: the quote was never closed. Leaving the string
        // here lets the next lines be scanned as structure again; the element will fail to parse.
        this.#inString = false;
        this.#escaped = false;
      } else if (this.#escaped) this.#escaped = false;
      else if (c === BACKSLASH) this.#escaped = true;
      else if (c === QUOTE) {
        this.#inString = false;
        if (this.#stack.length === 0) return Inclusive;
      }
      return Continue;
    }
    const stack = this.#stack;
    if (c === QUOTE) this.#inString = true;
    else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (stack.length < STACK_CAP) stack.push(c);
      else this.#extra++;
      const depth = stack.length + this.#extra;
      if (depth > this.#deepest) this.#deepest = depth;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      // Past the cap the element is too deep to be kept anyway: levels are only counted.
      if (this.#extra > 0) {
        this.#extra--;
        return Continue;
      }
      if (stack.length === 0) return c === CLOSE_ARRAY ? Exclusive : Continue;
      const opener = c === CLOSE_OBJECT ? OPEN_OBJECT : OPEN_ARRAY;
      // A closer that does not match pops down to its opener (or everything): a broken element
      // ends as soon as possible, so the elements after it are still found.
      const at = stack.lastIndexOf(opener);
      stack.length = at === -1 ? 0 : at;
      if (stack.length === 0) return Inclusive;
    } else if (stack.length === 0 && (c === COMMA || isSpace(c))) return Exclusive;
    return Continue;
  }

  #append(piece: string): void {
    if (piece === '') return;
    this.#length += piece.length;
    // A UTF-16 unit is at most 3 UTF-8 bytes: bytes need counting only once length * 3 passes the limit.
    if (this.#bytes >= 0) this.#bytes += utf8Length(piece);
    else if (this.#length * 3 > this.#maxBytes) this.#bytes = this.#parts.reduce((n, p) => n + utf8Length(p), utf8Length(piece));
    if (this.#head !== undefined) return;
    if (this.#bytes > this.#maxBytes) {
      this.#head = excerptOf([...this.#parts, piece]);
      this.#parts = [];
      return;
    }
    this.#parts.push(piece);
  }

  #finish(lastPiece: string): void {
    this.#append(lastPiece);
    if (this.#head !== undefined) {
      this.#events.push({ kind: 'overlong', line: this.#startLine, bytes: this.#bytes, head: this.#head });
    } else {
      const text = this.#parts.length === 1 ? (this.#parts[0] as string) : this.#parts.join('');
      this.#events.push({ kind: 'element', line: this.#startLine, text, offset: this.#startOffset, depth: this.#deepest });
    }
    this.#reset();
    this.#mode = Mode.After;
  }

  #reset(): void {
    this.#parts = [];
    this.#length = 0;
    this.#bytes = -1;
    this.#head = undefined;
    this.#stack = [];
    this.#extra = 0;
    this.#deepest = 0;
    this.#inString = false;
    this.#escaped = false;
  }

  #take(): ArrayScanEvent[] {
    const events = this.#events;
    this.#events = [];
    return events;
  }
}

// --- internal ---

/**
 * Open brackets remembered by type: one past {@link MAX_JSON_DEPTH}, as deeper elements are rejected
 * unparsed anyway; keeps a file of 30 MB of `[` from making a 30-million-entry array.
 */
const STACK_CAP = MAX_JSON_DEPTH + 1;

/** Where the scanner is (numbers, compared in the hot loop). */
type Mode = 0 | 1 | 2 | 3 | 4 | 5;
const Mode = {
  /** Before the opening `[` (the loader only uses this scanner when `[` comes first). */
  Start: 0,
  /** After `[` or `,`: an element or `]` comes next. */
  Expect: 1,
  Element: 2,
  /** After an element: `,` or `]` comes next. */
  After: 3,
  Closed: 4,
  /** After text that follows the closing `]`: nothing more is read. */
  Ignore: 5,
} as const;

/** Whether a character ends the element: not at all, after itself, or before itself. */
type Boundary = 0 | 1 | 2;
const Continue = 0;
const Inclusive = 1;
const Exclusive = 2;

const LF = 0x0a;
const QUOTE = 0x22;
const COMMA = 0x2c;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

function isSpace(c: number): boolean {
  return c === 0x20 || c === LF || c === 0x0d || c === 0x09;
}
