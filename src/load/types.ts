/** Types of the loading stage: which file formats and encodings it reads and how it is told to. */

/**
 * A file format the loaders read. `csv` and `tsv` share one loader; `json` is a file holding one
 * top-level array of objects.
 *
 * @example
 * const format: InputFormat = 'jsonl';
 */
export type InputFormat = 'csv' | 'tsv' | 'jsonl' | 'json';

/**
 * A text encoding of an input file. `latin1` means windows-1252, as the WHATWG Encoding Standard
 * (and so every browser) reads it. A byte-order mark at the start of a file wins over this.
 *
 * @example
 * const encoding: InputEncoding = 'windows-1252'; // an Excel export saved on Windows
 */
export type InputEncoding = 'utf-8' | 'latin1' | 'windows-1252' | 'utf-16le';

/**
 * How to read one input.
 *
 * @example
 * const options: LoadOptions = { format: 'csv', delimiter: ';', encoding: 'windows-1252' };
 */
export interface LoadOptions {
  /**
   * The file's format. Without it the extension decides: `.csv` → csv, `.tsv`/`.tab` → tsv,
   * `.jsonl`/`.ndjson` → jsonl, `.json` → json.
   */
  format?: InputFormat | undefined;
  /** CSV only: the field delimiter. Else a tab for tsv, else sniffed among `, ; \t |`, default `,`. */
  delimiter?: string | undefined;
  /**
   * CSV only: how a quote is written inside a quoted field. `'"'` (default): doubled, as RFC 4180,
   * Excel, pandas and PostgreSQL write it. `'\\'`: after a backslash, as MySQL writes it
   * (`"He said \"hi\""`); a backslash then escapes any character inside quotes.
   */
  escape?: '"' | '\\' | undefined;
  /**
   * CSV only: `'"'` (default) a field may be quoted; `false`, no field is: a quote is text like
   * any other, as in a TSV written by `mysql -B` or PostgreSQL's text format (where one quote in a
   * question would otherwise open a field that swallows the rows after it).
   */
  quote?: '"' | false | undefined;
  /**
   * JSON only: the top-level key whose array holds the records, for a file such as
   * `{"version": 1, "data": [...]}` (Hugging Face's `field`). Unset: the file must be an array.
   */
  recordsKey?: string | undefined;
  /** The text encoding, default `utf-8`. A UTF-8 or UTF-16 byte-order mark overrides it. */
  encoding?: InputEncoding | undefined;
  /**
   * Called with every raw chunk of bytes read, in order, before decoding (the caller hashes inputs
   * with it): for a `.gz`, the compressed bytes, as the file holds them. For a source that yields
   * strings, it receives their UTF-8 bytes.
   */
  onBytes?: ((chunk: Uint8Array) => void) | undefined;
  /**
   * What happens to a row (JSONL line, JSON array element, CSV record) holding bytes that are not
   * valid UTF-8, in a file read as UTF-8 (or, in one read as UTF-16, an unpaired surrogate or the
   * odd last byte of a file cut short). `'reject'` (default): the row is rejected as
   * `invalid_encoding`, its message naming the first bad byte and its byte offset in the file, and
   * one warning per file sums them up. `'replace'`: the row is kept with U+FFFD in place of the bad
   * bytes, and one warning per file says how many there were.
   */
  onInvalidEncoding?: 'reject' | 'replace' | undefined;
  /**
   * Longest JSONL line, JSON array element or CSV record, in UTF-8 bytes; default
   * `DEFAULT_MAX_LINE_BYTES` (16 MiB). A longer one is rejected as `line_too_long` and
   * skipped without being held whole in memory.
   */
  maxLineBytes?: number | undefined;
  /**
   * Longest CSV/TSV field, in characters; default `DEFAULT_MAX_FIELD_CHARS` (4 Mi). A record
   * with a longer field is rejected as `field_too_long`.
   */
  maxFieldChars?: number | undefined;
}

/**
 * Options of {@link readText}: the load options plus an abort signal and a sink for warnings
 * about the whole file (bytes that are not valid in the encoding).
 *
 * @example
 * const options: ReadTextOptions = { encoding: 'utf-16le', signal: controller.signal, warn: console.warn };
 */
export interface ReadTextOptions extends LoadOptions {
  signal?: AbortSignal | undefined;
  warn?: ((message: string) => void) | undefined;
  /**
   * UTF-8 and UTF-16: `'replace'` (default) decodes bad bytes (UTF-16: unpaired surrogates, an odd
   * last byte) to U+FFFD and warns once; `'escape'` decodes each bad UTF-8 byte to U+DC80 + byte and
   * keeps UTF-16's unpaired surrogates as they are, and does not warn, so a loader can reject the
   * rows holding one.
   */
  invalidBytes?: 'replace' | 'escape' | undefined;
  /** With `invalidBytes: 'escape'`: hears, once, before the first text holding an escape is yielded, that escapes follow. */
  onEscape?: (() => void) | undefined;
  /** Hears, once, the encoding chosen (a WHATWG label) and how many bytes of byte-order mark were dropped. */
  onDecoding?: ((info: { encoding: string; bomBytes: number }) => void) | undefined;
  /**
   * UTF-16 only: hears the last byte of a file with an odd number of bytes (half a code unit), before
   * the text ending in it is yielded. That byte is decoded as U+DC00 + byte (an escape) or, replacing, U+FFFD.
   */
  onTrailingByte?: ((byte: number) => void) | undefined;
}

/**
 * Where a loader reads from: a file path, or a name plus chunks for callers who already hold a
 * stream (a Node `Readable` and a web `ReadableStream` are both such async iterables).
 *
 * @example
 * const fromPath: LoadSource = 'data/finance.csv';
 * const fromStream: LoadSource = { name: 'upload.jsonl', chunks: request.body };
 */
export type LoadSource = string | { name: string; chunks: AsyncIterable<Uint8Array | string> };
