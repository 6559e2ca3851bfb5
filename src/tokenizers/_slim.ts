/**
 * Memory of a loaded Hugging Face tokenizer. The JavaScript port builds a BPE model by splitting
 * every merge of `tokenizer.json` into a pair and keying a map with each pair as a JSON string
 * (`bpe_ranks`), and keeps what it was built from: the file's vocabulary object and merge strings
 * (as the model's `config`, and the tokenizer's `tokenizer`). On Llama 3 that is 75 of the 84 MB a
 * loaded tokenizer holds, in every thread that loads one, and building it is a worker's peak.
 * `buildLean` has the port build the model without its merges, which then merges through a table
 * of id pairs (./_bpe.ts, 8 MB); `dropBuildTables` lets go of what the model no longer reads. Each
 * is used only where the port then encodes and decodes as it did before.
 */
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { mergeTable, type MergeTable } from './_bpe.js';

/** The parts of a port's BPE tokenizer this reads. */
interface BpeParts {
  model: {
    merges: unknown;
    bpe_ranks: unknown;
    tokens_to_ids: Map<string, number>;
    add_node?: (queue: { push(node: unknown): void }, node: MergeNode) => void;
    clear_cache?: () => void;
    config?: { vocab?: unknown; merges?: unknown };
  };
  tokenizer?: { model?: { vocab?: unknown; merges?: unknown } };
  encode(text: string, options: { add_special_tokens: boolean }): { ids: number[] };
  decode(ids: number[], options: { skip_special_tokens: boolean }): string;
}

/** A node of the port's merge queue: a token, the next one, and its score once queued. */
interface MergeNode {
  token: string;
  bias: number;
  score?: number;
  next: { token: string };
}

// Text for the self-check: words, numbers, punctuation, spacing, other scripts, emoji, and a
// word no vocabulary holds whole (merged piece by piece).
const SELF_CHECK = [
  "Net income rose 12.5% to $3,402,117 in FY2024; the board's view isn't final.\n\n  Indented\ttext",
  'Le débiteur doit 1 234,56 € — 合同第5条规定 المريض 😀👍🏽 pneumonoultramicroscopicsilicovolcanoconiosis xqzvjkwpl',
];

/**
 * Lets go of the merge list and vocabulary object a BPE tokenizer of the port was built from, and,
 * given its merges as `table`, of its map of merges, where it is built as expected and encodes and
 * decodes the self-check text as before. Returns whether it did.
 *
 * @example
 * const table = mergeTable(hf.model);
 * dropBuildTables(hf, table) // true for Llama 3: 75 MB less, 8 MB more
 */
export function dropBuildTables(tokenizer: unknown, table?: MergeTable): boolean {
  const hf = tokenizer as Partial<BpeParts>;
  const model = hf.model;
  if (!model || !(model.bpe_ranks instanceof Map) || !Array.isArray(model.merges)) return false;
  if (typeof hf.encode !== 'function' || typeof hf.decode !== 'function') return false;
  const encode = (text: string) => (hf as BpeParts).encode(text, { add_special_tokens: false }).ids;
  const decode = (ids: number[]) => (hf as BpeParts).decode(ids, { skip_special_tokens: false });
  const probe = () => {
    // The model keeps the merges of pieces it has seen: the probe must merge them again.
    model.clear_cache?.();
    return SELF_CHECK.map((text) => JSON.stringify([encode(text), decode(encode(text))]));
  };
  let before: string[];
  try {
    before = probe();
  } catch {
    return false;
  }
  const same = (): boolean => {
    try {
      return probe().every((p, i) => p === before[i]);
    } catch {
      return false;
    }
  };

  // The model's config and the tokenizer's model section are often the same object.
  const holders = [model.config, hf.tokenizer?.model].filter((x): x is { vocab?: unknown; merges?: unknown } => typeof x === 'object' && x !== null);
  const kept = { merges: model.merges, held: holders.map((h) => ({ h, vocab: h.vocab, merges: h.merges })) };
  model.merges = [];
  for (const h of holders) {
    delete h.vocab;
    delete h.merges;
  }
  if (!same()) {
    model.merges = kept.merges;
    for (const { h, vocab, merges } of kept.held) Object.assign(h, { vocab, merges });
    model.clear_cache?.();
    return false;
  }

  if (table && model.bpe_ranks.size > 0) {
    const ranks = model.bpe_ranks;
    if (!mergeBy(model, table)) return true;
    model.bpe_ranks = new Map();
    if (!same()) {
      delete model.add_node;
      model.bpe_ranks = ranks;
      // What the probe merged with the table must not be served from the model's cache.
      model.clear_cache?.();
    }
  }
  return true;
}

/**
 * Builds the port's tokenizer from a parsed `tokenizer.json` without its merges, where it is a BPE
 * model: the port is given an empty merge list, and the model merges pairs through a table of id
 * pairs built from the file's own list. The port would otherwise split every merge into a pair,
 * key a map with each pair as a JSON string, and hold both (59 MB on Llama 3) next to the parsed
 * file while it builds: a worker's peak while loading. Used only where the installed port merges
 * a small tokenizer built this way as it merges it built its own way; else, and for any model this
 * does not handle, the port builds it as usual (the table then comes from its own merge list).
 *
 * @example
 * const { tokenizer, table } = buildLean(JSON.parse(tokenizerJsonText), config);
 */
export function buildLean(json: object, config: object): { tokenizer: HfTokenizer; table: MergeTable | undefined } {
  const usual = () => {
    const tokenizer = new HfTokenizer(json, config);
    return { tokenizer, table: mergeTable((tokenizer as unknown as BpeParts).model) };
  };
  const model = (json as { model?: { type?: unknown; merges?: unknown } }).model;
  if (model?.type !== 'BPE' || !Array.isArray(model.merges) || model.merges.length === 0 || !leanBuildWorks()) return usual();
  const merges = model.merges as unknown[];
  model.merges = [];
  let tokenizer: HfTokenizer;
  try {
    tokenizer = new HfTokenizer(json, config);
  } catch {
    // A port that needs the merges to build: let it build as usual (and say what fails, if it does).
    model.merges = merges;
    return usual();
  }
  model.merges = merges;
  const parts = tokenizer as unknown as BpeParts;
  const table = mergeTable(parts.model, merges);
  if (!table || !mergeBy(parts.model, table)) return usual();
  return { tokenizer, table };
}

// --- internal ---

/**
 * Gives a port BPE model the merge step over `table`: its own `add_node`, with the pair looked up
 * by ids instead of as a JSON string in its map of merges. False where the model has no such step.
 */
function mergeBy(model: BpeParts['model'], table: MergeTable): boolean {
  if (typeof model.add_node !== 'function' || !(model.tokens_to_ids instanceof Map)) return false;
  const ids = model.tokens_to_ids;
  model.add_node = (queue, node) => {
    const slot = table.find(ids.get(node.token) ?? -1, ids.get(node.next.token) ?? -1);
    if (slot >= 0) {
      node.score = (table.rank[slot] as number) + node.bias;
      queue.push(node);
    }
  };
  return true;
}

let leanChecked: boolean | undefined;

/**
 * Whether the installed port merges a BPE tokenizer built by `buildLean` as it merges the same
 * tokenizer built its own way: a small one whose merges compete, on text that needs them, once.
 */
function leanBuildWorks(): boolean {
  if (leanChecked !== undefined) return leanChecked;
  const json = () => ({
    version: '1.0',
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: null,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: { a: 0, b: 1, c: 2, _: 3, ab: 4, bc: 5, abc: 6, _a: 7, _ab: 8, ca: 9 },
      merges: ['b c', 'a b', 'ab c', '_ a', '_a b', 'c a'],
    },
  });
  const texts = ['abc_abcab_cba', 'aabbcc__a', 'cabcab'];
  // The probe builds the lean way itself.
  leanChecked = true;
  try {
    const usual = new HfTokenizer(json(), {});
    const { tokenizer, table } = buildLean(json(), {});
    leanChecked = table !== undefined && texts.every((t) => JSON.stringify(tokenizer.encode(t, { add_special_tokens: false }).ids) === JSON.stringify(usual.encode(t, { add_special_tokens: false }).ids));
  } catch {
    leanChecked = false;
  }
  return leanChecked;
}
