/**
 * The CSV/TSV loader: text → whole records (plain ones split here, the rest by csv-parse) → row
 * objects keyed by the header, each stamped with the physical line it starts on. Bad records are
 * rejected and reading goes on.
 */
import type { CsvError, Options as CsvParseOptions } from 'csv-parse';
import { parse } from 'csv-parse/sync';
import { LoraPrepError } from '../errors.js';
import type { SourceRow, StageContext } from '../types.js';
import { CsvLineCursor } from './_csv-cursor.js';
import { CsvFramer, type BadRecord, type FramedRecord, type FramerOutput, type StrayQuote } from './_csv-framer.js';
import { csvParseOptions, splitRecords } from './_csv-split.js';
import { sniffDelimiter, SNIFF_CHARS } from './_delimiter.js';
import { normalizeHeader } from './_header.js';
import {
  EncodingGuard,
  errorMessage,
  excerpt,
  sourceName,
  throwIfAborted,
  warnIgnoredRecordsKey,
} from './_common.js';
import { encodeEscaped, loneSurrogates } from './_utf8.js';
import { MAX_CSV_FIELDS, RAW_EXCERPT_CHARS, type ResolvedLimits } from './limits.js';
import { formatFromExtension } from './format.js';
import { openDecoded } from './_open.js';
import type { LoadOptions, LoadSource } from './types.js';

/**
 * Reads a CSV or TSV source row by row. The first record is the header (names trimmed, empty
 * ones named `column_N`, repeats renamed `name_2`… with a warning). Cells stay strings. Each row's
 * `source.line` is the physical line where its record starts (the header is line 1), counting
 * lines inside quoted fields and blank lines. A record whose field count differs from the
 * header's, or whose quote never closes, is passed to `ctx.reject` as `malformed_row`; so is one
 * with unbalanced quotes (a quoted field over lines closed by a quote followed by text, or, with
 * the default escape, a quote closed after a backslash that MySQL's reading carries over lines),
 * as one rejection naming all its lines; blank lines are not rows. A record over `maxLineBytes` is rejected as `line_too_long` and one with
 * more than {@link MAX_CSV_FIELDS} fields as `malformed_row`, both without reaching the parser or
 * being held whole; one with a field over `maxFieldChars` as `field_too_long`; one holding bytes
 * that are not valid UTF-8 (or, in UTF-16, an unpaired surrogate or the odd last byte) as
 * `invalid_encoding` (unless `onInvalidEncoding: 'replace'`).
 *
 * The delimiter is `options.delimiter`, else a tab for TSV (`format: 'tsv'` or a `.tsv`/`.tab`
 * name), else sniffed among `, ; \t |` from the first records.
 *
 * With `quote: false` and `escape: '\\'` (PostgreSQL's text format, a TSV from `mysql -B`), the
 * header's names and every field are decoded as PostgreSQL escapes them (`\n` a line break, `\\`
 * a backslash, `\t` a tab, octal `\101` and hex `\x41` escapes), except a field that is just `\N`,
 * NULL, which `nullValues` reads as missing. Without `escape: '\\'` a backslash is text.
 *
 * @param source - a path, or a name plus chunks.
 * @param options - `delimiter`, `encoding`, `onBytes`, `maxLineBytes`, `maxFieldChars`,
 * `onInvalidEncoding`; `format: 'tsv'` selects tabs.
 * @param ctx - receives rejected rows and file-wide warnings; its `signal` aborts the read.
 * @returns the rows, in file order, as an async iterable read lazily.
 * @throws LoraPrepError `INPUT_NOT_FOUND`, `INPUT_UNREADABLE`, `ABORTED`, `OPTION_INVALID` (a
 * delimiter that is empty or holds a quote or line break).
 *
 * @example
 * for await (const row of loadCsv('data/finance.csv', {}, ctx)) {
 *   console.log(row.source.line, row.data.question);
 * }
 */
export async function* loadCsv(source: LoadSource, options: LoadOptions, ctx: StageContext): AsyncGenerator<SourceRow> {
  const file = sourceName(source);
  if (options.delimiter !== undefined) checkDelimiter(options.delimiter, file);
  const { limits, guard, text } = openDecoded(source, options, ctx, file);
  warnIgnoredRecordsKey(file, options.recordsKey, 'CSV', ctx);

  if (options.escape !== undefined && options.escape !== '"' && options.escape !== '\\') {
    throw new LoraPrepError('OPTION_INVALID', `${file}: escape must be '"' (doubled quotes, RFC 4180) or '\\' (a backslash), got ${JSON.stringify(options.escape)}.`, {
      location: { file, field: 'escape' },
    });
  }
  if (options.quote !== undefined && options.quote !== '"' && options.quote !== false) {
    throw new LoraPrepError('OPTION_INVALID', `${file}: quote must be '"' (fields may be quoted, the default) or false (no field is quoted: a quote is text), got ${JSON.stringify(options.quote)}.`, {
      location: { file, field: 'quote' },
    });
  }
  const reader = new CsvRecordReader(file, ctx, limits, guard, options.escape ?? '"', options.quote !== false);
  const byName = isTsv(file, options) ? '\t' : undefined;
  const directive: SepDirective = {};
  let prefix: string[] | undefined;
  let started = false;
  let prefixChars = 0;
  for await (const chunk of withoutSepLine(text, directive)) {
    if (!started) {
      // The first chunk comes after the first line was looked at for Excel's `sep=` line.
      started = true;
      const chosen = options.delimiter ?? directive.delimiter ?? byName;
      if (options.delimiter !== undefined && directive.delimiter !== undefined && directive.delimiter !== options.delimiter) {
        ctx.warn(`${file}: line 1 says sep=${directive.delimiter}, but the delimiter given is ${JSON.stringify(options.delimiter)}; the file was read with the one given.`);
      }
      if (chosen === undefined) prefix = [];
      else reader.start(chosen);
    }
    if (prefix === undefined) {
      yield* reader.feed(chunk);
      continue;
    }
    // Hold the first characters back until there are enough to sniff the delimiter from.
    prefix.push(chunk);
    prefixChars += chunk.length;
    if (prefixChars >= SNIFF_CHARS) {
      const head = prefix.join('');
      prefix = undefined;
      reader.start(sniffDelimiter(head, false));
      yield* reader.feed(head);
    }
  }
  if (!started) reader.start(options.delimiter ?? byName ?? ',');
  if (prefix !== undefined) {
    const head = prefix.join('');
    reader.start(sniffDelimiter(head, true));
    yield* reader.feed(head);
  }
  yield* reader.end();
  guard.finish();
}

/** The delimiter a `sep=` first line names, once the first line has been looked at. */
interface SepDirective {
  delimiter?: string;
}

/**
 * Excel's delimiter line, `sep=;` (or `"sep=;"`), alone on the first line, after an optional
 * byte-order mark: the character after `=` is the delimiter.
 */
const SEP_LINE = /^(\uFEFF?)("?)sep=([^"\r\n])\2[^\S\r\n]*(?=\r|\n|$)/i;

/** Longest first line that can be a {@link SEP_LINE}, so that a long first line is not held back. */
const SEP_LINE_MAX = 32;

/**
 * The text with a `sep=` first line turned into spaces of the same length, which the reader takes
 * for a blank line: lines and byte offsets stay those of the file. The delimiter it names is put in
 * `directive` before the first chunk is given.
 */
async function* withoutSepLine(text: AsyncIterable<string>, directive: SepDirective): AsyncGenerator<string> {
  let head = '';
  let looked = false;
  for await (const chunk of text) {
    if (looked) {
      yield chunk;
      continue;
    }
    head += chunk;
    const end = head.search(/[\r\n]/);
    if (end === -1 && head.length < SEP_LINE_MAX) continue;
    looked = true;
    yield blankSepLine(head, end === -1 ? head.length : end, directive);
  }
  if (!looked && head !== '') yield blankSepLine(head, head.length, directive);
}

function blankSepLine(head: string, lineEnd: number, directive: SepDirective): string {
  const m = lineEnd <= SEP_LINE_MAX ? SEP_LINE.exec(head.slice(0, lineEnd)) : null;
  if (m === null || m.index + m[0].length !== lineEnd) return head;
  directive.delimiter = m[3] as string;
  const bom = m[1] as string;
  return bom + ' '.repeat(lineEnd - bom.length) + head.slice(lineEnd);
}

// --- internal ---

/** A parsed record from csv-parse, or a record it skipped with an error, in file order. */
type ParserEvent = { fields: string[]; end: number } | { error: CsvError; fed: number };

/**
 * Reads records from the bytes a {@link CsvFramer} passes on: whole records only, with those over
 * the limits replaced, and word of which hold bytes that are not UTF-8 (a parser would only see
 * U+FFFD). Plain records are split by `splitRecords` (./_csv-split.ts); from each other one,
 * csv-parse reads to its first record (or to the end of the batch, where such records come close
 * together), its `on_record` and `on_skip` hooks (synchronous, so in file order) filling the same
 * event queue. Each batch holds whole records, so csv-parse starts afresh at a record's start, as
 * it would be there in one stream.
 */
class CsvRecordReader {
  readonly #file: string;
  readonly #escape: '"' | '\\';
  /** Whether a quote may open a quoted field (`quote: false`: a quote is text). */
  readonly #quotes: boolean;
  /** PostgreSQL's text format (`quote: false` with `escape: '\\'`): fields are decoded (see {@link decodeTextEscapes}). */
  readonly #textFormat: boolean;
  readonly #ctx: StageContext;
  readonly #limits: ResolvedLimits;
  readonly #guard: EncodingGuard;
  #delimiter: Buffer | undefined;
  #delimiterText = ',';
  #csvParse: CsvParseOptions | undefined;
  #framer: CsvFramer | undefined;
  readonly #cursor = new CsvLineCursor();
  /** Records the framer replaced, by the offset where the parser will say their placeholder ends. */
  readonly #replaced = new Map<number, FramedRecord>();
  /** Records holding bytes that are not UTF-8, by the offset where the parser will say they end. */
  readonly #invalid = new Map<number, BadRecord>();
  /** Records with a quote closed right after a backslash (`\"`), by the offset where the parser will say they end. */
  readonly #backslashedEnds = new Set<number>();
  /** Ends of records cut by a CR alone in a file whose lines end with LF or CRLF (from the framer). */
  readonly #loneCREnds = new Set<number>();
  /** Rows ended by such a CR where it or the row after it has a wrong field count, and the first one's line. */
  readonly #cutByCR = { rows: 0, first: 0 };
  /** The last data row ended by such a CR, and whether its field count was wrong, until the next data row says more. */
  #pendingCut: { line: number; bad: boolean } | undefined;
  /** Bytes given to the framer, and UTF-16 code units of text read, so far. */
  #framed = 0;
  #units = 0;
  /**
   * UTF-16 files: each invalid code unit by the framer offset of the byte that stands for it, with
   * its offset in the file (BOM excluded); the framer sees UTF-8, whose offsets are not the file's.
   */
  readonly #utf16Bad = new Map<number, { unit: number; offset: number; oddByte: boolean }>();
  #events: ParserEvent[] = [];
  #failure: Error | undefined;
  #fed = 0;
  #header: string[] | undefined;
  /** The header's fields as written (a BOM left out), which a repeated header matches. */
  #rawHeader: string[] = [];
  /** Rows kept with a field that looks backslash-escaped (see {@link #noteBackslashed}), and the first one's line. */
  readonly #backslashed = { rows: 0, first: 0 };
  /** Rows read with one more field than the header, an empty last one (a delimiter at the end of each row), and the first one's line. */
  readonly #trailing = { rows: 0, first: 0 };
  /**
   * Whether the file's rows end with a delimiter the header does not, as the first data row with as
   * many fields as the header, or one more and empty, says; then its line. A row that does so in a
   * file whose rows do not is a value with an unquoted delimiter in it, not a trailing delimiter.
   */
  #trailingFile: { ends: boolean; line: number } | undefined;
  /** Where the fields of each column are, once the header was repeated with its columns in another order. */
  #order: number[] | undefined;
  /**
   * The header's names that read as names (a letter, two characters or more; not `0`, `1`, `2015`,
   * which data holds as often), by their case-folded text, for telling the header repeated in
   * another order: `all` when every column has such a name. Undefined with fewer than two.
   */
  #headerNames: { index: Map<string, number>; longest: number; all: boolean } | undefined;
  /** Rows kept with a quoted field over lines that looks like rows a stray quote joined (see {@link #joinedRows}), and the first one's line. */
  readonly #joined = { rows: 0, first: 0 };
  /** Set after the parser skipped a record mid-way: the next start line is counted from its end. */
  #lostTrack = false;
  #rows = 0;

  constructor(file: string, ctx: StageContext, limits: ResolvedLimits, guard: EncodingGuard, escape: '"' | '\\', quotes: boolean) {
    this.#escape = escape;
    this.#quotes = quotes;
    this.#textFormat = !quotes && escape === '\\';
    this.#file = file;
    this.#ctx = ctx;
    this.#limits = limits;
    this.#guard = guard;
  }

  start(delimiter: string): void {
    this.#delimiterText = delimiter;
    this.#delimiter = Buffer.from(delimiter, 'utf8');
    this.#framer = new CsvFramer(this.#delimiter, this.#limits.maxLineBytes, MAX_CSV_FIELDS, this.#escape, this.#quotes);
    this.#csvParse = csvParseOptions(delimiter, this.#escape, this.#quotes);
  }

  async *feed(text: string): AsyncGenerator<SourceRow> {
    // No chunk ends inside a surrogate pair (readText holds a high surrogate back), so each encodes alone.
    if (text === '') return;
    // The exact bytes of the file (for UTF-8): escaped bad bytes become those bytes again.
    const bad: number[] = [];
    const bytes = this.#guard.armed ? encodeEscaped(text, bad) : Buffer.from(text, 'utf8');
    if (bad.length > 0 && this.#guard.utf16) this.#noteUtf16(text, bad);
    this.#framed += bytes.length;
    this.#units += text.length;
    yield* this.#write((this.#framer as CsvFramer).push(bytes, bad));
  }

  /** Keeps, for a UTF-16 file, what each escape of `text` stood for and where it is in the file. */
  #noteUtf16(text: string, bad: readonly number[]): void {
    loneSurrogates(text).forEach((index, k) => {
      const unit = text.charCodeAt(index);
      const oddByte = this.#guard.isTrailingByte(unit, index === text.length - 1);
      this.#utf16Bad.set(this.#framed + (bad[k] as number), { unit, offset: 2 * (this.#units + index), oddByte });
    });
  }

  async *end(): AsyncGenerator<SourceRow> {
    yield* this.#write((this.#framer as CsvFramer).end(), true);
    if (this.#pendingCut?.bad === true) this.#noteCut(this.#pendingCut.line);
    const { rows, first } = this.#backslashed;
    if (rows > 0) {
      this.#ctx.warn(
        `${this.#file}: ${rows.toLocaleString('en-US')} row${rows === 1 ? '' : 's'} (the first on line ${first}) ${rows === 1 ? 'has' : 'have'} a quoted field with \\" inside, kept as written, ` +
          'quotes and backslashes included: the file seems to escape quotes with a backslash (as MySQL writes CSV). This reads RFC 4180 CSV, ' +
          "where a quote inside a quoted field is doubled (\"\"): pass escape: '\\\\' (CLI --escape '\\') to read them as their writer meant.",
      );
    }
    if (this.#joined.rows > 0) {
      const n = this.#joined.rows;
      this.#ctx.warn(
        `${this.#file}: ${n.toLocaleString('en-US')} row${n === 1 ? '' : 's'} (the first on line ${this.#joined.first}) ${n === 1 ? 'has' : 'have'} a quoted field over several lines ` +
          `${this.#delimiterText === '\t' ? 'that holds a tab' : 'whose lines each read as a row of the file'}, ` +
          "as when a stray quote (an inch mark, a quote opening a question) joins the rows up to the next quote: check those rows; if the file's fields are never quoted, pass quote: false (CLI --quote none).",
      );
    }
    if (this.#cutByCR.rows > 0) {
      const n = this.#cutByCR.rows;
      this.#ctx.warn(
        `${this.#file}: ${n.toLocaleString('en-US')} row${n === 1 ? '' : 's'} (the first on line ${this.#cutByCR.first}) end${n === 1 ? 's' : ''} at a carriage return alone (CR), though the file's lines end with a line feed (LF or CRLF): ` +
          'each such CR was read as a line break, cutting its row there (the rest is read as a row of its own, usually rejected for its field count). Remove the stray CRs from the fields, or quote those fields.',
      );
    }
    if (this.#trailing.rows > 0) {
      const n = this.#trailing.rows;
      this.#ctx.warn(
        `${this.#file}: ${n.toLocaleString('en-US')} row${n === 1 ? '' : 's'} (the first on line ${this.#trailing.first}) end${n === 1 ? 's' : ''} with a delimiter the header does not: the empty field after it was left out.`,
      );
    }
    if (this.#rows > 0) return;
    if (this.#header === undefined) this.#ctx.warn(`${this.#file}: the file is empty; it holds no header and no rows.`);
    else this.#ctx.warn(`${this.#file}: the file holds a header but no data rows.`);
  }

  *#write({ out: bytes, replaced, invalid, backslashed, loneCR }: FramerOutput, final = false): Generator<SourceRow> {
    for (const record of replaced) this.#replaced.set(record.end, record);
    for (const record of invalid) this.#invalid.set(record.end, record);
    for (const end of backslashed) this.#backslashedEnds.add(end);
    for (const end of loneCR) this.#loneCREnds.add(end);
    if (bytes.length === 0) return;
    this.#cursor.push(bytes);
    const base = this.#fed;
    this.#fed += bytes.length;
    splitRecords(bytes, this.#delimiter as Buffer, base, final, this.#events, (rest, at, one) => this.#parse(rest, at, one), this.#escape, this.#quotes);
    this.#throwIfFailed();
    yield* this.#drain();
  }

  /**
   * csv-parse on whole records, from one that is not plain: all of them, or with `one` up to the
   * first record it gives (offsets counted from `base`); returns the bytes that took, all of them
   * where it gave none.
   */
  #parse(bytes: Buffer, base: number, one: boolean): number {
    const fed = this.#fed;
    let end = -1;
    try {
      parse(bytes, {
        ...this.#csvParse,
        ...(one ? { to: 1 } : {}),
        on_record: (fields: string[], info) => {
          this.#events.push({ fields, end: base + info.bytes });
          end = info.bytes;
          return null;
        },
        on_skip: (error) => {
          if (error !== undefined) this.#events.push({ error, fed });
          return undefined;
        },
      });
    } catch (error) {
      this.#failure ??= error as Error;
    }
    return one && end >= 0 ? end : bytes.length;
  }

  *#drain(): Generator<SourceRow> {
    const events = this.#events;
    this.#events = [];
    for (const event of events) {
      throwIfAborted(this.#ctx.signal, this.#file);
      const end = 'fields' in event ? event.end : event.fed;
      this.#replacedBefore(end);
      const row = 'fields' in event ? this.#record(event.fields, event.end) : this.#skipped(event.error, event.fed);
      if (row !== undefined) yield row;
    }
  }

  #record(fields: string[], end: number): SourceRow | undefined {
    const cursor = this.#cursor;
    let line: number;
    let start: number | undefined;
    const bad = this.#invalid.get(end);
    if (bad !== undefined) this.#invalid.delete(end);
    const backslashed = this.#backslashedEnds.delete(end);
    const cutByCR = this.#loneCREnds.delete(end);
    if (this.#lostTrack) {
      this.#lostTrack = false;
      line = cursor.startLineBackwards(end, fields.reduce((n, f) => n + countLineBreaks(f), 0));
    } else {
      ({ line, offset: start } = cursor.startAt(end));
    }
    const replaced = this.#replaced.get(end);
    if (replaced !== undefined && fields.length === 1 && fields[0] === '') {
      this.#replaced.delete(end);
      cursor.advanceTo(end);
      this.#rejectReplaced(replaced, line);
      return undefined;
    }
    // A line of spaces is a blank line too, not a one-field row.
    if (fields.length === 1 && (fields[0] as string).trim() === '' && !this.#quotedAt(start)) {
      cursor.advanceTo(end);
      return undefined;
    }
    if (this.#header === undefined) {
      if (bad !== undefined) {
        const what = this.#guard.utf16 ? 'characters that are not valid UTF-16' : 'bytes that are not valid UTF-8';
        this.#ctx.warn(`${this.#file}: the header (line ${line}) holds ${what}; they were read as "\uFFFD" in the column names.`);
      }
      const { names, renamed } = normalizeHeader(this.#textFormat ? fields.map(decodeTextEscapes) : fields);
      this.#header = names;
      this.#headerNames = nameIndex(names);
      this.#rawHeader = fields.map((f, i) => (i === 0 ? f.replace(/^\uFEFF/, '') : f));
      if (renamed.length > 0) {
        this.#ctx.warn(`${this.#file}: the header repeats column names, so some were renamed: ${renamed.join(', ')}.`);
      }
      cursor.advanceTo(end);
      return undefined;
    }
    const header = this.#header;
    const source = { file: this.#file, line };
    // A row of empty fields (what a spreadsheet leaves below its data: `,,`) is a blank line too.
    if (bad === undefined && fields.every((f) => f.trim() === '') && !this.#quotedAt(start)) {
      cursor.advanceTo(end);
      return undefined;
    }
    // A delimiter at the end of each row (some exporters write one): the empty field after it is no
    // column. In a file whose rows do not end so, it is a value cut at an unquoted delimiter
    // (`Where is Paris, France?,`): rejected below, not read as a made-up question and answer.
    let strayEnd = false;
    if (fields.length === header.length + 1 && fields[fields.length - 1] === '') {
      this.#trailingFile ??= { ends: true, line };
      if (this.#trailingFile.ends) {
        fields.pop();
        if (this.#trailing.rows++ === 0) this.#trailing.first = line;
      } else strayEnd = true;
    } else if (fields.length === header.length) this.#trailingFile ??= { ends: false, line };
    // A stray CR cuts a row in two whose parts cannot both have the header's field count; two
    // whole rows around it are a file of mixed line endings.
    const wrongCount = fields.length !== header.length;
    if (this.#pendingCut !== undefined) {
      if (this.#pendingCut.bad || wrongCount) this.#noteCut(this.#pendingCut.line);
      this.#pendingCut = undefined;
    }
    if (cutByCR) this.#pendingCut = { line, bad: wrongCount };
    // Bytes the encoding cannot hold come first: a record cut short or garbled by them may also miscount its fields.
    if (bad !== undefined) {
      const raw = start === undefined ? '' : excerpt(cursor.text(start, end, RAW_EXCERPT_CHARS));
      if (this.#guard.utf16) {
        const info = this.#takeUtf16(bad.at);
        // Two bytes a code unit before the bad one (which decodes here as one U+FFFD).
        const inRow = start === undefined ? undefined : 2 * (cursor.text(start, start + bad.inRow + 1, Infinity).length - 1);
        cursor.advanceTo(end);
        this.#rows++;
        this.#guard.rejectAt(source, { unit: info?.unit, oddByte: info?.oddByte }, info?.offset, inRow, 'record', raw);
        return undefined;
      }
      cursor.advanceTo(end);
      this.#rows++;
      this.#guard.rejectAt(source, { byte: bad.byte }, bad.at, bad.inRow, 'record', raw);
      return undefined;
    }
    if (fields.length !== header.length) {
      const raw = start === undefined ? undefined : cursor.text(start, end, RAW_EXCERPT_CHARS);
      cursor.advanceTo(end);
      this.#rows++;
      const why = strayEnd
        ? `; the last is empty: the row ends with a delimiter, which the rows of this file do not (line ${(this.#trailingFile as { line: number }).line} does not): a value holding the delimiter without quotes?`
        : backslashed
          ? `; ${BACKSLASH_QUOTE}`
          : overLines(fields, line);
      this.#ctx.reject({
        source: { file: this.#file, line },
        reason: 'malformed_row',
        message: `expected ${header.length} field${header.length === 1 ? '' : 's'} as in the header, got ${fields.length}${why}`,
        ...(raw === undefined ? {} : { raw: excerpt(raw) }),
      });
      return undefined;
    }
    const long = fields.findIndex((f) => f.length > this.#limits.maxFieldChars);
    if (long !== -1) {
      const text = start === undefined ? undefined : cursor.text(start, end, RAW_EXCERPT_CHARS);
      cursor.advanceTo(end);
      this.#rows++;
      const field = fields[long] as string;
      // Only a quoted field holds a line break: then a stray quote may have swallowed rows.
      const swallowed = /[\r\n]/.test(field)
        ? '; the quoted cell runs over several lines, as when a stray quote on this line swallows the rows after it: check the quotes'
        : '';
      this.#ctx.reject({
        source,
        reason: 'field_too_long',
        message:
          `column ${JSON.stringify(header[long])} holds ${field.length.toLocaleString('en-US')} characters, over the limit of ` +
          `${this.#limits.maxFieldChars.toLocaleString('en-US')} (maxFieldChars)${swallowed}`,
        ...(text === undefined ? {} : { raw: excerpt(text) }),
      });
      return undefined;
    }
    // The header again (files joined with `cat a.csv b.csv`, each with its header): no data.
    const again = this.#headerAgain(fields, line);
    if (again !== undefined) {
      cursor.advanceTo(end);
      this.#rows++;
      this.#ctx.reject({ source, reason: 'malformed_row', message: again });
      return undefined;
    }
    cursor.advanceTo(end);
    this.#rows++;
    if (this.#escape === '"' && this.#quotes) this.#noteBackslashed(fields, line, backslashed);
    if (this.#quotes && this.#joinedRows(fields) && this.#joined.rows++ === 0) this.#joined.first = line;
    // After every check on the fields as written: a row of the header again is told by its text.
    if (this.#textFormat) for (let i = 0; i < fields.length; i++) fields[i] = decodeTextEscapes(fields[i] as string);
    const order = this.#order;
    // fromEntries defines own properties, so a column named __proto__ or constructor stays a plain key.
    const data = Object.fromEntries(header.map((name, i) => [name, fields[order === undefined ? i : (order[i] as number)] as string]));
    return { data, source };
  }

  #noteCut(line: number): void {
    if (this.#cutByCR.rows++ === 0) this.#cutByCR.first = line;
  }

  /**
   * Why a row is the header again, not data, or undefined: the header as written (files joined with
   * `cat`), or its names in another case, spacing or order (exports of one table joined); from the
   * latter on, rows are read by that order. A row that names at least half of the columns and nothing
   * else is a header of other columns: rejected, with a warning that the rows after it are read by
   * the first header's columns.
   */
  #headerAgain(fields: string[], line: number): string | undefined {
    const raw = this.#rawHeader;
    if (raw.length < 2) return undefined;
    if (fields.length === raw.length && fields.every((f, i) => (i === 0 ? f.replace(/^\uFEFF/, '') : f) === raw[i])) {
      this.#order = undefined;
      return 'the row repeats the header (line 1): files joined with their headers (cat a.csv b.csv)? It is not data';
    }
    const names = this.#headerNames;
    if (names === undefined) return undefined;
    // Most rows: neither of the first two values is short enough to be a column name, or is one.
    const isName = (f: string | undefined) => f !== undefined && f.length <= names.longest && names.index.has(columnKey(f));
    if (!isName(fields[0]) && !isName(fields[1])) return undefined;
    // Only values that could be column names: short, one line.
    if (fields.some((f) => f.length > 200 || /[\r\n]/.test(f))) return undefined;
    const header = this.#header as string[];
    const seen = fields.map((f) => names.index.get(columnKey(f)));
    const named = new Set(seen.filter((i) => i !== undefined));
    if (names.all && named.size === header.length && fields.length === header.length) {
      const order = new Array<number>(header.length);
      seen.forEach((col, at) => (order[col as number] = at));
      const moved = order.some((at, i) => at !== i);
      this.#order = moved ? order : undefined;
      if (moved) {
        this.#ctx.warn(
          `${this.#file}: line ${line} repeats the header with its columns in another order (${fields.map((f) => JSON.stringify(f.trim())).join(', ')}): the rows after it were read by that order.`,
        );
      }
      return `the row repeats the header (line 1)${moved ? ' in another order' : ', in other letters'}: exports joined with their headers? It is not data`;
    }
    // Names, not sentences: each one a distinct short label.
    const labels = fields.every((f) => COLUMN_LIKE.test(f.trim())) && new Set(fields.map(columnKey)).size === fields.length;
    if (labels && named.size >= 2 && named.size * 2 >= header.length) {
      const others = fields.filter((_, at) => seen[at] === undefined).map((f) => JSON.stringify(f.trim()));
      this.#ctx.warn(
        `${this.#file}: line ${line} looks like a header of other columns (${others.join(', ')} beside ${named.size} of line 1's): files of different columns joined? The rows after it were read by line 1's columns; prepare such files apart, or give each its own mapping.`,
      );
      return 'the row looks like a header, not data: it names columns of the header (line 1) and others';
    }
    return undefined;
  }

  /**
   * Whether a kept row of a tab-separated file has a field that runs over lines and holds a tab: the
   * text of the next rows, joined by a stray quote, more likely than a quoted cell of a table.
   */
  #joinedRows(fields: string[]): boolean {
    const tab = this.#delimiterText === '\t';
    for (const [i, f] of fields.entries()) {
      // indexOf, not a regex: this runs over every field of every row.
      if (f.indexOf('\n') === -1 && f.indexOf('\r') === -1) continue;
      if (tab ? f.indexOf('\t') !== -1 : this.#rowsInside(f, i === fields.length - 1)) return true;
    }
    return false;
  }

  /**
   * Whether every line of a quoted cell after its first reads as a whole row of this file (as many
   * delimiters as the header has, less one, text between them, and no quote): rows a stray quote joined. A CSV cell of
   * prose over lines holds commas as a matter of course, but seldom the same number on each line.
   * The cell's last line counts only in the last column (elsewhere the row goes on after it).
   */
  #rowsInside(field: string, lastColumn: boolean): boolean {
    const lines = field.split(/\r\n|\n|\r/);
    const inner = lastColumn ? lines.slice(1) : lines.slice(1, -1);
    const want = (this.#header as string[]).length - 1;
    // With two columns a line of prose with one comma reads as a row: an address or a note of two
    // such lines is no sign; three are (rows a stray quote joined are seldom fewer).
    if (inner.length === 0 || want === 0 || (want === 1 && inner.length < 2)) return false;
    const delimiter = this.#delimiterText;
    return inner.every((l) => {
      if (l.includes('"')) return false;
      const parts = l.split(delimiter);
      return parts.length - 1 === want && parts.every((p) => p.trim() !== '');
    });
  }

  /** What the bad UTF-16 code unit at framer offset `at` was; forgets it and those before it. */
  #takeUtf16(at: number): { unit: number; offset: number; oddByte: boolean } | undefined {
    const info = this.#utf16Bad.get(at);
    for (const key of this.#utf16Bad.keys()) if (key <= at) this.#utf16Bad.delete(key);
    return info;
  }

  /**
   * Notes a row with a field that still opens with a quote and holds `\"`: a quoted field written
   * with backslash-escaped quotes (MySQL's CSV), which RFC 4180 parsing cannot close where its
   * writer meant, so the parser kept it as written. (In RFC 4180 CSV a field opens with a quote
   * only when it was written `"""…`.) Said once, in {@link end}.
   */
  #noteBackslashed(fields: string[], line: number, backslashed: boolean): void {
    if (backslashed) {
      if (this.#backslashed.rows++ === 0) this.#backslashed.first = line;
      return;
    }
    for (const f of fields) {
      if (f.charCodeAt(0) !== 0x22 || !f.includes('\\"')) continue;
      if (this.#backslashed.rows++ === 0) this.#backslashed.first = line;
      return;
    }
  }

  /** Rejects every replaced record whose placeholder the parser passed without reporting it (a safety net: it never should). */
  #replacedBefore(end: number): void {
    for (const key of this.#invalid.keys()) if (key < end) this.#invalid.delete(key);
    for (const key of this.#backslashedEnds) if (key < end) this.#backslashedEnds.delete(key);
    for (const [key, record] of this.#replaced) {
      if (key >= end) continue;
      this.#replaced.delete(key);
      const { line } = this.#cursor.startAt(key);
      this.#cursor.advanceTo(key);
      this.#rejectReplaced(record, line);
    }
  }

  #rejectReplaced(record: FramedRecord, line: number): void {
    this.#rows++;
    const bytes = record.bytes.toLocaleString('en-US');
    let message: string;
    if (record.why === 'fields') {
      message = `the record has over ${MAX_CSV_FIELDS.toLocaleString('en-US')} fields, more than any table this reads; was the delimiter guessed wrong? (pass \`delimiter\`, CLI --delimiter)`;
    } else if (record.why === 'quote') {
      message = strayQuoteMessage(record.quote as StrayQuote, line, record.unclosedQuote, this.#escape);
    } else {
      message = `the record is ${bytes} bytes long, over the limit of ${this.#limits.maxLineBytes.toLocaleString('en-US')} (maxLineBytes), so it was skipped unread`;
      if (record.unclosedQuote) message += '; a quote opened in it is never closed, so it runs to the end of the file: close the quote, or double a quote that belongs to the text ("")';
    }
    this.#ctx.reject({
      source: { file: this.#file, line },
      reason: record.why === 'bytes' ? 'line_too_long' : 'malformed_row',
      message,
      raw: excerpt(record.head.toString('utf8')),
    });
    if (this.#header === undefined) this.#ctx.warn(`${this.#file}: the header row could not be read (line ${line}): ${message}.`);
  }

  #skipped(error: CsvError, fed: number): undefined {
    const cursor = this.#cursor;
    const { line, offset } = cursor.startAt(fed);
    const raw = excerpt(cursor.text(offset, fed, RAW_EXCERPT_CHARS));
    const isHeader = this.#header === undefined;
    this.#rows++;
    let message: string;
    if (error.code === 'CSV_QUOTE_NOT_CLOSED') {
      const last = cursor.lastLineBefore(offset, fed);
      const lines = last > line ? `lines ${line}–${last}` : `line ${line}`;
      message =
        `a quote opened in this record is never closed, so the rest of the file (${lines}) was read as one field; ` +
        'close the quote, or double a quote that belongs to the text ("")';
      // One rejected row may hold thousands: said where the run's summary shows it, not only in rejected.jsonl.
      if (last > line) {
        this.#ctx.warn(
          `${this.#file}: the quote opened on line ${line} is never closed, so lines ${line}–${last} (${(last - line + 1).toLocaleString('en-US')} lines, every row in them) were read as one field and rejected as one malformed_row: ` +
            "close the quote or double it (\"\"); if the file's fields are never quoted (a TSV from mysql -B or psql), the quote is text: pass quote: false (CLI --quote none).",
        );
      }
    } else {
      // Not expected with the options used, but kept going rather than lost: the parser goes on
      // after the skipped record, and the next record's line is counted back from its end.
      message = `the CSV parser skipped this record: ${errorMessage(error)}`;
      this.#lostTrack = true;
    }
    this.#ctx.reject({ source: { file: this.#file, line }, reason: 'malformed_row', message, raw });
    if (isHeader) this.#ctx.warn(`${this.#file}: the header row could not be read (line ${line}): ${message}.`);
    return undefined;
  }

  /** Whether the record at `start` begins with a quote, i.e. is a quoted (not blank) value. */
  #quotedAt(start: number | undefined): boolean {
    return this.#quotes && start !== undefined && this.#cursor.text(start, start + 1, 1) === '"';
  }

  #throwIfFailed(): void {
    if (this.#failure === undefined) return;
    throw new LoraPrepError('INPUT_FORMAT', `${this.#file}: the CSV parser stopped: ${this.#failure.message}`, {
      location: { file: this.#file },
      cause: this.#failure,
    });
  }
}

/** What to say of a quote closed right after a backslash, in a file read with RFC 4180 quotes. */
const BACKSLASH_QUOTE =
  'a quoted field here ends at a quote right after a backslash (\\"): the file seems to escape quotes with a backslash, as MySQL writes CSV; ' +
  "pass escape: '\\\\' (CLI --escape '\\') to read it so";

/**
 * The message of a record rejected for unbalanced quotes (see `_csv-framer.ts`): a quoted field
 * that runs over lines and closes with a quote followed by text, or one closed after a backslash
 * that a MySQL reading carries over lines.
 */
function strayQuoteMessage(quote: StrayQuote, line: number, unclosed: boolean, escape: '"' | '\\'): string {
  const last = line + quote.breaks;
  const lines = last > line ? `lines ${line}–${last}` : `line ${line}`;
  const together = last > line ? 'they were rejected together' : 'it was rejected';
  const opens = line + quote.opens;
  const closes = line + quote.closes;
  if (quote.backslash) {
    return (
      `a quote right after a backslash (\\") on line ${closes} ends the quoted field that opens on line ${opens}, with text after it: ` +
      `the file seems to escape quotes with a backslash, as MySQL writes CSV, and read so, this record runs over ${lines}` +
      `${unclosed ? ' (to the end of the file, where a quote is still open)' : ''}: ${together}. ` +
      "Pass escape: '\\\\' (CLI --escape '\\') to read the file so (by default a quote inside a quoted field is doubled, \"\", as RFC 4180 says)"
    );
  }
  const fix =
    escape === '"'
      ? 'double a quote that belongs to the text (""); if the file writes a quote inside a field as \\" (as MySQL does), ' +
        "pass escape: '\\\\' (CLI --escape '\\')"
      : "with escape: '\\\\' a quote inside a quoted field is written \\\""
  return (
    `unbalanced quotes: a quote opens a field on line ${opens}, and the quote that closes it, on line ${closes}, is followed by text ` +
    `instead of the delimiter or a line break, so ${lines} would be one field: ${together}. Check the quotes on line ${opens}: ${fix}`
  );
}

/**
 * A field of PostgreSQL's text format (`COPY ... TO` without CSV) decoded: `\b \f \n \r \t \v` the
 * control characters, `\\` a backslash, a backslash and one to three octal digits (`\101`) or `\x`
 * and one or two hex digits (`\x41`) the character of that byte value, a backslash before any other
 * character that character. A field that is just `\N` is PostgreSQL's NULL: left as written for
 * `nullValues` (decoded it would be the text "N"). A backslash at the very end is kept.
 *
 * @example
 * decodeTextEscapes(String.raw`line1\nC:\\dir`) // 'line1\nC:\\dir' (a line break, one backslash)
 */
export function decodeTextEscapes(field: string): string {
  let at = field.indexOf('\\');
  if (at === -1 || field === '\\N') return field;
  let out = '';
  let from = 0;
  while (at !== -1) {
    out += field.slice(from, at);
    const c = field.charCodeAt(at + 1);
    let next = at + 2;
    if (Number.isNaN(c)) {
      out += '\\';
      from = at + 1;
      break;
    }
    const simple = TEXT_ESCAPES[c];
    if (simple !== undefined) out += simple;
    else if (c >= 0x30 && c <= 0x37) {
      // Up to three octal digits; PostgreSQL keeps the low eight bits (\777 is 0xff).
      let value = c - 0x30;
      while (next < field.length && next < at + 4) {
        const d = field.charCodeAt(next);
        if (d < 0x30 || d > 0x37) break;
        value = value * 8 + (d - 0x30);
        next++;
      }
      out += String.fromCharCode(value & 0xff);
    } else if (c === 0x78 && hexValue(field.charCodeAt(next)) >= 0) {
      let value = hexValue(field.charCodeAt(next++));
      const low = hexValue(field.charCodeAt(next));
      if (low >= 0) {
        value = value * 16 + low;
        next++;
      }
      out += String.fromCharCode(value);
    } else out += field[at + 1];
    from = next;
    at = field.indexOf('\\', from);
  }
  return out + field.slice(from);
}

/** The one-letter escapes of PostgreSQL's text format, by the letter's code. */
const TEXT_ESCAPES: Record<number, string> = { 0x62: '\b', 0x66: '\f', 0x6e: '\n', 0x72: '\r', 0x74: '\t', 0x76: '\v' };

/** A hex digit's value, or -1. */
function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/** A column name as compared with a row's value: trimmed (a BOM too) and case-folded. */
function columnKey(value: string): string {
  return value.trim().toLowerCase();
}

/** A name that data holds seldom as a value of its own: one with a letter, of two characters or more. */
const NAME_LIKE = /^(?=.*\p{L}).{2,}$/u;

/** See `#headerNames`. */
function nameIndex(header: readonly string[]): { index: Map<string, number>; longest: number; all: boolean } | undefined {
  const index = new Map<string, number>();
  let longest = 0;
  header.forEach((name, i) => {
    const key = columnKey(name);
    if (!NAME_LIKE.test(key)) return;
    index.set(key, i);
    // Padding around a name (` Answer `) is trimmed before the look-up.
    longest = Math.max(longest, name.length + 8);
  });
  return index.size < 2 ? undefined : { index, longest, all: index.size === header.length };
}

/** A value that could be a column name: a short label, not a sentence. */
const COLUMN_LIKE = /^[\p{L}\p{N}_][\p{L}\p{N}_ ./()#-]{0,63}$/u;

/** For a record whose fields run over lines: which lines, and that a stray quote may have joined them. */
function overLines(fields: readonly string[], line: number): string {
  const breaks = fields.reduce((n, f) => n + countLineBreaks(f), 0);
  if (breaks === 0) return '';
  return `; it runs over lines ${line}–${line + breaks}, joined by a quoted field: check the quotes on line ${line} (a stray quote joins the rows up to the next quote)`;
}

function countLineBreaks(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x0d || (ch === 0x0a && text.charCodeAt(i - 1) !== 0x0d)) n++;
  }
  return n;
}

function isTsv(file: string, options: LoadOptions): boolean {
  return options.format === 'tsv' || (options.format === undefined && formatFromExtension(file) === 'tsv');
}

function checkDelimiter(delimiter: unknown, file: string): void {
  if (typeof delimiter === 'string' && delimiter !== '' && !/["\r\n]/.test(delimiter)) return;
  throw new LoraPrepError(
    'OPTION_INVALID',
    `${file}: delimiter must be a non-empty string without quotes or line breaks, got ${JSON.stringify(delimiter)}.`,
    { location: { file, field: 'delimiter' } },
  );
}
