/**
 * A streaming scanner for a file holding a JSON array (or several written one after another): it
 * finds the text of each top-level element and the line it starts on, without parsing, so each
 * element can be `JSON.parse`d alone and memory is bounded by the largest element, not the file.
 * It only tracks strings, escapes and bracket depth, without recursion (its bracket stack is an
 * array, capped). A broken element costs that element alone wherever the text shows where it ends
 * (see {@link Recovered}); text after the last array is handed on as such, never dropped.
 */
import { excerptOf } from './_common.js';
import { ByteOffset, utf8Length } from './_utf8.js';
import { DEFAULT_MAX_LINE_BYTES, MAX_JSON_DEPTH } from './limits.js';

/**
 * How the scanner found the end of an element it knew was broken (such an element never parses).
 *
 * @example
 * if (event.kind === 'element' && event.recovered === 'raw-break') console.log('write line breaks as \\n');
 */
export type Recovered =
  /** A string ran over a line break (JSON does not allow one raw): the string went on after it, and the element parses once the break is escaped. */
  | 'raw-break'
  /** A string was not closed before its line ended: the element parses once it is closed there. */
  | 'open-string'
  /**
   * Neither reading made sense of a string that ran over a line break: the element was ended
   * before the next line that starts like an element (`{`, `[` or the array's `]`) no deeper than
   * the element's own first line.
   */
  | 'next-line'
  /** A `{` or `[` stood where an object key must: the element was ended before it (its closing `}` is likely missing). */
  | 'key-bracket';

/**
 * What the scanner reports, in file order. `line` is where the thing starts (1-based); `offset.get()`
 * gives the byte offset of an element's first character in the text (UTF-8, an escaped bad byte as
 * one byte; computed on call, as only a rejected element needs it); `depth` is the deepest nesting
 * of brackets in it. `trailing` marks text that follows the (last) array's closing `]`, or, with
 * `enclosed`, the closing `}` of the object around it: it is no element of the array.
 *
 * @example
 * for (const event of scanner.push(chunk)) if (event.kind === 'element') JSON.parse(event.text);
 */
export type ArrayScanEvent =
  /** A whole element's text (for a number or literal, what stood before the next `,` or `]`). */
  | { kind: 'element'; line: number; text: string; offset: ByteOffset; depth: number; recovered?: Recovered | undefined; trailing?: true | undefined }
  /** The file ended inside this element (a string or bracket still open). */
  | { kind: 'incomplete'; line: number; text: string; offset: ByteOffset; depth: number; trailing?: true | undefined }
  /** An element over the length limit (in UTF-8 bytes): only its length, lines and head are kept. */
  | { kind: 'overlong'; line: number; endLine: number; bytes: number; head: string; trailing?: true | undefined }
  /** Something other than `,` or `]` followed an element; the scanner read on as if a comma stood there. */
  | { kind: 'missing-comma'; line: number }
  /** Another array starts after the closing `]` (arrays written one after another); its elements follow. */
  | { kind: 'next-array'; line: number }
  /**
   * The file ended before the closing `]` of the array, or (`enclosed`) the `}` of the object
   * around it (`line` is the line count at the end).
   */
  | { kind: 'unclosed'; line: number; of: 'array' | 'object' };

/**
 * Feed it the file's text chunk by chunk (from the start, leading whitespace and `[` included);
 * each call returns the events the chunk completed. After a broken element, events wait until its
 * end is settled (a few lines at most; see RESYNC_LOOKAHEAD_LINES), still in file order.
 *
 * @example
 * const scanner = new JsonArrayScanner();
 * scanner.push('[{"a":1},\n {"a"'); // [{ kind: 'element', line: 1, text: '{"a":1}', depth: 1, offset }]
 * scanner.push(':2}]');            // [{ kind: 'element', line: 2, text: '{"a":2}', depth: 1, offset }]
 */
export class JsonArrayScanner {
  readonly #maxBytes: number;
  readonly #escapes: { readonly armed: boolean };
  readonly #enclosed: boolean;
  #mode: Mode = Mode.Start;
  #line = 1;
  #events: ArrayScanEvent[] = [];
  /** Byte offset of the current chunk's start. */
  #chunkBytes = 0;
  #chunk = '';
  /** Characters since the last line break, at the current chunk's start. */
  #lineChars = 0;
  /** Index of the last line break read in the current chunk, or -1. */
  #lastLf = -1;
  // The element being scanned.
  #startLine = 0;
  #startOffset = new ByteOffset('', 0, 0);
  /** Where it starts (chunk, index, #lineChars then): its column is worked out only if it breaks. */
  #startChunk = '';
  #startIndex = 0;
  #startBase = 0;
  #startLineChars = 0;
  /** Bytes of `#memoChunk` (at `#memoBase`) before `#memoIndex`, for step backs in one chunk. */
  #memoChunk = '';
  #memoBase = -1;
  #memoIndex = 0;
  #memoBytes = 0;
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
  /** Since `{` or an object's `,`, no quote or closer came: only a key (or `}`) may come. */
  #keyNext = false;
  /** The element is text after the array (see `trailing`). */
  #stray = false;
  /** ... that does not start like a JSON value: it runs to the end of its line. */
  #strayLine = false;
  /** Set at the element's first raw line break inside a string (see #recover). */
  #recovery: Recovery | undefined;
  /** With `enclosed`, after the array: brackets open in the object around it. */
  #restDepth = 0;

  /**
   * @param maxBytes - the longest element assembled.
   * @param escapes - `armed` once the text may hold escaped bad bytes (until then byte counts skip
   * looking for them); default: always armed.
   * @param enclosed - the array is the value of a key of a top-level object (`recordsKey`): after
   * its `]` the rest of that object follows, and is skipped.
   */
  constructor(maxBytes: number = DEFAULT_MAX_LINE_BYTES, escapes: { readonly armed: boolean } = { armed: true }, enclosed = false) {
    this.#maxBytes = maxBytes;
    this.#escapes = escapes;
    this.#enclosed = enclosed;
  }

  push(chunk: string): ArrayScanEvent[] {
    const bytes = this.#chunkBytes;
    const column = this.#lineChars;
    this.#lastLf = -1;
    const back = this.#run(chunk, 0);
    if (back !== undefined) this.#reread(back, { text: chunk, from: back.at, bytes, column, lastLf: this.#lastLf });
    // (The chunk is read last, after any text read again: #lastLf is its own.)
    this.#chunkBytes = bytes + (this.#escapes.armed ? utf8Length(chunk) : Buffer.byteLength(chunk, 'utf8'));
    this.#lineChars = this.#lastLf === -1 ? column + chunk.length : chunk.length - this.#lastLf - 1;
    this.#chunk = '';
    return this.#take();
  }

  end(): ArrayScanEvent[] {
    // A broken element with an end to fall back on, but no better one before the file ended.
    while (this.#mode === Mode.Element && this.#recovery?.hasFallback() === true && this.#head === undefined) {
      this.#reread(this.#stepBack('', 0, 0));
    }
    const inArray = !this.#stray && (this.#mode === Mode.Element || this.#mode === Mode.Expect || this.#mode === Mode.After);
    if (this.#mode === Mode.Element) {
      if (!this.#strayLine && (this.#inString || this.#stack.length > 0 || this.#recovery !== undefined)) {
        const trailing = this.#stray ? true : undefined;
        if (this.#head !== undefined) {
          this.#events.push({ kind: 'overlong', line: this.#startLine, endLine: this.#line, bytes: this.#bytes, head: this.#head, trailing });
        } else {
          const text = this.#parts.join('');
          this.#events.push({ kind: 'incomplete', line: this.#startLine, text, offset: this.#startOffset, depth: this.#deepest, trailing });
        }
        this.#reset();
      } else {
        this.#finish('', Mode.Closed);
      }
    }
    if (inArray) this.#events.push({ kind: 'unclosed', line: this.#line, of: 'array' });
    else if (this.#mode === Mode.Rest) this.#events.push({ kind: 'unclosed', line: this.#line, of: 'object' });
    this.#mode = Mode.Closed;
    return this.#take();
  }

  // --- internal ---

  /**
   * Scans `chunk` from `from` on (`#chunkBytes` and `#lineChars` hold the byte offset and column of
   * its first character). Returns, when a broken element was ended further back, the text after
   * that end, which is to be read before `chunk` goes on from `at`.
   */
  #run(chunk: string, from: number): StepBack | undefined {
    this.#chunk = chunk;
    let elementStart = -1;
    let i = from;
    if (this.#mode === Mode.Element) {
      elementStart = from;
      if (this.#strayLine) i = this.#toLineEnd(chunk, from, from);
      else if (this.#recovery !== undefined) {
        const next = this.#recover(chunk, from, from);
        if (typeof next !== 'number') return next;
        i = next;
      }
      if (this.#mode !== Mode.Element) elementStart = -1;
    }
    for (; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (c === LF) {
        this.#line++;
        this.#lastLf = i;
      }
      switch (this.#mode) {
        case Mode.Start:
          if (c === OPEN_ARRAY) this.#mode = Mode.Expect;
          break;
        case Mode.Expect:
          if (isSpace(c) || c === COMMA) break; // a stray comma (an elision) holds no element
          if (c === CLOSE_ARRAY) this.#closeArray();
          else elementStart = this.#begin(i, c);
          break;
        case Mode.After:
          if (isSpace(c)) break;
          if (c === COMMA) this.#mode = Mode.Expect;
          else if (c === CLOSE_ARRAY) this.#closeArray();
          else {
            this.#events.push({ kind: 'missing-comma', line: this.#line });
            elementStart = this.#begin(i, c);
          }
          break;
        case Mode.Closed:
          if (isSpace(c) || c === COMMA) break;
          if (c === OPEN_ARRAY && !this.#enclosed) {
            this.#events.push({ kind: 'next-array', line: this.#line });
            this.#mode = Mode.Expect;
            break;
          }
          // Text after the array: a value is scanned as an element would be, anything else to its line's end.
          this.#stray = true;
          this.#strayLine = c !== OPEN_OBJECT && c !== OPEN_ARRAY && c !== QUOTE;
          elementStart = this.#begin(i, c);
          if (this.#strayLine) {
            i = this.#toLineEnd(chunk, i, elementStart) - 1;
            // (#begin and #toLineEnd moved the mode on.)
            if ((this.#mode as Mode) !== Mode.Element) elementStart = -1;
          }
          break;
        case Mode.Rest:
          // The rest of the object around the array: skipped, with its strings and brackets, to its `}`.
          if (this.#inString) {
            if (c === LF) this.#inString = false; // a broken string costs its line only
            else if (this.#escaped) this.#escaped = false;
            else if (c === BACKSLASH) this.#escaped = true;
            else if (c === QUOTE) this.#inString = false;
          } else if (c === QUOTE) {
            this.#inString = true;
            this.#escaped = false;
          } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) this.#restDepth++;
          else if ((c === CLOSE_OBJECT || c === CLOSE_ARRAY) && --this.#restDepth === 0) {
            this.#inString = false;
            this.#mode = Mode.Closed;
          }
          break;
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
          if (end === Broken) {
            this.#startRecovery(i, elementStart);
            const next = this.#recover(chunk, i + 1, elementStart);
            if (typeof next !== 'number') return next;
            if (this.#mode !== Mode.Element) elementStart = -1;
            i = next - 1;
            break;
          }
          if (end === Cut) {
            // Read again as the next element's first character.
            this.#finish(chunk.slice(elementStart, i), this.#stray ? Mode.Closed : Mode.Expect, 'key-bracket');
            elementStart = -1;
            i--;
            break;
          }
          this.#finish(chunk.slice(elementStart, end === Inclusive ? i + 1 : i), this.#stray ? Mode.Closed : Mode.After, undefined, end === Exclusive && c === LF ? this.#line - 1 : this.#line);
          elementStart = -1;
          // `,` and `]` end a number or literal and are then read again as separators.
          if (end === Exclusive && !isSpace(c)) i--;
          break;
        }
      }
    }
    if (this.#mode === Mode.Element && !this.#append(chunk.slice(elementStart))) return this.#stepBack(chunk, chunk.length, chunk.length);
    return undefined;
  }

  /**
   * Reads the text a broken element was ended before, then the rest of `outer` (where that text
   * was found): each may step back again, so the pieces wait on a stack, innermost on top.
   */
  #reread(back: StepBack, outer?: Segment): void {
    const stack: Segment[] = outer === undefined ? [] : [outer];
    stack.push({ text: back.text, from: 0, bytes: this.#chunkBytes, column: this.#lineChars, lastLf: -1 });
    while (stack.length > 0) {
      const segment = stack[stack.length - 1] as Segment;
      this.#chunkBytes = segment.bytes;
      this.#lineChars = segment.column;
      this.#lastLf = segment.lastLf;
      const again = this.#run(segment.text, segment.from);
      if (again === undefined) stack.pop();
      else {
        segment.from = again.at;
        segment.lastLf = this.#lastLf;
        stack.push({ text: again.text, from: 0, bytes: this.#chunkBytes, column: this.#lineChars, lastLf: -1 });
      }
    }
  }

  /** Starts an element at index `i` with character `c`; returns the index its text starts at. */
  #begin(i: number, c: number): number {
    this.#mode = Mode.Element;
    this.#startLine = this.#line;
    this.#startOffset = new ByteOffset(this.#chunk, i, this.#chunkBytes);
    this.#startChunk = this.#chunk;
    this.#startIndex = i;
    this.#startBase = this.#chunkBytes;
    this.#startLineChars = this.#lineChars;
    if (!this.#strayLine) this.#scan(c);
    return i;
  }

  /** Ends a stray line at its line break (left for the caller to read); returns where to go on. */
  #toLineEnd(chunk: string, from: number, elementStart: number): number {
    const nl = chunk.indexOf('\n', from);
    if (nl === -1) return chunk.length;
    this.#finish(chunk.slice(elementStart, nl), Mode.Closed);
    return nl;
  }

  #closeArray(): void {
    if (this.#enclosed) {
      this.#mode = Mode.Rest;
      this.#restDepth = 1;
    } else this.#mode = Mode.Closed;
  }

  /** Advances the element state by one character and says whether the element ended there. */
  #scan(c: number): Boundary {
    if (this.#inString) {
      if (c === LF) {
        // JSON strings cannot hold a raw line break: the element is broken (see #recover), which
        // then reads on as if the break belonged to the string.
        this.#escaped = false;
        return this.#recovery === undefined ? Broken : Continue;
      }
      if (this.#escaped) this.#escaped = false;
      else if (c === BACKSLASH) this.#escaped = true;
      else if (c === QUOTE) {
        this.#inString = false;
        if (this.#stack.length === 0) return Inclusive;
      }
      return Continue;
    }
    const stack = this.#stack;
    if (c === QUOTE) {
      this.#inString = true;
      this.#keyNext = false;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      // Where a key must stand, a bracket begins the next element: this one lacks its `}`.
      if (this.#keyNext) return Cut;
      if (stack.length < STACK_CAP) stack.push(c);
      else this.#extra++;
      const depth = stack.length + this.#extra;
      if (depth > this.#deepest) this.#deepest = depth;
      this.#keyNext = c === OPEN_OBJECT;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      this.#keyNext = false;
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
    } else if (c === COMMA) {
      if (stack.length === 0) return Exclusive;
      this.#keyNext = this.#extra === 0 && stack[stack.length - 1] === OPEN_OBJECT;
    } else if (stack.length === 0 && isSpace(c)) return Exclusive;
    // (In valid JSON a quote or `}` comes next where a key must: they clear #keyNext, nothing else need.)
    return Continue;
  }

  /** The element broke at the line break at index `i`: from here on it is read two ways at once. */
  #startRecovery(i: number, elementStart: number): void {
    const nl = this.#startChunk.lastIndexOf('\n', this.#startIndex);
    const indent = nl === -1 ? this.#startLineChars + this.#startIndex : this.#startIndex - nl - 1;
    this.#recovery = new Recovery(indent, new Track(this.#stack, this.#extra), this.#length + i + 1 - elementStart);
  }

  /**
   * Scans a broken element from `from` on. Two readings run side by side: A (the scanner's own
   * state) takes each raw line break as part of its string, B takes it as the end of a string left
   * open. A reading's end counts only if the text parses once mended its way. A's end is taken at
   * once; B's (which text that A reads as a string can fake: `"a` ⏎ `}]"}`) at once only if A has
   * already failed, else it is kept to fall back on. Failing both, the element ends before the
   * first line after the break that starts like an element, no deeper than the element's first
   * line (`{`, `[`, or the array's `]`). A fallback is taken when A fails, the file ends, the
   * element would pass the length limit, or the lookahead (RESYNC_LOOKAHEAD_LINES lines, or
   * RESYNC_LOOKAHEAD_STARTS more such lines) has passed it; the text after it is then read again.
   * Returns where the caller goes on, or what to read again.
   */
  #recover(chunk: string, from: number, elementStart: number): number | StepBack {
    const rec = this.#recovery as Recovery;
    for (let i = from; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (c === LF) {
        this.#line++;
        this.#lastLf = i;
        if (rec.fallbackLine > 0 && this.#line - rec.fallbackLine > RESYNC_LOOKAHEAD_LINES) return this.#stepBack(chunk, i, elementStart);
        rec.atLineStart = true;
        rec.column = 0;
        rec.lineStart = this.#length + i + 1 - elementStart;
      } else if (rec.atLineStart) {
        if (c === 0x20 || c === 0x09 || c === CR) rec.column++;
        else {
          rec.atLineStart = false;
          if (rec.resyncAt >= 0 && rec.column <= rec.indent && (c === OPEN_OBJECT || c === OPEN_ARRAY || c === CLOSE_ARRAY)) {
            if (++rec.starts > RESYNC_LOOKAHEAD_STARTS) return this.#stepBack(chunk, i, elementStart);
          } else if (rec.resyncAt < 0 && rec.column <= rec.indent && (c === OPEN_OBJECT || c === OPEN_ARRAY || c === CLOSE_ARRAY)) {
            if (!rec.a && rec.b === undefined && this.#head === undefined && rec.bStop >= 0) return this.#stepBack(chunk, i, elementStart);
            if ((!rec.a && rec.b === undefined) || this.#head !== undefined) {
              // Read again as the next element's first character (or the array's end).
              this.#finish(chunk.slice(elementStart, i), this.#stray ? Mode.Closed : Mode.Expect, 'next-line', this.#line - 1);
              return i;
            }
            rec.resyncAt = rec.lineStart;
            rec.resyncLine = this.#line;
            if (rec.fallbackLine === 0) rec.fallbackLine = this.#line;
          }
        }
      }
      if (rec.a) {
        const end = this.#scan(c);
        if (end === Cut) rec.a = false;
        else if (end !== Continue) {
          if (this.#confirms(chunk, elementStart, end === Inclusive ? i + 1 : i, false)) return this.#endRecovered(chunk, elementStart, i, c, end, 'raw-break');
          rec.a = false;
        }
      }
      if (rec.b !== undefined) {
        const end = rec.b.step(c);
        if (end !== Continue) {
          rec.b = undefined;
          if (this.#confirms(chunk, elementStart, end === Inclusive ? i + 1 : i, true)) {
            if (!rec.a || this.#head !== undefined) return this.#endRecovered(chunk, elementStart, i, c, end, 'open-string');
            const exclusive = end === Exclusive;
            rec.bStop = this.#length + (exclusive ? i : i + 1) - elementStart;
            rec.bLine = exclusive && c === LF ? this.#line - 1 : this.#line;
            if (rec.fallbackLine === 0 || rec.bLine < rec.fallbackLine) rec.fallbackLine = rec.bLine;
          }
        }
      }
      if (!rec.a && rec.b === undefined && rec.hasFallback()) return this.#stepBack(chunk, i + 1, elementStart);
    }
    return chunk.length;
  }

  /** Whether the broken element's text up to `stop` parses once mended as reading A or B has it. */
  #confirms(chunk: string, elementStart: number, stop: number, breakEndsString: boolean): boolean {
    // Past the length limit the text is gone: the first end found is taken.
    if (this.#head !== undefined) return true;
    return parses(mendStrings(this.#parts.join('') + chunk.slice(elementStart, stop), breakEndsString));
  }

  #endRecovered(chunk: string, elementStart: number, i: number, c: number, end: Boundary, recovered: Recovered): number {
    const exclusive = end === Exclusive;
    this.#finish(chunk.slice(elementStart, exclusive ? i : i + 1), this.#stray ? Mode.Closed : Mode.After, recovered, exclusive && c === LF ? this.#line - 1 : this.#line);
    return exclusive && !isSpace(c) ? i : i + 1;
  }

  /**
   * Ends the broken element at its fallback (see #recover): reading B's end, else the line found
   * for it; returns the text scanned since (up to `chunk`'s index `i`), to be read again from
   * there, with `#chunkBytes`, `#lineChars` and `#line` set for it.
   */
  #stepBack(chunk: string, i: number, elementStart: number): StepBack {
    const rec = this.#recovery as Recovery;
    const text = this.#parts.join('') + chunk.slice(elementStart, i);
    const toB = rec.bStop >= 0;
    const cut = toB ? rec.bStop : rec.resyncAt;
    const line = toB ? rec.bLine : rec.resyncLine;
    const before = text.slice(0, cut);
    const base = this.#bytesBefore(this.#startChunk, this.#startIndex, this.#startBase) + utf8Length(before);
    const nl = before.lastIndexOf('\n');
    const column = nl === -1 ? rec.indent + cut : cut - nl - 1;
    this.#parts = [];
    this.#length = 0;
    this.#bytes = -1;
    const next = this.#stray ? Mode.Closed : toB ? Mode.After : Mode.Expect;
    this.#finish(before, next, toB ? 'open-string' : 'next-line', toB ? line : line - 1);
    this.#line = line;
    this.#chunkBytes = base;
    this.#lineChars = column;
    return { text: text.slice(cut), at: i };
  }

  /**
   * The byte offset of `chunk[i]`, `chunk` starting at byte `base`: counted on from the last call
   * when it was on the same chunk and not further, so many step backs in one chunk cost it once.
   */
  #bytesBefore(chunk: string, i: number, base: number): number {
    if (base !== this.#memoBase || i < this.#memoIndex || chunk !== this.#memoChunk) {
      this.#memoChunk = chunk;
      this.#memoBase = base;
      this.#memoIndex = 0;
      this.#memoBytes = base;
    }
    this.#memoBytes += utf8Length(chunk.slice(this.#memoIndex, i));
    this.#memoIndex = i;
    return this.#memoBytes;
  }

  /**
   * Adds text to the element; false when that passes the length limit while a broken element has
   * a line to step back to (then nothing is dropped: the caller steps back).
   */
  #append(piece: string): boolean {
    if (piece === '') return true;
    this.#length += piece.length;
    // A UTF-16 unit is at most 3 UTF-8 bytes: bytes need counting only once length * 3 passes the limit.
    if (this.#bytes >= 0) this.#bytes += utf8Length(piece);
    else if (this.#length * 3 > this.#maxBytes) this.#bytes = this.#parts.reduce((n, p) => n + utf8Length(p), utf8Length(piece));
    if (this.#head !== undefined) return true;
    const over = this.#bytes > this.#maxBytes;
    if (over && this.#recovery?.hasFallback() !== true) {
      this.#head = excerptOf([...this.#parts, piece]);
      this.#parts = [];
      return true;
    }
    this.#parts.push(piece);
    return !over;
  }

  #finish(lastPiece: string, next: Mode, recovered?: Recovered, endLine = this.#line): void {
    this.#append(lastPiece);
    const trailing = this.#stray ? true : undefined;
    if (this.#head !== undefined || this.#bytes > this.#maxBytes) {
      const head = this.#head ?? excerptOf(this.#parts);
      this.#events.push({ kind: 'overlong', line: this.#startLine, endLine, bytes: this.#bytes, head, trailing });
    } else {
      let text = this.#parts.length === 1 ? (this.#parts[0] as string) : this.#parts.join('');
      // An element ended where a reading found its end, or a stray line, keeps no trailing blanks.
      if (recovered !== undefined || this.#strayLine) {
        let end = text.length;
        while (end > 0 && isSpace(text.charCodeAt(end - 1))) end--;
        text = text.slice(0, end);
      }
      this.#events.push({ kind: 'element', line: this.#startLine, text, offset: this.#startOffset, depth: this.#deepest, recovered, trailing });
    }
    this.#reset();
    this.#mode = next;
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
    this.#keyNext = false;
    this.#stray = false;
    this.#strayLine = false;
    this.#recovery = undefined;
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

/**
 * Lines a broken element is read on past its fallback (see JsonArrayScanner's #recover), in case a
 * string holding raw line breaks closes it after all (a code sample in which a line starts with
 * `{`, say); and how many more lines that start like an element it may pass. Past either it is
 * ended at the fallback and the text after is read again: so the lines after a broken element are
 * read late, never lost; an unterminated quote near the start of a large file does not hold the
 * whole file; and a file where many elements miss a quote is read again a few lines per element.
 */
const RESYNC_LOOKAHEAD_LINES = 1_000;
const RESYNC_LOOKAHEAD_STARTS = 8;

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
  /** After the array: another array, or text that is reported as trailing. */
  Closed: 4,
  /** With `enclosed`, after the array: the rest of the object around it. */
  Rest: 5,
} as const;

/**
 * Whether a character ends the element: not at all, after itself, or before itself; or it is a raw
 * line break in a string (Broken), or a bracket where a key must stand (Cut: ends it before itself).
 */
type Boundary = 0 | 1 | 2 | 3 | 4;
const Continue = 0;
const Inclusive = 1;
const Exclusive = 2;
const Broken = 3;
const Cut = 4;

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const COMMA = 0x2c;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

function isSpace(c: number): boolean {
  return c === 0x20 || c === LF || c === CR || c === 0x09;
}

/** Text to read again after a step back (see JsonArrayScanner's #stepBack), before the text it was in goes on from `at`. */
interface StepBack {
  text: string;
  at: number;
}

/**
 * Text waiting to be scanned from `from` on; `bytes` and `column` are those of its first
 * character, `lastLf` the index of the last line break read in it so far (or -1).
 */
interface Segment {
  text: string;
  from: number;
  bytes: number;
  column: number;
  lastLf: number;
}

/** A broken element's state from its first raw line break on (see JsonArrayScanner's #recover). */
class Recovery {
  /** Column of the element's first character. */
  readonly indent: number;
  /** Reading A (the scanner's own state) is still possible. */
  a = true;
  /** Reading B, until it fails or ends the element. */
  b: Track | undefined;
  /** Where reading B ended the element while A went on, in characters from the element's start, or -1; and its line. */
  bStop = -1;
  bLine = 0;
  atLineStart = true;
  /** While at a line's start: the blanks read on it. */
  column = 0;
  /** Where the current line starts, in characters from the element's start. */
  lineStart: number;
  /** The first line found to end the element at: where it starts (as lineStart), or -1; and its number. */
  resyncAt = -1;
  resyncLine = 0;
  /** The line of the first fallback found (B's end or that line), or 0. */
  fallbackLine = 0;
  /** Lines that start like an element seen since that line. */
  starts = 0;

  constructor(indent: number, b: Track, lineStart: number) {
    this.indent = indent;
    this.b = b;
    this.lineStart = lineStart;
  }

  hasFallback(): boolean {
    return this.bStop >= 0 || this.resyncAt >= 0;
  }
}

/** Reading B of a broken element: the scanner's bracket rules, with a line break ending any string. */
class Track {
  readonly stack: number[];
  extra: number;
  inString = false;
  escaped = false;

  constructor(stack: readonly number[], extra: number) {
    this.stack = stack.slice();
    this.extra = extra;
  }

  step(c: number): Boundary {
    if (this.inString) {
      if (c === LF) {
        this.inString = false;
        this.escaped = false;
      } else if (this.escaped) this.escaped = false;
      else if (c === BACKSLASH) this.escaped = true;
      else if (c === QUOTE) {
        this.inString = false;
        if (this.stack.length === 0) return Inclusive;
      }
      return Continue;
    }
    const stack = this.stack;
    if (c === QUOTE) this.inString = true;
    else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (stack.length < STACK_CAP) stack.push(c);
      else this.extra++;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      if (this.extra > 0) {
        this.extra--;
        return Continue;
      }
      if (stack.length === 0) return c === CLOSE_ARRAY ? Exclusive : Continue;
      const at = stack.lastIndexOf(c === CLOSE_OBJECT ? OPEN_OBJECT : OPEN_ARRAY);
      stack.length = at === -1 ? 0 : at;
      if (stack.length === 0) return Inclusive;
    } else if (stack.length === 0 && (c === COMMA || isSpace(c))) return Exclusive;
    return Continue;
  }
}

/**
 * `text` mended as a reading of a broken element has it: raw control characters inside strings
 * escaped (A), or a quote put before each line break inside a string (B, `breakEndsString`).
 */
function mendStrings(text: string, breakEndsString: boolean): string {
  let out = '';
  let from = 0;
  let inString = false;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!inString) {
      if (c === QUOTE) inString = true;
      continue;
    }
    if (c === LF && breakEndsString) {
      const at = i > from && text.charCodeAt(i - 1) === CR ? i - 1 : i;
      out += `${text.slice(from, at)}"`;
      from = at;
      inString = false;
      escaped = false;
    } else if (c < 0x20 && !breakEndsString) {
      out += `${text.slice(from, i)}\\u${c.toString(16).padStart(4, '0')}`;
      from = i + 1;
      escaped = false;
    } else if (escaped) escaped = false;
    else if (c === BACKSLASH) escaped = true;
    else if (c === QUOTE) inString = false;
  }
  return out + text.slice(from);
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
