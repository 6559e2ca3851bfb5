/**
 * Report pieces: token statistics, the length histogram, and the human summary the CLI prints.
 * Pure functions over numbers the pipeline collected; nothing here touches files.
 */

/** Token statistics of the examples written. */
export interface TokenStats {
  total: number;
  min: number;
  max: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
}

/** One histogram bin: examples with `from <= tokens < to` (`to` null = no upper bound). */
export interface HistogramBin {
  from: number;
  to: number | null;
  count: number;
}

/**
 * Statistics of a list of token counts (nearest-rank percentiles). All zero for an empty list.
 *
 * @example
 * tokenStats(Uint32Array.from([10, 20, 30])) // { total: 60, min: 10, max: 30, mean: 20, p50: 20, ... }
 */
export function tokenStats(counts: Uint32Array): TokenStats {
  const n = counts.length;
  if (n === 0) return { total: 0, min: 0, max: 0, mean: 0, p50: 0, p90: 0, p99: 0 };
  const sorted = Uint32Array.from(counts).sort();
  let total = 0;
  for (const c of sorted) total += c;
  const rank = (p: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))] as number;
  return {
    total,
    min: sorted[0] as number,
    max: sorted[n - 1] as number,
    mean: Math.round((total / n) * 10) / 10,
    p50: rank(50),
    p90: rank(90),
    p99: rank(99),
  };
}

/** Bin edges in tokens: powers of two from 64, where context budgets fall. */
export const HISTOGRAM_EDGES = [0, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072] as const;

/**
 * Counts per bin of {@link HISTOGRAM_EDGES}; the last bin is open-ended.
 *
 * @example
 * tokenHistogram(Uint32Array.from([10, 100])) // [{from:0,to:64,count:1},{from:64,to:128,count:1},...]
 */
export function tokenHistogram(counts: Uint32Array): HistogramBin[] {
  const bins: HistogramBin[] = HISTOGRAM_EDGES.map((from, i) => ({ from, to: HISTOGRAM_EDGES[i + 1] ?? null, count: 0 }));
  for (const c of counts) {
    let i = bins.length - 1;
    while (i > 0 && c < (bins[i] as HistogramBin).from) i--;
    (bins[i] as HistogramBin).count++;
  }
  return bins;
}

/** The facts the human summary needs (a subset of the prepare result). */
export interface SummaryInput {
  outDir: string;
  counts: { input: number; kept: number; train: number; validation: number; test: number; rejected: number; byReason: Record<string, number> };
  tokens: TokenStats & { trainable?: number };
  tokenizer: string;
  truncated?: number | undefined;
  near?: { pairs: number; clusters: number; removed: number } | undefined;
  pii?: { action: string; found: Partial<Record<string, number>> } | undefined;
  strata?: Record<string, { train: number; validation: number; test: number }> | undefined;
  cost?: { epochs: number; billedTokens: number; estimated: number; perMillionTokens: number } | undefined;
  files: { train: string; validation?: string | undefined; test?: string | undefined; rejected: string; report: string; reportHtml?: string | undefined };
  warnings: string[];
  elapsedMs?: number | undefined;
}

/**
 * The human summary of a run, as the CLI and the demo print it.
 *
 * @example
 * console.log(formatSummary(result));
 */
export function formatSummary(r: SummaryInput): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const lines: string[] = [];
  const time = r.elapsedMs === undefined ? '' : ` in ${(r.elapsedMs / 1000).toFixed(1)} s`;
  lines.push(`lora-prep: ${n(r.counts.input)} input rows → ${n(r.counts.kept)} kept, ${n(r.counts.rejected)} rejected${time}`);
  const splits = [`train ${n(r.counts.train)}`, `validation ${n(r.counts.validation)}`];
  if (r.counts.test > 0) splits.push(`test ${n(r.counts.test)}`);
  lines.push(`  splits:   ${splits.join(' · ')}`);
  if (r.strata) {
    for (const [name, s] of Object.entries(r.strata)) {
      lines.push(`    ${name}: train ${n(s.train)} · validation ${n(s.validation)}${r.counts.test > 0 ? ` · test ${n(s.test)}` : ''}`);
    }
  }
  const reasons = Object.entries(r.counts.byReason).sort((a, b) => b[1] - a[1]);
  if (reasons.length > 0) lines.push(`  rejected: ${reasons.map(([k, v]) => `${k} ${n(v)}`).join(' · ')}`);
  const t = r.tokens;
  if (r.counts.kept > 0) {
    lines.push(`  tokens (${r.tokenizer}): total ${n(t.total)} · mean ${n(t.mean)} · p50 ${n(t.p50)} · p90 ${n(t.p90)} · p99 ${n(t.p99)} · max ${n(t.max)}`);
    if (t.trainable !== undefined) lines.push(`  trainable (final answers): ${n(t.trainable)} tokens`);
  }
  if (r.near && r.near.clusters > 0) {
    lines.push(`  near-duplicates: ${n(r.near.clusters)} clusters, ${n(r.near.removed)} removed`);
  }
  if (r.pii) {
    const found = Object.entries(r.pii.found).filter(([, v]) => (v ?? 0) > 0);
    const verb = r.pii.action === 'redact' ? 'redacted' : r.pii.action === 'drop' ? 'examples dropped' : 'reported, not changed';
    lines.push(`  pii:      ${found.length === 0 ? 'none found' : `${found.map(([k, v]) => `${k} ${n(v ?? 0)}`).join(' · ')} (${verb})`}`);
  }
  if (r.truncated) lines.push(`  truncated: ${n(r.truncated)} examples shortened to fit maxTokens`);
  if (r.cost) {
    lines.push(`  cost:     about ${r.cost.estimated.toFixed(2)} (${n(r.cost.billedTokens)} tokens × ${r.cost.perMillionTokens}/M, ${r.cost.epochs} epochs)`);
  }
  for (const w of r.warnings) lines.push(`  warning:  ${w}`);
  lines.push(`  wrote:    ${r.outDir}`);
  lines.push(`  see:      ${r.files.reportHtml ? `${r.files.reportHtml} (open in a browser), ` : ''}${r.files.report} and ${r.files.rejected}`);
  return lines.join('\n');
}
