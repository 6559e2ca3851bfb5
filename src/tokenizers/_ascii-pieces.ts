/**
 * The pre-tokenizer split of o200k_base and cl100k_base, done by hand where the text is ASCII, and
 * a table of ASCII pieces looked up without making a string of each. Counting o200k tokens spent
 * two thirds of its time in the split regex, making a string of every piece and hashing it for the
 * vocabulary lookup; most domain text is ASCII, where each of the regex's character classes is a
 * simple range and the split is a few comparisons per character.
 *
 * A scanner returns where the regex's match at a position ends, deciding only on ASCII characters:
 * when any character it must look at is outside ASCII (a letter, a digit or a space of another
 * script could change the match), it returns -1 and the caller runs the regex from there. The
 * regex matches at every position (each character is a letter, a number, a space or something
 * else, and an alternative takes each), so the match found from a position is the one
 * `text.match(regex)` finds there.
 */

// Character classes of ASCII as the two regexes' Unicode classes hold them: \p{Lu}/\p{Ll} (no
// ASCII character is Lt, Lm, Lo or M), \p{N}, JavaScript's \s (tab, LF, VT, FF, CR, space), CR/LF,
// and the rest. PREFIX: `[^\r\n\p{L}\p{N}]`, the one character a word may start with.
const UPPER = 1;
const LOWER = 2;
const DIGIT = 4;
const SPACE = 8;
const CRLF = 16;
const OTHER = 32;
const PREFIX = 64;
const LETTER = UPPER | LOWER;

const CLASS = (() => {
  const cls = new Uint8Array(128);
  for (let c = 0; c < 128; c++) {
    const ch = String.fromCharCode(c);
    if (/\p{Lu}/u.test(ch)) cls[c] = UPPER;
    else if (/\p{Ll}/u.test(ch)) cls[c] = LOWER;
    else if (/\p{N}/u.test(ch)) cls[c] = DIGIT;
    else if (/\s/u.test(ch)) cls[c] = SPACE | (c === 10 || c === 13 ? CRLF : PREFIX);
    else cls[c] = OTHER | PREFIX;
  }
  return cls;
})();

const APOSTROPHE = 39;
const SPACE_CHAR = 32;
const SLASH = 47;

/** Where the regex's match at `p` ends, or -1 when that depends on a character outside ASCII. */
export type PieceEnd = (text: string, p: number, n: number) => number;

/**
 * The scanner of the regex with this source, if known: gpt-tokenizer's o200k and cl100k splits,
 * and the `Split` pre-tokenizers of Llama 3 and Qwen 2/3 as Hugging Face's JavaScript port
 * compiles them.
 */
export function asciiScanner(source: string): PieceEnd | undefined {
  if (source === O200K_SOURCE) return o200kEnd;
  if (source === CL100K_SOURCE) return cl100kEnd;
  if (source === LLAMA3_SOURCE) return llama3End;
  if (source === QWEN2_SOURCE) return qwen2End;
  return undefined;
}

export const O200K_SOURCE =
  "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?:'(?:[sS]|[dD]|[mM]|[tT]|[lL][lL]|[vV][eE]|[rR][eE]))?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?:'(?:[sS]|[dD]|[mM]|[tT]|[lL][lL]|[vV][eE]|[rR][eE]))?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

export const CL100K_SOURCE =
  "'(?:[sS]|[dD]|[mM]|[tT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s+$|\\s*[\\r\\n]|\\s+(?!\\S)|\\s";

// Llama 3's split (`(?i:'s|'t|...)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`)
// as the port compiles it; Qwen 2 and 3 take one digit at a time.
export const LLAMA3_SOURCE =
  "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\p{White_Space}\\p{L}\\p{N}]+[\\r\\n]*|\\p{White_Space}*[\\r\\n]+|\\p{White_Space}+(?!\\P{White_Space})|\\p{White_Space}+";
export const QWEN2_SOURCE = LLAMA3_SOURCE.replace('\\p{N}{1,3}', '\\p{N}');

/** The class bits of the character at `i`, or -1 outside ASCII (0 past the end: no class). */
function classAt(text: string, i: number, n: number): number {
  if (i >= n) return 0;
  const c = text.charCodeAt(i);
  return c < 128 ? (CLASS[c] as number) : -1;
}

/** The end of `'s|'d|'m|'t|'ll|'ve|'re` (either case) at `e`, or `e` when none is there. */
function contractionEnd(text: string, e: number, n: number): number {
  if (e + 1 >= n || text.charCodeAt(e) !== APOSTROPHE) return e;
  // `| 32` lowers an ASCII letter and makes no other character one.
  const a = text.charCodeAt(e + 1) | 32;
  if (a === 0x73 || a === 0x64 || a === 0x6d || a === 0x74) return e + 2; // s d m t
  if (e + 2 >= n) return e;
  const b = text.charCodeAt(e + 2) | 32;
  if ((a === 0x6c && b === 0x6c) || (a === 0x76 && b === 0x65) || (a === 0x72 && b === 0x65)) return e + 3; // ll ve re
  return e;
}

/** The end of the run of characters of class `bits` from `i`, or -1 when it meets one outside ASCII. */
function runEnd(text: string, i: number, n: number, bits: number): number {
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128) return -1;
    if (((CLASS[c] as number) & bits) === 0) return i;
  }
  return n;
}

/** `\p{N}{1,max}` at `p` (a digit). */
function digitsEnd(text: string, p: number, n: number, max: number): number {
  const last = Math.min(n, p + max);
  for (let i = p + 1; i < last; i++) {
    const k = classAt(text, i, n);
    if (k < 0) return -1;
    if ((k & DIGIT) === 0) return i;
  }
  return last;
}

/** ` ?[^\s\p{L}\p{N}]+` then `[\r\n/]*` (o200k) or `[\r\n]*` (cl100k), the run starting at `q`. */
function punctuationEnd(text: string, q: number, n: number, slash: boolean): number {
  let e = runEnd(text, q, n, OTHER);
  if (e < 0) return -1;
  for (; e < n; e++) {
    const c = text.charCodeAt(e);
    if (c !== 10 && c !== 13 && !(slash && c === SLASH)) break;
  }
  return e;
}

/**
 * The whitespace alternatives at `p` (a space): o200k `\s*[\r\n]+|\s+(?!\S)|\s+`, cl100k
 * `\s+$|\s*[\r\n]|\s+(?!\S)|\s`. Greedy `\s*` gives back to the last CR/LF of the run; `(?!\S)`
 * keeps the run but its last space, unless the run ends the text.
 */
function spaceEnd(text: string, p: number, n: number, cl100k: boolean): number {
  const e = runEnd(text, p, n, SPACE);
  if (e < 0) return -1;
  if (cl100k && e === n) return e;
  for (let j = e - 1; j >= p; j--) {
    const c = text.charCodeAt(j);
    if (c === 10 || c === 13) return j + 1;
  }
  if (e === n) return e;
  if (e - p >= 2) return e - 1;
  return cl100k ? p + 1 : e;
}

/**
 * o200k's word alternatives from `q` (a letter): `[upper]*[lower]+` else `[upper]+[lower]*`, then a
 * contraction. ASCII letters are one case or the other, so no backtracking changes the match.
 */
function o200kWordEnd(text: string, q: number, n: number): number {
  const u = runEnd(text, q, n, UPPER);
  if (u < 0) return -1;
  const l = runEnd(text, u, n, LOWER);
  if (l < 0) return -1;
  return contractionEnd(text, l, n);
}

function o200kEnd(text: string, p: number, n: number): number {
  const k = classAt(text, p, n);
  if (k < 0) return -1;
  if (k & LETTER) return o200kWordEnd(text, p, n);
  if (k & DIGIT) return digitsEnd(text, p, n, 3);
  const next = classAt(text, p + 1, n);
  if (next < 0) return -1;
  if (next & LETTER) {
    // k & PREFIX here: neither a letter, a digit nor CR/LF.
    if (k & PREFIX) return o200kWordEnd(text, p + 1, n);
  }
  if (text.charCodeAt(p) === SPACE_CHAR && next & OTHER) return punctuationEnd(text, p + 1, n, true);
  if (k & OTHER) return punctuationEnd(text, p, n, true);
  return spaceEnd(text, p, n, false);
}

function cl100kEnd(text: string, p: number, n: number): number {
  return letterWordsEnd(text, p, n, 3, true);
}

function llama3End(text: string, p: number, n: number): number {
  return letterWordsEnd(text, p, n, 3, false);
}

function qwen2End(text: string, p: number, n: number): number {
  return letterWordsEnd(text, p, n, 1, false);
}

/**
 * The splits that take contractions first and words as letters of any case: cl100k, Llama 3 and
 * Qwen 2 (`'s|...|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,max}| ?[^\s\p{L}\p{N}]+[\r\n]*`, then
 * cl100k's whitespace alternatives or o200k's).
 */
function letterWordsEnd(text: string, p: number, n: number, maxDigits: number, cl100kSpaces: boolean): number {
  const k = classAt(text, p, n);
  if (k < 0) return -1;
  if (text.charCodeAt(p) === APOSTROPHE) {
    const e = contractionEnd(text, p, n);
    if (e > p) return e;
  }
  if (k & LETTER) return runEnd(text, p, n, LETTER);
  if (k & DIGIT) return digitsEnd(text, p, n, maxDigits);
  const next = classAt(text, p + 1, n);
  if (next < 0) return -1;
  if (next & LETTER && k & PREFIX) return runEnd(text, p + 1, n, LETTER);
  if (text.charCodeAt(p) === SPACE_CHAR && next & OTHER) return punctuationEnd(text, p + 1, n, false);
  if (k & OTHER) return punctuationEnd(text, p, n, false);
  return spaceEnd(text, p, n, cl100kSpaces);
}

/**
 * A hash table of ASCII strings to numbers, looked up by a range of a text (no string is made).
 * The first entries (the vocabulary) stay; the ones added after {@link AsciiTable.seal} can be
 * dropped at once with {@link AsciiTable.reset}. Keys are held as bytes in one buffer.
 */
export class AsciiTable {
  readonly #slots: Int32Array;
  readonly #mask: number;
  readonly #hash: Int32Array;
  readonly #start: Int32Array;
  readonly #length: Int32Array;
  readonly #value: Int32Array;
  #bytes = new Uint8Array(1 << 16);
  #used = 0;
  size = 0;
  readonly capacity: number;
  #sealed: { slots: Int32Array; size: number; used: number } | undefined;

  /** A table for at most `capacity` entries. */
  constructor(capacity: number) {
    this.capacity = capacity;
    let slots = 1024;
    while (slots < capacity * 2) slots *= 2;
    this.#slots = new Int32Array(slots);
    this.#mask = slots - 1;
    this.#hash = new Int32Array(capacity);
    this.#start = new Int32Array(capacity);
    this.#length = new Int32Array(capacity);
    this.#value = new Int32Array(capacity);
  }

  /** FNV-1a of `text[p, e)`'s characters. */
  static hash(text: string, p: number, e: number): number {
    let h = 0x811c9dc5 | 0;
    for (let i = p; i < e; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    return h;
  }

  /** The value of `text[p, e)` (with hash `h`), or -1. */
  get(text: string, p: number, e: number, h: number): number {
    const len = e - p;
    const bytes = this.#bytes;
    for (let s = h & this.#mask; ; s = (s + 1) & this.#mask) {
      const slot = this.#slots[s] as number;
      if (slot === 0) return -1;
      const i = slot - 1;
      if (this.#hash[i] !== h || this.#length[i] !== len) continue;
      let at = this.#start[i] as number;
      let j = p;
      while (j < e && bytes[at] === text.charCodeAt(j)) {
        at++;
        j++;
      }
      if (j === e) return this.#value[i] as number;
    }
  }

  /** Adds `text[p, e)` (ASCII, not in the table) with `value`; false when the table is full. */
  add(text: string, p: number, e: number, h: number, value: number): boolean {
    if (this.size >= this.capacity) return false;
    const len = e - p;
    if (this.#used + len > this.#bytes.length) {
      const grown = new Uint8Array(Math.max(this.#bytes.length * 2, this.#used + len));
      grown.set(this.#bytes);
      this.#bytes = grown;
    }
    const i = this.size++;
    this.#hash[i] = h;
    this.#start[i] = this.#used;
    this.#length[i] = len;
    this.#value[i] = value;
    for (let j = p; j < e; j++) this.#bytes[this.#used++] = text.charCodeAt(j);
    let s = h & this.#mask;
    while (this.#slots[s] !== 0) s = (s + 1) & this.#mask;
    this.#slots[s] = i + 1;
    return true;
  }

  /** Keeps the entries so far through every {@link reset}. */
  seal(): void {
    this.#sealed = { slots: this.#slots.slice(), size: this.size, used: this.#used };
  }

  /** Drops the entries added since {@link seal}. */
  reset(): void {
    const sealed = this.#sealed ?? { slots: new Int32Array(this.#slots.length), size: 0, used: 0 };
    this.#slots.set(sealed.slots);
    this.size = sealed.size;
    this.#used = sealed.used;
  }
}
