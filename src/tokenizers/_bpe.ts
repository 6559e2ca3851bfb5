/**
 * Byte-pair merges for counting, on token ids. The JavaScript port merges a piece as a linked list
 * of objects in a priority queue, and looks up every candidate pair as a JSON string
 * (`JSON.stringify([left, right])`) in a map of all merges: on a piece seen the first time that
 * is most of the time of counting it, and on a model whose pieces are whole sections (Gemma 3's
 * SentencePiece-style BPE) most of the time of counting a chat. Here the merges are one hash table
 * of id pairs in typed arrays, and a piece is merged in reused typed arrays with a binary heap:
 * the same merges in the same order (the lowest rank first, then the leftmost, as the port's
 * scores `rank + position / length` order them), so the same tokens.
 */

import { PairHeap } from './_pair-heap.js';

/** The parts of the port's BPE model this reads. */
interface BpeModel {
  tokens_to_ids: Map<string, number>;
  merges: Array<[string, string] | string>;
  byte_fallback?: boolean;
  fuse_unk?: boolean;
  unk_token?: string | null;
  end_of_word_suffix?: unknown;
  continuing_subword_suffix?: unknown;
  config?: { dropout?: unknown };
}

/**
 * How many tokens the port's BPE model gives a piece (`model.encode([piece]).length`), computed on
 * ids, or `undefined` where the model is built otherwise than this handles: suffixes on words,
 * dropout, a merge whose parts or result are not in the vocabulary. Unknown tokens fused across
 * pieces (`fuse_unk`) are the caller's to decline, except where byte fallback covers every byte,
 * so that no piece ever gives an unknown token.
 *
 * @example
 * const count = bpeCounter(hf.model); // before the merge list is let go of (./_slim.ts)
 * count?.('ĠIocazu') // 3 on Llama 3: 'ĠI', 'oc', 'azu'
 */
export function bpeCounter(model: unknown, table: MergeTable | undefined = mergeTable(model)): ((piece: string) => number) | undefined {
  if (!table) return undefined;
  const m = model as BpeModel;
  const ids = m.tokens_to_ids;

  // A character outside the vocabulary never merges (every merge's parts are in it) and becomes
  // its UTF-8 bytes' tokens with byte fallback, else the unknown token, else nothing.
  const byteTokens = Array.from({ length: 256 }, (_, b) => ids.has(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`));
  const unknown = m.unk_token !== null && m.unk_token !== undefined ? 1 : 0;
  const outside = (codePoint: number): number => {
    if (m.byte_fallback !== true) return unknown;
    const bytes = utf8Bytes(codePoint);
    return bytes.every((b) => byteTokens[b]) ? bytes.length : unknown;
  };

  let sym = new Int32Array(64);
  let code = new Int32Array(64);
  let next = new Int32Array(64);
  let prev = new Int32Array(64);
  const heap = new PairHeap();

  const pushPair = (left: number): void => {
    const right = next[left] as number;
    if (right < 0) return;
    const slot = table.find(sym[left] as number, sym[right] as number);
    if (slot >= 0) heap.push(table.rank[slot] as number, left);
  };

  return (piece: string): number => {
    if (piece.length === 0) return 0;
    if (piece.length > sym.length) {
      const size = 2 ** Math.ceil(Math.log2(piece.length));
      sym = new Int32Array(size);
      code = new Int32Array(size);
      next = new Int32Array(size);
      prev = new Int32Array(size);
    }
    // The piece's characters (code points, as the port's `Array.from` gives them) as ids.
    let n = 0;
    for (let i = 0; i < piece.length; i++) {
      const c = piece.charCodeAt(i);
      const pair = c >= 0xd800 && c <= 0xdbff && i + 1 < piece.length && (piece.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
      const ch = pair ? piece.slice(i, i + 2) : piece[i] as string;
      sym[n] = ids.get(ch) ?? -1;
      code[n] = pair ? (piece.codePointAt(i) as number) : c;
      if (pair) i++;
      n++;
    }
    heap.clear();
    for (let i = 0; i < n; i++) {
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    for (let i = 0; i + 1 < n; i++) pushPair(i);
    while (heap.size > 0) {
      heap.pop();
      const left = heap.topPos;
      const right = next[left] as number;
      // An entry is stale where its pair has changed since (a merge took one side): the pair now
      // there has another rank, since each rank is one pair.
      if (right < 0 || sym[left] === -2) continue;
      const slot = table.find(sym[left] as number, sym[right] as number);
      if (slot < 0 || table.rank[slot] !== heap.topRank) continue;
      sym[left] = table.merged[slot] as number;
      sym[right] = -2;
      const after = next[right] as number;
      next[left] = after;
      if (after >= 0) prev[after] = left;
      const before = prev[left] as number;
      if (before >= 0) pushPair(before);
      pushPair(left);
    }
    let tokens = 0;
    for (let i = 0; i >= 0; i = next[i] as number) tokens += (sym[i] as number) >= 0 ? 1 : outside(code[i] as number);
    return tokens;
  };
}

/**
 * Whether no piece can give the unknown token: byte fallback with a token for every byte, and the
 * unknown token's own text (if any) an added token, so split off before a piece is merged. Fusing
 * unknown tokens across pieces (`fuse_unk`) then changes nothing, and counts add up piece by piece.
 *
 * @example
 * neverUnknown(gemma3.model, gemma3.added_tokens_map) // true
 */
export function neverUnknown(model: unknown, added: ReadonlyMap<string, unknown>): boolean {
  const m = model as Partial<BpeModel>;
  if (m.byte_fallback !== true || !(m.tokens_to_ids instanceof Map)) return false;
  const ids = m.tokens_to_ids;
  for (let b = 0; b < 256; b++) if (!ids.has(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)) return false;
  return m.unk_token === null || m.unk_token === undefined || added.has(m.unk_token);
}

/** A BPE model's merges by id pair: each pair's rank and the id of the token it makes. */
export interface MergeTable {
  rank: Int32Array;
  merged: Int32Array;
  /** The slot of the merge of `left` and `right` (ids), or -1. */
  find(left: number, right: number): number;
}

/**
 * The merges of a port's BPE model as an open-addressing table of id pairs (16 bytes a slot, at
 * most three quarters full: 8 MB for Llama 3's 280,147 merges), or `undefined` where the model is
 * not one `bpeCounter` handles: suffixes on words, dropout, a merge whose parts or result are not
 * in the vocabulary. Built from the model's merge list (before that is let go of), or from
 * `mergeList`, `tokenizer.json`'s own, where the model was built without it (./_slim.ts).
 *
 * @example
 * const table = mergeTable(hf.model);
 * table?.find(ids.get('Ġ')!, ids.get('t')!) // the slot of the merge 'Ġ t'
 */
export function mergeTable(model: unknown, mergeList: unknown = (model as Partial<BpeModel> | undefined)?.merges): MergeTable | undefined {
  const m = model as Partial<BpeModel>;
  // (An empty list: no merges, or a model built without them whose table is the caller's.)
  if (!(m.tokens_to_ids instanceof Map) || !Array.isArray(mergeList) || mergeList.length === 0) return undefined;
  if (m.end_of_word_suffix || m.continuing_subword_suffix || (m.config?.dropout !== undefined && m.config.dropout !== null)) return undefined;
  const ids = m.tokens_to_ids;
  const merges = mergeList as BpeModel['merges'];
  let size = 1024;
  while (size * 0.75 < merges.length) size *= 2;
  const mask = size - 1;
  const keyLeft = new Int32Array(size).fill(-1);
  const keyRight = new Int32Array(size);
  const rank = new Int32Array(size);
  const merged = new Int32Array(size);
  const slotOf = (left: number, right: number): number => {
    let slot = (Math.imul(left, 0x9e3779b1) ^ Math.imul(right, 0x85ebca77)) & mask;
    while (keyLeft[slot] !== -1 && (keyLeft[slot] !== left || keyRight[slot] !== right)) slot = (slot + 1) & mask;
    return slot;
  };
  for (let r = 0; r < merges.length; r++) {
    const merge = merges[r];
    const [a, b] = typeof merge === 'string' ? merge.split(' ', 2) : (merge as [string, string]);
    if (typeof a !== 'string' || typeof b !== 'string') return undefined;
    const left = ids.get(a);
    const right = ids.get(b);
    const both = ids.get(a + b);
    if (left === undefined || right === undefined || both === undefined) return undefined;
    // A pair listed twice keeps its last rank, as the port's map of merges does.
    const slot = slotOf(left, right);
    keyLeft[slot] = left;
    keyRight[slot] = right;
    rank[slot] = r;
    merged[slot] = both;
  }
  return {
    rank,
    merged,
    find(left, right) {
      if (left < 0 || right < 0) return -1;
      const slot = slotOf(left, right);
      return keyLeft[slot] === -1 ? -1 : slot;
    },
  };
}

// --- internal ---

/** The UTF-8 bytes of a code point; a lone surrogate as U+FFFD, as `TextEncoder` writes it. */
function utf8Bytes(cp: number): number[] {
  if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
  if (cp < 0x80) return [cp];
  if (cp < 0x800) return [0xc0 | (cp >> 6), 0x80 | (cp & 63)];
  if (cp < 0x10000) return [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63)];
  return [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63)];
}
