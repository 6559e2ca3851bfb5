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
  /** The text encoding, default `utf-8`. A UTF-8 or UTF-16 byte-order mark overrides it. */
  encoding?: InputEncoding | undefined;
  /**
   * Called with every raw chunk of bytes read, in order, before decoding (the caller hashes inputs
   * with it). For a source that yields strings, it receives their UTF-8 bytes.
   */
  onBytes?: ((chunk: Uint8Array) => void) | undefined;
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
