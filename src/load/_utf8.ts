/**
 * UTF-8 with the bad bytes kept: decoding that turns each byte of an invalid sequence into one
 * "escape" character (U+DC80 + the byte, the scheme Python calls surrogateescape), so a loader can
 * tell, row by row, whether a row held bytes that are not UTF-8, which byte, and where, and can
 * still rebuild the exact bytes of the file (the CSV loader feeds them to csv-parse).
 *
 * An escape is a lone low surrogate, which no valid UTF-8 decodes to (UTF-8 cannot encode
 * surrogates), so it never collides with real text; `isWellFormed()` (native) finds rows that hold one.
 */
import { isUtf8 } from 'node:buffer';

/**
 * Streaming UTF-8 decoder that escapes invalid bytes instead of replacing them. Where a WHATWG
 * decoder (TextDecoder) writes one U+FFFD per maximal invalid subpart, this writes one escape per
 * byte of that subpart; the valid text in between is identical.
 *
 * @example
 * const d = new Utf8EscapeDecoder();
 * d.decode(Uint8Array.of(0x61, 0xe9, 0x62), true) // 'a\uDCE9b'
 */
export class Utf8EscapeDecoder {
  /** True once a bad byte has been escaped: until then every text returned is well-formed. */
  escaped = false;
  /** The bytes of a sequence cut off by the end of the last chunk (at most 3). */
  #carry: Buffer = EMPTY;

  decode(chunk: Uint8Array, final: boolean): string {
    let buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.#carry.length > 0) buf = Buffer.concat([this.#carry, buf]);
    const cut = final ? buf.length : incompleteTailStart(buf);
    this.#carry = cut < buf.length ? Buffer.from(buf.subarray(cut)) : EMPTY;
    const body = buf.subarray(0, cut);
    if (body.length === 0) return '';
    // Fast path (native, one pass): nearly every chunk of a real file is valid.
    try {
      return FATAL.decode(body);
    } catch {
      this.escaped = true;
      return decodeEscaping(body);
    }
  }
}

/**
 * The first character of `text` that stands for an invalid byte (or is any other unpaired
 * surrogate, which cannot be written as UTF-8 either), or `undefined` when `text` is well-formed.
 *
 * @example
 * firstInvalid('ab\uDCE9') // { index: 2, byte: 0xe9 }
 */
export function firstInvalid(text: string): { index: number; byte: number | undefined } | undefined {
  if (isWellFormed(text)) return undefined;
  const index = nextLoneSurrogate(text, 0);
  if (index === -1) return undefined;
  const byte = escapedByte(text.charCodeAt(index));
  return { index, byte };
}

/**
 * The length of `text` in bytes of the file it was decoded from: UTF-8 bytes, with each escape
 * counting as the one byte it stands for (and any other unpaired surrogate as one byte too).
 *
 * @example
 * utf8Length('é\uDCE9') // 3
 */
export function utf8Length(text: string): number {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (isWellFormed(text)) return bytes;
  // Buffer.byteLength counts an unpaired surrogate as the 3 bytes of U+FFFD.
  let lone = 0;
  for (let i = nextLoneSurrogate(text, 0); i !== -1; i = nextLoneSurrogate(text, i + 1)) lone++;
  return bytes - 2 * lone;
}

/**
 * The bytes `text` was decoded from: UTF-8, with each escape turned back into its byte. Any other
 * unpaired surrogate (only a caller's string chunk can hold one) becomes 0xFF, a byte that is never
 * valid UTF-8. With `positions`, the offset in the result of each such byte is appended to it.
 *
 * @example
 * encodeEscaped('a\uDCE9', positions) // <Buffer 61 e9>, positions [1]
 */
export function encodeEscaped(text: string, positions?: number[]): Buffer {
  if (isWellFormed(text)) return Buffer.from(text, 'utf8');
  const parts: Buffer[] = [];
  let length = 0;
  let start = 0;
  for (let i = nextLoneSurrogate(text, 0); i !== -1; i = nextLoneSurrogate(text, i + 1)) {
    if (i > start) {
      const valid = Buffer.from(text.slice(start, i), 'utf8');
      parts.push(valid);
      length += valid.length;
    }
    positions?.push(length);
    parts.push(Buffer.of(escapedByte(text.charCodeAt(i)) ?? 0xff));
    length++;
    start = i + 1;
  }
  if (start < text.length) parts.push(Buffer.from(text.slice(start), 'utf8'));
  return Buffer.concat(parts);
}

/**
 * The indices of the unpaired surrogates of `text` (escaped bytes, or UTF-16's own), in order.
 *
 * @example
 * loneSurrogates('a\uD800b\uD83D\uDE00\uDC00') // [1, 5]
 */
export function loneSurrogates(text: string): number[] {
  const found: number[] = [];
  if (isWellFormed(text)) return found;
  for (let i = nextLoneSurrogate(text, 0); i !== -1; i = nextLoneSurrogate(text, i + 1)) found.push(i);
  return found;
}

/** The index of the next unpaired surrogate of `text` at or after `from`, or -1. */
function nextLoneSurrogate(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
    }
    return i;
  }
  return -1;
}

/** The invalid byte an escape surrogate (U+DC80–U+DCFF) stands for, or undefined for any other. */
function escapedByte(c: number): number | undefined {
  return c >= 0xdc80 && c <= 0xdcff ? c - 0xdc00 : undefined;
}

/**
 * The offset of the first byte of `bytes` that is not part of valid UTF-8, or -1.
 *
 * @example
 * firstInvalidByte(Buffer.from([0x61, 0xe9])) // 1
 */
export function firstInvalidByte(bytes: Uint8Array): number {
  if (isUtf8(bytes)) return -1;
  let found = -1;
  scan(bytes, true, (at) => {
    found = at;
    return false;
  });
  return found;
}

/**
 * A byte offset worked out only when asked (only a rejected row needs one): `base` plus the length
 * in bytes (see {@link utf8Length}) of `chunk` up to `index`. Holds the chunk until then.
 *
 * @example
 * new ByteOffset('aé\nb', 3, 100).get() // 104
 */
export class ByteOffset {
  readonly #chunk: string;
  readonly #index: number;
  readonly #base: number;

  constructor(chunk: string, index: number, base: number) {
    this.#chunk = chunk;
    this.#index = index;
    this.#base = base;
  }

  get(): number {
    return this.#base + utf8Length(this.#chunk.slice(0, this.#index));
  }
}

/**
 * True when `text` holds no unpaired surrogate, i.e. no escaped byte (native `isWellFormed`).
 *
 * @example
 * isWellFormed('a\uDCE9') // false
 */
export function isWellFormed(text: string): boolean {
  return (text as unknown as WellFormed).isWellFormed();
}

/**
 * `text` with every unpaired surrogate (escaped byte) replaced by U+FFFD (native `toWellFormed`).
 *
 * @example
 * toWellFormed('a\uDCE9') // 'a\uFFFD'
 */
export function toWellFormed(text: string): string {
  return (text as unknown as WellFormed).toWellFormed();
}

/**
 * A description of an invalid character found by {@link firstInvalid}, for messages.
 *
 * @example
 * describeInvalid(0xe9) // 'byte 0xE9'
 */
export function describeInvalid(byte: number | undefined): string {
  return byte === undefined ? 'an unpaired surrogate (not encodable as UTF-8)' : `byte 0x${byte.toString(16).toUpperCase().padStart(2, '0')}`;
}

// --- internal ---

const EMPTY = Buffer.alloc(0);

/** Throws on the first bad byte; `ignoreBOM` keeps a U+FEFF that starts a later chunk (the reader drops the file's own BOM). */
const FATAL = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** ES2024 string methods (Node 20 has them; the ES2023 lib does not declare them). */
interface WellFormed {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

/**
 * Where a sequence that the end of `buf` cut off starts (its lead byte), or `buf.length`. A lead
 * byte more than 3 bytes from the end always has its sequence complete (or broken) within `buf`.
 */
function incompleteTailStart(buf: Buffer): number {
  const len = buf.length;
  for (let i = len - 1; i >= 0 && i >= len - 3; i--) {
    const b = buf[i] as number;
    if (b < 0x80) return len;
    if (b >= 0xc0) {
      const need = b >= 0xf8 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
      return len - i < need ? i : len;
    }
  }
  return len;
}

/** Decodes `body` (which ends on a sequence boundary or in an invalid sequence), escaping bad bytes. */
function decodeEscaping(body: Buffer): string {
  const out: string[] = [];
  let runStart = 0;
  scan(body, true, (at, length) => {
    if (at > runStart) out.push(body.toString('utf8', runStart, at));
    for (let k = at; k < at + length; k++) out.push(String.fromCharCode(0xdc00 + (body[k] as number)));
    runStart = at + length;
    return true;
  });
  if (runStart < body.length) out.push(body.toString('utf8', runStart));
  return out.join('');
}

/**
 * Walks `bytes` as the WHATWG UTF-8 decoder does and calls `onError(offset, length)` for each
 * maximal invalid subpart (the bytes a TextDecoder would turn into one U+FFFD); `onError` returns
 * false to stop. With `final`, a sequence cut off by the end is an error too.
 */
function scan(bytes: Uint8Array, final: boolean, onError: (at: number, length: number) => boolean): void {
  let needed = 0;
  let seen = 0;
  let lower = 0x80;
  let upper = 0xbf;
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if (needed === 0) {
      if (b < 0x80) continue;
      start = i;
      if (b >= 0xc2 && b <= 0xdf) needed = 1;
      else if (b >= 0xe0 && b <= 0xef) {
        if (b === 0xe0) lower = 0xa0;
        if (b === 0xed) upper = 0x9f;
        needed = 2;
      } else if (b >= 0xf0 && b <= 0xf4) {
        if (b === 0xf0) lower = 0x90;
        if (b === 0xf4) upper = 0x8f;
        needed = 3;
      } else if (!onError(i, 1)) return;
      continue;
    }
    if (b < lower || b > upper) {
      // The sequence so far is the invalid subpart; this byte starts afresh.
      needed = 0;
      seen = 0;
      lower = 0x80;
      upper = 0xbf;
      if (!onError(start, i - start)) return;
      i--;
      continue;
    }
    lower = 0x80;
    upper = 0xbf;
    seen++;
    if (seen === needed) {
      needed = 0;
      seen = 0;
    }
  }
  if (final && needed !== 0) onError(start, bytes.length - start);
}
