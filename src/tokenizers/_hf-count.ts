/**
 * Counting tokens with a Hugging Face tokenizer of the JavaScript port without building an
 * encoding. The port's `encode` walks the text for added tokens one character at a time through a
 * trie, flattens arrays of arrays after each pre-tokenizer, asks an LRU cache (which reorders
 * itself on every hit) for each piece, and builds ids, tokens and an attention mask: on Llama 3
 * that is most of the time of counting an example, the split regex a few per cent. Counting only
 * needs the pieces and how many tokens each gives: the same steps run here on the port's own parts
 * (its normalizer, each of its pre-tokenizers, and for a piece the count has not seen its BPE
 * merges on ids (./_bpe.ts) or, for another model, the model itself), with the added tokens found
 * by one native regex, and each piece's count kept in a plain map. Checked
 * against the port's own `encode` when the counter is made; where a tokenizer is built otherwise
 * than expected, or any count differs, there is no fast counter and the caller counts by encoding.
 */

import { pieceScanner, PieceTable, REGEX_AFTER } from './_pieces.js';
import { bpeCounter, mergeTable, neverUnknown, type MergeTable } from './_bpe.js';

/** The parts of the port's `Tokenizer` that counting reads. */
interface HfTokenizerParts {
  added_tokens: Array<{ content: string; normalized: boolean; lstrip: boolean; rstrip: boolean }>;
  added_tokens_map: Map<string, { lstrip: boolean; rstrip: boolean }>;
  normalizer: ((text: string) => string) | null;
  pre_tokenizer: PreTokenizer | null;
  model: {
    encode(tokens: string[]): string[];
    tokens_to_ids: Map<string, number>;
    ignore_merges?: boolean;
    fuse_unk?: boolean;
    unk_token_id?: number;
  };
  splitter_normalized: { split(text: string): string[] };
  remove_space?: unknown;
  do_lowercase_and_remove_accent?: unknown;
  encode(text: string, options: { add_special_tokens: boolean }): { ids: number[] };
}

interface PreTokenizer {
  pre_tokenize_text(text: string, options: object): Array<string | string[]>;
  /** A `Sequence` pre-tokenizer's steps. */
  tokenizers?: Array<PreTokenizer | null>;
}

// Pieces whose counts are kept, at most; the map starts over when full. Pieces longer than this
// many characters are counted each time (a run of spaces or digits a page long, say).
const COUNTED_PIECES = 50_000;
const LONGEST_KEPT_PIECE = 256;

// Text for the self-check: a rendered chat with special tokens, words, contractions, numbers,
// punctuation runs, spaces and newlines of every kind, other scripts, emoji, a lone surrogate.
const SELF_CHECK = [
  "Net income rose 12.5% to $3,402,117 in FY2024; the board's view isn't final.\n\n  Indented   text\t\ttabs\r\n",
  'Le débiteur doit 1 234,56 € — voir l’article 1103 du Code civil. 合同第5条规定，违约方应赔偿损失。',
  'Ärztliche Schweigepflicht §203 StGB; المريض يعاني من ارتفاع ضغط الدم 😀👍🏽 \uD800 \u00a0\u3000 end',
  'pneumonoultramicroscopicsilicovolcanoconiosis xqzvjkwpl ZZZZZZZZZZ 99999999999 ....!!!??? ' + 'ab'.repeat(200),
  ' leading space, trailing space ',
  '',
];

/**
 * A token counter over `tokenizer`'s own parts with the counts of its `encode` (no special
 * tokens added), or `undefined` when the tokenizer is not built as expected or the counter
 * disagrees with `encode` on the self-check texts (each alone, and between added tokens).
 * `merges` is the model's merge table (./_bpe.ts) where the caller has built it; else it is built
 * here, where the model is one it serves.
 *
 * @example
 * const count = fastHfCounter(hf) ?? ((text) => hf.encode(text, { add_special_tokens: false }).ids.length);
 */
export function fastHfCounter(tokenizer: unknown, merges?: MergeTable): ((text: string) => number) | undefined {
  const hf = tokenizer as Partial<HfTokenizerParts>;
  const model = hf.model;
  if (!Array.isArray(hf.added_tokens) || !(hf.added_tokens_map instanceof Map) || typeof hf.encode !== 'function') return undefined;
  if (!model || typeof model.encode !== 'function' || !(model.tokens_to_ids instanceof Map)) return undefined;
  // Options that act across pieces (fusing unknown tokens) or on the whole text are left to the port.
  if (hf.remove_space === true || hf.do_lowercase_and_remove_accent === true) return undefined;
  if (model.fuse_unk === true && !neverUnknown(model, hf.added_tokens_map)) return undefined;
  const normalizer = hf.normalizer ?? null;
  if (normalizer !== null && typeof normalizer !== 'function') return undefined;
  const pre = hf.pre_tokenizer ?? null;
  if (pre !== null && !isPreTokenizer(pre)) return undefined;
  // Its second splitter is not used (a regex below does its work), but a port without one is
  // built otherwise than this expects.
  const splitNormalized = hf.splitter_normalized;
  if (!splitNormalized || typeof splitNormalized.split !== 'function') return undefined;

  const addedMap = hf.added_tokens_map;
  // As the port's constructor sorts them: tokens matched before normalising, and after it.
  const unnormalized = hf.added_tokens.filter((t) => !(t.normalized && normalizer !== null)).map((t) => t.content);
  const anyNormalized = hf.added_tokens.some((t) => t.normalized && normalizer !== null);
  // The port's second splitter holds those tokens normalised, and walks every section through a
  // trie one character at a time (DeepSeek-V3 has 15 such tokens): one native regex instead.
  const normalizedRegex = anyNormalized ? alternation(hf.added_tokens.filter((t) => t.normalized).map((t) => (normalizer as (text: string) => string)(t.content))) : undefined;
  const addedRegex = alternation(unnormalized);
  const vocab = model.tokens_to_ids;
  const ignoreMerges = model.ignore_merges === true;
  const counted = new Map<string, number>();
  // A BPE model's merges on ids (./_bpe.ts), where the model is one it handles.
  const bpe = bpeCounter(model, merges ?? mergeTable(model));

  const countFresh = (piece: string): number => (ignoreMerges && vocab.has(piece) ? 1 : bpe ? bpe(piece) : model.encode([piece]).length);
  const countWhole = (piece: string): number => {
    if (ignoreMerges && vocab.has(piece)) return 1;
    let n = counted.get(piece);
    if (n === undefined) {
      n = countFresh(piece);
      keep(counted, piece, n);
    }
    return n;
  };
  // A SentencePiece-style BPE (Gemma 3) merges whole sections as one piece; where no merge can
  // join across a word's leading ▁, the piece is counted word by word (see `wordCuts`). Not with
  // `ignore_merges`: a word in the vocabulary is one token alone, but not inside a longer piece.
  const cutsAfter = bpe && !ignoreMerges ? wordCuts(vocab) : undefined;
  const countPiece =
    cutsAfter === undefined
      ? countWhole
      : (piece: string): number => {
          let start = 0;
          let n = 0;
          for (let i = piece.indexOf(META, 1); i !== -1; i = piece.indexOf(META, i + 1)) {
            const before = piece.charCodeAt(i - 1);
            if (before === META_CODE || cutsAfter.has(before)) continue;
            n += countWhole(piece.slice(start, i));
            start = i;
          }
          return start === 0 ? countWhole(piece) : n + countWhole(piece.slice(start));
        };

  // With `ignore_merges`, a piece that is a token is one token: its count need not be found.
  // A piece whose count the pre-tokenizer keeps itself is counted without keeping it here too.
  const countPieces = pre === null ? undefined : preTokenizer(pre, countPiece, cutsAfter === undefined ? countFresh : countPiece, ignoreMerges ? vocab : undefined);
  const countSection = (text: string, sectionIndex: number): number =>
    countPieces === undefined ? countPiece(text) : countPieces.count(text, { section_index: sectionIndex });

  // A section after the added-token split: normalised, split again at added tokens matched after
  // normalising, and its pieces counted.
  const countText = (section: string, sectionIndex: number): number => {
    if (normalizer !== null) section = normalizer(section);
    if (section.length === 0) return 0;
    // The second split (tokens matched after normalising); without such tokens the section is
    // its only part. Either way a part that spells an added token is that token.
    const subsections = anyNormalized ? splitAdded(section, normalizedRegex) : [section];
    trimAround(subsections, addedMap);
    let n = 0;
    for (const sub of subsections) {
      if (sub.length === 0) continue;
      n += addedMap.has(sub) ? 1 : countSection(sub, sectionIndex);
    }
    return n;
  };

  // The sections of the texts counted last and their counts, by place. A chat and its prompt are
  // rendered and counted one after the other, and the rows one template renders often share a
  // system prompt: a section found again at its place is not counted again. A section's count
  // depends only on its text and its place (a pre-tokenizer may treat the first one apart), so a
  // count from the memo is the one the steps would give. Entries past the last text's sections
  // are dropped, so the memo keeps no more than the last two texts alive.
  const memoText: string[] = [];
  const memoCount: number[] = [];

  const count = (text: string): number => {
    const sections = splitAdded(text, addedRegex);
    trimAround(sections, addedMap);
    let n = 0;
    for (let i = 0; i < sections.length; i++) {
      const section = sections[i] as string;
      if (section.length === 0) continue;
      if (addedMap.has(section)) {
        n++;
      } else if (memoText[i] === section) {
        n += memoCount[i] as number;
      } else {
        const c = countText(section, i);
        memoText[i] = section;
        memoCount[i] = c;
        n += c;
      }
    }
    if (memoText.length > sections.length) {
      memoText.length = sections.length;
      memoCount.length = sections.length;
    }
    return n;
  };

  const reference = (text: string): number => (hf as HfTokenizerParts).encode(text, { add_special_tokens: false }).ids.length;
  const added = hf.added_tokens.map((t) => t.content).slice(0, 8);
  const texts = [...SELF_CHECK, SELF_CHECK.join(added[0] ?? ''), added.join(' x '), added.map((a, i) => `${a}${SELF_CHECK[i % 4]}`).join('')];
  try {
    if (!texts.every((t) => count(t) === reference(t))) return undefined;
  } catch {
    return undefined;
  }
  counted.clear();
  countPieces?.clear();
  memoText.length = 0;
  memoCount.length = 0;
  return count;
}

// --- internal ---

function isPreTokenizer(x: unknown): x is PreTokenizer {
  return typeof (x as { pre_tokenize_text?: unknown }).pre_tokenize_text === 'function';
}

/**
 * The port's pre-tokenizer as one function that counts the pieces of a text (its `pre_tokenize`:
 * each step's `pre_tokenize_text`, flattened one level) with `countPiece`, a `Sequence` run step
 * by step without the port's `flat()` of every intermediate array, and a `Split` step by one
 * native `match`. A text of {@link STREAMED_CHARS} or more is run piece by piece through all the
 * steps instead, a `Split` step's matches counted as they are found, so no array of all its
 * pieces is made: a row of 15 million characters once held every piece twice over, 950 MB in a
 * worker. (Piece by piece is some 4% slower on ordinary rows, which keep the arrays.)
 *
 * `ByteLevel` steps at the end of a `Sequence` (Llama 3, Qwen 3, DeepSeek-V3: a `Split`, then
 * bytes mapped to characters) give each piece's pieces from that piece alone, so what a piece
 * entering them counts to is kept by the piece as it enters: a word seen before is neither mapped
 * to its byte characters again nor looked up twice.
 */
function preTokenizer(
  pre: PreTokenizer,
  countPiece: (piece: string) => number,
  countFresh: (piece: string) => number,
  oneToken?: ReadonlyMap<string, unknown>,
): { count: (text: string, options: object) => number; clear: () => void } {
  const steps = (Array.isArray(pre.tokenizers) ? pre.tokenizers : [pre]).filter((step): step is PreTokenizer => step !== null && step !== undefined).map(stepFunction);
  // Where the trailing ByteLevel steps start: pieces are counted by what enters them (none when
  // a ByteLevel step is the only one: its input is the whole section).
  let tail = steps.length;
  while (tail > 1 && steps[tail - 1]?.byteLevel === true) tail--;
  const entering = new Map<string, number>();
  const through = (text: string, k: number, options: object): number => {
    if (k === steps.length) return countPiece(text);
    if (k === tail) {
      let n = entering.get(text);
      if (n === undefined) {
        n = 0;
        for (const piece of stepsFrom([text], k, steps.length, options)) n += countPiece(piece);
        keep(entering, text, n);
      }
      return n;
    }
    const step = steps[k] as Step;
    if (step.each !== undefined && text.length >= STREAMED_CHARS) {
      const n = step.each(text, (piece) => through(piece, k + 1, options));
      if (n !== undefined) return n;
    }
    let n = 0;
    for (const item of step.all(text, options)) {
      if (typeof item === 'string') n += through(item, k + 1, options);
      else for (const piece of item) n += through(piece, k + 1, options);
    }
    return n;
  };
  const count = (text: string, options: object): number => {
    if (text.length >= STREAMED_CHARS) return through(text, 0, options);
    let n = 0;
    for (const piece of stepsFrom([text], 0, tail, options)) n += through(piece, tail, options);
    return n;
  };
  // What a piece the scanner found counts to through the steps after it (kept by the caller).
  const enter = (piece: string, options: object): number => {
    let n = 0;
    for (const p of stepsFrom([piece], 1, steps.length, options)) n += countFresh(p);
    return n;
  };
  const scanned =
    tail === 1
      ? scannedSplit(steps[0] as Step, count, enter, (piece, options) => through(piece, 1, options), oneToken && steps.length === 2 ? tokenTexts(steps[1] as Step, oneToken) : undefined)
      : undefined;
  // The pieces steps `from` to `to` (not included) make of `pieces`, one array a step.
  const stepsFrom = (pieces: string[], from: number, to: number, options: object): string[] => {
    for (let k = from; k < to; k++) {
      const next: string[] = [];
      for (const piece of pieces) pushFlat(next, (steps[k] as Step).all(piece, options));
      pieces = next;
    }
    return pieces;
  };
  return {
    count: scanned?.count ?? count,
    clear: () => {
      entering.clear();
      scanned?.clear();
    },
  };
}

/**
 * Counting through a `Split` step whose regex has a scanner (./_pieces.ts: Llama 3, Qwen 2/3) and
 * the ByteLevel steps after it: pieces are found by the scanner and their counts kept in a table
 * looked up by their place in the text, so no string is made of a piece seen before; a piece the
 * scanner leaves to the regex is found by it and counted by `enterKept` (the steps after the
 * split, with their own map of pieces). `oneToken`: texts known to be one token, kept for good.
 * Most of the time of counting Llama 3 went to the split's `match` and the map of pieces. Text
 * mostly of a script the scanner leaves to the regex is left to `count` from there on, as is any
 * text the regex does not cover match to match: the split looks only ahead, so the rest of a text
 * splits as the whole does from there.
 */
function scannedSplit(
  split: Step,
  count: (text: string, options: object) => number,
  enter: (piece: string, options: object) => number,
  enterKept: (piece: string, options: object) => number,
  oneToken: string[] = [],
): { count: (text: string, options: object) => number; clear: () => void } | undefined {
  const scan = split.source === undefined ? undefined : pieceScanner(split.source);
  if (scan === undefined || split.source === undefined) return undefined;
  const regex = new RegExp(split.source, 'gu');
  // The pieces known to be one token stay; counts found after them start over when full.
  const kept = new PieceTable(oneToken.length + COUNTED_PIECES);
  for (const t of oneToken) kept.add(t, 0, t.length, PieceTable.hash(t, 0, t.length), 1);
  kept.seal();
  const scannedCount = (text: string, options: object): number => {
    const n = text.length;
    let tokens = 0;
    let p = 0;
    let scanned = 0;
    let matched = 0;
    while (p < n) {
      const e = scan(text, p, n);
      if (e < 0) {
        regex.lastIndex = p;
        const m = regex.exec(text);
        if ((++matched >= REGEX_AFTER && matched > scanned) || m === null || m.index !== p || m[0] === '') return tokens + count(text.slice(p), options);
        tokens += enterKept(m[0], options);
        p += m[0].length;
        continue;
      }
      scanned++;
      if (e - p > LONGEST_KEPT_PIECE) {
        tokens += enter(text.slice(p, e), options);
      } else {
        const h = PieceTable.hash(text, p, e);
        let t = kept.get(text, p, e, h);
        if (t < 0) {
          t = enter(text.slice(p, e), options);
          kept.keep(text, p, e, h, t);
        }
        tokens += t;
      }
      p = e;
    }
    return tokens;
  };
  return { count: scannedCount, clear: () => kept.reset() };
}

/**
 * The texts that `byteLevel` (a ByteLevel step that maps a piece whole, adding no space) maps to a
 * token of `vocab`, where the token's bytes are UTF-8 of the Basic Multilingual Plane (the pieces
 * the scanner finds): each such piece is one token where the model ignores merges for tokens.
 * Undefined where the step is not such a one.
 */
function tokenTexts(byteLevel: Step, vocab: ReadonlyMap<string, unknown>): string[] | undefined {
  const b = byteLevel.pre as { add_prefix_space?: unknown; use_regex?: unknown; byte_encoder?: Record<number, string> } | undefined;
  if (!byteLevel.byteLevel || b?.add_prefix_space !== false || b.use_regex !== false || typeof b.byte_encoder !== 'object') return undefined;
  const byteOf = new Int16Array(65536).fill(-1);
  for (let byte = 0; byte < 256; byte++) {
    const c = b.byte_encoder[byte];
    if (typeof c !== 'string' || c.length !== 1) return undefined;
    byteOf[c.charCodeAt(0)] = byte;
  }
  const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const out: string[] = [];
  const bytes = new Uint8Array(1024);
  for (const token of vocab.keys()) {
    if (token.length > bytes.length) continue;
    let n = 0;
    for (let i = 0; i < token.length; i++) {
      const byte = byteOf[token.charCodeAt(i)] as number;
      if (byte < 0) {
        n = -1;
        break;
      }
      bytes[n++] = byte;
    }
    if (n <= 0) continue;
    let text: string;
    try {
      text = utf8.decode(bytes.subarray(0, n));
    } catch {
      continue;
    }
    if (!/[\uD800-\uDFFF]/.test(text)) out.push(text);
  }
  return out;
}

/**
 * One pre-tokenizer step: `all` gives its pieces of a text (the port's own method, or for a
 * `Split` a faster one with its result); a `Split` also has `each`, which counts its pieces one
 * by one with `visit` and answers `undefined` where they do not cover the text (then `all`);
 * `byteLevel` marks the port's ByteLevel, whose pieces depend on the piece alone.
 */
interface Step {
  all: (text: string, options: object) => Array<string | string[]>;
  /** A `Split` step's regex source, where it keeps the text between matches as pieces. */
  source?: string;
  each?: (text: string, visit: (piece: string) => number) => number | undefined;
  byteLevel?: boolean;
  /** The port's pre-tokenizer the step runs. */
  pre?: PreTokenizer;
}

/** Texts this long have a `Split` step's matches counted one by one, not gathered first. */
export const STREAMED_CHARS = 64 * 1024;

/** One pre-tokenizer step as a {@link Step}. */
function stepFunction(step: PreTokenizer): Step {
  const own = (text: string, options: object) => step.pre_tokenize_text(text, options);
  const { config, pattern } = step as PreTokenizer & { config?: { type?: unknown; invert?: unknown; behavior?: unknown }; pattern?: unknown };
  // The port's ByteLevel reads only the piece (and its own settings), never the options.
  if (config?.type === 'ByteLevel') return { all: own, byteLevel: true, pre: step };
  // The port's Split: matches and the text between them, empty ones left out, unless it inverts
  // or removes (any other behaviour splits the same way there).
  if (config?.type !== 'Split' || config.invert === true || !(pattern instanceof RegExp) || !pattern.global) return { all: own };
  if (typeof config.behavior === 'string' && config.behavior.toLowerCase() === 'removed') return { all: own };
  const regex = new RegExp(pattern.source, pattern.flags);
  // The matches `match` finds, in its order: the same search from each last index, an empty
  // match stepping one character on (one code point with the `u` flag), as the standard says.
  const stepping = new RegExp(pattern.source, pattern.flags);
  const unicode = stepping.unicode || stepping.flags.includes('v');
  const all = (text: string): string[] => {
    const pieces = text.match(regex);
    // No match: the text is its only piece (DeepSeek-V3 splits off digits, then CJK runs, which
    // most pieces have none of).
    if (pieces === null) return text.length > 0 ? [text] : [];
    let length = 0;
    let empty = false;
    for (const piece of pieces) {
      length += piece.length;
      if (piece.length === 0) empty = true;
    }
    // Matches that cover the whole text leave nothing between them; otherwise the text between
    // them is a piece of its own, as the port's `regex_split` gives it.
    if (length !== text.length) return between(text);
    return empty ? pieces.filter((piece) => piece.length > 0) : pieces;
  };
  // The port's `regex_split`: the text before each match, and the match unless empty.
  const between = (text: string): string[] => {
    const out: string[] = [];
    let at = 0;
    stepping.lastIndex = 0;
    for (let m = stepping.exec(text); m !== null; m = stepping.exec(text)) {
      const piece = m[0];
      if (at < m.index) out.push(text.slice(at, m.index));
      if (piece.length > 0) out.push(piece);
      else stepping.lastIndex = nextIndex(text, stepping.lastIndex, unicode);
      at = m.index + piece.length;
    }
    if (at < text.length) out.push(text.slice(at));
    return out;
  };
  const each = (text: string, visit: (piece: string) => number): number | undefined => {
    let covered = 0;
    let n = 0;
    stepping.lastIndex = 0;
    for (let m = stepping.exec(text); m !== null; m = stepping.exec(text)) {
      const piece = m[0];
      if (piece.length === 0) {
        stepping.lastIndex = nextIndex(text, stepping.lastIndex, unicode);
        continue;
      }
      if (m.index !== covered) return undefined;
      covered += piece.length;
      n += visit(piece);
    }
    return covered === text.length ? n : undefined;
  };
  return { all, each, ...(pattern.flags === 'gu' ? { source: pattern.source } : {}) };
}

/** The index after `i` as the standard's AdvanceStringIndex gives it. */
function nextIndex(text: string, i: number, unicode: boolean): number {
  if (!unicode || i + 1 >= text.length) return i + 1;
  const c = text.charCodeAt(i);
  return c >= 0xd800 && c <= 0xdbff && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00 ? i + 2 : i + 1;
}

/**
 * Keeps a piece's count in `counts` (a copy of the piece, so no long text stays alive through it),
 * unless the piece is longer than {@link LONGEST_KEPT_PIECE}; the map starts over when full.
 */
function keep(counts: Map<string, number>, piece: string, n: number): void {
  if (piece.length > LONGEST_KEPT_PIECE) return;
  if (counts.size >= COUNTED_PIECES) counts.clear();
  counts.set(flatCopy(piece), n);
}

/** `out.push(...items.flat())` without the intermediate arrays. */
function pushFlat(out: string[], items: Array<string | string[]>): void {
  for (const item of items) {
    if (typeof item === 'string') out.push(item);
    else for (const x of item) out.push(x);
  }
}

/** SentencePiece's word mark, which stands for a space. */
const META = '\u2581';
const META_CODE = 0x2581;

/**
 * Where a SentencePiece-style BPE piece may be cut into words without changing its count: before
 * a ▁ that follows a character other than ▁, unless some token has that character just before a
 * ▁ inside it (Gemma 3 has one such token of 262,144, `>▁</`). No merge can then join across the
 * cut (its result would be such a token, and every merge's result is in the vocabulary), so the
 * merges on each side are those the whole piece gets, in the same order, and each word's count
 * is kept like any piece's. Answers the UTF-16 codes that must not come before a cut, or
 * `undefined` for a vocabulary without ▁ (byte-level BPE, say).
 */
export function wordCuts(vocab: Map<string, number>): Set<number> | undefined {
  if (!vocab.has(META)) return undefined;
  const spanning = new Set<number>();
  for (const token of vocab.keys()) {
    for (let i = token.indexOf(META, 1); i !== -1; i = token.indexOf(META, i + 1)) {
      const before = token.charCodeAt(i - 1);
      if (before !== META_CODE) spanning.add(before);
    }
  }
  return spanning;
}

/** A global regex matching any of `words`, longest first (the port's trie: the longest at the leftmost place). */
function alternation(words: string[]): RegExp | undefined {
  const list = [...new Set(words.filter((w) => w.length > 0))].sort((a, b) => b.length - a.length);
  if (list.length === 0) return undefined;
  return new RegExp(list.map((w) => w.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')).join('|'), 'g');
}

/** The text cut at each added token, the tokens kept as sections of their own (the port's `DictionarySplitter.split`). */
function splitAdded(text: string, regex: RegExp | undefined): string[] {
  if (regex === undefined) return [text];
  const out: string[] = [];
  let start = 0;
  regex.lastIndex = 0;
  for (let m = regex.exec(text); m !== null; m = regex.exec(text)) {
    if (m.index > start) out.push(text.slice(start, m.index));
    out.push(m[0]);
    start = m.index + m[0].length;
  }
  if (start < text.length) out.push(start === 0 ? text : text.slice(start));
  return out;
}

/** An added token's `lstrip` / `rstrip`: the spaces before or after it go, as the port does. */
function trimAround(sections: string[], added: Map<string, { lstrip: boolean; rstrip: boolean }>): void {
  for (let i = 0; i < sections.length; i++) {
    const token = added.get(sections[i] as string);
    if (!token) continue;
    if (token.lstrip && i > 0) sections[i - 1] = (sections[i - 1] as string).trimEnd();
    if (token.rstrip && i < sections.length - 1) sections[i + 1] = (sections[i + 1] as string).trimStart();
  }
}

/**
 * A copy of `s` that holds no larger string alive (a slice of a long text would keep all of it).
 * UTF-16 round trip: exact for any string, lone surrogates included.
 */
function flatCopy(s: string): string {
  return s.length < 13 ? s : Buffer.from(s, 'utf16le').toString('utf16le');
}
