/**
 * Memory of a loaded Hugging Face tokenizer: the JavaScript port keeps what it was built from. A
 * BPE model holds `tokenizer.json`'s vocabulary object and merge strings (as its `config`, and the
 * tokenizer as `tokenizer`), and its merges split into pairs, next to the tables built from them
 * that encoding and decoding read (`bpe_ranks`, `tokens_to_ids`, `vocab`). On Llama 3 the three it
 * no longer reads are 44 of the 84 MB a loaded tokenizer holds, in every thread that loads one.
 * They are let go here. Given the model's merges as a table of id pairs (./_bpe.ts, 8 MB), its
 * map of merges keyed by JSON strings goes too (31 MB): the model looks pairs up in the table
 * instead. Each change is kept only where encoding and decoding the self-check text afterwards
 * give what they gave before.
 */
import type { MergeTable } from './_bpe.js';

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

  if (table && typeof model.add_node === 'function' && model.tokens_to_ids instanceof Map) {
    const ids = model.tokens_to_ids;
    const ranks = model.bpe_ranks;
    // The port's own step, with the pair looked up by ids instead of as a JSON string.
    model.add_node = (queue, node) => {
      const slot = table.find(ids.get(node.token) ?? -1, ids.get(node.next.token) ?? -1);
      if (slot >= 0) {
        node.score = (table.rank[slot] as number) + node.bias;
        queue.push(node);
      }
    };
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
