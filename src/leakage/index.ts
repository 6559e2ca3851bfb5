/**
 * Leakage check: finds conversations that appear in more than one of a set of files (train and
 * validation, a new train file and an old eval set, ...). It consumes JSONL (or any input the
 * loaders read) in any shape lora-prep writes, reuses the loading and normalising stages so every
 * target format compares on the canonical messages, and produces a {@link LeakageReport} of
 * exact overlaps (same dedup key) and near overlaps (verified Jaccard similarity). Only pairs of
 * rows from different files count: copies inside one file are dedup's business, not leakage.
 * Memory: per row a 64-bit hash and a location in typed arrays, and the near-dedup index's state
 * (its sketch on disk until verification); the texts go to a spill file, and pairs are counted as
 * they are found, only the first MAX_LISTED_OVERLAPS of each kind kept.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GrowableUint32 } from '../_growable.js';
import { repeatedPath } from '../_inputs.js';
import { pacer } from '../_pace.js';
import { ProgressTicker } from '../_progress.js';
import { exampleKeys, FirstRows } from '../dedup/index.js';
import { nearSignature, nearText } from '../dedup/minhash.js';
import { NearIndex, type NearPair } from '../dedup/near.js';
import { LoraPrepError, preview, throwIfAborted } from '../errors.js';
import { loadRecords } from '../load/index.js';
import { normalizeRecords, resolveMapping } from '../normalize/index.js';
import type { ProgressEvent } from '../options.js';
import type { SourceLocation, SourceRow, StageContext } from '../types.js';

/**
 * Options of {@link checkLeakage}.
 *
 * @example
 * const options: LeakageOptions = { threshold: 0.9, signal: controller.signal };
 */
export interface LeakageOptions {
  /** Least Jaccard similarity (word bigrams of user and assistant text) of a near overlap; above 0, at most 1. Default 0.8. */
  threshold?: number | undefined;
  /** Look for near overlaps as well as exact ones. Default true. */
  near?: boolean | undefined;
  /** Aborts the check (throws `ABORTED`). */
  signal?: AbortSignal | undefined;
  /**
   * Called about every 10,000 rows (`stage: 'read'`, with the file being read) and once at the end
   * (`'done'`): `rows` is the rows read so far over every file, `kept` those compared (readable).
   */
  onProgress?: ((event: ProgressEvent) => void) | undefined;
}

/**
 * One pair of rows from two different files holding the same (or nearly the same) conversation.
 * `a` is in the file listed first.
 *
 * @example
 * const o: Overlap = { a: { file: 'train.jsonl', line: 12 }, b: { file: 'valid.jsonl', line: 40 }, similarity: 1 };
 */
export interface Overlap {
  a: SourceLocation;
  b: SourceLocation;
  /** 1 for an exact overlap; the verified Jaccard similarity for a near one. */
  similarity: number;
}

/**
 * What was read from one file.
 *
 * @example
 * const f: LeakageFile = { file: 'valid.jsonl', rows: 200, unreadable: 2 };
 */
export interface LeakageFile {
  /** The path as given. */
  file: string;
  /** Rows read (blank lines are not rows), unreadable ones included. */
  rows: number;
  /** Rows the loader or normaliser rejected (bad JSON, an unknown shape, blank content): not compared. */
  unreadable: number;
}

/**
 * The result of {@link checkLeakage}. The lists hold at most {@link MAX_LISTED_OVERLAPS} pairs
 * each; the counts are complete.
 *
 * @example
 * const report: LeakageReport = await checkLeakage(['train.jsonl', 'valid.jsonl']);
 * if (!report.clean) console.log(report.exactCount, report.nearCount);
 */
export interface LeakageReport {
  files: LeakageFile[];
  /** Exact overlaps, sorted by the file order of `a`, then `a.line`, then `b`. */
  exact: Overlap[];
  /** Near overlaps that are neither exact ones nor first turns of one another, sorted the same way. Empty when `near` was off. */
  near: Overlap[];
  /**
   * Rows of one file that are the first turns of a longer row of another (`a` the shorter, `b` the
   * longer; similarity 1): snapshots of one chat logged at each turn, a validation row whose
   * answer a training row trains on. Sorted by the file order of `a`, then its line.
   */
  contained: Overlap[];
  /** Every such pair, listed or not. */
  containedCount: number;
  /** Every exact overlap pair, listed or not. */
  exactCount: number;
  /** Every near overlap pair, listed or not. */
  nearCount: number;
  /** The similarity threshold used for near overlaps. */
  threshold: number;
  /** Whether near overlaps were looked for. */
  nearChecked: boolean;
  /** File-wide warnings of the loaders (undecodable bytes, ...), each once. */
  warnings: string[];
  /** True when no pair of files shares a conversation, exactly, nearly or as first turns. */
  clean: boolean;
}

/**
 * Most overlaps listed per kind. A leak between two big files can be every row of one of them;
 * the report stays readable and small, and `exactCount` / `nearCount` still give the whole size.
 */
export const MAX_LISTED_OVERLAPS = 1_000;

/**
 * Reports every conversation shared between two or more files. Each file's record shape is
 * detected from its first row (messages, ShareGPT, alpaca, prompt/completion, question/answer), so
 * an alpaca train file and a messages eval file compare on the same canonical chat. Exact
 * overlaps compare the dedup key (roles and contents after NFKC, whitespace collapse and case
 * folding); near overlaps are proposed by MinHash LSH and verified by exact Jaccard similarity of
 * word bigrams of the user and assistant text. A pair that is exact, or one row the first turns of
 * the other, is not listed again as near.
 *
 * @param files - two or more paths; overlaps are reported only between different files.
 * @param options - `threshold` (default 0.8), `near` (default true), `signal`.
 * @returns counts per file, the overlaps found (capped lists, full counts) and `clean`.
 * @throws LoraPrepError `OPTION_INVALID` (fewer than two files, a file given twice, a bad
 * threshold), `INPUT_NOT_FOUND`, `INPUT_UNREADABLE`, `INPUT_FORMAT`, `MAPPING_INVALID` (a file
 * whose first record has no known shape), `ABORTED`. Bad rows are counted as `unreadable`, never thrown.
 *
 * @example
 * const report = await checkLeakage(['out/train.jsonl', 'out/validation.jsonl']);
 * for (const o of report.exact) console.log(`${o.a.file}:${o.a.line} ↔ ${o.b.file}:${o.b.line}`);
 */
export async function checkLeakage(files: readonly string[], options: LeakageOptions = {}): Promise<LeakageReport> {
  const threshold = options.threshold ?? DEFAULT_THRESHOLD;
  const checkNear = options.near ?? true;
  const signal = options.signal;
  validate(files, threshold);
  throwIfAborted(signal, 'leakage check stopped because it was aborted.');

  // Every file's shape is settled (and a missing file reported) before any row is compared.
  const mappings: Array<ReturnType<typeof resolveMapping>> = [];
  for (const file of files) mappings.push(resolveMapping('auto', (await firstRow(file, signal))?.data, file));

  const warnings = new Set<string>();
  const summaries: LeakageFile[] = [];
  const exact = new ExactOverlaps(files);
  // Per file, each conversation hash's number, and per number its first line and its rows; and each
  // row's shorter versions (file, line, hash).
  const idOf = files.map(() => new FirstRows());
  const firstLine = files.map(() => new GrowableUint32());
  const copies = files.map(() => new GrowableUint32());
  const shorter = new GrowableUint32();
  let spillDir: string | undefined;
  let index: NearIndex | undefined;
  // Per row of the near index: its file, line and exact hash (two 32-bit halves).
  const rowFile = new GrowableUint32();
  const rowLine = new GrowableUint32();
  const rowHashHi = new GrowableUint32();
  const rowHashLo = new GrowableUint32();
  // Per row of the near index: where its shorter versions start in `shorter` (4 numbers each).
  const rowShorter = new GrowableUint32();
  let totalBytes = 0;
  for (const file of files) totalBytes += (await stat(file).catch(() => undefined))?.size ?? 0;
  const progress = new ProgressTicker(options.onProgress, totalBytes);
  const onBytes = (chunk: Uint8Array): void => void (progress.bytes += chunk.length);
  let rowsBefore = 0;
  let compared = 0;
  try {
    if (checkNear) {
      spillDir = await mkdtemp(join(tmpdir(), 'lora-prep-leakage-'));
      index = new NearIndex(join(spillDir, 'near-texts.bin'));
    }
    for (const [fileIndex, file] of files.entries()) {
      const summary: LeakageFile = { file, rows: 0, unreadable: 0 };
      summaries.push(summary);
      const warn = (m: string): void => void warnings.add(m);
      const loadCtx: StageContext = {
        reject: () => {
          summary.rows++;
          summary.unreadable++;
        },
        warn,
        signal,
      };
      const normalizeCtx: StageContext = { reject: () => void summary.unreadable++, warn, signal };
      const rows = counted(loadRecords(file, { onBytes }, loadCtx), () => void summary.rows++);
      const mapping = mappings[fileIndex] as ReturnType<typeof resolveMapping>;
      for await (const example of normalizeRecords(rows, { mapping }, normalizeCtx)) {
        const { hashHi, hashLo, prefixes } = exampleKeys(example.messages, 'conversation');
        const line = example.meta.source.line;
        exact.add(hashHi, hashLo, fileIndex, line);
        const lines = firstLine[fileIndex] as GrowableUint32;
        const counts = copies[fileIndex] as GrowableUint32;
        const id = (idOf[fileIndex] as FirstRows).firstOf(hashHi, hashLo, lines.length);
        if (id < 0) {
          lines.push(line);
          counts.push(1);
        } else counts.set(id, counts.get(id) + 1);
        if (index) rowShorter.push(shorter.length / 4);
        if (prefixes) {
          for (let i = 0; i + 1 < prefixes.length; i += 2) {
            shorter.push(fileIndex);
            shorter.push(line);
            shorter.push(prefixes[i] as number);
            shorter.push(prefixes[i + 1] as number);
          }
        }
        if (index) {
          index.add(nearText(example.messages, undefined, example.nearUser), nearSignature(example.messages, index.params, undefined, example.nearUser));
          rowFile.push(fileIndex);
          rowLine.push(line);
          rowHashHi.push(hashHi);
          rowHashLo.push(hashLo);
        }
        compared++;
        progress.tick(rowsBefore + summary.rows, compared, file);
      }
      rowsBefore += summary.rows;
    }
    throwIfAborted(signal, 'leakage check stopped because it was aborted.');

    // A row of one file that is the first turns of a row of another.
    const contained: Overlap[] = [];
    let containedCount = 0;
    const s4 = shorter.view();
    for (let i = 0; i + 3 < s4.length; i += 4) {
      const longFile = s4[i] as number;
      for (const [f, table] of idOf.entries()) {
        if (f === longFile) continue;
        const id = table.find(s4[i + 2] as number, s4[i + 3] as number);
        if (id < 0) continue;
        // Every copy of the shorter row counts; the first is listed.
        containedCount += (copies[f] as GrowableUint32).get(id);
        if (contained.length < MAX_LISTED_OVERLAPS) {
          contained.push({ a: { file: files[f] as string, line: (firstLine[f] as GrowableUint32).get(id) }, b: { file: files[longFile] as string, line: s4[i + 1] as number }, similarity: 1 });
        }
      }
    }
    contained.sort((x, y) => files.indexOf(x.a.file) - files.indexOf(y.a.file) || x.a.line - y.a.line || files.indexOf(x.b.file) - files.indexOf(y.b.file) || x.b.line - y.b.line);

    const near: Overlap[] = [];
    let nearCount = 0;
    if (index) {
      const fileOf = rowFile.view();
      const lineOf = rowLine.view();
      const hi = rowHashHi.view();
      const lo = rowHashLo.view();
      const starts = rowShorter.view();
      const ends = shorter.length / 4;
      // Whether row `a` is the first turns of row `b`: one of b's shorter versions has a's hash.
      const within = (a: number, b: number): boolean => {
        const end = b + 1 < starts.length ? (starts[b + 1] as number) : ends;
        for (let j = starts[b] as number; j < end; j++) if (s4[4 * j + 2] === hi[a] && s4[4 * j + 3] === lo[a]) return true;
        return false;
      };
      // Rows of one file are not leakage, and a pair already listed as exact or as first turns is
      // not listed again as near.
      const keep = (a: number, b: number): boolean => fileOf[a] !== fileOf[b] && (hi[a] !== hi[b] || lo[a] !== lo[b]) && !within(a, b) && !within(b, a);
      // Counted as they are found, and only the first MAX_LISTED_OVERLAPS by row kept: templated
      // files can share millions of near pairs. Rows were added in file order, so row order is
      // the listing's order.
      const first = new FirstPairs(MAX_LISTED_OVERLAPS);
      progress.stage('plan', rowsBefore, compared);
      await index.visitVerifiedPairs(
        threshold,
        (a, b, similarity) => {
          nearCount++;
          first.add({ a, b, similarity });
        },
        keep,
        {
          skipRefused: true,
          pace: pacer(signal, 'leakage check stopped because it was aborted.', (done) => progress.plan(rowsBefore, compared, done)),
        },
      );
      for (const p of first.sorted()) {
        near.push({
          a: { file: files[fileOf[p.a] as number] as string, line: lineOf[p.a] as number },
          b: { file: files[fileOf[p.b] as number] as string, line: lineOf[p.b] as number },
          similarity: p.similarity,
        });
      }
    }
    progress.done(rowsBefore, compared);
    return {
      files: summaries,
      exact: exact.listed(),
      near,
      contained,
      exactCount: exact.count,
      nearCount,
      containedCount,
      threshold,
      nearChecked: checkNear,
      warnings: [...warnings],
      clean: exact.count === 0 && nearCount === 0 && containedCount === 0,
    };
  } finally {
    index?.close();
    if (spillDir !== undefined) await rm(spillDir, { recursive: true, force: true });
  }
}

/**
 * A readable summary of a {@link LeakageReport}: per-file counts, the overlap counts, then up to
 * `limit` overlaps (exact first) as `a.jsonl:12 ↔ b.jsonl:40  exact` or `near 0.87`.
 *
 * @example
 * console.log(formatLeakage(await checkLeakage(['train.jsonl', 'valid.jsonl']), 20));
 */
export function formatLeakage(report: LeakageReport, limit = 20): string {
  const n = (x: number): string => x.toLocaleString('en-US');
  const lines: string[] = [];
  const rows = report.files.reduce((s, f) => s + f.rows, 0);
  const unreadable = report.files.reduce((s, f) => s + f.unreadable, 0);
  lines.push(`lora-prep leakage: ${n(report.files.length)} files, ${n(rows)} rows${unreadable > 0 ? ` (${n(unreadable)} unreadable, not compared)` : ''}`);
  const width = Math.max(...report.files.map((f) => f.file.length));
  for (const f of report.files) {
    lines.push(`  ${f.file.padEnd(width)}  ${n(f.rows)} rows${f.unreadable > 0 ? ` · ${n(f.unreadable)} unreadable` : ''}`);
  }
  const nearPart = report.nearChecked ? `${n(report.nearCount)} near (Jaccard ≥ ${report.threshold})` : 'near not checked';
  if (report.clean) {
    // Rows that could not be read were not compared: say what the finding covers.
    const scope = unreadable > 0 ? `among the ${n(rows - unreadable)} rows compared (${n(unreadable)} unreadable were not)` : 'between the files';
    lines.push(`  no overlaps ${scope}: 0 exact · ${nearPart} · 0 first turns of another`);
  } else {
    lines.push(`  overlaps: ${n(report.exactCount)} exact · ${nearPart} · ${n(report.containedCount)} first turns of another`);
    const shown = [
      ...report.exact.map((o) => ({ o, kind: 'exact' })),
      ...report.near.map((o) => ({ o, kind: `near ${twoDecimalsDown(o.similarity)}` })),
      ...report.contained.map((o) => ({ o, kind: 'first turns of' })),
    ].slice(0, Math.max(0, limit));
    for (const { o, kind } of shown) lines.push(`  ${o.a.file}:${o.a.line} ${kind === 'first turns of' ? '⊂' : '↔'} ${o.b.file}:${o.b.line}  ${kind}`);
    const more = report.exactCount + report.nearCount + report.containedCount - shown.length;
    if (more > 0) lines.push(`  … and ${n(more)} more (--json lists up to ${n(MAX_LISTED_OVERLAPS)} of each kind)`);
  }
  for (const w of report.warnings) lines.push(`  warning: ${w}`);
  return lines.join('\n');
}

// --- internal ---

const DEFAULT_THRESHOLD = 0.8;

function validate(files: readonly string[], threshold: number): void {
  if (!Array.isArray(files) || files.length < 2 || files.some((f) => typeof f !== 'string' || f === '')) {
    throw new LoraPrepError('OPTION_INVALID', `files: expected two or more file paths to compare, got ${preview(files)}`);
  }
  // Every row of a file would "leak" into itself: surely a slip on the command line.
  const repeated = repeatedPath(files);
  if (repeated) {
    throw new LoraPrepError('OPTION_INVALID', `files: ${repeated.file} is the same file as ${repeated.earlier}; give each file once`, { location: { file: repeated.file } });
  }
  if (typeof threshold !== 'number' || !Number.isFinite(threshold) || threshold <= 0 || threshold > 1) {
    throw new LoraPrepError('OPTION_INVALID', `threshold: expected a number above 0 and at most 1, got ${preview(threshold)}`);
  }
}

/** Two decimals, rounded down, so a near pair never reads as 1.00 unless it is 1. */
function twoDecimalsDown(x: number): string {
  return (Math.floor(x * 100 + 1e-9) / 100).toFixed(2);
}


/** The first row the loader yields (bad rows before it are skipped), to detect the shape from. */
async function firstRow(file: string, signal: AbortSignal | undefined): Promise<SourceRow | undefined> {
  const quiet: StageContext = { reject: () => undefined, warn: () => undefined, signal };
  for await (const row of loadRecords(file, {}, quiet)) return row;
  return undefined;
}

async function* counted(rows: AsyncIterable<SourceRow>, onRow: () => void): AsyncIterable<SourceRow> {
  for await (const row of rows) {
    onRow();
    yield row;
  }
}

/**
 * The `limit` smallest pairs by `a`, then `b`, of any number added: at most twice `limit` held.
 *
 * @example
 * const first = new FirstPairs(1000); first.add({ a: 3, b: 9, similarity: 0.9 }); first.sorted();
 */
export class FirstPairs {
  readonly #limit: number;
  #pairs: NearPair[] = [];

  constructor(limit: number) {
    this.#limit = limit;
  }

  add(pair: NearPair): void {
    this.#pairs.push(pair);
    if (this.#pairs.length >= 2 * this.#limit) this.#trim();
  }

  sorted(): NearPair[] {
    this.#trim();
    return this.#pairs;
  }

  #trim(): void {
    this.#pairs.sort((x, y) => x.a - y.a || x.b - y.b);
    if (this.#pairs.length > this.#limit) this.#pairs.length = this.#limit;
  }
}

/**
 * Exact overlaps as rows stream in, file after file: a row pairs with every earlier-file row of
 * the same hash. Counting is arithmetic, so a conversation copied thousands of times in two files
 * costs no quadratic work; only the listed pairs are built. In typed arrays: a hash table of 12
 * bytes a slot, 24 bytes a distinct conversation, and 12 bytes a row for the rows a listed pair
 * may still need (none once MAX_LISTED_OVERLAPS pairs are listed). A Map of objects keyed by hex
 * strings peaked 41 MB higher on two files of 100,000 rows.
 */
class ExactOverlaps {
  count = 0;
  readonly #files: readonly string[];
  /** Hash → its conversation's number. */
  readonly #ids = new FirstRows();
  // Per conversation: the file of its latest row, its rows in files before that one, all its rows,
  // and its rows kept for listing (the first, chained by #next, the last; row numbers + 1, 0 for none).
  readonly #file = new GrowableUint32();
  readonly #before = new GrowableUint32();
  readonly #total = new GrowableUint32();
  readonly #head = new GrowableUint32();
  readonly #tail = new GrowableUint32();
  readonly #kept = new GrowableUint32();
  // Per kept row: its file and line, and the next kept row of its conversation (+ 1, 0 for none).
  readonly #rowFile = new GrowableUint32();
  readonly #rowLine = new GrowableUint32();
  readonly #next = new GrowableUint32();
  readonly #pairs: Array<{ aFile: number; aLine: number; bFile: number; bLine: number }> = [];

  constructor(files: readonly string[]) {
    this.#files = files;
  }

  add(hi: number, lo: number, file: number, line: number): void {
    let id = this.#ids.firstOf(hi, lo, this.#file.length);
    if (id < 0) {
      id = this.#file.length;
      for (const column of [this.#file, this.#before, this.#total, this.#head, this.#tail, this.#kept]) column.push(0);
      this.#file.set(id, file);
    } else if (this.#file.get(id) !== file) {
      // Files arrive in order, so the rows of earlier files are a prefix of the conversation's rows.
      this.#before.set(id, this.#total.get(id));
      this.#file.set(id, file);
    }
    const before = this.#before.get(id);
    this.count += before;
    for (let r = this.#head.get(id), k = 0; r !== 0 && k < before && this.#pairs.length < MAX_LISTED_OVERLAPS; r = this.#next.get(r - 1), k++) {
      this.#pairs.push({ aFile: this.#rowFile.get(r - 1), aLine: this.#rowLine.get(r - 1), bFile: file, bLine: line });
    }
    this.#total.set(id, this.#total.get(id) + 1);
    // A pair is only ever listed with one of the first MAX_LISTED_OVERLAPS rows of a conversation,
    // and only until that many pairs are listed.
    if (this.#pairs.length < MAX_LISTED_OVERLAPS && this.#kept.get(id) < MAX_LISTED_OVERLAPS) {
      const row = this.#rowFile.length + 1;
      this.#rowFile.push(file);
      this.#rowLine.push(line);
      this.#next.push(0);
      const tail = this.#tail.get(id);
      if (tail === 0) this.#head.set(id, row);
      else this.#next.set(tail - 1, row);
      this.#tail.set(id, row);
      this.#kept.set(id, this.#kept.get(id) + 1);
    }
  }

  listed(): Overlap[] {
    return this.#pairs
      .sort((x, y) => x.aFile - y.aFile || x.aLine - y.aLine || x.bFile - y.bFile || x.bLine - y.bLine)
      .map((p) => ({
        a: { file: this.#files[p.aFile] as string, line: p.aLine },
        b: { file: this.#files[p.bFile] as string, line: p.bLine },
        similarity: 1,
      }));
  }
}
