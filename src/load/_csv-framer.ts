/**
 * Record framing in front of csv-parse, so that one record too long (or too wide) to parse never
 * reaches the parser and memory stays bounded by the limit, not by the record. It follows
 * csv-parse's own rules for the options the CSV loader uses (quote and escape `"`, record
 * delimiters CRLF, LF and CR, `relax_quotes`, no trimming, no comments): a quote opens a quoted
 * field only at the start of a field; inside one, `""` is a quote and a `"` ends the quoting.
 *
 * Complete records pass through unchanged. A record over `maxBytes`, or with more than
 * `maxFields` fields, is dropped as it streams (only its first bytes are kept, for the excerpt)
 * and replaced by a placeholder the parser reads as one record of one empty quoted field, `""`,
 * followed by as many line breaks as the record held, so that line numbers stay right. The loader
 * recognises the placeholder by the offset where the parser says it ends. A record of nothing but
 * spaces and tabs is a blank line to the loader, however long: it is replaced by line breaks alone.
 *
 * Given the offsets of bad bytes (bytes that are not UTF-8, which the loader knows from decoding),
 * it also says which records passed on hold one, and where the first is.
 *
 * Unbalanced quotes. csv-parse (relaxed) ends a quoted field at any quote not doubled, and reads
 * text after it as more of the field. Where that quoted field runs over a line break, a stray
 * quote has opened it and swallowed rows until the next quote (`"L3,a3⏎L4,a4⏎"L5",a5`): such a
 * record is replaced too (`why: 'quote'`), and the loader rejects it naming the lines. A closing
 * quote followed by text on the line it opened (`"Hi," he said`) is kept as csv-parse reads it.
 * With the default escape, a closing quote right after a backslash (`\"`) is read as a file
 * escaping quotes MySQL's way would: where that reading carries the record over line breaks the
 * RFC 4180 reading ends it at, the lines it spans are one replaced record (not a rejected row and
 * a fragment kept as a row), and records passed on that hold such a quote are listed
 * (`backslashed`) so the loader can name the `escape` option.
 */

/**
 * A record the framer replaced, and how to recognise its placeholder.
 *
 * @example
 * const info: FramedRecord = { end: 1024, bytes: 40_000_000, head, why: 'bytes', fields: 1, unclosedQuote: false };
 */
export interface FramedRecord {
  /** Offset in the bytes passed on (csv-parse's `info.bytes`) where the placeholder record ends. */
  end: number;
  /** The record's length in the input, in bytes. */
  bytes: number;
  /** Its first bytes (at most {@link HEAD_BYTES}). */
  head: Buffer;
  /** Which limit it broke, or `quote` for unbalanced quotes (see {@link StrayQuote}). */
  why: 'bytes' | 'fields' | 'quote';
  /** How many fields it had by the end (or when counting stopped). */
  fields: number;
  /** True when the input ended inside a quoted field of this record. */
  unclosedQuote: boolean;
  /** With `why: 'quote'`: where the quotes went wrong. */
  quote?: StrayQuote;
}

/**
 * A quote that ends a quoted field and is followed by text, not by the delimiter or a line break;
 * lines are counted as line breaks from the record's first line.
 *
 * @example
 * const stray: StrayQuote = { opens: 0, closes: 2, breaks: 2, backslash: false };
 */
export interface StrayQuote {
  /** Line breaks before the quote that opened the field. */
  opens: number;
  /** Line breaks before the quote that closed it. */
  closes: number;
  /** Line breaks inside the record (not the one that ends it). */
  breaks: number;
  /** The closing quote follows a backslash (`\"`, as MySQL escapes a quote), with escape `"`. */
  backslash: boolean;
}

/**
 * A record passed on that holds bytes that are not UTF-8.
 *
 * @example
 * const bad: BadRecord = { end: 40, at: 33, inRow: 7, byte: 0xe9 };
 */
export interface BadRecord {
  /** Offset in the bytes passed on where the record ends (csv-parse's `info.bytes`). */
  end: number;
  /** Offset of its first bad byte in the input. */
  at: number;
  /** The same, counted from the record's first byte. */
  inRow: number;
  /** The bad byte. */
  byte: number;
}

/**
 * First bytes of a replaced record kept for its excerpt: at least enough for the excerpt's
 * characters (3 UTF-8 bytes each at most).
 *
 * @example
 * head.length <= HEAD_BYTES
 */
export const HEAD_BYTES = 4 * 1024;

/**
 * What one {@link CsvFramer.push} (or `end`) gives: the bytes for the parser and what it found.
 *
 * @example
 * const { out, replaced, invalid, backslashed }: FramerOutput = framer.push(chunk, badOffsets);
 */
export interface FramerOutput {
  out: Buffer;
  replaced: FramedRecord[];
  invalid: BadRecord[];
  /** End offsets (as in {@link BadRecord.end}) of records passed on that hold a quote closed right after a backslash. */
  backslashed: number[];
  /**
   * End offsets (as in {@link BadRecord.end}) of records ended by a CR alone in a file whose first
   * line break outside quotes is an LF or a CRLF: a stray CR that cut its row in two.
   */
  loneCR: number[];
}

/**
 * Splits a CSV byte stream into records as csv-parse would and passes complete ones on.
 *
 * @example
 * const framer = new CsvFramer(Buffer.from(','), 16 << 20, 100_000);
 * const { out, replaced } = framer.push(chunk); // feed `out` to the parser
 */
export class CsvFramer {
  readonly #delimiter: Buffer;
  readonly #maxBytes: number;
  readonly #maxFields: number;
  /** Input bytes not yet passed on; `#segments[0]` starts at input offset `#base`. */
  #segments: Buffer[] = [];
  #base = 0;
  /** Input offset up to which bytes were passed on (or dropped). */
  #emitted = 0;
  /** Offset in the output stream (what the parser has been given). */
  #outOffset = 0;
  /** Input offset of the next byte to scan. */
  #pos = 0;
  // Parser state, as csv-parse has it.
  #quoting = false;
  #fieldEmpty = true;
  /** A `"` seen inside quotes: the next byte says whether it is doubled or ends the quoting. */
  #pendingQuote = false;
  /** With a backslash escape: one was the last byte inside quotes, so the next is content. */
  #pendingEscape = false;
  /** The escape character inside quotes is a backslash (`\"` a quote, `\` + any byte that byte), not `"`. */
  readonly #backslash: boolean;
  /** A CR seen outside quotes: the next byte says whether it is a CRLF. */
  #pendingCR = false;
  #lastWasCR = false;
  /** The last bytes of the current unquoted field, for delimiters longer than one byte. */
  #tail: number[] = [];
  /** The last byte of the previous chunk (for a quote that starts a chunk: is it after a backslash?). */
  #lastByte = -1;
  /** With escape `"`: the quote ending the quoting (pending) follows a backslash. */
  #quoteAfterBackslash = false;
  /** Line breaks of the record before the current quoted field opened. */
  #openBreaks = 0;
  /** The record's first closing quote followed by text. */
  #stray: StrayQuote | undefined;
  /**
   * After a quote closed right after a backslash: the record read from there as MySQL escapes
   * quotes (a backslash escapes the next byte inside quotes), from input offset `#shadowPos` on.
   */
  #shadow: { quoting: boolean; escape: boolean; fieldStart: boolean } | undefined;
  #shadowPos = 0;
  /** The record goes on past a line break because the MySQL reading (`#shadow`) is inside quotes there. */
  #continuing = false;
  /** While `#continuing`: the line breaks before the last byte that is not one. */
  #contentBreaks = 0;
  // The current record.
  #recordStart = 0;
  #breaks = 0;
  #fields = 1;
  /** True while the record holds only spaces and tabs (a blank line to the loader). */
  #blank = true;
  #skipping: { head: Buffer; why: 'bytes' | 'fields' | 'quote' } | undefined;
  /** Where #endRecord reports bad records (the lists of the current push). */
  #out: { replaced: FramedRecord[]; invalid: BadRecord[]; backslashed: number[]; loneCR: number[] } = { replaced: [], invalid: [], backslashed: [], loneCR: [] };
  /** How the file's first line break outside quotes was written: a lone CR after that is no line ending of this file. */
  #lineEnd: 'lf' | 'crlf' | 'cr' | undefined;
  /** Output offset minus input offset, for the input bytes passed on since the last replacement. */
  #delta = 0;
  // Bad bytes of the chunk being scanned (offsets in the chunk), and the first of the current record.
  #chunk: Buffer = Buffer.alloc(0);
  /** Whether a quote opens a quoted field (else it is text). */
  readonly #quotes: boolean;
  #chunkStart = 0;
  #bad: readonly number[] = [];
  #badIndex = 0;
  #firstBad: { at: number; byte: number } | undefined;

  /**
   * `escape`: csv-parse's escape character inside quotes, `"` (RFC 4180's doubled quotes) or a
   * backslash. `quotes`: false where a quote is text like any other (no field is quoted).
   */
  constructor(delimiter: Buffer, maxBytes: number, maxFields: number, escape: '"' | '\\' = '"', quotes = true) {
    this.#quotes = quotes;
    this.#delimiter = delimiter;
    this.#maxBytes = maxBytes;
    this.#maxFields = maxFields;
    this.#backslash = escape === '\\';
  }

  /**
   * Scans `chunk`; returns the bytes to pass on (complete records and placeholders), the records
   * replaced, and the records passed on that hold a bad byte.
   *
   * @param bad - offsets in `chunk` of bytes that are not UTF-8, ascending.
   */
  push(chunk: Buffer, bad: readonly number[] = []): FramerOutput {
    const out: Buffer[] = [];
    const replaced: FramedRecord[] = [];
    const invalid: BadRecord[] = [];
    const backslashed: number[] = [];
    const loneCR: number[] = [];
    this.#out = { replaced, invalid, backslashed, loneCR };
    if (chunk.length > 0) this.#segments.push(chunk);
    const single = this.#delimiter.length === 1 ? (this.#delimiter[0] as number) : -1;
    const maxBytes = this.#maxBytes;
    const start = this.#pos;
    this.#chunk = chunk;
    this.#chunkStart = start;
    this.#bad = bad;
    this.#badIndex = 0;
    const len = chunk.length;
    for (let i = 0; i < len; i++) {
      const abs = start + i;
      const b = chunk[i] as number;
      if (this.#pendingCR) {
        this.#pendingCR = false;
        if (b === LF) {
          this.#lineEnd ??= 'crlf';
          this.#endRecord(abs + 1, out, replaced);
          continue;
        }
        this.#lineEnd ??= 'cr';
        if (this.#lineEnd !== 'cr' && this.#skipping === undefined && !this.#continuing) loneCR.push(abs + this.#delta);
        this.#endRecord(abs, out, replaced);
      }
      if (this.#continuing) {
        // Rare: a record read on as MySQL escapes quotes, byte by byte, to its end.
        if (this.#continue(b)) this.#endRecord(abs + 1, out, replaced);
        continue;
      }
      if (this.#pendingEscape) {
        // The byte after a backslash inside quotes is content; a line break still counts.
        this.#pendingEscape = false;
        this.#escaped(b);
        continue;
      }
      if (this.#pendingQuote) {
        this.#pendingQuote = false;
        if (b === QUOTE && !this.#backslash) continue; // a doubled quote: still quoting
        // The quote ended the quoting (before a delimiter or line break, or, relaxed, before anything else).
        this.#quoting = false;
        this.#fieldEmpty = false;
        // Text after it: unbalanced quotes, or MySQL's \" (a delimiter of several bytes is told by its first).
        if (b !== LF && b !== CR && b !== this.#delimiter[0]) this.#strayQuote(abs, out);
      }
      if (this.#quoting) {
        // Inside quotes only a quote matters; line breaks are counted. A tight loop over locals.
        let j = i;
        let breaks = 0;
        let lastWasCR = this.#lastWasCR;
        const backslash = this.#backslash;
        for (; j < len; j++) {
          let c = chunk[j] as number;
          if (c === QUOTE) break;
          if (c === BACKSLASH && backslash) {
            if (j + 1 === len) {
              this.#pendingEscape = true;
              j = len;
              break;
            }
            // The escaped byte is content, whatever it is, counted below like any (a line break still counts).
            c = chunk[++j] as number;
          }
          if (c === CR) {
            breaks++;
            lastWasCR = true;
          } else {
            if (c === LF && !lastWasCR) breaks++;
            lastWasCR = false;
          }
        }
        this.#breaks += breaks;
        this.#lastWasCR = lastWasCR;
        if (j < len) {
          this.#pendingQuote = true;
          this.#lastWasCR = false;
          if (!backslash) this.#quoteAfterBackslash = (j > 0 ? chunk[j - 1] : this.#lastByte) === BACKSLASH;
        }
        i = j;
      } else if (b === QUOTE && this.#quotes) {
        if (this.#fieldEmpty) {
          this.#quoting = true;
          this.#openBreaks = this.#breaks;
        }
        this.#fieldEmpty = false;
        this.#blank = false;
        this.#tail.length = 0;
        this.#lastWasCR = false;
      } else if (b === LF) {
        this.#breaks++;
        this.#lineEnd ??= 'lf';
        this.#endRecord(abs + 1, out, replaced);
        continue;
      } else if (b === CR) {
        this.#breaks++;
        this.#pendingCR = true;
        this.#lastWasCR = true;
        continue;
      } else if (b === single) {
        this.#field();
      } else if (single === -1) {
        if (this.#isDelimiterEnd(b)) this.#field();
        else {
          if (b !== SPACE && b !== TAB) this.#blank = false;
          this.#fieldEmpty = false;
          this.#lastWasCR = false;
        }
      } else {
        // Plain field content up to the next byte that matters.
        let j = i + 1;
        for (; j < len; j++) {
          const c = chunk[j] as number;
          if (c === QUOTE || c === CR || c === LF || c === single) break;
        }
        if (this.#blank) {
          for (let k = i; k < j; k++) {
            const c = chunk[k] as number;
            if (c !== SPACE && c !== TAB) {
              this.#blank = false;
              break;
            }
          }
        }
        i = j - 1;
        this.#fieldEmpty = false;
        this.#lastWasCR = false;
      }
      if (this.#skipping === undefined && (start + i + 1 - this.#recordStart > maxBytes || this.#fields > this.#maxFields)) {
        this.#startSkipping(start + i + 1, out);
      }
    }
    this.#pos = start + chunk.length;
    if (len > 0) this.#lastByte = chunk[len - 1] as number;
    // Read before #flush forgets the bytes of a record being skipped.
    this.#advanceShadow(this.#pos);
    this.#growHead(this.#pos);
    // Bad bytes left belong to the record still open.
    if (this.#firstBad === undefined && this.#badIndex < bad.length) {
      const at = bad[this.#badIndex] as number;
      this.#firstBad = { at: start + at, byte: chunk[at] as number };
    }
    this.#bad = [];
    this.#flush(this.#skipping === undefined ? this.#recordStart : this.#pos, out);
    return { out: out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out), replaced, invalid, backslashed, loneCR };
  }

  /** Ends the input: a record cut off by the end is passed on (or replaced) as it is. */
  end(): FramerOutput {
    const out: Buffer[] = [];
    const replaced: FramedRecord[] = [];
    const invalid: BadRecord[] = [];
    const backslashed: number[] = [];
    const loneCR: number[] = [];
    this.#out = { replaced, invalid, backslashed, loneCR };
    const end = this.#pos;
    this.#pendingEscape = false;
    if (this.#pendingQuote) {
      // A quote as the very last byte closes the quoting.
      this.#pendingQuote = false;
      this.#quoting = false;
    }
    // The end of the input ends the record whichever way quotes are read.
    const open = this.#continuing ? (this.#shadow?.quoting ?? false) : this.#quoting;
    if (!this.#continuing) this.#shadow = undefined;
    if (this.#pendingCR) {
      this.#pendingCR = false;
      this.#endRecord(end, out, replaced);
    } else if (end > this.#recordStart) {
      this.#endRecord(end, out, replaced, open, false);
    }
    this.#flush(end, out);
    return { out: Buffer.concat(out), replaced, invalid, backslashed, loneCR };
  }

  // --- internal ---

  /** An escaped byte inside quotes, as content: a line break still counts. */
  #escaped(b: number): void {
    if (b === CR) {
      this.#breaks++;
      this.#lastWasCR = true;
    } else {
      if (b === LF && !this.#lastWasCR) this.#breaks++;
      this.#lastWasCR = false;
    }
  }

  /** A delimiter ended a field. */
  #field(): void {
    this.#fields++;
    this.#blank = false;
    this.#fieldEmpty = true;
    this.#tail.length = 0;
    this.#lastWasCR = false;
  }

  /** For a multi-byte delimiter: whether `b` completes one (csv-parse matches them left to right, without overlap). */
  #isDelimiterEnd(b: number): boolean {
    const d = this.#delimiter;
    const tail = this.#tail;
    tail.push(b);
    if (tail.length > d.length) tail.shift();
    if (tail.length < d.length) return false;
    for (let k = 0; k < d.length; k++) if (tail[k] !== d[k]) return false;
    return true;
  }

  /**
   * Ends the record at input offset `end`, unless a quote closed after a backslash and the MySQL
   * reading is still inside quotes there: then the record goes on (and is replaced).
   *
   * @param byBreak - false when the end of the input ends the record, not a line break.
   */
  #endRecord(end: number, out: Buffer[], replaced: FramedRecord[], unclosedQuote = false, byBreak = true): void {
    if (this.#shadow !== undefined && !this.#continuing) {
      this.#advanceShadow(end);
      const shadow = this.#shadow;
      if (shadow.quoting || shadow.escape) {
        this.#continuing = true;
        this.#contentBreaks = this.#breaks - 1;
        if (this.#skipping === undefined) this.#startSkipping(end, out, 'quote');
        return;
      }
    }
    let first = this.#firstBad;
    for (; this.#badIndex < this.#bad.length; this.#badIndex++) {
      const at = this.#bad[this.#badIndex] as number;
      if (this.#chunkStart + at >= end) break;
      first ??= { at: this.#chunkStart + at, byte: this.#chunk[at] as number };
    }
    this.#firstBad = undefined;
    const skipping = this.#skipping;
    if (skipping === undefined && first !== undefined) {
      this.#out.invalid.push({ end: end + this.#delta, at: first.at, inRow: first.at - this.#recordStart, byte: first.byte });
    }
    if (skipping === undefined && this.#stray?.backslash === true) this.#out.backslashed.push(end + this.#delta);
    if (skipping !== undefined) {
      // What was passed on ends where the record started; the placeholder stands in for the rest.
      const placeholder = Buffer.from(`${this.#blank ? '' : '""'}${'\n'.repeat(this.#breaks)}`);
      if (!this.#blank) {
        const record: FramedRecord = {
          end: this.#outOffset + 2 + (this.#breaks > 0 ? 1 : 0),
          bytes: end - this.#recordStart,
          head: skipping.head,
          why: skipping.why,
          fields: this.#fields,
          unclosedQuote,
        };
        if (skipping.why === 'quote') {
          this.#growHead(end);
          record.head = withoutLineBreak(skipping.head, skipping.head.length === end - this.#recordStart);
          // Cut off by the end inside quotes, it ends at its last line that is not blank.
          const breaks = unclosedQuote && this.#continuing ? this.#contentBreaks : this.#breaks - (byBreak ? 1 : 0);
          record.quote = { ...(this.#stray as StrayQuote), breaks };
        }
        replaced.push(record);
      }
      out.push(placeholder);
      this.#outOffset += placeholder.length;
      this.#delta += placeholder.length - (end - this.#recordStart);
      this.#emitted = end;
      this.#skipping = undefined;
      this.#dropBefore(end);
    }
    this.#recordStart = end;
    this.#breaks = 0;
    this.#fields = 1;
    this.#blank = true;
    this.#quoting = false;
    this.#fieldEmpty = true;
    this.#lastWasCR = false;
    this.#tail.length = 0;
    this.#stray = undefined;
    this.#shadow = undefined;
    this.#continuing = false;
  }

  /**
   * The quote that ended the quoting, just before input offset `at`, is followed by text. Where
   * its field runs over a line break, the record is replaced; after a backslash, the record is
   * also read on as MySQL would (see #endRecord).
   */
  #strayQuote(at: number, out: Buffer[]): void {
    const backslash = !this.#backslash && this.#quoteAfterBackslash;
    if (this.#stray === undefined || (backslash && !this.#stray.backslash)) {
      this.#stray = { opens: this.#openBreaks, closes: this.#breaks, breaks: 0, backslash };
    }
    if (backslash && this.#shadow === undefined && this.#delimiter.length === 1) {
      // MySQL reads the quote as escaped: still inside quotes.
      this.#shadow = { quoting: true, escape: false, fieldStart: false };
      this.#shadowPos = at;
    }
    if (this.#breaks > this.#openBreaks && this.#skipping === undefined) this.#startSkipping(at, out, 'quote');
  }

  /** Reads the held input bytes up to offset `to` into the MySQL reading of the record, if there is one. */
  #advanceShadow(to: number): void {
    const shadow = this.#shadow;
    if (shadow === undefined || this.#continuing || to <= this.#shadowPos) return;
    const delimiter = this.#delimiter[0] as number;
    for (const piece of this.#slice(this.#shadowPos, to)) {
      for (const c of piece) {
        if (shadow.escape) shadow.escape = false;
        else if (shadow.quoting) {
          if (c === BACKSLASH) shadow.escape = true;
          else if (c === QUOTE) shadow.quoting = false;
        } else {
          if (c === QUOTE && shadow.fieldStart) shadow.quoting = true;
          shadow.fieldStart = c === delimiter;
        }
      }
    }
    this.#shadowPos = to;
  }

  /** One byte of a record read on as MySQL escapes quotes; returns true when it ends the record (an LF outside quotes). */
  #continue(b: number): boolean {
    const shadow = this.#shadow as { quoting: boolean; escape: boolean; fieldStart: boolean };
    if (shadow.escape) shadow.escape = false;
    else if (shadow.quoting) {
      if (b === BACKSLASH) shadow.escape = true;
      else if (b === QUOTE) shadow.quoting = false;
    } else if (b === LF) {
      this.#breaks++;
      return true;
    } else if (b === CR) {
      this.#breaks++;
      this.#pendingCR = true;
      this.#lastWasCR = true;
      return false;
    } else {
      if (b === QUOTE && shadow.fieldStart) shadow.quoting = true;
      shadow.fieldStart = b === this.#delimiter[0];
    }
    // Content: a line break inside quotes still counts.
    this.#escaped(b);
    if (b !== CR && b !== LF) this.#contentBreaks = this.#breaks;
    return false;
  }

  /** The record from `#recordStart` is over a limit (or has unbalanced quotes) at input offset `at`: pass on what precedes it, keep its head, drop the rest. */
  #startSkipping(at: number, out: Buffer[], why?: 'quote'): void {
    this.#flush(this.#recordStart, out);
    const head = Buffer.concat(this.#slice(this.#recordStart, Math.min(at, this.#recordStart + HEAD_BYTES)));
    this.#skipping = { head, why: why ?? (this.#fields > this.#maxFields ? 'fields' : 'bytes') };
  }

  /** For a record replaced for its quotes: its head grows with the input held, up to offset `to`, for the excerpt. */
  #growHead(to: number): void {
    const skipping = this.#skipping;
    if (skipping?.why !== 'quote' || skipping.head.length >= HEAD_BYTES) return;
    const from = this.#recordStart + skipping.head.length;
    const stop = Math.min(to, this.#recordStart + HEAD_BYTES);
    if (stop > from) skipping.head = Buffer.concat([skipping.head, ...this.#slice(from, stop)]);
  }

  /** Passes on the input bytes up to `to` not passed on yet (or, while skipping a record, just forgets them). */
  #flush(to: number, out: Buffer[]): void {
    if (to > this.#emitted) {
      if (this.#skipping === undefined || this.#emitted < this.#recordStart) {
        const stop = this.#skipping === undefined ? to : Math.min(to, this.#recordStart);
        for (const piece of this.#slice(this.#emitted, stop)) {
          out.push(piece);
          this.#outOffset += piece.length;
        }
      }
      this.#emitted = to;
    }
    this.#dropBefore(this.#emitted);
  }

  /** The input bytes in [from, to), as slices of the held segments. */
  #slice(from: number, to: number): Buffer[] {
    const pieces: Buffer[] = [];
    let segStart = this.#base;
    for (const seg of this.#segments) {
      const segEnd = segStart + seg.length;
      if (segEnd > from && segStart < to) pieces.push(seg.subarray(Math.max(0, from - segStart), Math.min(seg.length, to - segStart)));
      segStart = segEnd;
      if (segStart >= to) break;
    }
    return pieces;
  }

  /** Forgets the held bytes before input offset `offset`. */
  #dropBefore(offset: number): void {
    while (this.#segments.length > 0) {
      const first = this.#segments[0] as Buffer;
      if (this.#base + first.length > offset) {
        if (offset > this.#base) {
          this.#segments[0] = first.subarray(offset - this.#base);
          this.#base = offset;
        }
        return;
      }
      this.#base += first.length;
      this.#segments.shift();
    }
  }
}

// --- internal ---

const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** `head` without the line break that ends it, when it is the whole record. */
function withoutLineBreak(head: Buffer, whole: boolean): Buffer {
  if (!whole) return head;
  let end = head.length;
  if (head[end - 1] === LF) end--;
  if (head[end - 1] === CR) end--;
  return head.subarray(0, end);
}
