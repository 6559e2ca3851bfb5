import { describe, expect, it } from 'vitest';
import type { PrepareReport } from '../src/prepare.js';
import { HTML_EXAMPLE_CHARS, HTML_REJECTED_SHOWN, renderReportHtml, type HtmlExample, type HtmlReportInput } from '../src/report/html.js';
import { HISTOGRAM_EDGES, tokenHistogram, tokenStats } from '../src/report/index.js';
import type { Rejection } from '../src/types.js';

const HOSTILE = `<script>alert("x")</script> & "q" 'a' <img src=x onerror=alert(1)>`;

function tokens(list: number[]) {
  const counts = Uint32Array.from(list);
  return { ...tokenStats(counts), trainable: Math.floor(list.reduce((a, b) => a + b, 0) / 2), histogram: tokenHistogram(counts) };
}

function makeReport(over: Partial<PrepareReport> = {}): PrepareReport {
  const train = tokens([30, 70, 90, 100, 300, 5000]);
  const validation = tokens([40, 120]);
  const all = tokens([30, 70, 90, 100, 300, 5000, 40, 120]);
  return {
    tool: { name: 'lora-prep', version: '9.8.7' },
    target: 'openai',
    format: 'chat',
    tokenizer: 'o200k_base',
    counts: { input: 1234, kept: 1000, train: 900, validation: 80, test: 20, rejected: 234, byReason: { duplicate: 200, invalid_json: 30, [HOSTILE]: 4 } },
    inputs: [
      { file: 'data/a.csv', format: 'csv', mapping: 'qa', rows: 1000, kept: 800, rejected: 200, byReason: { duplicate: 200 } },
      { file: `data/${HOSTILE}.jsonl`, format: 'jsonl', mapping: 'messages', rows: 234, kept: 200, rejected: 34, byReason: { invalid_json: 30, [HOSTILE]: 4 } },
    ],
    tokens: { ...all, maxTokens: 4096, minTokens: 50, bySplit: { train, validation } },
    truncated: { count: 3, examples: [{ source: { file: HOSTILE, line: 7 }, tokensBefore: 5000, tokensAfter: 4096, droppedTurns: 1, cutAnswer: true }] },
    cost: { epochs: 3, epochsFrom: 'given', trainTokens: 10_000, billedTokens: 30_000, perMillionTokens: 25, estimated: 0.75 },
    dedup: {
      exact: { key: 'conversation', duplicates: 200 },
      near: {
        threshold: 0.8,
        action: 'remove',
        keep: 'first',
        pairs: 12,
        clusters: 5,
        largestCluster: 4,
        removed: 7,
        samples: [{ a: { source: { file: 'data/a.csv', line: 3 }, text: `first ${HOSTILE}` }, b: { source: { file: 'data/a.csv', line: 9 }, text: 'second text' }, similarity: 0.91234 }],
      },
    },
    leakage: { exact: 0, near: 0, rows: 1000 },
    pii: {
      action: 'redact',
      types: ['email', 'phone', 'iban'],
      found: { email: 5, phone: 2 },
      bySplit: { train: { email: 4 }, validation: { phone: 1 }, test: {} },
      examplesWithPii: 6,
      samples: [{ source: { file: 'data/a.csv', line: 5 }, text: `mail [EMAIL] ${HOSTILE}` }],
    },
    splits: {
      strategy: 'random',
      seed: 42,
      fractions: { validation: 0.08, test: 0.02 },
      sizes: { train: 900, validation: 80, test: 20 },
      byDomain: { train: { finance: 500, [HOSTILE]: 400 }, validation: { finance: 50, [HOSTILE]: 30 }, test: { finance: 20 } },
      stratifyBy: 'topic',
      groupBy: null,
      keysFromPreset: [],
      units: 990,
      byStratum: { tax: { train: 600, validation: 50, test: 10 }, [HOSTILE]: { train: 300, validation: 30, test: 10 } },
    },
    warnings: [`beware ${HOSTILE}`],
    ...over,
  };
}

const example = (record: Record<string, unknown>, line = 1, split: HtmlExample['split'] = 'train'): HtmlExample => ({ source: { file: 'data/a.csv', line }, split, tokens: 10 + line, record });

const SHAPES: Array<[string, Record<string, unknown>]> = [
  ['messages', { messages: [{ role: 'system', content: `sys ${HOSTILE}` }, { role: 'user', content: `hi ${HOSTILE}` }, { role: 'assistant', content: `hello ${HOSTILE}`, weight: 1 }] }],
  ['conversations', { conversations: [{ from: 'human', value: `q ${HOSTILE}` }, { from: 'gpt', value: `a ${HOSTILE}` }], system: `s ${HOSTILE}` }],
  ['prompt-completion', { prompt: `p ${HOSTILE}`, completion: `c ${HOSTILE}` }],
  ['prompt-completion', { prompt: [{ role: 'user', content: `pm ${HOSTILE}` }], completion: [{ role: 'assistant', content: `cm ${HOSTILE}` }] }],
  ['instruction', { instruction: `i ${HOSTILE}`, input: `in ${HOSTILE}`, output: `o ${HOSTILE}`, history: [[`hq ${HOSTILE}`, 'ha']] }],
  ['text', { text: `t ${HOSTILE}` }],
];

function rejections(n: number): Rejection[] {
  return Array.from({ length: n }, (_, i) => ({
    source: { file: i % 2 ? 'data/a.csv' : HOSTILE, line: i + 2 },
    reason: i % 3 ? 'duplicate' : 'invalid_json',
    message: `row ${i}: ${HOSTILE}`,
    ...(i % 3 ? { duplicateOf: { file: HOSTILE, line: 1 } } : { raw: { bad: HOSTILE } }),
  }));
}

function makeInput(over: Partial<HtmlReportInput> = {}): HtmlReportInput {
  return {
    report: makeReport(),
    examples: { longest: SHAPES.slice(0, 3).map(([, r], i) => example(r, i + 1)), shortest: SHAPES.slice(3).map(([, r], i) => example(r, i + 10, 'validation')) },
    rejected: { rows: rejections(10), total: 234 },
    ...over,
  };
}

/** The markup of the first element with this data-testid, up to `until` (a closing tag). */
function slice(html: string, testid: string, until: string): string {
  const at = html.indexOf(`data-testid="${testid}"`);
  if (at < 0) throw new Error(`no element ${testid}`);
  const start = html.lastIndexOf('<', at);
  return html.slice(start, html.indexOf(until, start));
}

function count(html: string, needle: string): number {
  return html.split(needle).length - 1;
}

/** The visible text: tags dropped, entities decoded. */
function textOf(html: string): string {
  return html
    .replace(/<script>[\s\S]*?<\/script>|<style>[\s\S]*?<\/style>/g, '')
    .replace(/<[^>]*>/g, '')
    .replace(/&#(\d+);/g, (_, c: string) => String.fromCharCode(Number(c)));
}

describe('renderReportHtml', () => {
  const input = makeInput();
  const html = renderReportHtml(input);

  it('is one self-contained document: no external resources, one inline script', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/\b(src|href)="(https?:)?\/\//);
    expect(html).not.toMatch(/@import|url\(/);
    expect(html).not.toContain('<link rel="stylesheet"');
    expect(count(html, '<script')).toBe(1);
    expect(count(html, '<style')).toBe(1);
  });

  it('escapes every string from the data', () => {
    expect(html).not.toContain(HOSTILE);
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img');
    // Values never hold a raw quote, so dropping quoted values leaves the tags and attribute names.
    expect(html.replace(/"[^"]*"/g, '""')).not.toMatch(/<[^>]*onerror/);
    // The hostile string shows, as text, in every place data goes.
    const escaped = '&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; &#34;q&#34; &#39;a&#39; &#60;img src=x onerror=alert(1)&#62;';
    expect(count(html, escaped)).toBeGreaterThanOrEqual(25);
    expect(textOf(html)).toContain(HOSTILE);
  });

  it('escapes the examples note', () => {
    const out = renderReportHtml(makeInput({ examples: null, examplesNote: HOSTILE }));
    expect(out).not.toContain(HOSTILE);
    expect(textOf(slice(out, 'examples-note', '</p>'))).toContain(HOSTILE);
  });

  it('shows the header: version, target, format, tokenizer and the counts of the report', () => {
    const r = input.report;
    expect(textOf(slice(html, 'tool-version', '</span>'))).toContain('lora-prep 9.8.7');
    expect(textOf(slice(html, 'target', '</b>'))).toContain('openai');
    expect(textOf(slice(html, 'tokenizer', '</b>'))).toContain('o200k_base');
    for (const key of ['input', 'kept', 'train', 'validation', 'test', 'rejected'] as const) {
      expect(html).toContain(`data-testid="count-${key}" data-value="${r.counts[key]}"`);
    }
    expect(textOf(slice(html, 'count-input', '</div></div>'))).toContain('1,234');
  });

  it('draws the row accounting with every split and reason and its number', () => {
    const flow = slice(html, 'flow', '</svg>');
    for (const key of ['input', 'kept', 'rejected', 'train', 'validation', 'test', 'reason-duplicate', 'reason-invalid_json']) {
      expect(flow).toContain(`data-testid="flow-${key}"`);
    }
    const acct = (key: string) => textOf(slice(html, `acct-${key}`, '</tr>'));
    expect(acct('input')).toContain('1,234');
    expect(acct('kept')).toContain('1,000');
    expect(acct('train')).toContain('900');
    expect(acct('rejected')).toContain('234');
    expect(acct('reason-duplicate')).toContain('200');
    expect(acct('reason-invalid_json')).toContain('30');
  });

  it('leaves out the test split when there is none', () => {
    const r = makeReport();
    const out = renderReportHtml(
      makeInput({ report: { ...r, counts: { ...r.counts, test: 0, train: 920 }, splits: { ...r.splits, fractions: { validation: 0.08, test: 0 } } } }),
    );
    expect(out).not.toContain('data-testid="count-test"');
    expect(out).not.toContain('data-testid="flow-test"');
  });

  it('lists every input file with its figures', () => {
    const table = slice(html, 'inputs-table', '</table>');
    expect(count(table, '<tr>')).toBe(1 + input.report.inputs.length);
    expect(textOf(table)).toContain('data/a.csv');
    expect(textOf(table)).toMatch(/1,000\s*800\s*200/);
  });

  it('draws one histogram per split, one bar per bin, on a log-2 axis with the budget line', () => {
    for (const split of ['train', 'validation']) {
      const svg = slice(html, `histogram-${split}`, '</svg>');
      expect(count(svg, 'data-testid="hist-bar"')).toBe(HISTOGRAM_EDGES.length);
      expect(count(svg, 'data-testid="budget-line"')).toBe(1);
      expect(count(svg, 'data-testid="min-budget-line"')).toBe(1);
      for (const label of ['64', '128', '1k', '4k', '128k']) expect(svg).toContain(`>${label}</text>`);
    }
    const train = slice(html, 'histogram-train', '</svg>');
    const counts = [...train.matchAll(/data-count="(\d+)"/g)].map((m) => Number(m[1]));
    expect(counts).toEqual(input.report.tokens.bySplit['train']?.histogram.map((b) => b.count));
    // The budget (4096) sits on the edge between the 2k and 4k bins: slot 7 of 44 px after a 12 px margin.
    expect(train).toMatch(/data-testid="budget-line" data-tokens="4096"><line class="budget" x1="320"/);
  });

  it('draws no budget line without maxTokens', () => {
    const r = makeReport();
    const out = renderReportHtml(makeInput({ report: { ...r, tokens: { ...r.tokens, maxTokens: null, minTokens: null } } }));
    expect(out).toContain('data-testid="histogram-train"');
    expect(out).not.toContain('data-testid="budget-line"');
    expect(out).not.toContain('data-testid="min-budget-line"');
    expect(textOf(slice(out, 'budget', '</p>'))).toContain('No maxTokens budget');
  });

  it('falls back to the overall histogram when the splits carry none', () => {
    const r = makeReport();
    const bySplit = Object.fromEntries(Object.entries(r.tokens.bySplit).map(([k, { histogram: _, ...s }]) => [k, s]));
    const out = renderReportHtml(makeInput({ report: { ...r, tokens: { ...r.tokens, bySplit } as unknown as PrepareReport['tokens'] } }));
    const svg = slice(out, 'histogram-all', '</svg>');
    expect(count(svg, 'data-testid="hist-bar"')).toBe(r.tokens.histogram.length);
    expect(out).not.toContain('data-testid="histogram-train"');
  });

  it('survives an empty histogram', () => {
    const r = makeReport();
    const train = { ...(r.tokens.bySplit['train'] as PrepareReport['tokens']['bySplit'][string]), histogram: [] };
    const out = renderReportHtml(makeInput({ report: { ...r, tokens: { ...r.tokens, bySplit: { train } } } }));
    expect(textOf(slice(out, 'histogram-train', '</p>'))).toBe('train: no histogram.');
  });

  it('shows split sizes per domain and per stratum', () => {
    const domains = textOf(slice(html, 'by-domain', '</table>'));
    expect(domains).toContain('finance');
    expect(domains).toMatch(/500\s*56%/);
    const strata = textOf(slice(html, 'by-stratum', '</table>'));
    expect(strata).toContain('tax');
    expect(strata).toMatch(/600\s*67%/);
  });

  it('shows duplicates: exact count and near pairs side by side', () => {
    expect(textOf(slice(html, 'exact-duplicates', '</b>'))).toContain('200');
    expect(textOf(slice(html, 'near-clusters', '</b>'))).toContain('5');
    const pair = textOf(slice(html, 'near-pair', '</div></div></div>'));
    expect(pair).toContain('0.912');
    expect(pair).toContain('data/a.csv:3');
    expect(pair).toContain('data/a.csv:9');
    expect(pair).toContain('second text');
  });

  it('shows PII per type and split only when the report has it', () => {
    const pii = textOf(slice(html, 'pii-email', '</tr>'));
    expect(pii.replace(/\s+/g, ' ')).toMatch(/email\s*5\s*4\s*0\s*0/);
    expect(html).toContain('mail [EMAIL]');
    expect(html).not.toContain('data-testid="pii-iban"');
    expect(textOf(slice(html, 'pii-none', '</p>'))).toBe('None found: iban.');
    const out = renderReportHtml(makeInput({ report: makeReport({ pii: null }) }));
    expect(out).not.toContain('data-testid="section-pii"');
  });

  it('shows warnings, truncation and cost when present, and not otherwise', () => {
    expect(html).toContain('data-testid="section-warnings"');
    expect(textOf(slice(html, 'truncated-count', '</b>'))).toBe('3');
    expect(textOf(slice(html, 'cost-estimated', '</b>'))).toBe('0.75');
    const out = renderReportHtml(makeInput({ report: makeReport({ warnings: [], truncated: { count: 0, examples: [] }, cost: null }) }));
    for (const id of ['warnings', 'truncated', 'cost']) expect(out).not.toContain(`data-testid="section-${id}"`);
  });

  it.each(SHAPES.map(([shape, record], i) => [shape, i, record] as const))('renders a %s record (#%i) as labelled bubbles', (shape, _i, record) => {
    const out = renderReportHtml(makeInput({ examples: { longest: [example(record)], shortest: [] } }));
    const card = slice(out, 'example-longest', '</article>');
    expect(card).toContain(`data-shape="${shape}"`);
    const text = textOf(card);
    expect(text).toContain('data/a.csv:1');
    for (const value of JSON.stringify(record).match(/"(\w+) <script>/g) ?? []) expect(text).toContain(`${value.slice(1, -9)} <script>`);
    if (shape === 'text') expect(card).toContain('<div class="field-label">text</div>');
    else expect(count(card, 'class="msg ')).toBeGreaterThanOrEqual(2);
  });

  it('maps roles to bubble sides', () => {
    const card = slice(html, 'example-longest', '</article>');
    expect(card).toContain('class="msg msg-system" data-role="system"');
    expect(card).toContain('class="msg msg-user" data-role="user"');
    expect(card).toContain('class="msg msg-assistant" data-role="assistant"');
    expect(card).toContain('<span class="badge">weight 1</span>');
  });

  it('shows the note in place of examples when there are none', () => {
    const out = renderReportHtml(makeInput({ examples: null, examplesNote: 'PII found and not redacted: examples are not shown.' }));
    expect(textOf(slice(out, 'examples-note', '</p>'))).toBe('PII found and not redacted: examples are not shown.');
    expect(out).not.toContain('data-testid="example-');
    expect(renderReportHtml(makeInput({ examples: null }))).toContain('data-testid="examples-note"');
  });

  it('caps long examples and collapses long texts', () => {
    const long = 'word '.repeat(30_000);
    const out = renderReportHtml(makeInput({ examples: { longest: [example({ messages: [{ role: 'user', content: long }, { role: 'assistant', content: long }, { role: 'user', content: 'x' }] })], shortest: [] } }));
    const card = slice(out, 'example-longest', '</article>');
    expect(card.length).toBeLessThan(HTML_EXAMPLE_CHARS * 1.2);
    expect(card).toContain('<details class="long">');
    expect(textOf(card)).toContain(`${(long.length - HTML_EXAMPLE_CHARS).toLocaleString('en-US')} more characters not shown`);
    expect(textOf(card)).toContain('2 more messages not shown');
  });

  it('lists the rejected rows with location, reason, message and duplicateOf', () => {
    const table = slice(html, 'rejected-table', '</table>');
    expect(count(table, '<tr data-reason=')).toBe(10);
    expect(table).toContain('<tr data-reason="invalid_json">');
    expect(textOf(table)).toContain('data/a.csv:3');
    expect(textOf(table)).toContain(`row 1: ${HOSTILE}`);
    expect(textOf(table)).toContain(`${HOSTILE}:1`);
    expect(textOf(slice(html, 'rejected-caption', '</p>'))).toBe('Showing 10 of 234; the full list is in report/rejected.jsonl.');
    const filter = slice(html, 'reason-filter', '</select>');
    expect(count(filter, '<option')).toBe(1 + Object.keys(input.report.counts.byReason).length);
  });

  it(`caps the rejected table at ${HTML_REJECTED_SHOWN} rows`, () => {
    const out = renderReportHtml(makeInput({ rejected: { rows: rejections(HTML_REJECTED_SHOWN + 100), total: 5000 } }));
    expect(count(slice(out, 'rejected-table', '</table>'), '<tr data-reason=')).toBe(HTML_REJECTED_SHOWN);
    expect(textOf(slice(out, 'rejected-caption', '</p>'))).toBe(`Showing ${HTML_REJECTED_SHOWN} of 5,000; the full list is in report/rejected.jsonl.`);
  });

  it('shows no table when nothing was rejected', () => {
    const out = renderReportHtml(makeInput({ rejected: { rows: [], total: 0 } }));
    expect(out).not.toContain('data-testid="rejected-table"');
    expect(textOf(slice(out, 'rejected-caption', '</p>'))).toContain('Showing 0 of 0');
  });

  it('renders an empty run without failing', () => {
    const r = makeReport();
    const empty = tokens([]);
    const out = renderReportHtml({
      report: {
        ...r,
        counts: { input: 0, kept: 0, train: 0, validation: 0, test: 0, rejected: 0, byReason: {} },
        inputs: [],
        tokens: { ...empty, maxTokens: null, minTokens: null, bySplit: {} },
        dedup: { exact: null, near: null },
        pii: null,
        splits: { ...r.splits, sizes: { train: 0, validation: 0, test: 0 }, byDomain: { train: {}, validation: {}, test: {} }, byStratum: null },
      },
      examples: { longest: [], shortest: [] },
      rejected: { rows: [], total: 0 },
    });
    expect(out).toContain('No examples were written.');
    expect(out).not.toContain('NaN');
    expect(out).not.toContain('Infinity');
  });

  it('is deterministic and fast for 500 rejected rows and long examples', () => {
    const big = makeInput({
      rejected: { rows: rejections(HTML_REJECTED_SHOWN), total: HTML_REJECTED_SHOWN },
      examples: { longest: Array.from({ length: 3 }, (_, i) => example({ messages: [{ role: 'user', content: 'q'.repeat(200_000) }, { role: 'assistant', content: 'a' }] }, i)), shortest: [] },
    });
    const t0 = performance.now();
    const a = renderReportHtml(big);
    const ms = performance.now() - t0;
    expect(renderReportHtml(big)).toBe(a);
    expect(ms).toBeLessThan(1000);
    expect(a.length).toBeLessThan(1_000_000);
    expect(a).not.toMatch(/NaN|undefined|\[object Object\]/);
  });
});
