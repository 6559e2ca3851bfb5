/**
 * `report/report.html`: one self-contained page (inline CSS and SVG, no script from the network)
 * that shows a person what a run did. A pure function of the report and a few samples the
 * pipeline collected; nothing here touches files.
 *
 * Every value from the data goes through the `html` tagged template, which escapes whatever it
 * interpolates unless it is already markup this module built. The page carries no timestamp, so a
 * rerun on the same inputs writes the same bytes.
 */
import type { PrepareReport, ResultTokens } from '../prepare.js';
import type { Rejection, SourceLocation } from '../types.js';
import type { HistogramBin } from './index.js';

/** One written example shown in full (the longest and shortest of the run). */
export interface HtmlExample {
  source: { file: string; line: number };
  split: 'train' | 'validation' | 'test';
  tokens: number;
  /** The record exactly as written to the split file (the target's schema). */
  record: Record<string, unknown>;
}

/** What {@link renderReportHtml} draws. */
export interface HtmlReportInput {
  report: PrepareReport;
  /** Up to a few longest and shortest written examples, longest first / shortest first. */
  examples: { longest: HtmlExample[]; shortest: HtmlExample[] } | null;
  /** Why `examples` is null (e.g. PII found but not redacted), shown in its place. */
  examplesNote?: string | undefined;
  /** The first rejected rows (as in `report/rejected.jsonl`) and how many there are in all. */
  rejected: { rows: Rejection[]; total: number };
}

/** Rejected rows listed in the page at most; the full list is `report/rejected.jsonl`. Keeps the page fast. */
export const HTML_REJECTED_SHOWN = 500;

/** Characters of one example shown at most (all its fields together), so a 100k-token example stays readable. */
export const HTML_EXAMPLE_CHARS = 20_000;

/**
 * The page as one HTML string: header and counts, row accounting, per-file table, token histograms
 * with the budget line, split tables, duplicates, PII, example chats, rejected rows, warnings.
 *
 * @example
 * await writeFile(join(outDir, 'report/report.html'), renderReportHtml({ report, examples, rejected: { rows, total } }));
 */
export function renderReportHtml(input: HtmlReportInput): string {
  const r = input.report;
  const sections: Array<[id: string, title: string, body: Html]> = [];
  if (r.warnings.length > 0) sections.push(['warnings', 'Warnings', warningsSection(r)]);
  sections.push(['rows', 'Rows', rowsSection(r)]);
  sections.push(['inputs', 'Input files', inputsSection(r)]);
  sections.push(['tokens', 'Token lengths', tokensSection(r)]);
  if (r.truncated.count > 0) sections.push(['truncated', 'Truncated', truncatedSection(r)]);
  if (r.cost) sections.push(['cost', 'Cost', costSection(r.cost)]);
  sections.push(['splits', 'Splits', splitsSection(r)]);
  sections.push(['duplicates', 'Duplicates', dedupSection(r)]);
  if (r.pii) sections.push(['pii', 'PII', piiSection(r.pii)]);
  sections.push(['examples', 'Examples', examplesSection(input)]);
  sections.push(['rejected', 'Rejected rows', rejectedSection(input)]);

  const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${r.tool.name} report: ${num(r.counts.input)} rows → ${num(r.counts.kept)} kept</title>
<style>${raw(CSS)}</style>
</head>
<body>
${header(r)}
<nav><ul>${sections.map(([id, title]) => html`<li><a href="#${id}">${title}</a></li>`)}</ul></nav>
<main>
${sections.map(([id, title, body]) => html`<section id="${id}" data-testid="section-${id}"><h2>${title}</h2>
${body}</section>
`)}</main>
<footer>${r.tool.name} ${r.tool.version}: the same facts as report/report.json; every rejected row is in report/rejected.jsonl.</footer>
<script>${raw(SCRIPT)}</script>
</body>
</html>
`;
  return page.s;
}

// --- internal ---

/** Markup built here: interpolated into `html` as is. Anything else is escaped. */
class Html {
  readonly s: string;
  constructor(s: string) {
    this.s = s;
  }
}

type Part = Html | string | number | boolean | null | undefined | Part[];

function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += part(values[i]) + (strings[i + 1] ?? '');
  return new Html(out);
}

function part(v: Part): string {
  if (v instanceof Html) return v.s;
  if (Array.isArray(v)) return v.map(part).join('');
  if (v === null || v === undefined || v === false || v === true) return '';
  return escapeHtml(String(v));
}

function raw(s: string): Html {
  return new Html(s);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** 12345.5 → "12,345.5", the same on every machine (no locale). */
function num(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const [int = '', frac] = String(n).split('.');
  return int.replace(/\B(?=(\d{3})+(?!\d))/g, ',') + (frac === undefined ? '' : `.${frac}`);
}

function pct(part: number, whole: number): string {
  if (whole <= 0) return '0%';
  const p = (part / whole) * 100;
  return `${p > 0 && p < 0.1 ? '<0.1' : p >= 10 || p === 0 ? Math.round(p) : p.toFixed(1)}%`;
}

function loc(s: SourceLocation | { file: string; line: number }): string {
  return `${s.file}:${s.line}`;
}

/** Fixed decimals for coordinates, so the bytes never depend on float noise. */
function px(n: number): string {
  return String(Math.round(n * 10) / 10);
}

function cut(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max)}… (${num(s.length - max)} more characters)`;
}

const SPLIT_COLORS: Record<string, string> = { train: '#2f6fdb', validation: '#8b5cf6', test: '#0d9488' };
const REASON_COLORS = ['#dc2626', '#ea580c', '#d97706', '#db2777', '#b91c1c', '#c2410c', '#a16207', '#be185d', '#9f1239', '#f43f5e'];

function shownSplits(r: PrepareReport): Array<'train' | 'validation' | 'test'> {
  const out: Array<'train' | 'validation' | 'test'> = ['train', 'validation'];
  if (r.counts.test > 0 || r.splits.fractions.test > 0) out.push('test');
  return out;
}

function reasonsByCount(byReason: Record<string, number>): Array<[string, number]> {
  return Object.entries(byReason)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function reasonColor(r: PrepareReport): (reason: string) => string {
  const order = reasonsByCount(r.counts.byReason).map(([k]) => k);
  return (reason) => {
    const i = order.indexOf(reason);
    return REASON_COLORS[(i < 0 ? order.length : i) % REASON_COLORS.length] as string;
  };
}

function stat(label: string, value: number, testid: string, sub?: string): Html {
  return html`<div class="stat" data-testid="${testid}" data-value="${value}"><div class="stat-value">${num(value)}</div><div class="stat-label">${label}${sub ? html` <span class="muted">${sub}</span>` : ''}</div></div>`;
}

function header(r: PrepareReport): Html {
  const c = r.counts;
  return html`<header>
<h1>${r.tool.name} report</h1>
<p class="meta" data-testid="meta"><span data-testid="tool-version">${r.tool.name} ${r.tool.version}</span> · target <b data-testid="target">${r.target}</b> · format <b>${r.format}</b> · tokenizer <b data-testid="tokenizer">${r.tokenizer}</b>${r.tokens.maxTokens !== null ? html` · maxTokens <b>${num(r.tokens.maxTokens)}</b>` : ''}</p>
<div class="stats">
${stat('input rows', c.input, 'count-input')}
${stat('kept', c.kept, 'count-kept', pct(c.kept, c.input))}
${stat('train', c.train, 'count-train')}
${stat('validation', c.validation, 'count-validation')}
${c.test > 0 || r.splits.fractions.test > 0 ? stat('test', c.test, 'count-test') : ''}
${stat('rejected', c.rejected, 'count-rejected', pct(c.rejected, c.input))}
${stat('tokens', r.tokens.total, 'count-tokens')}
</div>
</header>`;
}

function warningsSection(r: PrepareReport): Html {
  return html`<ul class="warnings" data-testid="warnings">${r.warnings.map((w) => html`<li>${w}</li>`)}</ul>`;
}

interface Segment {
  key: string;
  label: string;
  count: number;
  color: string;
}

/** Lays out nonzero segments across `width` with gaps; each visible segment is at least a few pixels wide. */
function layout(segments: Segment[], x0: number, width: number): Array<Segment & { x: number; w: number }> {
  const nz = segments.filter((s) => s.count > 0);
  const total = nz.reduce((n, s) => n + s.count, 0);
  const gap = 6;
  const minW = 4;
  const free = Math.max(0, width - gap * Math.max(0, nz.length - 1) - minW * nz.length);
  let x = x0;
  return nz.map((s) => {
    const w = minW + (total > 0 ? (free * s.count) / total : 0);
    const out = { ...s, x, w };
    x += w + gap;
    return out;
  });
}

function band(ax: number, aw: number, ay: number, bx: number, bw: number, by: number, color: string): Html {
  const m = (ay + by) / 2;
  const d = `M${px(ax)},${px(ay)} C${px(ax)},${px(m)} ${px(bx)},${px(m)} ${px(bx)},${px(by)} L${px(bx + bw)},${px(by)} C${px(bx + bw)},${px(m)} ${px(ax + aw)},${px(m)} ${px(ax + aw)},${px(ay)} Z`;
  return html`<path d="${d}" fill="${color}" opacity="0.22"/>`;
}

function bar(s: Segment & { x: number; w: number }, y: number, h: number, total: number): Html {
  const text = `${s.label} ${num(s.count)}`;
  const fits = s.w >= text.length * 7 + 10;
  // A bar too narrow for its label gets its count below it; the table under the chart names it.
  const label = fits
    ? html`<text x="${px(s.x + 6)}" y="${y + h / 2 + 4}" class="on-bar">${text}</text>`
    : html`<text x="${px(s.x + s.w / 2)}" y="${y + h + 13}" text-anchor="middle" class="under-bar">${num(s.count)}</text>`;
  return html`<g data-testid="flow-${s.key}"><title>${s.label}: ${num(s.count)} (${pct(s.count, total)})</title><rect x="${px(s.x)}" y="${y}" width="${px(s.w)}" height="${h}" rx="3" fill="${s.color}"/>${label}</g>`;
}

function rowsSection(r: PrepareReport): Html {
  const c = r.counts;
  const color = reasonColor(r);
  const W = 960;
  const H = 28;
  const [y0, y1, y2] = [8, 86, 164];
  const splits = shownSplits(r).map((s) => ({ key: s, label: s, count: c[s], color: SPLIT_COLORS[s] as string }));
  const reasons = reasonsByCount(c.byReason).map(([k, n]) => ({ key: `reason-${k}`, label: k, count: n, color: color(k) }));
  const top = layout([{ key: 'input', label: 'input', count: c.input, color: '#475569' }], 0, W);
  const mid = layout(
    [
      { key: 'kept', label: 'kept', count: c.kept, color: '#16a34a' },
      { key: 'rejected', label: 'rejected', count: c.rejected, color: '#991b1b' },
    ],
    0,
    W,
  );
  const low = layout([...splits, ...reasons], 0, W);
  const bands: Html[] = [];
  // Each parent bar is cut in proportion to its children, and each slice flows to its child bar.
  const input = top[0];
  if (input) {
    let ax = input.x;
    for (const m of mid) {
      const aw = (input.w * m.count) / Math.max(1, c.input);
      bands.push(band(ax, aw, y0 + H, m.x, m.w, y1, m.color));
      ax += aw;
    }
  }
  for (const m of mid) {
    const children = low.filter((l) => (m.key === 'kept' ? splits.some((s) => s.key === l.key) : reasons.some((s) => s.key === l.key)));
    let ax = m.x;
    for (const l of children) {
      const aw = (m.w * l.count) / Math.max(1, m.count);
      bands.push(band(ax, aw, y1 + H, l.x, l.w, y2, l.color));
      ax += aw;
    }
  }
  const svg = html`<svg class="flow" data-testid="flow" viewBox="0 0 ${W} ${y2 + H + 18}" role="img" aria-label="row accounting: ${num(c.input)} input rows, ${num(c.kept)} kept, ${num(c.rejected)} rejected">
${bands}
${top.map((s) => bar(s, y0, H, c.input))}
${mid.map((s) => bar(s, y1, H, c.input))}
${low.map((s) => bar(s, y2, H, c.input))}
</svg>`;
  const row = (key: string, label: Part, n: number, col: string, cls = '') =>
    html`<tr class="${cls}" data-testid="acct-${key}"><td><span class="swatch" style="background:${col}"></span>${label}</td><td class="n">${num(n)}</td><td class="n muted">${pct(n, c.input)}</td></tr>`;
  const table = html`<table class="acct"><tbody>
${row('input', 'input rows', c.input, '#475569', 'total')}
${row('kept', 'kept', c.kept, '#16a34a', 'total')}
${splits.map((s) => row(s.key, html`<span class="indent">${s.label}</span>`, s.count, s.color))}
${row('rejected', 'rejected', c.rejected, '#991b1b', 'total')}
${reasons.map((s) => row(s.key, html`<span class="indent">${s.label}</span>`, s.count, s.color))}
</tbody></table>`;
  return html`<div class="flow-wrap">${svg}</div>${table}`;
}

function miniBar(parts: Array<{ n: number; color: string; title: string }>, whole: number): Html {
  if (whole <= 0) return html`<div class="mini"></div>`;
  return html`<div class="mini">${parts.filter((p) => p.n > 0).map((p) => html`<span style="width:${px((p.n / whole) * 100)}%;background:${p.color}" title="${p.title}"></span>`)}</div>`;
}

function inputsSection(r: PrepareReport): Html {
  const color = reasonColor(r);
  return html`<table data-testid="inputs-table"><thead><tr><th>file</th><th>format</th><th>mapping</th><th class="n">rows</th><th class="n">kept</th><th class="n">rejected</th><th>reasons</th><th class="barcol"></th></tr></thead><tbody>
${r.inputs.map(
  (i) => html`<tr><td class="file">${i.file}</td><td>${i.format}</td><td>${i.mapping}</td><td class="n">${num(i.rows)}</td><td class="n">${num(i.kept)}</td><td class="n">${num(i.rejected)}</td><td>${reasonsByCount(i.byReason).map(
    ([k, n]) => html`<span class="chip" style="border-color:${color(k)}">${k} ${num(n)}</span> `,
  )}</td><td class="barcol">${miniBar(
    [{ n: i.kept, color: '#16a34a', title: `kept ${num(i.kept)}` }, ...reasonsByCount(i.byReason).map(([k, n]) => ({ n, color: color(k), title: `${k} ${num(n)}` }))],
    i.rows,
  )}</td></tr>
`,
)}</tbody></table>`;
}

function tokensSection(r: PrepareReport): Html {
  const t = r.tokens;
  const statRow = (name: string, s: ResultTokens) =>
    html`<tr data-testid="tokens-${name}"><td>${name}</td>${[s.total, s.min, s.mean, s.p50, s.p90, s.p99, s.max, s.trainable].map((v) => html`<td class="n">${num(v)}</td>`)}</tr>`;
  const splits = Object.entries(t.bySplit) as Array<[string, ResultTokens & { histogram?: HistogramBin[] | undefined }]>;
  const budget = html`<p data-testid="budget">${
    t.maxTokens !== null ? html`Budget: <b>maxTokens ${num(t.maxTokens)}</b> (the red line).` : 'No maxTokens budget was set.'
  }${t.minTokens !== null ? html` Floor: <b>minTokens ${num(t.minTokens)}</b> (the dashed line).` : ''}</p>`;
  let charts: Html[];
  if (splits.length === 0) {
    charts = [html`<p class="muted">No examples were written.</p>`];
  } else if (splits.every(([, s]) => s.histogram === undefined)) {
    charts = [histogram('all', 'all splits', t.histogram, t.maxTokens, t.minTokens)];
  } else {
    charts = splits.map(([name, s]) => {
      const fallback = s.histogram === undefined;
      return histogram(name, `${name}${fallback ? ' (all splits: no per-split histogram)' : ''}`, s.histogram ?? t.histogram, t.maxTokens, t.minTokens);
    });
  }
  return html`<table class="tokens"><thead><tr><th>split</th><th class="n">total</th><th class="n">min</th><th class="n">mean</th><th class="n">p50</th><th class="n">p90</th><th class="n">p99</th><th class="n">max</th><th class="n">trainable</th></tr></thead><tbody>
${statRow('all', t)}
${splits.map(([name, s]) => statRow(name, s))}
</tbody></table>
${budget}
<div class="charts">${charts}</div>`;
}

function tokenLabel(n: number): string {
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024}k`;
  return String(n);
}

/** The x of a token count on the log-2 axis where every bin is one slot (the first bin [0, 64) is drawn as [32, 64)). */
function xOf(bins: HistogramBin[], tokens: number, left: number, slot: number): number {
  let i = bins.length - 1;
  while (i > 0 && tokens < (bins[i] as HistogramBin).from) i--;
  const b = bins[i] as HistogramBin;
  const hi = b.to ?? b.from * 2;
  const lo = b.from > 0 ? b.from : hi / 2;
  const frac = tokens <= lo || hi <= lo ? 0 : Math.min(1, Math.log2(tokens / lo) / Math.log2(hi / lo));
  return left + (i + frac) * slot;
}

function histogram(name: string, title: string, bins: HistogramBin[], maxTokens: number | null, minTokens: number | null): Html {
  if (bins.length === 0) return html`<p class="muted" data-testid="histogram-${name}">${title}: no histogram.</p>`;
  const slot = 44;
  const left = 12;
  const top = 32;
  const plotH = 120;
  const W = left * 2 + slot * Math.max(1, bins.length);
  const H = top + plotH + 34;
  const peak = bins.reduce((m, b) => Math.max(m, b.count), 0);
  const total = bins.reduce((n, b) => n + b.count, 0);
  const base = top + plotH;
  const bars = bins.map((b, i) => {
    const h = peak > 0 ? (b.count / peak) * plotH : 0;
    const hh = b.count > 0 ? Math.max(2, h) : 0;
    const x = left + i * slot + 4;
    const range = b.to === null ? `≥ ${num(b.from)}` : `${num(b.from)}–${num(b.to - 1)}`;
    return html`<g><title>${range} tokens: ${num(b.count)}</title><rect class="bar" data-testid="hist-bar" data-count="${b.count}" x="${x}" y="${px(base - hh)}" width="${slot - 8}" height="${px(hh)}" fill="${SPLIT_COLORS[name] ?? '#475569'}"/>${
      b.count > 0 ? html`<text class="count" x="${x + (slot - 8) / 2}" y="${px(base - hh - 4)}" text-anchor="middle">${num(b.count)}</text>` : ''
    }</g>`;
  });
  const ticks = bins.map((b, i) => {
    const x = left + i * slot;
    return html`<line class="tick" x1="${x}" y1="${base}" x2="${x}" y2="${base + 4}"/><text class="tick-label" x="${x}" y="${base + 16}" text-anchor="middle">${tokenLabel(b.from)}</text>`;
  });
  const line = (value: number, cls: string, testid: string, label: string) => {
    const x = px(xOf(bins, value, left, slot));
    return html`<g data-testid="${testid}" data-tokens="${value}"><line class="${cls}" x1="${x}" y1="${top - 14}" x2="${x}" y2="${base}"/><text class="${cls}-label" x="${x}" y="${top - 18}" text-anchor="middle">${label}</text></g>`;
  };
  return html`<figure class="hist"><figcaption>${title} <span class="muted">(${num(total)} examples; tokens per example, log₂ axis)</span></figcaption>
<svg data-testid="histogram-${name}" viewBox="0 0 ${W} ${H}" width="${W}" role="img" aria-label="token length histogram, ${title}">
<line class="axis" x1="${left}" y1="${base}" x2="${W - left}" y2="${base}"/>
${ticks}
${bars}
${minTokens !== null ? line(minTokens, 'min-budget', 'min-budget-line', `min ${num(minTokens)}`) : ''}
${maxTokens !== null ? line(maxTokens, 'budget', 'budget-line', `max ${num(maxTokens)}`) : ''}
<text class="axis-label" x="${W / 2}" y="${H - 2}" text-anchor="middle">tokens</text>
</svg></figure>`;
}

function truncatedSection(r: PrepareReport): Html {
  const t = r.truncated;
  return html`<p><b data-testid="truncated-count">${num(t.count)}</b> examples were shortened to fit maxTokens${t.examples.length < t.count ? html` (the first ${num(t.examples.length)} listed)` : ''}.</p>
<table><thead><tr><th>source</th><th class="n">tokens before</th><th class="n">after</th><th class="n">turns dropped</th><th>answer cut</th></tr></thead><tbody>
${t.examples.map((e) => html`<tr><td class="file">${loc(e.source)}</td><td class="n">${num(e.tokensBefore)}</td><td class="n">${num(e.tokensAfter)}</td><td class="n">${num(e.droppedTurns)}</td><td>${e.cutAnswer ? 'yes' : 'no'}</td></tr>`)}
</tbody></table>`;
}

function costSection(c: NonNullable<PrepareReport['cost']>): Html {
  return html`<table class="kv" data-testid="cost"><tbody>
<tr><th>estimated</th><td><b data-testid="cost-estimated">${c.estimated.toFixed(2)}</b></td></tr>
<tr><th>billed tokens</th><td>${num(c.billedTokens)} = ${num(c.trainTokens)} train tokens × ${num(c.epochs)} epochs${c.epochsFrom === 'openai-default' ? " (OpenAI's default for this size)" : ''}</td></tr>
<tr><th>price</th><td>${num(c.perMillionTokens)} per million tokens</td></tr>
</tbody></table>`;
}

function splitTable(testid: string, head: string, rows: Array<[string, Record<string, number>]>, splits: string[], sizes: Record<string, number>): Html {
  return html`<table data-testid="${testid}"><thead><tr><th>${head}</th>${splits.map((s) => html`<th class="n">${s}</th><th class="barcol"></th>`)}</tr></thead><tbody>
${rows.map(
  ([name, per]) =>
    html`<tr><td>${name === '' ? html`<span class="muted">(none)</span>` : name}</td>${splits.map((s) => {
      const n = per[s] ?? 0;
      const whole = sizes[s] ?? 0;
      return html`<td class="n">${num(n)} <span class="muted">${pct(n, whole)}</span></td><td class="barcol">${miniBar([{ n, color: SPLIT_COLORS[s] ?? '#475569', title: `${s} ${num(n)}` }], whole)}</td>`;
    })}</tr>
`,
)}</tbody></table>`;
}

function splitsSection(r: PrepareReport): Html {
  const s = r.splits;
  const splits = shownSplits(r);
  const sizes: Record<string, number> = { ...s.sizes };
  const domains = [...new Set(splits.flatMap((k) => Object.keys(s.byDomain[k])))].sort();
  const byDomain = domains.map((d): [string, Record<string, number>] => [d, Object.fromEntries(splits.map((k) => [k, s.byDomain[k][d] ?? 0]))]);
  const kv = html`<table class="kv"><tbody>
<tr><th>strategy</th><td>${s.strategy}, seed ${s.seed}</td></tr>
<tr><th>fractions</th><td>validation ${s.fractions.validation}${s.fractions.test > 0 ? html`, test ${s.fractions.test}` : ''}</td></tr>
<tr><th>sizes</th><td data-testid="split-sizes">${splits.map((k, i) => html`${i > 0 ? ' · ' : ''}${k} <b>${num(s.sizes[k])}</b>`)}</td></tr>
<tr><th>units</th><td>${num(s.units)} <span class="muted">(groups, near-duplicate clusters kept together, single examples)</span></td></tr>
${s.stratifyBy !== null ? html`<tr><th>stratified by</th><td>${s.stratifyBy}${(s.keysFromPreset ?? []).includes('stratifyBy') ? ' (the preset\'s natural key)' : ''}</td></tr>` : ''}
${s.groupBy !== null ? html`<tr><th>grouped by</th><td>${s.groupBy}${(s.keysFromPreset ?? []).includes('groupBy') ? ' (the preset\'s natural key)' : ''}</td></tr>` : ''}
<tr><th>leakage check</th><td data-testid="leakage">${num(r.leakage.exact)} exact and ${r.leakage.near === null ? 'unchecked' : num(r.leakage.near)} near copies across splits, over ${num(r.leakage.rows)} rows</td></tr>
</tbody></table>`;
  return html`${kv}
<h3>By domain</h3>
${domains.length > 0 ? splitTable('by-domain', 'domain', byDomain, splits, sizes) : html`<p class="muted">No domains.</p>`}
${s.byStratum ? html`<h3>By stratum${s.stratifyBy !== null ? html` (${s.stratifyBy})` : ''}</h3>
${splitTable('by-stratum', 'stratum', Object.entries(s.byStratum), splits, sizes)}` : ''}`;
}

function dedupSection(r: PrepareReport): Html {
  const { exact, near } = r.dedup;
  const exactLine = exact
    ? html`<p>Exact duplicates (key <b>${exact.key}</b>, after NFKC, whitespace collapse and case folding): <b data-testid="exact-duplicates">${num(exact.duplicates)}</b> rejected.</p>`
    : html`<p class="muted">Exact dedup was off.</p>`;
  if (!near) return html`${exactLine}<p class="muted">Near-duplicate dedup was off.</p>`;
  const samples = near.samples.map(
    (p) => html`<div class="pair" data-testid="near-pair"><div class="pair-head">similarity <b>${p.similarity.toFixed(3)}</b></div><div class="pair-cols">
<div><div class="src">${loc(p.a.source)}</div><div class="text">${p.a.text}</div></div>
<div><div class="src">${loc(p.b.source)}</div><div class="text">${p.b.text}</div></div>
</div></div>`,
  );
  return html`${exactLine}
<p>Near duplicates (Jaccard ≥ ${near.threshold}, action <b>${near.action}</b>, keep <b>${near.keep}</b>): <b data-testid="near-pairs">${num(near.pairs)}</b> pairs in <b data-testid="near-clusters">${num(near.clusters)}</b> clusters (largest ${num(near.largestCluster)}), <b data-testid="near-removed">${num(near.removed)}</b> removed.</p>
${samples.length > 0 ? html`<h3>Sample pairs</h3>${samples}` : ''}`;
}

function piiSection(p: NonNullable<PrepareReport['pii']>): Html {
  const splits = ['train', 'validation', 'test'] as const;
  const verb = p.action === 'redact' ? 'redacted' : p.action === 'drop' ? 'examples with findings dropped' : 'reported, not changed';
  const all = [...new Set([...p.types, ...(Object.keys(p.found) as Array<(typeof p.types)[number]>)])];
  const types = all.filter((t) => (p.found[t] ?? 0) > 0);
  const none = all.filter((t) => (p.found[t] ?? 0) === 0);
  return html`<p>Action <b>${p.action}</b> (${verb}); <b data-testid="pii-examples">${num(p.examplesWithPii)}</b> examples with at least one finding.</p>
<table data-testid="pii-table"><thead><tr><th>type</th><th class="n">found (scanned)</th>${splits.map((s) => html`<th class="n">${s}</th>`)}</tr></thead><tbody>
${types.map((t) => html`<tr data-testid="pii-${t}"><td>${t}</td><td class="n">${num(p.found[t] ?? 0)}</td>${splits.map((s) => html`<td class="n">${num(p.bySplit[s][t] ?? 0)}</td>`)}</tr>
`)}</tbody></table>
${none.length > 0 ? html`<p class="muted" data-testid="pii-none">None found: ${none.join(', ')}.</p>` : ''}
${p.samples.length > 0
  ? html`<h3>Redacted samples</h3>${p.samples.map((s) => html`<div class="sample"><div class="src">${loc(s.source)}</div><div class="text">${s.text}</div></div>`)}`
  : html`<p class="muted">The report never repeats personal data: redacted samples appear with action redact only.</p>`}`;
}

function examplesSection(input: HtmlReportInput): Html {
  const ex = input.examples;
  if (!ex) return html`<p class="note" data-testid="examples-note">${input.examplesNote ?? 'Examples are not shown for this run.'}</p>`;
  const list = (kind: string, items: HtmlExample[]) =>
    items.length === 0 ? html`<p class="muted">None.</p>` : items.map((e) => exampleCard(kind, e));
  return html`<h3>Longest</h3>${list('longest', ex.longest)}
<h3>Shortest</h3>${list('shortest', ex.shortest)}`;
}

/** Characters left to show of one example; texts past it are cut with a note. */
class Budget {
  left: number;
  constructor(left: number) {
    this.left = left;
  }
}

function exampleCard(kind: string, e: HtmlExample): Html {
  const budget = new Budget(HTML_EXAMPLE_CHARS);
  return html`<article class="example" data-testid="example-${kind}" data-shape="${shapeOf(e.record)}"><div class="example-head"><span class="src">${loc(e.source)}</span> · <span class="split-badge" style="background:${SPLIT_COLORS[e.split] ?? '#475569'}">${e.split}</span> · <b>${num(e.tokens)}</b> tokens</div>
${renderRecord(e.record, budget)}</article>`;
}

function shapeOf(r: Record<string, unknown>): string {
  if (Array.isArray(r['messages'])) return 'messages';
  if (Array.isArray(r['conversations'])) return 'conversations';
  if ('prompt' in r || 'completion' in r) return 'prompt-completion';
  if ('instruction' in r || 'output' in r) return 'instruction';
  if (typeof r['text'] === 'string') return 'text';
  return 'other';
}

function renderRecord(r: Record<string, unknown>, budget: Budget): Html {
  const shape = shapeOf(r);
  const used = new Set<string>();
  const parts: Html[] = [];
  const take = (key: string) => {
    used.add(key);
    return r[key];
  };
  if (shape === 'messages') {
    parts.push(chat(take('messages') as unknown[], budget));
  } else if (shape === 'conversations') {
    if (typeof r['system'] === 'string') parts.push(bubble('system', 'system', take('system'), {}, budget));
    parts.push(chat(take('conversations') as unknown[], budget));
  } else if (shape === 'prompt-completion') {
    for (const key of ['prompt', 'completion']) {
      const v = take(key);
      if (Array.isArray(v)) parts.push(html`<div class="field-label">${key}</div>${chat(v, budget)}`);
      else if (v !== undefined) parts.push(bubble(key, key === 'prompt' ? 'user' : 'assistant', v, {}, budget));
    }
  } else if (shape === 'instruction') {
    if (typeof r['system'] === 'string') parts.push(bubble('system', 'system', take('system'), {}, budget));
    const history = r['history'];
    if (Array.isArray(history) && history.length > 0) {
      used.add('history');
      const turns = history.flatMap((h) => (Array.isArray(h) ? [{ role: 'user', content: h[0] }, { role: 'assistant', content: h[1] }] : [{ role: 'history', content: h }]));
      parts.push(html`<div class="field-label">history</div>${chat(turns, budget)}`);
    }
    for (const key of ['instruction', 'input', 'output']) {
      const v = take(key);
      if (v === undefined || (key === 'input' && v === '')) continue;
      parts.push(bubble(key, key === 'output' ? 'assistant' : 'user', v, {}, budget));
    }
  } else if (shape === 'text') {
    parts.push(block('text', take('text'), budget));
  }
  const rest = Object.keys(r).filter((k) => !used.has(k) && r[k] !== undefined);
  if (shape === 'instruction' && Array.isArray(r['history']) && r['history'].length === 0) rest.splice(rest.indexOf('history'), 1);
  for (const k of rest) parts.push(block(k, r[k], budget, true));
  return html`<div class="record">${parts}</div>`;
}

const ROLE_CLASS: Record<string, string> = {
  system: 'system',
  user: 'user',
  human: 'user',
  assistant: 'assistant',
  gpt: 'assistant',
  function_call: 'assistant',
  tool: 'tool',
  function: 'tool',
  observation: 'tool',
  ipython: 'tool',
};

function chat(messages: unknown[], budget: Budget): Html {
  const out: Html[] = [];
  for (const [i, m] of messages.entries()) {
    if (budget.left <= 0) {
      out.push(html`<p class="note">${num(messages.length - i)} more messages not shown (the page shows ${num(HTML_EXAMPLE_CHARS)} characters per example).</p>`);
      break;
    }
    if (m === null || typeof m !== 'object' || Array.isArray(m)) {
      out.push(block('message', m, budget));
      continue;
    }
    const msg = m as Record<string, unknown>;
    const role = typeof msg['role'] === 'string' ? msg['role'] : typeof msg['from'] === 'string' ? msg['from'] : 'message';
    const content = 'content' in msg ? msg['content'] : msg['value'];
    const extra: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(msg)) if (!['role', 'from', 'content', 'value'].includes(k) && v !== undefined) extra[k] = v;
    out.push(bubble(role, ROLE_CLASS[role] ?? 'other', content, extra, budget));
  }
  return html`<div class="chat">${out}</div>`;
}

function bubble(label: string, cls: string, content: unknown, extra: Record<string, unknown>, budget: Budget): Html {
  const badges = Object.entries(extra)
    .filter(([, v]) => v === null || typeof v !== 'object')
    .map(([k, v]) => html`<span class="badge">${k} ${String(v)}</span>`);
  const blocks = Object.entries(extra)
    .filter(([, v]) => v !== null && typeof v === 'object')
    .map(([k, v]) => block(k, v, budget, true));
  const empty = content === null || content === undefined || content === '';
  return html`<div class="msg msg-${cls}" data-role="${label}"><div class="role">${label}${badges}</div>${empty ? '' : text(contentText(content), budget)}${blocks}</div>`;
}

function contentText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.every((p) => p !== null && typeof p === 'object' && typeof (p as Record<string, unknown>)['text'] === 'string')) {
    return v.map((p) => (p as Record<string, string>)['text']).join('\n');
  }
  return JSON.stringify(v, null, 2) ?? String(v);
}

function block(label: string, v: unknown, budget: Budget, json = false): Html {
  const s = typeof v === 'string' && !json ? v : JSON.stringify(v, null, 2) ?? String(v);
  return html`<div class="block${json ? ' json' : ''}"><div class="field-label">${label}</div>${text(s, budget)}</div>`;
}

const COLLAPSE_CHARS = 800;
const COLLAPSE_LINES = 14;
const PREVIEW_CHARS = 240;

/** A text within the example's budget; long ones collapse behind a preview. */
function text(s: string, budget: Budget): Html {
  const room = Math.max(0, budget.left);
  const shown = s.length > room ? s.slice(0, room) : s;
  budget.left -= shown.length;
  const note = s.length > shown.length
    ? html`<div class="note" data-testid="cut-note">${num(s.length - shown.length)} more characters not shown (the page shows ${num(HTML_EXAMPLE_CHARS)} characters per example; the full record is in the split file).</div>`
    : '';
  let lines = 1;
  for (let i = shown.indexOf('\n'); i >= 0 && lines <= COLLAPSE_LINES; i = shown.indexOf('\n', i + 1)) lines++;
  if (shown.length <= COLLAPSE_CHARS && lines <= COLLAPSE_LINES) return html`<div class="text">${shown}</div>${note}`;
  return html`<details class="long"><summary><span class="text preview">${shown.slice(0, PREVIEW_CHARS)}…</span> <span class="more">show all ${num(s.length)} characters</span></summary><div class="text">${shown}</div></details>${note}`;
}

const MESSAGE_CHARS = 1000;
const RAW_CHARS = 400;

function rejectedSection(input: HtmlReportInput): Html {
  const { rows, total } = input.rejected;
  const color = reasonColor(input.report);
  const shown = rows.slice(0, HTML_REJECTED_SHOWN);
  const caption = html`<p data-testid="rejected-caption">Showing <b>${num(shown.length)}</b> of <b>${num(total)}</b>; the full list is in <code>report/rejected.jsonl</code>.</p>`;
  if (shown.length === 0) return caption;
  const reasons = reasonsByCount(input.report.counts.byReason);
  const filter = html`<p class="filter"><label>reason <select id="reason-filter" data-testid="reason-filter"><option value="">all (${num(total)})</option>${reasons.map(
    ([k, n]) => html`<option value="${k}">${k} (${num(n)})</option>`,
  )}</select></label> <span id="reason-shown" class="muted"></span></p>`;
  const rowHtml = (j: Rejection) => {
    const rawText = j.raw === undefined ? undefined : cut(typeof j.raw === 'string' ? j.raw : JSON.stringify(j.raw) ?? '', RAW_CHARS);
    return html`<tr data-reason="${j.reason}"><td class="file">${loc(j.source)}</td><td><span class="chip" style="border-color:${color(j.reason)}">${j.reason}</span></td><td>${cut(j.message, MESSAGE_CHARS)}${
      rawText !== undefined ? html`<details><summary>raw</summary><div class="text">${rawText}</div></details>` : ''
    }</td><td class="file">${j.duplicateOf ? loc(j.duplicateOf) : ''}${j.similarity !== undefined ? html` <span class="muted">(${j.similarity.toFixed(3)})</span>` : ''}</td></tr>
`;
  };
  return html`${caption}${filter}
<table id="rejected-table" data-testid="rejected-table"><thead><tr><th>source</th><th>reason</th><th>message</th><th>duplicate of</th></tr></thead><tbody>
${shown.map(rowHtml)}</tbody></table>`;
}

/** The reason filter of the rejected table; the only script, with no data in it. */
const SCRIPT = `(function(){var s=document.getElementById('reason-filter');if(!s)return;var out=document.getElementById('reason-shown');
s.addEventListener('change',function(){var v=s.value,n=0,rows=document.querySelectorAll('#rejected-table tbody tr');
for(var i=0;i<rows.length;i++){var hide=v!==''&&rows[i].getAttribute('data-reason')!==v;rows[i].hidden=hide;if(!hide)n++;}
out.textContent=v===''?'':n+' listed here';});})();`;

const CSS = `
:root{--fg:#1e293b;--muted:#64748b;--bg:#fff;--panel:#f8fafc;--line:#e2e8f0;--accent:#2f6fdb;color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--fg:#e2e8f0;--muted:#94a3b8;--bg:#0f172a;--panel:#1e293b;--line:#334155;--accent:#60a5fa}}
*{box-sizing:border-box}
body{margin:0;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header,main,nav,footer{max-width:1100px;margin:0 auto;padding:0 20px}
header{padding-top:20px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:18px;margin:28px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:15px;margin:18px 0 8px}
.meta{color:var(--muted);margin:0 0 12px}.meta b{color:var(--fg)}
.muted{color:var(--muted)}
.stats{display:flex;flex-wrap:wrap;gap:10px}
.stat{background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:8px 14px;min-width:110px}
.stat-value{font-size:20px;font-weight:600}.stat-label{color:var(--muted);font-size:12px}
nav ul{list-style:none;display:flex;flex-wrap:wrap;gap:4px 14px;padding:10px 0;margin:12px 0 0;border-bottom:1px solid var(--line)}
nav a{color:var(--accent);text-decoration:none}
table{border-collapse:collapse;width:100%;margin:8px 0}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-weight:600;font-size:12px;color:var(--muted)}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.file{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px;overflow-wrap:break-word;max-width:340px}
table.kv{width:auto}table.kv th{text-align:right;padding-right:14px}
table.acct{width:auto;min-width:320px}tr.total td{font-weight:600}.indent{padding-left:18px}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:8px}
.flow{width:100%;height:auto}svg .on-bar{fill:#fff;font-size:12px;font-weight:600}svg .under-bar{fill:var(--muted)}
.chip{display:inline-block;border:1px solid;border-radius:10px;padding:0 7px;font-size:12px;margin:1px 0;white-space:nowrap}
.barcol{width:120px}
.mini{display:flex;height:10px;width:110px;background:var(--line);border-radius:3px;overflow:hidden;margin-top:5px}.mini span{display:block;height:100%}
.charts{display:flex;flex-wrap:wrap;gap:16px}
figure.hist{margin:0;background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:8px;max-width:100%;overflow-x:auto}
figure.hist figcaption{font-weight:600;margin-bottom:4px}
svg text{fill:var(--fg);font:11px system-ui,sans-serif}
.axis,.tick{stroke:var(--muted)}.tick-label,.axis-label{fill:var(--muted)}
.budget{stroke:#dc2626;stroke-width:2}.budget-label{fill:#dc2626;font-weight:600}
.min-budget{stroke:#d97706;stroke-width:2;stroke-dasharray:4 3}.min-budget-label{fill:#d97706}
.pair{border:1px solid var(--line);border-radius:8px;margin:10px 0;overflow:hidden}
.pair-head{background:var(--panel);padding:4px 10px}
.pair-cols{display:grid;grid-template-columns:1fr 1fr}.pair-cols>div{padding:8px 10px}.pair-cols>div+div{border-left:1px solid var(--line)}
.src{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px;color:var(--muted)}
.text{white-space:pre-wrap;word-break:break-word}
.sample{border-left:3px solid var(--line);padding:2px 10px;margin:8px 0}
.example{border:1px solid var(--line);border-radius:10px;margin:12px 0;padding:10px 12px;background:var(--panel)}
.example-head{margin-bottom:8px}
.split-badge{color:#fff;border-radius:8px;padding:0 8px;font-size:12px}
.chat{display:flex;flex-direction:column;gap:8px}
.msg{max-width:85%;border-radius:12px;padding:6px 12px;border:1px solid var(--line);background:var(--bg)}
.msg .role{font-size:11px;font-weight:700;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
.msg-user{align-self:flex-end;background:#dbeafe;border-color:#bfdbfe;color:#1e293b}
.msg-assistant{align-self:flex-start;background:#dcfce7;border-color:#bbf7d0;color:#1e293b}
.msg-system{align-self:center;max-width:95%;background:#f1f5f9;border-style:dashed;color:#334155;font-size:13px}
.msg-tool{align-self:flex-start;background:#fef9c3;border-color:#fde68a;color:#1e293b;font-family:ui-monospace,monospace;font-size:12px}
.msg-user .role,.msg-assistant .role,.msg-system .role,.msg-tool .role{color:#475569}
.badge{font-weight:400;text-transform:none;border:1px solid currentColor;border-radius:6px;padding:0 5px;margin-left:6px}
.field-label{font-size:11px;font-weight:700;text-transform:uppercase;color:var(--muted);margin-top:6px}
.block.json .text{font-family:ui-monospace,monospace;font-size:12px}
details.long summary{cursor:pointer;list-style:none}details.long[open] summary .preview{display:none}
.more{color:var(--accent);font-size:12px;white-space:nowrap}
.note{color:var(--muted);font-style:italic}
.warnings li{color:#b45309}
.filter select{font:inherit}
footer{color:var(--muted);font-size:12px;padding:30px 20px}
`;
