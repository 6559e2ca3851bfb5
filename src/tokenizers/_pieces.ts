/**
 * The pre-tokenizer splits of o200k_base, cl100k_base, Llama 3 and Qwen 2/3, done by hand, and a
 * table of pieces looked up by their place in the text without making a string of each. Counting
 * o200k tokens spent two thirds of its time in the split regex, making a string of every piece and
 * hashing it for the vocabulary lookup. For the characters of most text (ASCII, and the letters,
 * digits and punctuation of the Basic Multilingual Plane) each of the regex's Unicode classes is a
 * lookup in a 64 KiB table, and the split a few comparisons per character.
 *
 * A scanner returns where the regex's match at a position ends, deciding only on characters whose
 * class it knows for certain. Any character it must look at that could make the match differ from
 * its rules gives up (-1), and the caller runs the regex from there: spaces outside ASCII (the
 * regexes' `\s` and `\p{White_Space}` differ there), surrogates (the regex reads code points),
 * and for o200k's case-aware words the letters that are both cases to it (Lm, Lo) and marks.
 * The regex matches at every position (each character is a letter, a number, a space or something
 * else, and an alternative takes each), so the match found from a position is the one
 * `text.match(regex)` finds there.
 */

// Character classes as the regexes hold them. UPPER/LOWER: o200k's `[\p{Lu}\p{Lt}...]` and
// `[\p{Ll}...]` (for the other splits any letter is UPPER: `\p{L}`); DIGIT: `\p{N}`; SPACE:
// `\s` (tab, LF, VT, FF, CR, space); CRLF; OTHER: none of these (punctuation, symbols, controls;
// marks for the letter splits). PREFIX: `[^\r\n\p{L}\p{N}]`, the one character a word may start
// with. GIVE_UP: a character the scanner leaves to the regex.
const UPPER = 1;
const LOWER = 2;
const DIGIT = 4;
const SPACE = 8;
const CRLF = 16;
const OTHER = 32;
const PREFIX = 64;
const GIVE_UP = 128;
const LETTER = UPPER | LOWER;

/** The class of every UTF-16 code unit, for o200k (`cased`) or the splits of `\p{L}+` words. */
function classTable(cased: boolean): Uint8Array {
  const table = new Uint8Array(65536);
  const lu = /[\p{Lu}\p{Lt}]/u;
  const ll = /\p{Ll}/u;
  const letter = /\p{L}/u;
  const mark = /\p{M}/u;
  const number = /\p{N}/u;
  const space = /[\s\p{White_Space}]/u;
  for (let c = 0; c < 65536; c++) {
    const ch = String.fromCharCode(c);
    if (c >= 0xd800 && c <= 0xdfff) table[c] = GIVE_UP;
    else if (space.test(ch)) table[c] = c >= 128 ? GIVE_UP : SPACE | (c === 10 || c === 13 ? CRLF : PREFIX);
    else if (number.test(ch)) table[c] = DIGIT;
    else if (!cased) table[c] = letter.test(ch) ? UPPER : OTHER | PREFIX;
    else if (lu.test(ch)) table[c] = UPPER;
    else if (ll.test(ch)) table[c] = LOWER;
    else table[c] = letter.test(ch) || mark.test(ch) ? GIVE_UP : OTHER | PREFIX;
  }
  return table;
}

// Built on first use (some 30 ms each).
let casedClasses: Uint8Array | undefined;
let letterClasses: Uint8Array | undefined;

const APOSTROPHE = 39;
const SPACE_CHAR = 32;
const SLASH = 47;

/**
 * Pieces of a text the scanner left to the regex, past which (when they outnumber the ones it
 * split) a counter leaves the rest of the text to the regex at once: a regex call per piece is
 * slower than one for all of them, on text mostly of a script the scanner gives up on.
 */
export const REGEX_AFTER = 16;

/** Where the regex's match at `p` ends, or -1 when the scanner leaves it to the regex. */
export type PieceEnd = (text: string, p: number, n: number) => number;

/**
 * The scanner of the regex with this source, if known: gpt-tokenizer's o200k and cl100k splits,
 * and the `Split` pre-tokenizers of Llama 3 and Qwen 2/3 as Hugging Face's JavaScript port
 * compiles them.
 */
export function pieceScanner(source: string): PieceEnd | undefined {
  if (source === O200K_SOURCE) {
    const t = (casedClasses ??= classTable(true));
    return (text, p, n) => casedWordsEnd(t, text, p, n);
  }
  const maxDigits = source === QWEN2_SOURCE ? 1 : 3;
  const cl100k = source === CL100K_SOURCE;
  if (!cl100k && source !== LLAMA3_SOURCE && source !== QWEN2_SOURCE) return undefined;
  const t = (letterClasses ??= classTable(false));
  return (text, p, n) => letterWordsEnd(t, text, p, n, maxDigits, cl100k);
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

/** The class bits of the character at `i`, or -1 where the scanner gives up (0 past the end). */
function classAt(t: Uint8Array, text: string, i: number, n: number): number {
  if (i >= n) return 0;
  const k = t[text.charCodeAt(i)] as number;
  return k === GIVE_UP ? -1 : k;
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

/** The end of the run of characters of class `bits` from `i`, or -1 where it meets one the scanner gives up on. */
function runEnd(t: Uint8Array, text: string, i: number, n: number, bits: number): number {
  for (; i < n; i++) {
    const k = t[text.charCodeAt(i)] as number;
    if (k === GIVE_UP) return -1;
    if ((k & bits) === 0) return i;
  }
  return n;
}

/** `\p{N}{1,max}` at `p` (a digit). */
function digitsEnd(t: Uint8Array, text: string, p: number, n: number, max: number): number {
  const last = Math.min(n, p + max);
  for (let i = p + 1; i < last; i++) {
    const k = classAt(t, text, i, n);
    if (k < 0) return -1;
    if ((k & DIGIT) === 0) return i;
  }
  return last;
}

/** ` ?[^\s\p{L}\p{N}]+` then `[\r\n/]*` (o200k) or `[\r\n]*` (the others), the run starting at `q`. */
function punctuationEnd(t: Uint8Array, text: string, q: number, n: number, slash: boolean): number {
  let e = runEnd(t, text, q, n, OTHER);
  if (e < 0) return -1;
  for (; e < n; e++) {
    const c = text.charCodeAt(e);
    if (c !== 10 && c !== 13 && !(slash && c === SLASH)) break;
  }
  return e;
}

/**
 * The whitespace alternatives at `p` (a space): o200k, Llama 3 and Qwen `\s*[\r\n]+|\s+(?!\S)|\s+`,
 * cl100k `\s+$|\s*[\r\n]|\s+(?!\S)|\s`. Greedy `\s*` gives back to the last CR/LF of the run;
 * `(?!\S)` keeps the run but its last space, unless the run ends the text.
 */
function spaceEnd(t: Uint8Array, text: string, p: number, n: number, cl100k: boolean): number {
  const e = runEnd(t, text, p, n, SPACE);
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
 * contraction. The letters it decides are one case or the other, so no backtracking changes the match.
 */
function casedWordEnd(t: Uint8Array, text: string, q: number, n: number): number {
  const u = runEnd(t, text, q, n, UPPER);
  if (u < 0) return -1;
  const l = runEnd(t, text, u, n, LOWER);
  if (l < 0) return -1;
  return contractionEnd(text, l, n);
}

/** o200k's split. */
function casedWordsEnd(t: Uint8Array, text: string, p: number, n: number): number {
  const k = classAt(t, text, p, n);
  if (k < 0) return -1;
  if (k & LETTER) return casedWordEnd(t, text, p, n);
  if (k & DIGIT) return digitsEnd(t, text, p, n, 3);
  const next = classAt(t, text, p + 1, n);
  if (next < 0) return -1;
  // k & PREFIX: neither a letter, a digit nor CR/LF.
  if (next & LETTER && k & PREFIX) return casedWordEnd(t, text, p + 1, n);
  if (text.charCodeAt(p) === SPACE_CHAR && next & OTHER) return punctuationEnd(t, text, p + 1, n, true);
  if (k & OTHER) return punctuationEnd(t, text, p, n, true);
  return spaceEnd(t, text, p, n, false);
}

/**
 * The splits that take contractions first and words as letters of any case: cl100k, Llama 3 and
 * Qwen 2 (`'s|...|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,max}| ?[^\s\p{L}\p{N}]+[\r\n]*`, then
 * cl100k's whitespace alternatives or o200k's).
 */
function letterWordsEnd(t: Uint8Array, text: string, p: number, n: number, maxDigits: number, cl100k: boolean): number {
  const k = classAt(t, text, p, n);
  if (k < 0) return -1;
  if (text.charCodeAt(p) === APOSTROPHE) {
    const e = contractionEnd(text, p, n);
    if (e > p) return e;
  }
  if (k & LETTER) return runEnd(t, text, p, n, LETTER);
  if (k & DIGIT) return digitsEnd(t, text, p, n, maxDigits);
  const next = classAt(t, text, p + 1, n);
  if (next < 0) return -1;
  if (next & LETTER && k & PREFIX) return runEnd(t, text, p + 1, n, LETTER);
  if (text.charCodeAt(p) === SPACE_CHAR && next & OTHER) return punctuationEnd(t, text, p + 1, n, false);
  if (k & OTHER) return punctuationEnd(t, text, p, n, false);
  return spaceEnd(t, text, p, n, cl100k);
}

/**
 * A hash table of strings to numbers, looked up by a range of a text (no string is made). The
 * entries added before {@link PieceTable.seal} stay; the ones added after it can be dropped at
 * once with {@link PieceTable.reset}. Keys are held as UTF-16 code units in one buffer.
 */
export class PieceTable {
  readonly #slots: Int32Array;
  readonly #mask: number;
  readonly #hash: Int32Array;
  readonly #start: Int32Array;
  readonly #length: Int32Array;
  readonly #value: Int32Array;
  #units = new Uint16Array(1 << 16);
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
    const units = this.#units;
    for (let s = h & this.#mask; ; s = (s + 1) & this.#mask) {
      const slot = this.#slots[s] as number;
      if (slot === 0) return -1;
      const i = slot - 1;
      if (this.#hash[i] !== h || this.#length[i] !== len) continue;
      let at = this.#start[i] as number;
      let j = p;
      while (j < e && units[at] === text.charCodeAt(j)) {
        at++;
        j++;
      }
      if (j === e) return this.#value[i] as number;
    }
  }

  /** Adds `text[p, e)` (not in the table) with `value`; false when the table is full. */
  add(text: string, p: number, e: number, h: number, value: number): boolean {
    if (this.size >= this.capacity) return false;
    const len = e - p;
    if (this.#used + len > this.#units.length) {
      const grown = new Uint16Array(Math.max(this.#units.length * 2, this.#used + len));
      grown.set(this.#units);
      this.#units = grown;
    }
    const i = this.size++;
    this.#hash[i] = h;
    this.#start[i] = this.#used;
    this.#length[i] = len;
    this.#value[i] = value;
    for (let j = p; j < e; j++) this.#units[this.#used++] = text.charCodeAt(j);
    let s = h & this.#mask;
    while (this.#slots[s] !== 0) s = (s + 1) & this.#mask;
    this.#slots[s] = i + 1;
    return true;
  }

  /**
   * Adds `text[p, e)` (not in the table) with `value`, dropping the entries added since
   * {@link seal} first where the table is full: a cache that starts over.
   */
  keep(text: string, p: number, e: number, h: number, value: number): void {
    if (this.add(text, p, e, h, value)) return;
    this.reset();
    this.add(text, p, e, h, value);
  }

  /** Keeps the entries so far through every {@link reset}. */
  seal(): void {
    this.#sealed = { slots: this.#slots.slice(), size: this.size, used: this.#used };
  }

  /** Drops the entries added since {@link seal}. */
  reset(): void {
    const sealed = this.#sealed;
    if (sealed) this.#slots.set(sealed.slots);
    else this.#slots.fill(0);
    this.size = sealed?.size ?? 0;
    this.#used = sealed?.used ?? 0;
  }
}
