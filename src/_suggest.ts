/**
 * The name a misspelt one most likely meant, for "did you mean" hints: the candidate at the least
 * edit distance (insertions, deletions, substitutions and swaps of neighbours, case ignored), within
 * 1 for names up to 4 characters and 2 beyond (`maxToken` → `maxTokens`); between two as close,
 * the one as long as the name. Undefined when none is that close, or when two are alike so.
 *
 * @example
 * closest('max-token', ['max-tokens', 'min-tokens']) // 'max-tokens'
 */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  const target = name.toLowerCase();
  const limit = target.length <= 4 ? 1 : 2;
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  // Between two as close, a misspelling of the same length (one letter wrong) wins over a longer
  // or shorter name: `labelz` is `labels`, not `label`.
  let bestRank = 1;
  let tie = false;
  for (const candidate of candidates) {
    const d = distance(target, candidate.toLowerCase());
    const rank = candidate.length === name.length ? 0 : 1;
    if (d < bestDistance || (d === bestDistance && rank < bestRank)) {
      best = candidate;
      bestDistance = d;
      bestRank = rank;
      tie = false;
    } else if (d === bestDistance && rank === bestRank) tie = true;
  }
  return best !== undefined && bestDistance <= limit && !tie ? best : undefined;
}

/** Optimal string alignment distance (Damerau–Levenshtein without repeated edits of one part). */
function distance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return Number.POSITIVE_INFINITY;
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d = new Uint16Array(rows * cols);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min((d[(i - 1) * cols + j] as number) + 1, (d[i * cols + j - 1] as number) + 1, (d[(i - 1) * cols + j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, (d[(i - 2) * cols + j - 2] as number) + 1);
      d[i * cols + j] = v;
    }
  }
  return d[rows * cols - 1] as number;
}
