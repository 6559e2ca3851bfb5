/**
 * MinHash and LSH banding for near-duplicate detection on SFT records (a question and an answer of
 * tens to hundreds of words). The text of an example is its user and assistant contents (system
 * prompts are shared boilerplate, not content), normalised as for exact dedup and cut into word
 * n-grams; each shingle is a 32-bit hash. Banding only proposes candidates: every candidate pair is
 * verified by its actual Jaccard similarity on the shingle sets before it counts.
 */
import { compactJson } from '../formats/_tools.js';
import type { Message } from '../types.js';
import { hash64, normalizedContents, normalizeForDedup } from './index.js';

/** Near-duplicate detection parameters. */
export interface MinHashParams {
  /** Words per shingle. */
  shingle: number;
  /** MinHash permutations (signature length). */
  permutations: number;
  /** LSH bands; `permutations / bands` rows per band. */
  bands: number;
}

/**
 * Defaults, chosen on planted data (docs/dedup.md): word bigrams keep a record with a few words
 * edited above J = 0.8 while records that share only boilerplate stay far below it; 20 bands of 5
 * rows propose a pair at J = 0.8 with probability 0.9996 and at J = 0.3 with 0.05.
 */
export const DEFAULT_MINHASH: MinHashParams = { shingle: 2, permutations: 100, bands: 20 };

/**
 * The text compared for near-duplicates: user, assistant and tool contents and the assistant's
 * tool calls (name and compact arguments), normalised; with `nearUser` (see `Example.nearUser`),
 * that text in place of the user messages.
 *
 * @example
 * nearText([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'What is a Bond?' }]) // 'what is a bond?'
 */
export function nearText(messages: readonly Message[], normalized: readonly string[] = normalizedContents(messages), nearUser?: string): string {
  let text = '';
  let userDone = false;
  for (const [i, m] of messages.entries()) {
    if (m.role === 'system') continue;
    if (m.role === 'user' && nearUser !== undefined) {
      // The varying part of the user message stands for it (Example.nearUser), once.
      if (!userDone) text += `${normalizeForDedup(nearUser)}\n`;
      userDone = true;
      continue;
    }
    text += m.tool_calls?.length ? `${withCalls(normalized[i] as string, m)}\n` : `${normalized[i]}\n`;
  }
  return text;
}

/**
 * An assistant line with the calls it makes, each as one word: `toolcall` and 16 hex digits of a
 * hash of its name and compact arguments. A turn that only calls a tool is that call, not an empty
 * line; and as one word, a call is the same call or another one (its name and argument names,
 * as words, made two calls to one tool with different arguments look alike).
 */
function withCalls(line: string, m: Message): string {
  const calls = (m.tool_calls ?? []).map((c) => `toolcall${hash64(`${c.function.name}\u0000${compactJson(c.function.arguments) ?? c.function.arguments}`)}`);
  return line === '' ? calls.join(' ') : `${line} ${calls.join(' ')}`;
}

const CALL_WORDS = /\btoolcall[0-9a-f]{16}\b/g;

/**
 * The calls a {@link finalAnswer} makes (see {@link nearText}), sorted, as one string: '' for an
 * answer that calls nothing. Not part of the public API.
 *
 * @example
 * answerCalls('let me look. toolcall0123456789abcdef') // 'toolcall0123456789abcdef'
 */
export function answerCalls(answer: string): string {
  // Run for every row near-dedup adds: most answers call nothing, which includes() tells at once.
  if (!answer.includes('toolcall')) return '';
  return (answer.match(CALL_WORDS) ?? []).sort().join(' ');
}

/**
 * The final answer of a {@link nearText}: its last line (each message is one line there, as
 * normalising collapses line breaks, and the answer comes last). Not part of the public API.
 *
 * @example
 * finalAnswer('what is a bond?\na loan.\n') // 'a loan.'
 */
export function finalAnswer(text: string): string {
  const end = text.endsWith('\n') ? text.length - 1 : text.length;
  return text.slice(text.lastIndexOf('\n', end - 1) + 1, end);
}

/**
 * Sorted, distinct 32-bit hashes of the word n-grams of a normalised text. A text shorter than `n`
 * words gives one shingle of all its words. `into`: an array whose whole buffer may be written over
 * (an earlier result no longer needed), used when it is long enough.
 *
 * @example
 * shingles('a bond is a debt security', 2).length // 5
 */
export function shingles(text: string, n: number, into?: Uint32Array): Uint32Array {
  const wordHashes = wordHashesOf(text);
  const count = shingleCount(wordHashes.length, n);
  // Into the caller's array when it is long enough: the verification of near pairs shingles rows
  // by the hundred thousand, and a typed array each churned the allocator (docs/dedup.md).
  const out = into !== undefined && into.buffer.byteLength >= count * 4 ? new Uint32Array(into.buffer, 0, count) : new Uint32Array(count);
  return sortedShingles(wordHashes, n, out);
}

/** The shingles of `wordHashes` written to the start of `out` (long enough), sorted and distinct: a view of `out`. */
function sortedShingles(wordHashes: readonly number[], n: number, out: Uint32Array): Uint32Array {
  const count = shingleCount(wordHashes.length, n);
  for (let i = 0; i < count; i++) {
    let h = 0x811c9dc5;
    for (let j = i; j < Math.min(i + n, wordHashes.length); j++) h = mix(h ^ (wordHashes[j] as number));
    out[i] = h >>> 0;
  }
  const view = out.length === count ? out : out.subarray(0, count);
  view.sort();
  return dedupeSorted(view);
}

/** Shingles of `words` words, `n` words each: one of all the words when there are fewer than `n`. */
function shingleCount(words: number, n: number): number {
  return Math.max(1, words - n + 1);
}

// Shingles computed only to be signed go to this reused array: a typed array over 64 bytes is
// allocated outside V8's heap, and one per row churned the allocator (tens of MB of RSS).
let scratch = new Uint32Array(4096);

/**
 * The MinHash signature of a shingle set: for each permutation, the least value of a seeded
 * 32-bit mix of every shingle.
 *
 * @example
 * signature(shingles(text, 2), 100) // Uint32Array(100)
 */
export function signature(set: Uint32Array, permutations: number, out: Uint32Array = new Uint32Array(permutations)): Uint32Array {
  const sig = out;
  // Permutation-outer loop over a small typed array: the fastest form measured here.
  for (let p = 0; p < permutations; p++) {
    const a = PERM_A[p] as number;
    const b = PERM_B[p] as number;
    let min = 0xffffffff;
    for (let i = 0; i < set.length; i++) {
      // One multiply and an xor-shift per value: shingles are already well-mixed 32-bit hashes,
      // so this keeps the permutations independent enough at half the cost of a full mixer.
      let v = Math.imul((set[i] as number) ^ b, a);
      v = (v ^ (v >>> 15)) >>> 0;
      if (v < min) min = v;
    }
    sig[p] = min;
  }
  return sig;
}

/**
 * One 32-bit key per band of a signature. Rows that share any band key are candidates. Written to
 * `out` from `at` when given (a table of many rows' keys), else to a new array.
 *
 * @example
 * bandKeys(signature(set, 100), 20) // Uint32Array(20)
 */
export function bandKeys(sig: Uint32Array, bands: number, out: Uint32Array = new Uint32Array(bands), at = 0): Uint32Array {
  const rows = Math.floor(sig.length / bands);
  for (let band = 0; band < bands; band++) out[at + band] = bandKey(sig, 0, band, rows);
  return out;
}

/** The key of one band of the signature starting at `offset` in `sigs` (`rows` values a band). */
export function bandKey(sigs: Uint32Array, offset: number, band: number, rows: number): number {
  let h = 0x9e3779b9 ^ band;
  for (let r = 0; r < rows; r++) h = mix(h ^ (sigs[offset + band * rows + r] as number));
  return h >>> 0;
}

/**
 * The MinHash signature of an example, straight from its messages; written to `out` when given
 * (a slice of a batch's table).
 *
 * @example
 * nearSignature(example.messages) // Uint32Array(100)
 */
export function nearSignature(messages: readonly Message[], params: MinHashParams = DEFAULT_MINHASH, out?: Uint32Array, nearUser?: string): Uint32Array {
  return textSignature(nearText(messages, undefined, nearUser), params, out);
}

/**
 * The MinHash signature of a text already made by {@link nearText}.
 *
 * @example
 * textSignature(nearText(example.messages)) // the same as nearSignature(example.messages)
 */
export function textSignature(text: string, params: MinHashParams = DEFAULT_MINHASH, out?: Uint32Array): Uint32Array {
  const wordHashes = wordHashesOf(text);
  const count = shingleCount(wordHashes.length, params.shingle);
  if (scratch.length < count) scratch = new Uint32Array(Math.max(count, 2 * scratch.length));
  return signature(sortedShingles(wordHashes, params.shingle, scratch), params.permutations, out);
}

/**
 * The band keys of an example, straight from its messages.
 *
 * @example
 * nearKeys(example.messages) // Uint32Array(20)
 */
export function nearKeys(messages: readonly Message[], params: MinHashParams = DEFAULT_MINHASH): Uint32Array {
  return bandKeys(signature(shingles(nearText(messages), params.shingle), params.permutations), params.bands);
}

/**
 * Exact Jaccard similarity of two sorted distinct sets.
 *
 * @example
 * jaccard(Uint32Array.of(1, 2, 3), Uint32Array.of(2, 3, 4)) // 0.5
 */
export function jaccard(a: Uint32Array, b: Uint32Array): number {
  // At threshold 0 no pair stops early: the merge runs to the end.
  return jaccardAtLeast(a, b, 0);
}

/**
 * {@link jaccard} when it is at least `threshold`; otherwise some number below `threshold`, found
 * as soon as the sets differ in more elements than a pair at the threshold can. Pairs that only
 * come near the threshold (templated rows, by the million) mostly stop halfway through the merge.
 *
 * @example
 * jaccardAtLeast(Uint32Array.of(1, 2, 3), Uint32Array.of(2, 3, 4), 0.8) // < 0.8
 */
export function jaccardAtLeast(a: Uint32Array, b: Uint32Array, threshold: number): number {
  const na = a.length;
  const nb = b.length;
  if (na === 0 && nb === 0) return 1;
  // J ≥ t ⇔ both ≥ t(na + nb) / (1 + t); every element outside the intersection uses up one of
  // na + nb − 2·both. The bound is rounded down a little, so float error never stops a pair at t.
  const need = Math.ceil((threshold * (na + nb)) / (1 + threshold) - 1e-7);
  // The smaller set whole in the larger is the most there can be.
  if (Math.min(na, nb) < need) return Math.min(na, nb) / Math.max(na, nb);
  let spare = na + nb - 2 * need;
  let i = 0;
  let j = 0;
  let both = 0;
  while (i < na && j < nb) {
    const x = a[i] as number;
    const y = b[j] as number;
    if (x === y) {
      both++;
      i++;
      j++;
    } else {
      // Below the threshold already, and the similarity so far is lower still.
      if (--spare < 0) return both / (na + nb - both);
      if (x < y) i++;
      else j++;
    }
  }
  return both / (na + nb - both);
}

// --- internal ---

// ASCII letters and digits; other characters go through the Unicode test (rare in most data).
const ASCII_WORD = new Uint8Array(128);
for (let c = 0; c < 128; c++) ASCII_WORD[c] = /[A-Za-z0-9]/.test(String.fromCharCode(c)) ? 1 : 0;
const UNICODE_WORD = /[\p{L}\p{N}]/u;

/** FNV-1a hashes of the words (runs of letters and digits) of a text, in one pass without regex splits. */
function wordHashesOf(text: string): number[] {
  const out: number[] = [];
  let h = 0x811c9dc5;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    let word: boolean;
    if (c < 128) word = ASCII_WORD[c] === 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      // A surrogate pair: test the whole code point, hash both halves.
      word = UNICODE_WORD.test(text.slice(i, i + 2));
      if (word) {
        if (!inWord) h = 0x811c9dc5;
        h = Math.imul(Math.imul(h ^ c, 0x01000193) ^ text.charCodeAt(i + 1), 0x01000193);
        inWord = true;
        i++;
        continue;
      }
    } else word = UNICODE_WORD.test(text[i] as string);
    if (word) {
      if (!inWord) h = 0x811c9dc5;
      h = Math.imul(h ^ c, 0x01000193);
      inWord = true;
    } else if (inWord) {
      out.push(h >>> 0);
      inWord = false;
    }
  }
  if (inWord) out.push(h >>> 0);
  return out;
}

/** murmur3's 32-bit finaliser: a cheap, well-spread mix. */
function mix(x: number): number {
  let h = x;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function dedupeSorted(sorted: Uint32Array): Uint32Array {
  if (sorted.length < 2) return sorted;
  let w = 1;
  for (let r = 1; r < sorted.length; r++) if (sorted[r] !== sorted[w - 1]) sorted[w++] = sorted[r] as number;
  return sorted.subarray(0, w);
}

// Fixed permutation constants (odd multipliers), so signatures are the same on every run.
const MAX_PERMUTATIONS = 512;
const PERM_A = new Uint32Array(MAX_PERMUTATIONS);
const PERM_B = new Uint32Array(MAX_PERMUTATIONS);
{
  let s = 0x2545f491;
  for (let i = 0; i < MAX_PERMUTATIONS; i++) {
    s = mix(s + 0x9e3779b9) >>> 0;
    PERM_A[i] = (s | 1) >>> 0;
    s = mix(s + 0x9e3779b9) >>> 0;
    PERM_B[i] = s;
  }
}
