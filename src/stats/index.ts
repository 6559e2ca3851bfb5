/**
 * Token statistics of an existing file (`lora-prep stats`): any shape lora-prep reads (messages,
 * ShareGPT, alpaca, prompt/completion, question/answer), counted with the model's tokenizer.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { listed } from '../_inputs.js';
import { GrowableUint32 } from '../_growable.js';
import { ProgressTicker } from '../_progress.js';
import { LoraPrepError } from '../errors.js';
import { loadRecords } from '../load/index.js';
import { normalizeRecords, resolveMapping } from '../normalize/index.js';
import type { ProgressEvent } from '../options.js';
import { tokenHistogram, tokenStats, type HistogramBin, type TokenStats } from '../report/index.js';
import { applyBudget, type Budget } from '../check/budget.js';
import { loadTokenizer, tokenizerWarnings } from '../tokenizers/index.js';
import type { SourceRow, StageContext } from '../types.js';

/** What {@link fileStats} reports. */
export interface FileStats {
  file: string;
  tokenizer: string;
  /** Rows read and counted. */
  examples: number;
  /** Rows that could not be read as an example (bad JSON, no answer, ...). */
  unreadable: number;
  /**
   * Examples read but not counted: the chat template refused them (`raise_exception`) or failed on
   * them, or the tokenizer did (`prepare` rejects them as `template_error` / `tokenizer_error`).
   */
  refused: number;
  /** The first few refused rows: line, reason and the template's or tokenizer's message. */
  refusedRows: Array<{ line: number; reason: string; message: string }>;
  /** What the run says about the tokenizer (a model counted with the ChatML fallback, ...). */
  warnings: string[];
  tokens: TokenStats & { trainable: number };
  histogram: HistogramBin[];
  /** Examples over `maxTokens`, when given. */
  over?: number | undefined;
}

/** Options of {@link fileStats}. */
export interface FileStatsOptions {
  /** Tokenizer to count with (default `o200k_base`). */
  tokenizer?: string | undefined;
  /** Also count the examples over this many tokens. */
  maxTokens?: number | undefined;
  /** Aborts the count (throws `ABORTED`). */
  signal?: AbortSignal | undefined;
  /**
   * Called about every 10,000 rows (`stage: 'read'`) and once at the end (`'done'`): `rows` is the
   * rows read so far, unreadable ones included, `kept` the examples counted.
   */
  onProgress?: ((event: ProgressEvent) => void) | undefined;
}

/**
 * Counts every example of a file.
 *
 * @example
 * const s = await fileStats('out/v1/train.jsonl', { tokenizer: 'llama-3', maxTokens: 2048 });
 */
export async function fileStats(file: string, options: FileStatsOptions = {}): Promise<FileStats> {
  await mustBeFile(file);
  const tokenizer = await loadTokenizer(options.tokenizer ?? 'o200k_base');
  let unreadable = 0;
  let refused = 0;
  const refusedRows: FileStats['refusedRows'] = [];
  let rows = 0;
  const progress = new ProgressTicker(options.onProgress, (await stat(file).catch(() => undefined))?.size ?? 0);
  const ctx: StageContext = { reject: () => void unreadable++, warn: () => undefined, signal: options.signal };
  let first: SourceRow | undefined;
  for await (const row of loadRecords(file, {}, { ...ctx, reject: () => undefined })) {
    first = row;
    break;
  }
  const mapping = resolveMapping('auto', first?.data, file);
  const tokens = new GrowableUint32();
  let trainable = 0;
  let over = 0;
  // A row the loader rejects never reaches the normaliser: count it as read here.
  const loadCtx: StageContext = { ...ctx, reject: () => void (unreadable++, rows++) };
  const onBytes = (chunk: Uint8Array): void => void (progress.bytes += chunk.length);
  for await (const example of normalizeRecords(counted(loadRecords(file, { onBytes }, loadCtx), () => void rows++), { mapping }, ctx)) {
    if (options.signal?.aborted) throw new LoraPrepError('ABORTED', 'stats was aborted');
    // As prepare counts: a row the chat template refuses is that row's problem, not the run's (a
    // template the renderer cannot render at all still ends it, as a LoraPrepError).
    const m = applyBudget(tokenizer, example.messages, UNLIMITED, example.tools);
    if (!m.ok) {
      refused++;
      if (refusedRows.length < REFUSED_SHOWN) refusedRows.push({ line: example.meta.source.line, reason: m.reason, message: m.message });
      progress.tick(rows, tokens.length, file);
      continue;
    }
    tokens.push(m.tokens);
    // A final answer marked weight 0 is not trained (FORMATS.md §1).
    if (example.messages.at(-1)?.weight !== 0) trainable += m.tokens - m.prompt;
    if (options.maxTokens !== undefined && m.tokens > options.maxTokens) over++;
    progress.tick(rows, tokens.length, file);
  }
  const view = tokens.view();
  progress.done(rows, view.length);
  return {
    file,
    tokenizer: tokenizer.name,
    examples: view.length,
    unreadable,
    refused,
    refusedRows,
    warnings: tokenizerWarnings(tokenizer),
    tokens: { ...tokenStats(view), trainable },
    histogram: tokenHistogram(view),
    ...(options.maxTokens !== undefined ? { over } : {}),
  };
}

/**
 * The stats as terminal text, with the token-length histogram drawn in block characters.
 *
 * @example
 * console.log(formatStats(await fileStats('train.jsonl')));
 */
export function formatStats(s: FileStats, width = 40): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const lines = [
    `${s.file}: ${n(s.examples)} examples${s.unreadable ? `, ${n(s.unreadable)} unreadable rows` : ''}${s.refused ? `, ${n(s.refused)} refused by the chat template or tokenizer (not counted)` : ''} (${s.tokenizer})`,
    `  tokens: total ${n(s.tokens.total)} · min ${n(s.tokens.min)} · mean ${n(s.tokens.mean)} · p50 ${n(s.tokens.p50)} · p90 ${n(s.tokens.p90)} · p99 ${n(s.tokens.p99)} · max ${n(s.tokens.max)}`,
    `  trainable (final answers): ${n(s.tokens.trainable)}`,
  ];
  if (s.over !== undefined) lines.push(`  over the budget: ${n(s.over)}`);
  for (const r of s.refusedRows) lines.push(`  refused: line ${r.line}: ${r.reason}: ${r.message}`);
  if (s.refused > s.refusedRows.length) lines.push(`  refused: ${n(s.refused - s.refusedRows.length)} more`);
  const first = s.histogram.findIndex((b) => b.count > 0);
  const last = s.histogram.findLastIndex((b) => b.count > 0);
  const bins = first === -1 ? [] : s.histogram.slice(first, last + 1);
  const most = Math.max(1, ...bins.map((b) => b.count));
  for (const b of bins) {
    const label = `${n(b.from)}–${b.to === null ? '' : n(b.to - 1)}`.padStart(14);
    lines.push(`  ${label} │${'█'.repeat(Math.round((b.count / most) * width))} ${n(b.count)}`);
  }
  for (const w of s.warnings) lines.push(`  warning: ${w}`);
  return lines.join('\n');
}

// --- internal ---

/** No budget: every example that renders is counted. */
const UNLIMITED: Budget = { overlong: 'keep' };

/** Refused rows listed by line in the stats (the others are only counted). */
const REFUSED_SHOWN = 5;

async function* counted(rows: AsyncIterable<SourceRow>, onRow: () => void): AsyncIterable<SourceRow> {
  for await (const row of rows) {
    onRow();
    yield row;
  }
}

/** A folder is no file to count (its name has no format either: say what it is, and which files it holds). */
async function mustBeFile(file: string): Promise<void> {
  const s = await stat(file).catch(() => undefined);
  if (s === undefined || s.isFile()) return; // a missing file: the loader says so
  const data = s.isDirectory() ? (await readdir(file).catch(() => [] as string[])).filter((n) => /\.(jsonl|json|csv|tsv)(\.gz)?$/i.test(n)).sort() : [];
  throw new LoraPrepError(
    'INPUT_NOT_FOUND',
    `${file} is ${s.isDirectory() ? 'a folder' : 'not a file'}: stats counts one file${data.length > 0 ? `, such as ${join(file, data[0] as string)} (the folder holds ${listed(data)})` : ''}.`,
    { location: { file } },
  );
}
