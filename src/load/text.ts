/**
 * Reading an input as text: bytes from a file or a caller's chunks → decoded string chunks. Handles
 * byte-order marks, the `encoding` option, `onBytes`, aborts and the errors of a missing or
 * unreadable file. Memory stays at one chunk whatever the file size.
 */
import { isUtf8 } from 'node:buffer';
import { open, type FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { TextDecoder, TextEncoder } from 'node:util';
import { isLoraPrepError, LoraPrepError } from '../errors.js';
import { errorMessage, sourceName, throwIfAborted } from './_common.js';
import { binaryFormatOf, isGzipped } from './format.js';
import { isWellFormed, toWellFormed, Utf8EscapeDecoder } from './_utf8.js';
import type { InputEncoding, LoadSource, ReadTextOptions } from './types.js';

/**
 * Bytes read from a file at a time: large enough that per-chunk overhead vanishes, small enough
 * that a loader's working set stays well under a megabyte.
 *
 * @example
 * readText(path, { onBytes: (c) => assert(c.length <= READ_CHUNK_BYTES) });
 */
export const READ_CHUNK_BYTES = 256 * 1024;

/**
 * Bytes decoded into one string. Strings over about 128 KB go to V8's large-object space, which
 * only a full collection frees; at 32 KiB (64 KB as UTF-16 at most) they die young, as most of
 * the text read does.
 */
const DECODE_SLICE_BYTES = 32 * 1024;

/**
 * The text of `source`, decoded chunk by chunk (a name ending in `.gz` is inflated first, and so is
 * a file of any other name whose bytes start as gzip data do). A
 * UTF-8, UTF-16 LE or UTF-16 BE byte-order mark picks the encoding by itself and is dropped;
 * otherwise `options.encoding` (default `utf-8`) applies. String chunks of a `{ name, chunks }` source are passed through (a leading BOM dropped).
 * Bytes that are not valid UTF-8 become U+FFFD and `options.warn` hears about it once; with
 * `invalidBytes: 'escape'` each such byte becomes instead one escape character U+DC80 + byte (see
 * `_utf8.ts`), nothing is warned, and `onEscape` hears (once, before the chunk holding the first
 * escape is yielded) that there are some: the loaders then reject the rows that hold one. A string
 * chunk's unpaired surrogates count as escapes; with `'replace'` they become U+FFFD. UTF-16 is read
 * the same way: its unpaired surrogates stay as they are (escapes), and an odd last byte becomes
 * U+DC00 + byte (`onTrailingByte` hears it first); replacing, both become U+FFFD, with one warning.
 *
 * A file read as UTF-8 or windows-1252 whose first bytes look like UTF-16 without a byte-order
 * mark (every second byte 0) is refused rather than read as text interleaved with NULs; so is a
 * file read as UTF-16 LE without a byte-order mark whose first bytes hold no 0 where UTF-16 text
 * of an ASCII character has one (UTF-8 or windows-1252 text), and a file whose first bytes are
 * those of a binary format (zip and so .xlsx, .xls, Parquet, Arrow, 7z, bzip2, xz, zstd).
 *
 * @param source - a path, or a name plus chunks.
 * @param options - `encoding`, `onBytes` (sees every raw chunk, in order: the compressed bytes of a `.gz`), `signal`, `warn`,
 * `invalidBytes`, `onEscape`, `onDecoding` (hears the encoding chosen and the length of the BOM dropped).
 * @returns the decoded text in chunks; chunk boundaries fall anywhere, even inside a line.
 * @throws LoraPrepError `INPUT_NOT_FOUND` (no such file), `INPUT_UNREADABLE` (a folder, no
 * permission, a failing stream, damaged gzip data), `ABORTED` (the signal fired), `OPTION_INVALID`
 * (unknown encoding), `INPUT_FORMAT` (UTF-16 without a byte-order mark read as a single-byte
 * encoding, or the reverse; a binary file).
 *
 * @example
 * let text = '';
 * for await (const chunk of readText('data/notes.csv', { encoding: 'windows-1252' })) text += chunk;
 */
export async function* readText(source: LoadSource, options: ReadTextOptions = {}): AsyncGenerator<string> {
  const file = sourceName(source);
  const decoder = new ChunkDecoder(file, options.encoding ?? 'utf-8', options.invalidBytes === 'escape', options);
  const raw = typeof source === 'string' ? fileChunks(source, options.signal) : callerChunks(source, options.signal);
  // A gzip input: `onBytes` sees the compressed bytes (the file's own, as hashed and sized).
  const gzip = { is: isGzipped(file) };
  const chunks = gzip.is ? gunzipped(raw, file, options.onBytes) : gunzippedIfGzip(raw, file, options.onBytes, gzip);
  for await (const chunk of chunks) {
    const onBytes = gzip.is ? undefined : options.onBytes;
    if (typeof chunk === 'string') {
      onBytes?.(ENCODER.encode(chunk));
      const text = decoder.text(chunk);
      if (text !== '') yield text;
    } else {
      onBytes?.(chunk);
      // Decoded in slices: a 256 KiB read as one string (up to 512 KB as UTF-16) would be
      // allocated outside V8's young generation and linger until a full collection.
      for (let at = 0; at < chunk.length; at += DECODE_SLICE_BYTES) {
        const text = decoder.bytes(at === 0 && chunk.length <= DECODE_SLICE_BYTES ? chunk : chunk.subarray(at, at + DECODE_SLICE_BYTES));
        if (text !== '') yield text;
      }
    }
  }
  const rest = decoder.end();
  if (rest !== '') yield rest;
  const warning = decoder.invalidBytesWarning();
  if (warning !== undefined) options.warn?.(warning);
}

// --- internal ---

/** gzip's magic bytes and its only compression method, deflate. Not part of the public API. */
export const GZIP_MAGIC = [0x1f, 0x8b, 0x08] as const;

/**
 * The chunks of `raw`, inflated when its first bytes are gzip's (a `.csv` that is really
 * `.csv.gz`, as some downloads save it); `gzip.is` is set before the first chunk is yielded.
 */
async function* gunzippedIfGzip(
  raw: AsyncIterable<Uint8Array | string>,
  file: string,
  onRaw: ((chunk: Uint8Array) => void) | undefined,
  gzip: { is: boolean },
): AsyncGenerator<Uint8Array | string> {
  const it = raw[Symbol.asyncIterator]();
  const head: (Uint8Array | string)[] = [];
  let bytes = 0;
  let done = false;
  /** True while a `next()` of `raw` may still be pending (gzip's stream reads ahead on its own). */
  let pending = false;
  try {
    while (bytes < GZIP_MAGIC.length) {
      const step = await it.next();
      if (step.done === true) {
        done = true;
        break;
      }
      head.push(step.value);
      if (typeof step.value === 'string') break;
      bytes += step.value.length;
    }
    const first = head.every((c) => typeof c !== 'string') ? Buffer.concat(head as Uint8Array[]) : EMPTY;
    gzip.is = GZIP_MAGIC.every((b, i) => first[i] === b);
    const replay = (async function* () {
      yield* head;
      while (!done) {
        pending = true;
        const step = await it.next();
        pending = false;
        if (step.done === true) {
          done = true;
          return;
        }
        yield step.value;
      }
    })();
    if (gzip.is) yield* gunzipped(replay, file, onRaw);
    else yield* replay;
  } finally {
    // As in callerChunks: a return() queued behind a pending next() may never settle, so it is not awaited then.
    if (!done) {
      const closing = Promise.resolve(it.return?.()).catch(() => undefined);
      if (!pending) await closing;
    }
  }
}

/**
 * The bytes of a gzip stream (one member or several, as `cat a.gz b.gz` makes), inflated on
 * libuv's threads while the next compressed chunk is read; `onRaw` sees each compressed chunk.
 */
async function* gunzipped(raw: AsyncIterable<Uint8Array | string>, file: string, onRaw: ((chunk: Uint8Array) => void) | undefined): AsyncGenerator<Uint8Array> {
  const input = Readable.from(
    (async function* () {
      for await (const chunk of raw) {
        if (typeof chunk === 'string') {
          throw new LoraPrepError('INPUT_UNREADABLE', `${file}: a .gz input is compressed bytes, but the stream yielded text. Pass the bytes, or a name without .gz.`, { location: { file } });
        }
        onRaw?.(chunk);
        yield chunk;
      }
    })(),
    { objectMode: false },
  );
  const inflate = createGunzip({ chunkSize: 64 * 1024 });
  input.on('error', (error) => inflate.destroy(error));
  input.pipe(inflate);
  try {
    for await (const chunk of inflate) yield chunk as Buffer;
  } catch (error) {
    if (isLoraPrepError(error)) throw error;
    throw new LoraPrepError(
      'INPUT_UNREADABLE',
      `${file}: the gzip data is damaged or cut short (${errorMessage(error)}); \`gzip -t ${file}\` tests it.`,
      { location: { file }, cause: error },
    );
  } finally {
    input.destroy();
    inflate.destroy();
  }
}

const ENCODER = new TextEncoder();

/** The WHATWG label for each `encoding` value; `latin1` is windows-1252 there, as in browsers. */
const LABELS: Record<InputEncoding, string> = {
  'utf-8': 'utf-8',
  latin1: 'windows-1252',
  'windows-1252': 'windows-1252',
  'utf-16le': 'utf-16le',
};

const UTF8_BOM = [0xef, 0xbb, 0xbf] as const;
/** U+FFFD as UTF-8: a file may hold it legitimately, so these are not counted as invalid bytes. */
const UTF8_REPLACEMENT = Buffer.from([0xef, 0xbf, 0xbd]);
const EMPTY = Buffer.alloc(0);
/** For invalid regions only: whole characters, so one-shot decoding equals streaming. */
const ONE_SHOT_UTF8 = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * The length of the longest prefix of `buf` that does not end inside a UTF-8 character: a lead
 * byte among the last three whose sequence needs more bytes than are there is cut off.
 */
function wholeCharacters(buf: Uint8Array): number {
  const n = buf.length;
  for (let back = 1; back <= Math.min(4, n); back++) {
    const b = buf[n - back] as number;
    if ((b & 0xc0) === 0x80) continue;
    const need = b < 0xc2 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : b < 0xf5 ? 4 : 1;
    return need > back ? n - back : n;
  }
  return n;
}

/**
 * Bytes looked at to tell UTF-16 without a byte-order mark from UTF-8: enough for a few lines of
 * text, and all a first read holds anyway.
 *
 * @example
 * head.subarray(0, UTF16_SNIFF_BYTES) // what #refuseUtf16 counts the zero bytes of
 */
const UTF16_SNIFF_BYTES = 4096;

/**
 * Bytes held back before decoding starts (unless the input is shorter), so that the byte-order
 * mark, a binary format's magic bytes and UTF-16 without a mark are told from the same first
 * bytes however a caller's stream cuts them. A file's first read is larger anyway.
 *
 * @example
 * if (head.length < HEAD_HOLD_BYTES) return ''; // wait for more
 */
const HEAD_HOLD_BYTES = 1024;

/**
 * A TextDecoder that first looks for a byte-order mark, and counts replacement characters so a
 * wrongly declared encoding can be reported. Reading UTF-8 with `escape`, it decodes with
 * {@link Utf8EscapeDecoder} instead, which keeps bad bytes visible to the loaders.
 */
class ChunkDecoder {
  readonly #file: string;
  readonly #declared: InputEncoding;
  readonly #escape: boolean;
  readonly #onDecoding: ReadTextOptions['onDecoding'];
  readonly #onTrailingByte: ReadTextOptions['onTrailingByte'];
  #onEscape: ReadTextOptions['onEscape'];
  #decoder: TextDecoder | undefined;
  #escaper: Utf8EscapeDecoder | undefined;
  #utf16: Utf16Decoder | undefined;
  /** UTF-16 code units (and an odd last byte) that were not valid and became U+FFFD. */
  #invalidUnits = 0;
  /** Bytes held back until there are enough ({@link HEAD_HOLD_BYTES}, or all) to tell the BOM, a binary format or a wrong UTF-16 choice. */
  #head: Uint8Array = new Uint8Array(0);
  #started = false;
  /** A high surrogate that ended the last string chunk, waiting for its low half. */
  #high = '';
  #replacementsOut = 0;
  #replacementsIn = 0;
  /** UTF-8 bytes of a character that the last chunk cut, waiting for the rest. */
  #carry: Buffer = EMPTY;

  constructor(
    file: string,
    declared: InputEncoding,
    escape: boolean,
    { onDecoding, onEscape, onTrailingByte }: Pick<ReadTextOptions, 'onDecoding' | 'onEscape' | 'onTrailingByte'>,
  ) {
    this.#file = file;
    this.#declared = declared;
    this.#escape = escape;
    this.#onDecoding = onDecoding;
    this.#onEscape = onEscape;
    this.#onTrailingByte = onTrailingByte;
    if (!Object.hasOwn(LABELS, declared)) {
      throw new LoraPrepError(
        'OPTION_INVALID',
        `${file}: encoding must be one of ${Object.keys(LABELS).map((e) => `'${e}'`).join(', ')}, got ${JSON.stringify(declared)}.`,
        { location: { file } },
      );
    }
  }

  bytes(chunk: Uint8Array): string {
    if (chunk.length === 0) return '';
    const high = this.#flushHigh();
    if (high !== '') return high + this.bytes(chunk);
    if (this.#decoder === undefined && this.#escaper === undefined && this.#utf16 === undefined) {
      if (!this.#started) {
        this.#head = concat(this.#head, chunk);
        if (this.#head.length < HEAD_HOLD_BYTES) return '';
        return this.#start(this.#head);
      }
      // Bytes after string chunks: the start of the file is behind us, so no BOM is looked for.
      this.#open(LABELS[this.#declared]);
    }
    return this.#decode(chunk);
  }

  text(chunk: string): string {
    // A string chunk ends any pending multi-byte sequence: bytes and strings are not mixed mid-character.
    let out = this.#flush();
    if (!this.#started) {
      this.#started = true;
      this.#onDecoding?.({ encoding: 'utf-8', bomBytes: 0 });
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    // A surrogate pair split across two string chunks is put back together: held until the next one.
    chunk = this.#high + chunk;
    this.#high = '';
    const last = chunk.charCodeAt(chunk.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) {
      this.#high = chunk.slice(-1);
      chunk = chunk.slice(0, -1);
    }
    out += this.#wellFormed(chunk);
    return out;
  }

  end(): string {
    return this.#flushHigh() + this.#flush();
  }

  /** A string chunk with unpaired surrogates: escapes (reported) or, replacing, U+FFFD. */
  #wellFormed(text: string): string {
    if (isWellFormed(text)) return text;
    if (!this.#escape) return toWellFormed(text);
    this.#escaped();
    return text;
  }

  /** A held high surrogate whose low half never came (the next chunk is bytes, or none). */
  #flushHigh(): string {
    const high = this.#high;
    this.#high = '';
    return high === '' ? '' : this.#wellFormed(high);
  }

  /** Tells the reader, once, that text with escapes is on its way. */
  #escaped(): void {
    this.#onEscape?.();
    this.#onEscape = undefined;
  }

  invalidBytesWarning(): string | undefined {
    if (this.#invalidUnits > 0) {
      const n = this.#invalidUnits;
      return (
        `${this.#file}: ${n} character${n === 1 ? ' is' : 's are'} not valid UTF-16 (an unpaired surrogate, or an odd last byte) and ` +
        `${n === 1 ? 'was' : 'were'} read as "\uFFFD": the file may be damaged or cut short.`
      );
    }
    const invalid = this.#replacementsOut - this.#replacementsIn;
    if (invalid <= 0 || this.#decoder?.encoding !== 'utf-8') return undefined;
    return (
      `${this.#file}: ${invalid} byte sequence${invalid === 1 ? ' is' : 's are'} not valid UTF-8 and ` +
      `${invalid === 1 ? 'was' : 'were'} read as "\uFFFD". If the file was saved by Excel or another Windows program, ` +
      "pass encoding: 'windows-1252' (CLI --encoding windows-1252) for it."
    );
  }

  #flush(): string {
    let out = '';
    if (!this.#started && this.#head.length > 0) out += this.#start(this.#head);
    if (this.#escaper !== undefined) {
      out += this.#escaper.decode(new Uint8Array(0), true);
      if (this.#escaper.escaped) this.#escaped();
    } else if (this.#utf16 !== undefined) {
      const rest = this.#utf16.decode(EMPTY, true);
      if (this.#utf16.trailingByte !== undefined) this.#onTrailingByte?.(this.#utf16.trailingByte);
      out += this.#utf16Text(rest);
    } else if (this.#decoder?.encoding === 'utf-8') {
      // A character cut by the end of the file: U+FFFD, counted as invalid.
      out += this.#utf8Region(this.#carry);
      this.#carry = EMPTY;
    } else if (this.#decoder !== undefined) {
      const rest = this.#decoder.decode();
      this.#countOut(rest);
      out += rest;
    }
    return out;
  }

  /** Picks the encoding (a BOM wins over the declared one) and decodes the first bytes without the BOM. */
  #start(head: Uint8Array): string {
    this.#head = new Uint8Array(0);
    this.#started = true;
    this.#refuseBinary(head);
    let label = LABELS[this.#declared];
    let skip = 0;
    if (head[0] === UTF8_BOM[0] && head[1] === UTF8_BOM[1] && head[2] === UTF8_BOM[2]) {
      label = 'utf-8';
      skip = 3;
    } else if (head[0] === 0xff && head[1] === 0xfe) {
      label = 'utf-16le';
      skip = 2;
    } else if (head[0] === 0xfe && head[1] === 0xff) {
      label = 'utf-16be';
      skip = 2;
    } else if (label !== 'utf-16le') {
      this.#refuseUtf16(head);
    } else {
      this.#refuseNotUtf16(head);
    }
    this.#onDecoding?.({ encoding: label, bomBytes: skip });
    this.#open(label);
    return this.#decode(head.subarray(skip));
  }

  #open(label: string): void {
    if (label === 'utf-8' && this.#escape) this.#escaper = new Utf8EscapeDecoder();
    // Not a TextDecoder: it would make unpaired surrogates U+FFFD without a word.
    else if (label === 'utf-16le' || label === 'utf-16be') this.#utf16 = new Utf16Decoder(label === 'utf-16be');
    // The BOM is removed by #start, so the decoder must keep a U+FEFF that follows it as content.
    else this.#decoder = new TextDecoder(label, { ignoreBOM: true });
  }

  /**
   * Throws when the first bytes look like UTF-16 without a BOM: plain text in UTF-16 has a 0 in
   * every second byte, which UTF-8 text (and windows-1252 text) almost never holds. Read as UTF-8
   * it would "work", giving rows of text interleaved with NULs, so the job stops instead.
   */
  #refuseUtf16(head: Uint8Array): void {
    const { n, zeroEven, zeroOdd } = zeroBytes(head);
    if (n < 8) return;
    const pairs = n / 2;
    const le = zeroOdd >= pairs * 0.4 && zeroEven <= pairs * 0.05;
    const be = zeroEven >= pairs * 0.4 && zeroOdd <= pairs * 0.05;
    if (!le && !be) return;
    const fix = le
      ? "Pass encoding: 'utf-16le' (CLI --encoding utf-16le) for it, or save it as UTF-8."
      : 'lora-prep reads UTF-16 big-endian only with a byte-order mark: save the file as UTF-8 (or as UTF-16 with a BOM).';
    throw new LoraPrepError(
      'INPUT_FORMAT',
      `${this.#file}: the file looks like UTF-16 ${le ? 'little' : 'big'}-endian text without a byte-order mark ` +
        `(${le ? 'every second' : 'every first'} byte of ${pairs * 2} is 0), but it is read as ${this.#declared}. ${fix}`,
      { location: { file: this.#file } },
    );
  }

  /**
   * Throws when a file read as UTF-16 LE (declared, no BOM) is not: UTF-16 text has a 0 after the
   * byte of every ASCII character (line breaks, delimiters, quotes, braces), and CSV, TSV, JSON and
   * JSONL text has some in its first lines. Read as UTF-16 a UTF-8 file would "work", giving one
   * row of CJK-looking text or none, so the job stops instead.
   */
  #refuseNotUtf16(head: Uint8Array): void {
    const { n, zeroEven, zeroOdd } = zeroBytes(head);
    if (n < 4) return;
    if (zeroOdd > 0) return;
    const be = zeroEven >= (n / 2) * 0.4;
    const seems = be
      ? 'It looks like UTF-16 big-endian, which lora-prep reads only with a byte-order mark: save it as UTF-8 (or as UTF-16 with a BOM).'
      : isUtf8(head.subarray(0, wholeCharacters(head.subarray(0, n))))
        ? "It looks like UTF-8: pass encoding: 'utf-8' (CLI --encoding utf-8), the default, instead."
        : "It looks like a single-byte encoding: pass encoding: 'windows-1252' (CLI --encoding windows-1252), the usual one of Excel exports, or save the file as UTF-8.";
    throw new LoraPrepError(
      'INPUT_FORMAT',
      `${this.#file}: the file is read as UTF-16 little-endian (encoding: 'utf-16le') but is not: it has no byte-order mark, and its ` +
        `first ${n} bytes hold no 0 after an ASCII character, where UTF-16 text has one after each line break, delimiter and quote. ${seems}`,
      { location: { file: this.#file } },
    );
  }

  /** Throws when the first bytes are those of a binary format (whatever the file's name says). */
  #refuseBinary(head: Uint8Array): void {
    const what = binaryFormatOf(head);
    if (what === undefined) return;
    throw new LoraPrepError(
      'INPUT_FORMAT',
      `${this.#file}: the file is not text, whatever its name says (its first bytes are those of ${what.magic}): ${what.advice}; ` +
        'lora-prep reads CSV, TSV, JSONL and JSON text.',
      { location: { file: this.#file } },
    );
  }

  /** UTF-16 text as decoded: unpaired surrogates kept (escaping) or made U+FFFD and counted. */
  #utf16Text(text: string): string {
    if (isWellFormed(text)) return text;
    if (this.#escape) {
      this.#escaped();
      return text;
    }
    const clean = toWellFormed(text);
    for (let i = clean.indexOf('\uFFFD'); i !== -1; i = clean.indexOf('\uFFFD', i + 1)) if (text.charCodeAt(i) !== 0xfffd) this.#invalidUnits++;
    return clean;
  }

  #decode(chunk: Uint8Array): string {
    if (this.#utf16 !== undefined) return this.#utf16Text(this.#utf16.decode(chunk, false));
    if (this.#escaper !== undefined) {
      const text = this.#escaper.decode(chunk, false);
      if (this.#escaper.escaped) this.#escaped();
      return text;
    }
    const decoder = this.#decoder as TextDecoder;
    if (decoder.encoding === 'utf-8') return this.#utf8(chunk);
    // Always stream mode: Node 20's one-shot windows-1252 path maps 0x80–0x9F to C1 controls
    // (0x80 → U+0080, not €); the streaming path follows the WHATWG table.
    const text = decoder.decode(chunk, { stream: true });
    this.#countOut(text);
    return text;
  }

  /**
   * UTF-8 in regions of whole characters: the bytes of a character cut by the chunk's end wait
   * for the next chunk. A valid region (nearly always) is checked and decoded by the one-shot
   * native paths, several times faster than a streaming TextDecoder; an invalid one is decoded
   * with U+FFFD for each bad sequence, exactly as the streaming decoder would, and counted.
   */
  #utf8(chunk: Uint8Array): string {
    let buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.#carry.length > 0) buf = Buffer.concat([this.#carry, buf]);
    const cut = wholeCharacters(buf);
    this.#carry = cut < buf.length ? Buffer.from(buf.subarray(cut)) : EMPTY;
    return this.#utf8Region(buf.subarray(0, cut));
  }

  #utf8Region(region: Buffer): string {
    if (region.length === 0) return '';
    if (isUtf8(region)) return region.toString('utf8');
    for (let i = region.indexOf(UTF8_REPLACEMENT); i !== -1; i = region.indexOf(UTF8_REPLACEMENT, i + 3)) this.#replacementsIn++;
    const text = ONE_SHOT_UTF8.decode(region);
    this.#countOut(text);
    return text;
  }

  #countOut(text: string): void {
    for (let i = text.indexOf('\uFFFD'); i !== -1; i = text.indexOf('\uFFFD', i + 1)) this.#replacementsOut++;
  }
}

/**
 * UTF-16 (LE, or BE) to a string, streaming, keeping unpaired surrogates as they are (a
 * TextDecoder would make each U+FFFD): a pair cut by a chunk's end waits for its second half. An
 * odd last byte becomes U+DC00 + byte, and `trailingByte` holds it.
 */
class Utf16Decoder {
  readonly #bigEndian: boolean;
  /** An odd byte, or the two bytes of a high surrogate, held for the next chunk. */
  #carry: Buffer = EMPTY;
  trailingByte: number | undefined;

  constructor(bigEndian: boolean) {
    this.#bigEndian = bigEndian;
  }

  decode(chunk: Uint8Array, final: boolean): string {
    let buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.#carry.length > 0) buf = Buffer.concat([this.#carry, buf]);
    let even = buf.length & ~1;
    if (!final && even >= 2) {
      const high = buf[this.#bigEndian ? even - 2 : even - 1] as number;
      if (high >= 0xd8 && high <= 0xdb) even -= 2;
    }
    this.#carry = final ? EMPTY : Buffer.from(buf.subarray(even));
    let body = buf.subarray(0, even);
    if (this.#bigEndian) body = Buffer.from(body).swap16();
    let text = body.toString('utf16le');
    if (final && buf.length > even) {
      const byte = buf[even] as number;
      this.trailingByte = byte;
      text += String.fromCharCode(0xdc00 + byte);
    }
    return text;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** The read that expects the end of a file: anything it finds switches back to full chunks. */
const END_READ_BYTES = 256;

/** The bytes of a file, one {@link READ_CHUNK_BYTES} chunk at a time at most; the file is closed on any exit. */
async function* fileChunks(path: string, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
  throwIfAborted(signal, path);
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw fileError(path, error);
  }
  try {
    // The size is a hint only (the file may grow or shrink while read; a pipe says 0): a small file
    // gets a buffer its size, and the read that finds the end a small one. Thousands of small
    // inputs took a full chunk each, twice, and spent more time collecting them than reading.
    let size: number;
    try {
      size = (await handle.stat()).size;
    } catch (error) {
      throw fileError(path, error);
    }
    let at = 0;
    for (;;) {
      throwIfAborted(signal, path);
      const want = at < size ? Math.min(READ_CHUNK_BYTES, size - at + 1) : at === size ? END_READ_BYTES : READ_CHUNK_BYTES;
      // A fresh buffer per read: `onBytes` callers and the decoders may still hold the previous one.
      const buffer = Buffer.allocUnsafe(want);
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(buffer, 0, want, null));
      } catch (error) {
        throw fileError(path, error);
      }
      if (bytesRead === 0) return;
      at += bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

/** The chunks of a caller's stream, with aborts honoured even while the stream is waiting. */
async function* callerChunks(
  source: { name: string; chunks: AsyncIterable<Uint8Array | string> },
  signal: AbortSignal | undefined,
): AsyncGenerator<Uint8Array | string> {
  const file = source.name;
  throwIfAborted(signal, file);
  let iterator: AsyncIterator<Uint8Array | string>;
  try {
    iterator = source.chunks[Symbol.asyncIterator]();
  } catch (error) {
    throw streamError(file, error, signal);
  }
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new Error('aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  let done = false;
  /** True while a `next()` may still be pending (after an abort won the race against it). */
  let pending = false;
  try {
    for (;;) {
      let step: IteratorResult<Uint8Array | string>;
      try {
        pending = true;
        step = await (signal === undefined ? iterator.next() : Promise.race([iterator.next(), aborted]));
        pending = false;
      } catch (error) {
        throw streamError(file, error, signal);
      }
      if (step.done === true) {
        done = true;
        return;
      }
      const chunk: unknown = step.value;
      if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) {
        throw new LoraPrepError(
          'INPUT_UNREADABLE',
          `${file}: the stream must yield bytes (Uint8Array/Buffer) or strings, got ${describeChunk(chunk)}. ` +
            'Pass a byte stream, not an object-mode stream.',
          { location: { file } },
        );
      }
      throwIfAborted(signal, file);
      yield chunk;
    }
  } finally {
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
    // Closes the caller's stream when reading stopped early (a break, an error, an abort). With a
    // next() still pending, return() queues behind it and may never settle: then it is not awaited.
    if (!done) {
      const closing = Promise.resolve(iterator.return?.()).catch(() => undefined);
      if (!pending) await closing;
    }
  }
}

function describeChunk(chunk: unknown): string {
  if (chunk === null) return 'null';
  if (Array.isArray(chunk)) return 'an array';
  return typeof chunk === 'object' ? `an object (${chunk.constructor?.name ?? 'no prototype'})` : `a ${typeof chunk}`;
}

function streamError(file: string, error: unknown, signal: AbortSignal | undefined): LoraPrepError {
  if (isLoraPrepError(error)) return error;
  if (signal?.aborted) {
    return new LoraPrepError('ABORTED', `${file}: loading stopped because the run was aborted.`, {
      location: { file },
      cause: signal.reason,
    });
  }
  return new LoraPrepError('INPUT_UNREADABLE', `${file}: reading the input stream failed: ${errorMessage(error)}`, {
    location: { file },
    cause: error,
  });
}

function fileError(path: string, error: unknown): LoraPrepError {
  const code = (error as { code?: unknown } | null)?.code;
  const location = { file: path };
  if (code === 'ENOENT') {
    return new LoraPrepError(
      'INPUT_NOT_FOUND',
      `${path}: input file not found (looked for ${resolve(path)}). Check the path; ` +
        `relative paths are resolved from the working folder ${process.cwd()}.`,
      { location, cause: error },
    );
  }
  if (code === 'EISDIR') {
    return new LoraPrepError(
      'INPUT_UNREADABLE',
      `${path}: is a folder, not a file. List the files inside it in \`inputs\` instead.`,
      { location, cause: error },
    );
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new LoraPrepError(
      'INPUT_UNREADABLE',
      `${path}: permission denied while reading the file. Check its permissions, or copy it somewhere readable.`,
      { location, cause: error },
    );
  }
  return new LoraPrepError('INPUT_UNREADABLE', `${path}: the file cannot be read: ${errorMessage(error)}`, {
    location,
    cause: error,
  });
}

/**
 * The zero bytes at even and odd offsets of the first bytes of a file (an even count of them, at
 * most UTF16_SNIFF_BYTES): how UTF-16 text without a byte-order mark is told from 8-bit text.
 */
function zeroBytes(head: Uint8Array): { n: number; zeroEven: number; zeroOdd: number } {
  const n = Math.min(head.length, UTF16_SNIFF_BYTES) & ~1;
  let zeroEven = 0;
  let zeroOdd = 0;
  for (let i = 0; i < n; i += 2) {
    if (head[i] === 0) zeroEven++;
    if (head[i + 1] === 0) zeroOdd++;
  }
  return { n, zeroEven, zeroOdd };
}
