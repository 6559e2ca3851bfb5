/**
 * Counting tokens over gpt-tokenizer's own tables without building the tokens. Its
 * `countTokens` walks the text with `matchAll` (a match object per piece), and keeps the merges
 * of pieces outside the vocabulary in an LRU cache that reorders itself on every hit; counting
 * only needs the pieces (one native `match` call) and, for a piece outside the vocabulary, how
 * many tokens its merges give. The counts are gpt-tokenizer's: the same split, the same ranks,
 * the same merge function, checked against its own `countTokens` when the counter is made.
 */

import { pieceScanner, PieceTable, REGEX_AFTER, type PieceEnd } from './_pieces.js';
import { PairHeap } from './_pair-heap.js';

/** The parts of gpt-tokenizer's byte-pair encoder that counting reads. */
interface BpeCore {
  tokenSplitRegex: RegExp;
  bytePairStringRankEncoder: Map<string, number>;
  bytePairMerge(piece: Uint8Array): unknown[];
  getBpeRankFromBytes(bytes: Uint8Array): number | undefined;
}

// Pieces longer than this many bytes are merged with a heap (see mergedCount): gpt-tokenizer's
// merge scans and splices arrays of the whole piece for every merge, quadratic in its length, so a
// run of 200,000 letters without a space (a DNA sequence, a base64 blob) took 18 s and a 6 MB one
// filled a worker's heap.
const HEAP_MERGE_BYTES = 256;

// Texts up to this many characters are split in one `match` call (an array of every piece);
// longer ones (a message may hold megabytes) one piece at a time, so the pieces of one text never
// fill a worker's heap.
const WHOLE_TEXT_CHARS = 1 << 16;

// Pieces outside the vocabulary whose token counts are kept, at most, for the pieces the scanner
// finds (a table) and for those the regex finds (a Map) apiece; each starts over when full. A key
// is a copy of the piece (a regex match can be a slice that keeps its whole message alive): some
// 3 MB per thread for the Map, about 2 MB for the table.
const MERGED_PIECES = 50_000;

// Text for the self-check: words, contractions, numbers, punctuation runs, spaces and newlines,
// letters of other scripts, emoji, a special token's text, and words outside the vocabulary.
const SELF_CHECK = [
  "Net income rose 12.5% to $3,402,117 in FY2024; the board's view isn't final.\n\n  Indented   text\t\ttabs",
  'Le débiteur doit 1 234,56 € — voir l’article 1103 du Code civil. 合同第5条规定，违约方应赔偿损失。',
  'Ärztliche Schweigepflicht §203 StGB; المريض يعاني من ارتفاع ضغط الدم 😀👍🏽 <|endoftext|> <|im_start|>',
  'pneumonoultramicroscopicsilicovolcanoconiosis xqzvjkwpl ZZZZZZZZZZ 99999999999 ....!!!???',
];

/**
 * A token counter over `api`'s tables with the counts of `reference` (the library's own count,
 * special-token text counted as plain text), or `undefined` when this gpt-tokenizer does not hold
 * its tables as expected or the counter disagrees with `reference` on the self-check text: the
 * caller then counts with `reference`.
 *
 * @example
 * const count = fastCounter(api, libraryCount) ?? libraryCount;
 */
export function fastCounter(api: unknown, reference: (text: string) => number): ((text: string) => number) | undefined {
  const core = (api as { bytePairEncodingCoreProcessor?: Partial<BpeCore> }).bytePairEncodingCoreProcessor;
  if (!core || !(core.tokenSplitRegex instanceof RegExp) || !core.tokenSplitRegex.global) return undefined;
  if (!(core.bytePairStringRankEncoder instanceof Map) || typeof core.bytePairMerge !== 'function') return undefined;
  // A copy, so that stepping through a long text never moves the library's own regex.
  const split = new RegExp(core.tokenSplitRegex.source, core.tokenSplitRegex.flags);
  const ranks = core.bytePairStringRankEncoder;
  const rankOf = (bytes: Uint8Array): number | undefined => (core as BpeCore).getBpeRankFromBytes(bytes);
  if (typeof core.getBpeRankFromBytes !== 'function') return undefined;
  const merge = (piece: Uint8Array): number => (piece.length > HEAP_MERGE_BYTES ? mergedCount(piece, rankOf) : (core as BpeCore).bytePairMerge(piece).length);
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const merged = new Map<string, number>();

  const countPiece = (piece: string): number => {
    if (ranks.has(piece)) return 1;
    let tokens = merged.get(piece);
    if (tokens === undefined) {
      const bytes = encoder.encode(piece);
      tokens = merge(bytes);
      // Long pieces are not kept: the cache counts entries, and 50,000 pieces of 100 KB are 5 GB.
      if (bytes.length > HEAP_MERGE_BYTES) return tokens;
      if (merged.size >= MERGED_PIECES) merged.clear();
      merged.set(decoder.decode(bytes), tokens);
    }
    return tokens;
  };

  const regexCount = (text: string): number => {
    let n = 0;
    if (text.length <= WHOLE_TEXT_CHARS) {
      for (const piece of text.match(split) ?? []) n += countPiece(piece);
      return n;
    }
    split.lastIndex = 0;
    for (let m = split.exec(text); m !== null; m = split.exec(text)) {
      if (m[0] === '') split.lastIndex++;
      else n += countPiece(m[0]);
    }
    return n;
  };

  const scan = pieceScanner(split.source);
  const count = scan ? scannedCounter(scan, vocabularyTable(ranks), split, countPiece, merge, regexCount) : regexCount;

  try {
    for (const text of SELF_CHECK) if (count(text) !== reference(text) || regexCount(text) !== reference(text)) return undefined;
  } catch {
    return undefined;
  }
  merged.clear();
  return count;
}

/** The vocabulary's tokens held as text (every one but a few byte runs) and their ranks. */
function vocabularyTable(ranks: Map<string, number>): PieceTable {
  const table = new PieceTable(ranks.size);
  for (const [key, rank] of ranks) table.add(key, 0, key.length, PieceTable.hash(key, 0, key.length), rank);
  return table;
}

/**
 * Counting that splits text by hand (`scan`) and looks its pieces up in `vocabulary` (the tokens
 * held as text, and their ranks), without making a string of a piece; where `scan` gives up, the
 * regex `split` takes the piece and `countPiece` counts it. A piece outside the vocabulary is
 * merged (an ASCII one over the same table, {@link asciiMergeCount}; another by `merge`, on its
 * bytes) and its count kept (up to {@link MERGED_PIECES}; then the kept counts start over).
 */
function scannedCounter(
  scan: PieceEnd,
  vocabulary: PieceTable,
  split: RegExp,
  countPiece: (piece: string) => number,
  merge: (piece: Uint8Array) => number,
  regexCount: (text: string) => number,
): (text: string) => number {
  const encoder = new TextEncoder();
  const merged = new PieceTable(MERGED_PIECES);
  return (text) => {
    const n = text.length;
    let tokens = 0;
    let p = 0;
    let scanned = 0;
    let matched = 0;
    while (p < n) {
      const e = scan(text, p, n);
      if (e < 0) {
        // Text mostly of a script the scanner leaves to the regex: the rest is split in one regex
        // call, as before (a regex call per piece is slower there). The regex looks only ahead,
        // so the rest of the text splits as the whole does from here.
        if (++matched >= REGEX_AFTER && matched > scanned) return tokens + regexCount(text.slice(p));
        split.lastIndex = p;
        const m = split.exec(text);
        if (m === null) break;
        const piece = m[0];
        if (piece === '') {
          p = m.index + 1;
          continue;
        }
        tokens += countPiece(piece);
        p = m.index + piece.length;
        continue;
      }
      scanned++;
      const h = PieceTable.hash(text, p, e);
      if (vocabulary.get(text, p, e, h) >= 0) {
        tokens++;
        p = e;
        continue;
      }
      let t = e - p > HEAP_MERGE_BYTES ? -1 : merged.get(text, p, e, h);
      if (t < 0) {
        // Not a token (every token held as text is in the vocabulary table): merged, as countPiece would.
        if (e - p <= HEAP_MERGE_BYTES && isAsciiRange(text, p, e)) {
          t = asciiMergeCount(text, p, e, vocabulary);
        } else {
          const bytes = encoder.encode(text.slice(p, e));
          t = merge(bytes);
          // Long pieces are not kept: the table counts entries, and 50,000 pieces of 100 KB are 5 GB.
          if (bytes.length > HEAP_MERGE_BYTES) {
            tokens += t;
            p = e;
            continue;
          }
        }
        merged.keep(text, p, e, h, t);
      }
      tokens += t;
      p = e;
    }
    return tokens;
  };
}

function isAsciiRange(text: string, p: number, e: number): boolean {
  for (let i = p; i < e; i++) if (text.charCodeAt(i) >= 128) return false;
  return true;
}

// Part boundaries and pair ranks of the piece being merged (at most HEAP_MERGE_BYTES long).
const mergeStarts = new Int32Array(HEAP_MERGE_BYTES + 1);
const mergeRanks = new Int32Array(HEAP_MERGE_BYTES + 1);
const NO_RANK = 0x7fffffff;

/**
 * How many tokens byte-pair merging leaves of the ASCII piece `text[p, e)` (at most
 * {@link HEAP_MERGE_BYTES} long), with `ranks` giving the rank of each ASCII token: tiktoken's
 * merge as gpt-tokenizer does it (the adjacent pair of lowest rank merged first, the leftmost of
 * equal ones), each pair looked up by its range of the text.
 *
 * @example
 * asciiMergeCount('xqzvjk', 0, 6, vocabulary) // as many tokens as gpt-tokenizer's merge gives
 */
export function asciiMergeCount(text: string, p: number, e: number, ranks: PieceTable): number {
  let parts = e - p;
  if (parts <= 1) return parts;
  const starts = mergeStarts;
  const pairRanks = mergeRanks;
  const pairRank = (i: number): number => {
    if (i + 2 > parts) return NO_RANK;
    const a = p + (starts[i] as number);
    const b = p + (starts[i + 2] as number);
    const rank = ranks.get(text, a, b, PieceTable.hash(text, a, b));
    return rank < 0 ? NO_RANK : rank;
  };
  for (let i = 0; i <= parts; i++) starts[i] = i;
  for (let i = 0; i < parts; i++) pairRanks[i] = pairRank(i);
  for (;;) {
    let best = -1;
    let bestRank = NO_RANK;
    for (let i = 0; i + 1 < parts; i++) {
      const rank = pairRanks[i] as number;
      if (rank < bestRank) {
        bestRank = rank;
        best = i;
      }
    }
    if (best < 0) return parts;
    // Parts best and best + 1 become one: boundary best + 1 goes.
    starts.copyWithin(best + 1, best + 2, parts + 1);
    pairRanks.copyWithin(best + 1, best + 2, parts);
    parts--;
    pairRanks[best] = pairRank(best);
    if (best > 0) pairRanks[best - 1] = pairRank(best - 1);
  }
}

/**
 * A counter of the encoding's tokens made from its ranks alone (`ranks[id]`: the token's text, or
 * its bytes), the way tiktoken counts: the text split by `split`, each piece a token when its bytes
 * are one, else merged byte pair by byte pair, the lowest rank first. Slower than gpt-tokenizer's
 * tables (its table is built once, on first use: about 0.4 s and 20 MB of heap), so it counts only
 * where those go wrong: text holding U+FEFF, whose byte runs gpt-tokenizer looks up through a
 * decoder that strips a byte-order mark (docs/tokens.md, "Known differences").
 *
 * @example
 * const exact = rankCounter(ranks, /'s|.../gu); exact('\ufeffusing System;') // as tiktoken counts it
 */
export function rankCounter(ranks: ReadonlyArray<string | readonly number[]>, split: RegExp): (text: string) => number {
  // Keys are the token's bytes as Latin-1 text (one character per byte).
  const rankOf = new Map<string, number>();
  for (const [id, token] of ranks.entries()) {
    if (token === undefined) continue;
    rankOf.set(typeof token === 'string' ? Buffer.from(token, 'utf8').toString('latin1') : Buffer.from(token).toString('latin1'), id);
  }
  const pattern = new RegExp(split.source, split.flags.includes('g') ? split.flags : `${split.flags}g`);
  const pieceTokens = (piece: string): number => {
    const bytes = Buffer.from(piece, 'utf8').toString('latin1');
    if (rankOf.has(bytes)) return 1;
    // tiktoken's byte_pair_merge: part boundaries, each with the rank of merging its part with the
    // next (Infinity: no such token), the lowest merged first; a merge looks up only the two pairs
    // it changes.
    const starts = Array.from({ length: bytes.length + 1 }, (_, i) => i);
    const pairRank = (i: number): number => (i + 2 < starts.length ? (rankOf.get(bytes.slice(starts[i], starts[i + 2])) ?? Infinity) : Infinity);
    const ranks = starts.map((_, i) => pairRank(i));
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < ranks.length; i++) {
        const rank = ranks[i] as number;
        if (rank < bestRank) [best, bestRank] = [i, rank];
      }
      if (best < 0) return starts.length - 1;
      starts.splice(best + 1, 1);
      ranks.splice(best + 1, 1);
      ranks[best] = pairRank(best);
      if (best > 0) ranks[best - 1] = pairRank(best - 1);
    }
  };
  return (text) => {
    let n = 0;
    pattern.lastIndex = 0;
    for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
      if (m[0] === '') pattern.lastIndex++;
      else n += pieceTokens(m[0]);
    }
    return n;
  };
}

/**
 * How many tokens byte-pair merging leaves of `piece`: tiktoken's merge (the pair of adjacent parts
 * with the lowest rank merged first, the leftmost of equal ones, until no pair is a token), with
 * the pairs in a heap keyed by (rank, position) (the one Hugging Face models merge with) and the
 * parts in a linked list, so a piece of n bytes takes O(n log n) instead of O(n²). `rankOf`: a byte sequence's rank, or undefined.
 *
 * @example
 * mergedCount(new TextEncoder().encode('ACGT'.repeat(50_000)), rankOf) // as gpt-tokenizer's merge counts it
 */
export function mergedCount(piece: Uint8Array, rankOf: (bytes: Uint8Array) => number | undefined): number {
  const n = piece.length;
  if (n <= 1) return n;
  // Parts are named by their first byte; next[i] is the following part's start (n: none), prev[i]
  // the previous one's (-1: none); rank[i] the rank of merging part i with the next (-1: none, or
  // part i was merged away). A popped entry whose rank is no longer its part's is stale: the pair
  // there has grown since, and each rank is one byte sequence.
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  const rank = new Int32Array(n);
  const heap = new PairHeap();
  const pushPair = (i: number): void => {
    const j = next[i] as number;
    rank[i] = j < n ? (rankOf(piece.subarray(i, next[j] as number)) ?? -1) : -1;
    if ((rank[i] as number) >= 0) heap.push(rank[i] as number, i);
  };
  for (let i = 0; i < n; i++) {
    next[i] = i + 1;
    prev[i] = i - 1;
  }
  for (let i = 0; i + 1 < n; i++) pushPair(i);
  let parts = n;
  while (heap.size > 0) {
    heap.pop();
    const i = heap.topPos;
    if (rank[i] !== heap.topRank) continue;
    // The next part joins part i.
    const j = next[i] as number;
    rank[j] = -1;
    next[i] = next[j] as number;
    if ((next[i] as number) < n) prev[next[i] as number] = i;
    parts--;
    pushPair(i);
    if ((prev[i] as number) >= 0) pushPair(prev[i] as number);
  }
  return parts;
}
