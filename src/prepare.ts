/**
 * `prepareDataset()`: resolves options, wires the stages, writes the trainer's files and the
 * report, and returns the result. The flow per input file is
 *
 *   load → normalise → target record → token count / budget → exact dedup → spill
 *
 * and, once every input is read, the split is assigned (exact sizes need the count) and the spilled
 * lines are routed to train / validation / test. Everything lands in a temporary folder first and is
 * renamed into `outDir` at the end, so a failed run leaves `outDir` as it was.
 */
import { createHash } from 'node:crypto';
import { join, relative, resolve } from 'node:path';
import { workersFromBytes } from './_cpus.js';
import { GrowableUint32 } from './_growable.js';
import { inputFiles, inputInside, listed, realPath, repeatedPath, textBytes } from './_inputs.js';
import { KeptRows } from './_kept.js';
import { InputOrder } from './_order.js';
import { pacer } from './_pace.js';
import { ProgressTicker } from './_progress.js';
import { countTokens, type Budget, type RecordLine, type Truncation } from './check/index.js';
import { duplicateRejection, FirstRows, type ExampleKeys } from './dedup/index.js';
import { DEFAULT_MINHASH } from './dedup/minhash.js';
import { NearIndex } from './dedup/near.js';
import { isLoraPrepError, LoraPrepError, throwIfAborted } from './errors.js';
import { filledColumn, optionalColumns, trainerGlue } from './formats/glue.js';
import { namesDropped, overLimitWarning, targets, type Target } from './formats/index.js';
import { detectFormat, loadRecords, type InputEncoding, type InputFormat, type LoadOptions } from './load/index.js';
import { systemPromptText } from './normalize/domains.js';
import { alsoFits, mappingName, naturalKeys, resolveMapping, rowNormalizer, type ResolvedMapping } from './normalize/index.js';
import { MarkerTally } from './normalize/_nulls.js';
import { resolveOptions, type InputSpec, type Mapping, type PrepareOptions, type PricingOptions, type ResolvedOptions, type TemplateMapping } from './options.js';
import { HTML_REJECTED_SHOWN, renderReportHtml, type HtmlExample } from './report/html.js';
import { formatSummary, tokenHistogram, tokenStats, type HistogramBin, type TokenStats } from './report/index.js';
import { findPii, PII_TYPES, redactMessages, redactPii, scanMessages, type PiiType } from './pii/index.js';
import { nearRejections, planOutput, type LeakageCheck, type NearSummary, type Plan } from './plan.js';
import { NOT_WRITTEN, SPLIT_NAMES, splitSizes, type SplitName } from './split/index.js';
import { loadTokenizer, tokenizerWarnings, type Tokenizer } from './tokenizers/index.js';
import { TOKENIZER_PACKAGES } from './tokenizers/huggingface.js';
import { TokenizerPool, WORKER_MISSING, workerScriptFound, type TokenizerInfo } from './tokenizers/pool.js';
import { specialTextFinder } from './check/_special.js';
import type { Example, Message, Rejection, SourceLocation, SourceRow, StageContext } from './types.js';
import { LIBRARY } from './version.js';
import { checkOutDir, killedRunIn, OutputTransaction } from './write/_atomic.js';
import { JsonlWriter, rewriteLines, serializeRecord, SyncJsonlWriter, type WrittenFile } from './write/jsonl.js';
import { routeLines } from './write/route.js';

/** Row accounting of a run. `input === train + validation + test + rejected` always holds. */
export interface PrepareCounts {
  input: number;
  kept: number;
  train: number;
  validation: number;
  test: number;
  rejected: number;
  byReason: Record<string, number>;
}

/** Token statistics of the examples written, plus the trainable part (the final answers). */
export interface ResultTokens extends TokenStats {
  /** Tokens of the final assistant answers: what the trainer learns from when it masks the prompt. */
  trainable: number;
}

/** The training cost estimate, when `pricing` is given. */
export interface CostEstimate {
  epochs: number;
  /** `'given'` or `'openai-default'` (OpenAI's heuristic from the number of training examples). */
  epochsFrom: 'given' | 'openai-default';
  trainTokens: number;
  billedTokens: number;
  perMillionTokens: number;
  estimated: number;
}

/** What `prepareDataset()` returns. */
export interface PrepareResult {
  outDir: string;
  files: { train: string; validation?: string; test?: string; rejected: string; report: string; reportHtml: string; manifest: string; nextSteps: string };
  counts: PrepareCounts;
  tokens: ResultTokens;
  /** How to start training on the files (also in `report/next-steps.md`). */
  nextSteps: string;
  /** Examples shortened to fit `maxTokens` (`overlong: 'truncate'`). */
  truncated: number;
  /** Near-duplicate clusters found (when near-dedup is on). */
  near?: { pairs: number; clusters: number; removed: number };
  /** Split sizes per stratum (with `split.stratifyBy`). */
  strata?: Record<string, Record<SplitName, number>>;
  /** PII found per type over every example scanned (with `pii`). */
  pii?: { action: 'report' | 'redact' | 'drop'; found: Partial<Record<PiiType, number>> };
  cost?: CostEstimate;
  warnings: string[];
  /** The tokenizer the counts were made with. */
  tokenizer: string;
  /** Wall time of the run in milliseconds. */
  elapsedMs: number;
  /**
   * Wall time per stage on the main thread, in ms: `read` (read, decode, parse), `normalize`,
   * `pii`, `count` (tokenizing inline, or handing batches to the workers and waiting for them;
   * either way with the dedup keys and target records computed on the main thread), `keep` (the
   * exact-dedup table, spill, per-row state), `plan` (near-duplicate clusters, split, leakage
   * gate), `write` (split files and report). For benchmarks; it varies from run to run.
   */
  timings: Record<string, number>;
}

/** The `report/report.json` document. */
export interface PrepareReport {
  tool: { name: string; version: string };
  target: string;
  format: string;
  tokenizer: string;
  counts: PrepareCounts;
  inputs: Array<{ file: string; format: InputFormat; /** null when no row could be read (nothing was mapped) */ mapping: string | null; rows: number; kept: number; rejected: number; byReason: Record<string, number> }>;
  tokens: ResultTokens & { maxTokens: number | null; minTokens: number | null; histogram: HistogramBin[]; bySplit: Record<string, ResultTokens & { histogram: HistogramBin[] }> };
  truncated: { count: number; examples: TruncationEntry[] };
  cost: CostEstimate | null;
  dedup: { exact: { key: string; duplicates: number } | null; near: NearSummary | null };
  leakage: LeakageCheck;
  /** PII findings (with `pii` set): per type over every example scanned, and per split over those written. */
  pii: PiiSummary | null;
  splits: {
    strategy: 'random' | 'hash';
    seed: number;
    fractions: { validation: number; test: number };
    sizes: Record<SplitName, number>;
    byDomain: Record<SplitName, Record<string, number>>;
    stratifyBy: string | null;
    groupBy: string | null;
    /** Which of stratifyBy / groupBy came from the input's preset (natural keys), not from options. */
    keysFromPreset: string[];
    /** Units split whole: groups, near-duplicate clusters kept together, single examples. */
    units: number;
    byStratum: Record<string, Record<SplitName, number>> | null;
  };
  warnings: string[];
}

/**
 * Turns CSV, TSV, JSONL and JSON inputs into trainer-ready JSONL plus a report. Bad rows never
 * throw: they land in `report/rejected.jsonl` with a reason. A bad job (options, files, a non-empty
 * `outDir`) throws `LoraPrepError`.
 *
 * @example
 * const result = await prepareDataset({ inputs: ['data/finance.csv'], outDir: 'out/finance-v1', target: 'openai' });
 * console.log(result.counts);
 */
export async function prepareDataset(options: PrepareOptions): Promise<PrepareResult> {
  const started = Date.now();
  const opts = resolveOptions(options);
  throwIfAborted(opts.signal, RUN_ABORTED);
  const inputNotes: string[] = [];
  const inputs = await resolveInputs(opts, (note) => void inputNotes.push(note)).catch((e: unknown) => {
    throw opts.pii ? withoutPii(e, opts.pii.types) : e;
  });
  // Checked again, strictly, once a killed run's leftovers are cleaned up (OutputTransaction.begin).
  await checkOutDir(opts.outDir, opts.overwrite || (await killedRunIn(opts.outDir)));
  const target: Target = targets[opts.target];
  // Instruction records some trainers build as plain text (Axolotl's Alpaca prompt, TRL's prompt +
  // completion) are counted as that text, not as the chat template renders a chat.
  // Some hand tool-call arguments to the template as the JSON text their file holds (TRL); names
  // the records leave out are not counted.
  const budget: Budget = { maxTokens: opts.maxTokens, minTokens: opts.minTokens, overlong: opts.overlong, countAs: target.countsAs?.[opts.format], argumentsAsText: target.argumentsAsText, namesDropped: namesDropped(opts.target, opts.format) };
  const defaultLimit = opts.maxTokens === undefined ? target.defaultLimit?.(opts.tokenizer) : undefined;
  // With workers, only they load the tokenizer (its tables are tens of MB per copy).
  const inputBytes = inputs.reduce((n, i) => n + i.bytes, 0);
  const workersFrom = opts.concurrency > 1 ? workersFromBytes() : undefined;
  const enough = workersFrom !== undefined && (await textBytes(inputs, workersFrom)) >= workersFrom;
  // A bundler that took this package into an app leaves the worker's script behind: count on this thread.
  const noWorker = enough && !workerScriptFound();
  if (noWorker) inputNotes.push(`counted on the main thread, not in ${opts.concurrency} worker threads: ${WORKER_MISSING} (or pass concurrency: 1 to say so)`);
  const pool = enough && !noWorker ? await TokenizerPool.start(opts.tokenizer, opts.concurrency, { longestRowBytes: opts.maxLineBytes }) : undefined;
  let tx: OutputTransaction;
  let tokenizer: Tokenizer;
  try {
    tokenizer = pool ? countedInWorkers(pool.tokenizer) : await loadTokenizer(opts.tokenizer);
    throwIfAborted(opts.signal, RUN_ABORTED);
    tx = await OutputTransaction.begin(opts.outDir, opts.overwrite);
  } catch (e) {
    await pool?.close();
    throw e;
  }
  const openWriters: JsonlWriter[] = [];
  let rejectedFile: SyncJsonlWriter | undefined;
  let nearIndex: NearIndex | undefined;
  let committed = false;
  try {
    const warnings = new WarningList();
    for (const note of [...inputNotes, ...tx.notes]) warnings.add(note);
    if (opts.pii) {
      const warning = pathsWithPii(inputs.map((i) => i.path), opts.pii.types);
      if (warning) warnings.add(warning);
    }
    for (const w of tokenizerWarnings(tokenizer)) warnings.add(w);
    if (options.tokenizer === undefined && opts.target !== 'openai') warnings.add(defaultTokenizerWarning(opts.target, opts.tokenizer));
    if (opts.overlong === 'truncate' && opts.maxTokens === undefined) warnings.add("overlong: 'truncate' cuts examples only to maxTokens, which is not set: nothing was truncated");
    const byReason: Record<string, number> = {};
    rejectedFile = new SyncJsonlWriter(await tx.path('report/rejected.jsonl'));
    const rejections = rejectedFile;
    // Whether a key that every split must then carry appears at all (Axolotl's alpaca `system`).
    const fillable = filledColumn(opts.target, opts.format);
    const spill = new JsonlWriter(await tx.path('.spill.jsonl'), { hash: false, watch: fillable ? [fillable.key] : undefined });
    openWriters.push(spill);
    nearIndex = opts.dedup.near ? new NearIndex(await tx.path('.near.txt'), DEFAULT_MINHASH) : undefined;

    const kept = new KeptRows(inputs.map((i) => i.path));
    const truncations = new TruncationLog();
    const piiLog = new PiiLog();
    const overDefault = { count: 0, max: 0 };
    // Text of the tokenizer's control tokens in the data: the trainer reads it as those tokens.
    const findSpecial = tokenizer.specialTokens ? specialTextFinder(tokenizer.specialTokens) : undefined;
    const special = { rows: 0, byToken: new Map<string, number>(), first: '' };
    // Shared with the workers, which skip tokenizing a copy of a row already kept.
    const exactDedup = opts.dedup.exact === false ? undefined : { key: opts.dedup.exact.key, index: new FirstRows({ shared: pool !== undefined }) };
    const keys = splitKeys(opts, inputs);
    const { stratifyBy, groupBy } = keys;
    // The split's columns stay in meta even where the mapping reads them (a shared question, `id`).
    const splitColumns = [groupBy, stratifyBy].filter((c): c is string => c !== undefined && c !== 'domain');
    const missingGroup = { count: 0 };
    // Ids past 2^53 written as JSON numbers: read rounded, so ids that differ may read as one.
    const roundedLabels = { count: 0, first: '', column: '' };
    // Kept rows that exact copies were rejected against, where near-dedup may remove them later.
    const copiedRows = nearIndex && opts.dedup.near ? new GrowableUint32() : undefined;
    // MLX-LM trains a chat's last message only (--mask-prompt): kept rows with answers before it.
    const earlierAnswers = opts.target === 'mlx-lm' && opts.format === 'chat' ? new EarlierAnswers() : undefined;
    let input = 0;
    let rejected = 0;
    // With maxRows the bytes read say nothing of how far the run is: no fraction then.
    const progress = new ProgressTicker(opts.onProgress, opts.maxRows === undefined ? inputBytes : 0, started);
    // Every stage is announced as it begins, however few rows there are.
    progress.stage('read', 0, 0);
    /** Whether maxRows input rows have been read: no later row is read, counted or reported. */
    const full = (): boolean => opts.maxRows !== undefined && input >= opts.maxRows;
    const unfinished: string[] = [];
    const clock = new StageClock();
    const perFile = inputs.map(() => ({ rows: 0, kept: 0, rejected: 0, byReason: {} as Record<string, number> }));
    const inputHashes: Array<{ file: string; bytes: number; sha256: string; partial?: true }> = [];
    const rejectedSample: Rejection[] = [];
    const tally = (fileIndex: number, r: Rejection): void => {
      const stats = perFile[fileIndex] as (typeof perFile)[number];
      rejected++;
      stats.rejected++;
      byReason[r.reason] = (byReason[r.reason] ?? 0) + 1;
      stats.byReason[r.reason] = (stats.byReason[r.reason] ?? 0) + 1;
    };
    // With pii set, the report must not copy personal data back out: raw excerpts are left out,
    // and the message's quotes of the row are cut (JSON.parse quotes ten characters either side of
    // its error: half an e-mail address no rule finds), its previews of a value (`got "…"`) cut,
    // the rest redacted, and runs of six or more digits and separators (a date of birth or an MRN
    // quoted without its label) masked.
    const redactMessage = opts.pii ? redactedForReport(opts.pii.types) : undefined;
    const writeRejection = (r: Rejection): void => {
      const written = redactMessage ? { ...r, raw: undefined, message: redactMessage(r.message.replace(JSON_ERROR_QUOTE, '').replace(GOT_PREVIEW, 'got […]')).replace(NUMBER_RUN, '[…]') } : r;
      rejections.writeLine(serializeRecord(written));
      if (rejectedSample.length < HTML_REJECTED_SHOWN) rejectedSample.push(written);
    };
    const reject = (fileIndex: number, r: Rejection): void => {
      tally(fileIndex, r);
      writeRejection(r);
    };

    for (const [fileIndex, spec] of inputs.entries()) {
      const file = spec.path;
      const stats = perFile[fileIndex] as (typeof perFile)[number];
      // Rows rejected while reading wait for the rows before them still being counted, so that
      // rejected.jsonl is in input order with any number of threads.
      const order = new InputOrder<Rejection>(writeRejection);
      const early = (r: Rejection): void => {
        tally(fileIndex, r);
        order.early(r.source.line, r);
      };
      const late = (r: Rejection): void => {
        tally(fileIndex, r);
        order.late(r);
      };
      // A row rejected after the last one read: the file was not read to the end (maxRows).
      let cut = false;
      const loadCtx: StageContext = {
        reject: (r) => {
          if (full()) {
            cut = true; // a row after the last one read (the loader reads ahead to the next)
            return;
          }
          input++;
          stats.rows++;
          early(r);
        },
        warn: (m) => warnings.add(m),
        signal: opts.signal,
      };
      const stageCtx: StageContext = { reject: early, warn: (m) => warnings.add(m), signal: opts.signal };
      const countCtx: StageContext = {
        reject: (r) => {
          order.settling(r.source.line);
          late(r);
          order.settled(r.source.line);
        },
        warn: (m) => warnings.add(m),
        signal: opts.signal,
      };
      const inputHash = createHash('sha256');
      let inputBytes = 0;
      const rows = loadRecords(file, {
        // A format the user gave is the loader's to obey; one from the name, its to check.
        format: spec.formatGiven ? spec.format : undefined,
        delimiter: spec.delimiter,
        escape: spec.escape,
        quote: spec.quote,
        recordsKey: spec.recordsKey,
        encoding: spec.encoding,
        onInvalidEncoding: opts.onInvalidEncoding,
        maxLineBytes: opts.maxLineBytes,
        maxFieldChars: opts.maxFieldChars,
        onBytes: (chunk) => {
          inputHash.update(chunk);
          inputBytes += chunk.length;
          progress.bytes += chunk.length;
        },
      }, loadCtx);
      // The usual missing-value markers kept as text in the columns read: one warning per file.
      const markers = new MarkerTally(opts.nullValues);
      const normalize = rowNormalizer(
        { mapping: spec.mapping, systemPrompt: systemPromptText(opts.systemPrompt), domain: spec.domain, onInvalidEncoding: opts.onInvalidEncoding, keepColumns: splitColumns, templateValues: opts.pii !== undefined, nullValues: opts.nullValues },
        markers,
      );
      // Read, normalise and PII run per row in this one generator (each async layer costs every
      // row a promise); the dedup keys and the look-up of kept rows come with the count.
      const time = { read: 0, normalize: 0, pii: 0 };
      let readToEnd = false;
      async function* ready(): AsyncGenerator<Example> {
        if (full()) return;
        const it = rows[Symbol.asyncIterator]();
        let done = false;
        try {
          for (;;) {
            let t = performance.now();
            const next = await it.next();
            let now = performance.now();
            time.read += now - t;
            if (next.done) {
              done = true;
              readToEnd = !cut;
              return;
            }
            if (full()) return;
            input++;
            stats.rows++;
            progress.tick(input, kept.length, file);
            t = now;
            let example = normalize(next.value, stageCtx);
            now = performance.now();
            time.normalize += now - t;
            if (!example) continue;
            if (opts.pii) {
              t = now;
              example = piiCheck(example, opts.pii, piiLog, stageCtx);
              now = performance.now();
              time.pii += now - t;
              if (!example) continue;
            }
            if (findSpecial) {
              const found = findSpecial(example.messages);
              if (found !== undefined) {
                if (special.rows++ === 0) special.first = `${example.meta.source.file}:${example.meta.source.line}`;
                special.byToken.set(found, (special.byToken.get(found) ?? 0) + 1);
              }
            }
            order.sent(example.meta.source.line);
            yield example;
          }
        } finally {
          if (!done) await it.return?.();
        }
      }
      const near = nearIndex?.params;
      const record = { target: opts.target, format: opts.format };
      // The keys are computed beside the count, on the main thread or in the workers, wherever
      // there is time (a key function of the user's always here); so is the check that spares a
      // copy of a kept row the tokenizer.
      const keySpec = { key: exactDedup?.key ?? ('conversation' as const), seen: exactDedup?.index };
      const counting = countTokens(ready(), { tokenizer, budget, pool, near, record, keys: keySpec }, countCtx)[Symbol.asyncIterator]();
      let countMs = 0;
      let keepMs = 0;
      let finished = false;
      try {
        for (;;) {
          const t0 = performance.now();
          const step = await counting.next();
          const t1 = performance.now();
          countMs += t1 - t0;
          if (step.done) {
            finished = true;
            break;
          }
          throwIfAborted(opts.signal, RUN_ABORTED);
          const counted = step.value;
          const { example, tokens, prompt } = counted;
          const row = example.meta.source.line;
          order.settling(row);
          try {
            if (counted.duplicateOf !== undefined) {
              // A copy of a row already kept: the count skipped it.
              late(duplicateRejection(example.meta.source, kept.source(counted.duplicateOf), exactDedup?.key));
              copiedRows?.push(counted.duplicateOf);
              continue;
            }
            // Built and serialised beside the count (on whichever thread had time).
            const built = counted.record as RecordLine;
            if (!built.ok) {
              late({ source: example.meta.source, reason: built.reason, message: built.message });
              continue;
            }
            // A truncated example is compared (and hashed for the split) as it will be written, and
            // as it was read: a copy of a kept row is a duplicate however the budget cut either.
            const k = counted.keys as ExampleKeys;
            const read = counted.readKey;
            if (exactDedup) {
              let first = read ? exactDedup.index.find(read.hi, read.lo) : -1;
              if (first < 0) first = exactDedup.index.firstOf(k.keyHi, k.keyLo, kept.length);
              if (first >= 0) {
                late(duplicateRejection(example.meta.source, kept.source(first), exactDedup.key));
                copiedRows?.push(first);
                continue;
              }
              if (read) exactDedup.index.firstOf(read.hi, read.lo, kept.length);
            }
            await (built.line ? spill.writeEncoded(built.line) : spill.writeLine(built.text));
            const group = groupBy === undefined ? undefined : labelOf(example.meta, groupBy);
            if (groupBy !== undefined && group === undefined) missingGroup.count++;
            for (const column of [groupBy, stratifyBy]) {
              if (column !== undefined && roundedNumber(example.meta, column) && roundedLabels.count++ === 0) {
                Object.assign(roundedLabels, { first: `${example.meta.source.file}:${example.meta.source.line}`, column });
              }
            }
            kept.push({
              tokens,
              prompt,
              file: fileIndex,
              line: example.meta.source.line,
              hashHi: k.hashHi,
              hashLo: k.hashLo,
              domain: example.meta.domain ?? '(none)',
              stratum: stratifyBy === undefined ? '(all)' : (labelOf(example.meta, stratifyBy) ?? '(none)'),
              group,
              prefixes: k.prefixes,
            });
            if (nearIndex) {
              nearIndex.add(counted.nearText as string, counted.signature as Uint32Array);
            }
            piiLog.keep(example, kept.length - 1);
            earlierAnswers?.add(kept.length - 1, example.messages);
            if (counted.truncated) truncations.add(example.meta.source, counted.truncated, tokens);
            if (defaultLimit && tokens > defaultLimit.tokens) {
              overDefault.count++;
              overDefault.max = Math.max(overDefault.max, tokens);
            }
            stats.kept++;
          } finally {
            order.settled(row);
            keepMs += performance.now() - t1;
          }
        }
      } finally {
        if (!finished) await counting.return?.();
      }
      order.finish();
      const markerWarning = markers.warning(file, opts.nullValues);
      if (markerWarning) warnings.add(markerWarning);
      // ready() runs inside counting.next(): its time is taken out of the count stage's.
      clock.add('read', time.read);
      clock.add('normalize', time.normalize);
      if (opts.pii) clock.add('pii', time.pii);
      clock.add('count', countMs - time.read - time.normalize - time.pii);
      clock.add('keep', keepMs);
      // Cut while being read (a file still being written, or truncated meanwhile): read as far as it went.
      if (readToEnd && inputBytes < spec.bytes) {
        warnings.add(`${file}: the file shrank while it was read (${spec.bytes.toLocaleString('en-US')} bytes when the run began, ${inputBytes.toLocaleString('en-US')} read): it was cut or rewritten meanwhile, and what stood after that point is not in the dataset; run again once the file is complete`);
      }
      if (readToEnd) inputHashes.push({ file, bytes: inputBytes, sha256: inputHash.digest('hex') });
      else {
        inputHashes.push({ file, bytes: inputBytes, sha256: inputHash.digest('hex'), partial: true });
        unfinished.push(file);
      }
    }
    if (unfinished.length > 0) {
      warnings.add(`read the first ${(opts.maxRows as number).toLocaleString('en-US')} input rows (maxRows): not read to the end: ${listed(unfinished)}`);
    }
    const spilled = await spill.close();
    openWriters.length = 0;
    // The workers stop while the plan is made (tens of ms); the run waits for them before it returns.
    const poolClosed = pool?.close();
    if (defaultLimit && overDefault.count > 0) {
      warnings.add(overLimitWarning(defaultLimit, overDefault.count, overDefault.max));
    }
    if (special.rows > 0) warnings.add(specialTextWarning(tokenizer.name, special));
    if (missingGroup.count > 0) warnings.add(`${missingGroup.count} examples have no ${groupBy} value: each is its own group`);
    if (roundedLabels.count > 0) {
      warnings.add(
        `${roundedLabels.count} examples have a whole number past 2^53 in column ${JSON.stringify(roundedLabels.column)} (the first at ${roundedLabels.first}): JSON numbers that large are read without their last digits, ` +
          'so values that differ may read as one and be split as one group or stratum. Write such ids as strings in the file.',
      );
    }

    // An empty training file is no dataset: a run that rejected every row fails before writing,
    // whatever failOn says, and leaves outDir as it was (an earlier good dataset there stays).
    if (kept.length === 0) throw input === 0 ? noRows(inputs.map((i) => i.path)) : allRejected(input, byReason, rejectedSample, warnings.list());

    // Whole-input decisions: near-duplicate clusters, units that share a split, the split, the gate.
    const planStarted = performance.now();
    progress.stage('plan', input, kept.length);
    // The near-duplicate search takes minutes at millions of rows: it gives way to Ctrl-C and progress.
    const pace = pacer(opts.signal, RUN_ABORTED, (done) => progress.plan(input, kept.length, done));
    const plan = await planOutput(kept, nearIndex, {
      split: { ...opts.split, groupBy },
      near: opts.dedup.near,
      exactDedup: exactDedup !== undefined,
      pace,
      // The written files still hold the personal data found: the report's sample pairs do not.
      sampleText: opts.pii?.action === 'report' ? redactedForReport(opts.pii.types) : undefined,
      // A stratifyBy column may hold personal data (a customer's e-mail): its values are shown
      // redacted, read with the column's name as their label (a column of dates of birth).
      stratumName: opts.pii && stratifyBy !== undefined ? redactedValue(stratifyBy, opts.pii.types) : undefined,
    });
    for (const w of plan.warnings) warnings.add(w);
    if (nearIndex && opts.dedup.near) {
      for (const { row, rejection } of nearRejections(plan, kept, nearIndex, opts.dedup.near.threshold)) {
        const wait = pace(1);
        if (wait) await wait;
        reject(kept.file.view()[row] as number, rejection);
        (perFile[kept.file.view()[row] as number] as (typeof perFile)[number]).kept--;
      }
    }
    // A copy of a row that near-dedup removed points at the row kept in its place.
    const chained = nearIndex && copiedRows ? copiesOfRemoved(plan, kept, nearIndex, copiedRows.view()) : undefined;
    let rejectedWritten: WrittenFile | undefined;
    if (chained) {
      rejectedWritten = await repointCopies(rejections, chained, rejectedSample);
      rejectedFile = undefined;
    }
    nearIndex?.close();
    const assignment = plan.assignment;
    clock.add('plan', performance.now() - planStarted);
    const writeStarted = performance.now();
    const sizes = { train: 0, validation: 0, test: 0 };
    for (const a of assignment) if (a !== NOT_WRITTEN) sizes[SPLIT_NAMES[a] as SplitName]++;
    const keptCount = sizes.train + sizes.validation + sizes.test;
    checkSplitMinimum(target, opts, sizes);
    const written = new Map<SplitName, WrittenFile>();
    const writers: Array<JsonlWriter | undefined> = [];
    for (const [i, name] of SPLIT_NAMES.entries()) {
      if (name === 'train' || sizes[name] > 0 || (name === 'validation' && target.needsValidation)) {
        // The glue names, per file, only the optional columns it holds (LLaMA-Factory).
        const w = new JsonlWriter(await tx.path(target.files[name]), { watch: optionalColumns(opts.target, opts.format) });
        writers[i] = w;
        openWriters.push(w);
      }
    }
    progress.stage('write', input, keptCount);
    const showcase = opts.pii?.action === 'report' ? undefined : extremeRows(kept.tokens.view(), assignment, HTML_EXAMPLES);
    const {
      rows: index,
      written: routed,
      kept: showcaseLines,
    } = await routeLines(spill.path, assignment, writers, NOT_WRITTEN, { checkpoint: () => throwIfAborted(opts.signal, RUN_ABORTED), keep: showcase?.rows, fill: fillable && spilled.keys?.includes(fillable.key) ? fillable : undefined });
    for (const [i, w] of writers.entries()) if (w) written.set(SPLIT_NAMES[i] as SplitName, await w.close());
    openWriters.length = 0;

    // Accounting is an invariant, not a hope: a mismatch is a bug and fails the run loudly.
    const counts: PrepareCounts = { input, kept: keptCount, ...sizes, rejected, byReason: sortKeys(byReason) };
    const reasonSum = Object.values(byReason).reduce((a, b) => a + b, 0);
    if (index !== kept.length || routed !== keptCount || input !== keptCount + rejected || reasonSum !== rejected) {
      throw new LoraPrepError(
        'INTERNAL',
        `row accounting does not add up (input ${input}, kept ${keptCount}, routed ${routed}, rejected ${rejected}, by reason ${reasonSum}); please report this bug`,
      );
    }

    addSizeWarnings(warnings, opts, target, sizes, keptCount, keys);
    const earlier = earlierAnswers?.warning(assignment);
    if (earlier) warnings.add(earlier);
    // Statistics cover what is written: rows removed as near-duplicates are left out.
    const w = writtenRows(kept, assignment);
    const tokensAll = { ...tokenStats(w.tokens), trainable: trainableTotal(w.tokens, w.prompt) };
    const cost = opts.pricing ? estimateCost(opts.pricing, sizes.train, w.tokens, w.assignment) : undefined;
    const inputReports: PrepareReport['inputs'] = inputs.map((spec, i) => ({
      file: spec.path,
      format: spec.format,
      // No row was read, so nothing was mapped: 'auto' would otherwise name a preset the file never used.
      mapping: spec.natural === undefined ? null : mappingName(spec.mapping as ResolvedMapping),
      ...(perFile[i] as (typeof perFile)[number]),
    }));
    const report = buildReport({
      opts,
      tokenizer,
      counts,
      inputs: inputReports,
      tokens: w.tokens,
      prompt: w.prompt,
      domainOf: w.domain,
      domainNames: kept.domains.names,
      assignment: w.assignment,
      truncated: truncations.summary(),
      cost,
      plan,
      stratified: stratifyBy !== undefined,
      keys,
      pii: opts.pii ? piiLog.summary(opts.pii, assignment) : null,
      warnings: warnings.list(),
    });
    const rel = (name: SplitName) => target.files[name];
    const glue = trainerGlue({
      target: opts.target,
      format: opts.format,
      outDir: opts.outDir,
      files: { train: rel('train'), validation: written.has('validation') ? rel('validation') : undefined, test: written.has('test') ? rel('test') : undefined },
      sequenceLength: opts.maxTokens ?? Math.max(1, tokensAll.max),
      tokenizer: tokenizer.name,
      columns: { train: written.get('train')?.keys, validation: written.get('validation')?.keys, test: written.get('test')?.keys },
    });
    for (const message of glue.warnings) warnings.add(message);
    report.warnings = warnings.list();
    const glueWritten: Array<{ file: string } & Omit<WrittenFile, 'path'>> = [];
    for (const f of [...glue.files, { path: 'report/next-steps.md', content: glue.nextSteps }]) {
      const info = await writeTextFile(await tx.path(f.path), f.content);
      glueWritten.push({ file: f.path, lines: info.lines, bytes: info.bytes, sha256: info.sha256 });
    }
    const reportPath = await tx.path('report/report.json');
    const reportFile = await writeJsonFile(reportPath, report);
    const example = (row: number): HtmlExample => ({
      source: kept.source(row),
      split: SPLIT_NAMES[assignment[row] as number] as SplitName,
      tokens: kept.tokens.view()[row] as number,
      record: JSON.parse(showcaseLines.get(row) as string) as Record<string, unknown>,
    });
    const html = renderReportHtml({
      report,
      examples: showcase ? { longest: showcase.longest.map(example), shortest: showcase.shortest.map(example) } : null,
      examplesNote: showcase ? undefined : 'Examples are not shown: pii.action is "report", so the written files still hold the personal data found. Use "redact" to see them here.',
      rejected: { rows: rejectedSample, total: rejected },
    });
    const htmlFile = await writeTextFile(await tx.path('report/report.html'), html);
    rejectedWritten ??= rejections.close();
    rejectedFile = undefined;

    const outputs = [
      ...[...written.entries()].map(([name, w]) => ({ file: rel(name), lines: w.lines, bytes: w.bytes, sha256: w.sha256 })),
      ...glueWritten,
      { file: 'report/rejected.jsonl', lines: rejectedWritten.lines, bytes: rejectedWritten.bytes, sha256: rejectedWritten.sha256 },
      { file: 'report/report.json', lines: reportFile.lines, bytes: reportFile.bytes, sha256: reportFile.sha256 },
      { file: 'report/report.html', lines: htmlFile.lines, bytes: htmlFile.bytes, sha256: htmlFile.sha256 },
    ];
    const manifest = {
      tool: LIBRARY,
      options: manifestOptions(opts, inputs),
      seed: opts.split.seed,
      tokenizer: { name: tokenizer.name, source: tokenizer.source, chatTemplate: tokenizer.chatTemplate ?? null },
      // Where the inputs' relative paths start, from outDir: verify finds them from any folder.
      inputsFrom: relative(resolve(opts.outDir), process.cwd()) || '.',
      inputs: inputHashes,
      outputs,
    };
    await writeJsonFile(await tx.path('report/manifest.json'), manifest);

    const writtenRel = [...[...written.keys()].map(rel), ...glueWritten.map((g) => g.file), 'report/rejected.jsonl', 'report/report.json', 'report/report.html', 'report/manifest.json'];
    const owned = [...new Set(Object.values(targets).flatMap((t) => Object.values(t.files))), ...OWNED_FILES];
    // Announced before the move into place: a callback that throws at `done` leaves outDir as it
    // was, as at every other stage (after the move, its error would say the run failed when the
    // new files were already there).
    progress.done(input, keptCount);
    await tx.commit(writtenRel, owned);
    committed = true;
    await poolClosed;
    clock.add('write', performance.now() - writeStarted);

    const files: PrepareResult['files'] = {
      train: join(opts.outDir, rel('train')),
      rejected: join(opts.outDir, 'report', 'rejected.jsonl'),
      report: join(opts.outDir, 'report', 'report.json'),
      reportHtml: join(opts.outDir, 'report', 'report.html'),
      manifest: join(opts.outDir, 'report', 'manifest.json'),
      nextSteps: join(opts.outDir, 'report', 'next-steps.md'),
    };
    if (written.has('validation')) files.validation = join(opts.outDir, rel('validation'));
    if (written.has('test')) files.test = join(opts.outDir, rel('test'));
    const result: PrepareResult = {
      outDir: opts.outDir,
      files,
      counts,
      tokens: tokensAll,
      truncated: truncations.count,
      ...(cost ? { cost } : {}),
      ...(plan.near ? { near: { pairs: plan.near.pairs, clusters: plan.near.clusters, removed: plan.near.removed } } : {}),
      ...(stratifyBy !== undefined ? { strata: plan.byStratum } : {}),
      ...(opts.pii ? { pii: { action: opts.pii.action, found: report.pii?.found ?? {} } } : {}),
      warnings: warnings.list(),
      nextSteps: glue.nextSteps,
      tokenizer: tokenizer.name,
      elapsedMs: Date.now() - started,
      timings: clock.summary(),
    };
    failIfWorse(opts, result);
    return result;
  } catch (e) {
    if (committed && isLoraPrepError(e) && e.code === 'DATA_FAILED') throw e; // the files are written; the run failed on purpose
    for (const w of openWriters) w.destroy();
    rejectedFile?.destroy();
    nearIndex?.close();
    await pool?.close();
    await tx.rollback();
    throw e;
  }
}

/**
 * The human summary of a result (what `lora-prep prepare` prints).
 *
 * @example
 * console.log(summarize(await prepareDataset(opts)));
 */
export function summarize(result: PrepareResult): string {
  return formatSummary(result);
}

// --- internal ---

interface ResolvedInput {
  path: string;
  bytes: number;
  domain: string | undefined;
  format: InputFormat;
  /** The input named its format (else the file name did). */
  formatGiven: boolean;
  delimiter: string | undefined;
  escape: '"' | '\\' | undefined;
  quote: '"' | false | undefined;
  recordsKey: string | undefined;
  encoding: InputEncoding;
  mapping: Exclude<Mapping, 'auto'>;
  /** The preset's natural split keys found in the first row; undefined for an empty file. */
  natural: { groupBy?: string; stratifyBy?: string } | undefined;
}

/**
 * The split columns in effect: the user's, else the presets' natural keys when every input with
 * rows names the same one (a PubMedQA file beside a FiQA file gets no `pubid` grouping, since
 * every FiQA row would be a group of its own). `false` turns a key off.
 */
function splitKeys(opts: ResolvedOptions, inputs: ResolvedInput[]): { stratifyBy?: string; groupBy?: string; fromPreset: string[] } {
  const withRows = inputs.filter((i) => i.natural !== undefined);
  const agreed = (key: 'groupBy' | 'stratifyBy'): string | undefined => {
    const first = withRows[0]?.natural?.[key];
    return first !== undefined && withRows.every((i) => i.natural?.[key] === first) ? first : undefined;
  };
  const out: { stratifyBy?: string; groupBy?: string; fromPreset: string[] } = { fromPreset: [] };
  for (const key of ['stratifyBy', 'groupBy'] as const) {
    const set = opts.split[key];
    if (set === false) continue;
    if (set !== undefined) out[key] = set;
    else {
      const natural = agreed(key);
      if (natural !== undefined) {
        out[key] = natural;
        out.fromPreset.push(key);
      }
    }
  }
  return out;
}

async function resolveInputs(opts: ResolvedOptions, warn: (message: string) => void): Promise<ResolvedInput[]> {
  const out: ResolvedInput[] = [];
  const firstRows: SourceRow[] = [];
  const specs: Array<{ spec: InputSpec; bytes: number }> = [];
  for (const raw of opts.inputs) specs.push(...(await inputFiles(typeof raw === 'string' ? { path: raw } : raw, warn)));
  // Read twice with exact dedup on, every row of the file would be rejected as a copy of itself
  // and counted twice. With it off, a file given twice is the way to weigh it double: allowed.
  // Compared by real path: a link to a file is the file.
  const paths = specs.map((s) => s.spec.path);
  const reals = await Promise.all(paths.map(realPath));
  const repeated = opts.dedup.exact === false ? undefined : repeatedPath(paths, reals);
  if (repeated) {
    throw new LoraPrepError('OPTION_INVALID', `inputs: ${repeated.file} is the same file as ${repeated.earlier} (given twice, or also in a folder given): with exact dedup on, its rows would all be rejected as copies of themselves; give each file once (to weigh a file double, turn dedup off)`, {
      location: { file: repeated.file },
    });
  }
  const inside = await inputInside(paths, opts.outDir, reals);
  if (inside !== undefined) {
    throw new LoraPrepError(
      'OPTION_INVALID',
      `inputs: ${inside} is inside outDir ${opts.outDir}: a run replaces the files it writes there (train.jsonl, report/, …) and removes those of earlier runs, and a later run would read its own outputs as input; write to another folder`,
      { location: { file: inside } },
    );
  }
  // A job-wide recordsKey is for the JSON inputs among others (the loaders warn where it is ignored):
  // other files get it only when no input is JSON, where it was surely meant for them.
  const anyJson = specs.some(({ spec }) => detectFormat(spec.path, spec.format) === 'json');
  const settings = specs.map(({ spec }) => {
    const format = detectFormat(spec.path, spec.format);
    return {
      format,
      delimiter: spec.delimiter ?? opts.delimiter,
      escape: spec.escape ?? opts.escape,
      quote: spec.quote ?? opts.quote,
      recordsKey: spec.recordsKey ?? (format === 'json' || !anyJson ? opts.recordsKey : undefined),
      encoding: spec.encoding ?? opts.encoding,
    };
  });
  // The mapping is resolved (and a template's columns checked) from each file's first row,
  // before any row of any file is processed. Several files' at once: one at a time, each waited on
  // its own open, read and close (5,000 small files: 2.7 s of a 11.8 s run).
  const firsts = inOrderAhead(specs.length, FIRST_ROWS_AHEAD, (i) => {
    const { spec } = specs[i] as (typeof specs)[number];
    const { delimiter, escape, quote, recordsKey, encoding } = settings[i] as (typeof settings)[number];
    return firstRow(spec.path, { format: spec.format, delimiter, escape, quote, recordsKey, encoding, onInvalidEncoding: opts.onInvalidEncoding, maxLineBytes: opts.maxLineBytes, maxFieldChars: opts.maxFieldChars });
  });
  for (const [i, { spec, bytes }] of specs.entries()) {
    const { format, delimiter, escape, quote, recordsKey, encoding } = settings[i] as (typeof settings)[number];
    const first = (await firsts.next()).value as SourceRow | undefined;
    const mapping = resolveMapping(spec.mapping ?? opts.mapping, first?.data, spec.path, { header: format === 'csv' || format === 'tsv' });
    // `auto` picks one shape where the columns fit several: say which, and what else was there.
    if ((spec.mapping ?? opts.mapping) === 'auto' && first) {
      const chosen = mappingName(mapping);
      const others = chosen === 'template' || chosen === 'classification' ? [] : alsoFits(first.data, chosen as Parameters<typeof alsoFits>[1]);
      if (others.length > 0) {
        warn(`${spec.path}: the columns fit "${chosen}" and also ${others.map((o) => `"${o}"`).join(', ')}: read as "${chosen}" (the other columns are kept in each example's meta); name the mapping to read the file as another.`);
      }
    }
    const natural = first ? naturalKeys(mapping, first.data) : undefined;
    out.push({ path: spec.path, bytes, domain: spec.domain, format, formatGiven: spec.format !== undefined, delimiter, escape, quote, recordsKey, encoding, mapping, natural });
    if (first) firstRows.push(first);
  }
  // A split column that no input has is a typo, not data: say so before reading anything.
  for (const [option, column] of [['split.stratifyBy', opts.split.stratifyBy], ['split.groupBy', opts.split.groupBy]] as const) {
    if (column === undefined || column === false || column === 'domain' || firstRows.length === 0) continue;
    if (!firstRows.some((r) => Object.hasOwn(r.data, column))) {
      const columns = [...new Set(firstRows.flatMap((r) => Object.keys(r.data)))];
      throw new LoraPrepError(
        'OPTION_INVALID',
        `Invalid options:\n  - ${option}: no input has a column ${JSON.stringify(column)}; columns are ${columns.map((c) => JSON.stringify(c)).join(', ')} (or "domain")`,
      );
    }
  }
  return out;
}

/** First rows read at once while inputs are resolved. */
const FIRST_ROWS_AHEAD = 8;

/**
 * `fn(0)`, `fn(1)`, … in order, with up to `ahead` of them started before the one awaited. A
 * failure surfaces when its turn comes; the ones started after it are left to settle unread.
 */
async function* inOrderAhead<T>(count: number, ahead: number, fn: (i: number) => Promise<T>): AsyncGenerator<T, void> {
  const started: Array<Promise<T>> = [];
  let next = 0;
  for (let i = 0; i < count; i++) {
    while (next < count && next < i + ahead) {
      const p = fn(next++);
      p.catch(() => undefined); // read in its turn, below; not an unhandled rejection meanwhile
      started.push(p);
    }
    yield await (started[i] as Promise<T>);
    started[i] = undefined as unknown as Promise<T>;
  }
}

async function firstRow(path: string, options: LoadOptions): Promise<SourceRow | undefined> {
  const quiet: StageContext = { reject: () => undefined, warn: () => undefined };
  for await (const row of loadRecords(path, options, quiet)) return row;
  return undefined;
}


const RUN_ABORTED = 'the run was aborted; outDir was left as it was';

/**
 * Said when a target that trains open models counts with the default tokenizer, an OpenAI
 * encoding: its counts are not the model's (Llama 3 counted a Chinese file 6% longer than
 * o200k_base), and they set both the budget and the length written into the trainer's settings.
 */
function defaultTokenizerWarning(target: string, encoding: string): string {
  return (
    `counts use ${encoding}, OpenAI's encoding and the default tokenizer, not the tokenizer of the model ${target} will train: ` +
    "the token budget and the length written into the trainer's settings can be off by several percent (more for text other than English). " +
    `Pass tokenizer (CLI --tokenizer) the model's Hugging Face folder, or a short name (${Object.keys(TOKENIZER_PACKAGES).join(', ')}) of an installed tokenizer package`
  );
}


/** The main thread's view of a tokenizer that only the workers loaded: its name, never a count. */
/** Rows that hold the text of control tokens: how many, of which, where the first is, and why it matters. */
function specialTextWarning(tokenizer: string, special: { rows: number; byToken: Map<string, number>; first: string }): string {
  const which = [...special.byToken].sort((a, b) => b[1] - a[1]);
  const listed = which.slice(0, 5).map(([t, n]) => `${t} in ${n.toLocaleString('en-US')}`).join(', ') + (which.length > 5 ? ` and ${which.length - 5} more` : '');
  return (
    `${special.rows.toLocaleString('en-US')} row${special.rows === 1 ? '' : 's'} hold${special.rows === 1 ? 's' : ''} the text of control tokens of the tokenizer ${tokenizer} (${listed}; the first at ${special.first}): ` +
    'its tokenizer reads such text as the token itself, wherever it stands, so a row can end its own turn or open a fake one (<|im_end|><|im_start|>assistant) and the model learns it. ' +
    'They were kept as written (and counted as the trainer will count them): take the markers out of the data unless they are meant as control tokens.'
  );
}

function countedInWorkers(info: TokenizerInfo): Tokenizer {
  const never = (): never => {
    throw new LoraPrepError('INTERNAL', 'the tokenizer runs in the worker threads only; please report this bug');
  };
  return { ...info, count: never, encode: never, decode: never, countMessages: never, measure: never };
}

const MAX_WARNINGS = 200; // a file with a problem on every row must not flood the report

class WarningList {
  #seen = new Set<string>();
  #list: string[] = [];
  #dropped = 0;

  add(message: string): void {
    if (this.#seen.has(message)) return;
    if (this.#list.length >= MAX_WARNINGS) {
      this.#dropped++;
      return;
    }
    this.#seen.add(message);
    this.#list.push(message);
  }

  list(): string[] {
    return this.#dropped === 0 ? [...this.#list] : [...this.#list, `${this.#dropped} more warnings not shown`];
  }
}

/**
 * Kept rows whose chats answer before their last message (MLX-LM trains the last one only): row,
 * earlier assistant turns, of them tool calls; 12 bytes a such row, none for single exchanges.
 */
class EarlierAnswers {
  readonly #rows = new GrowableUint32();

  add(row: number, messages: readonly Message[]): void {
    let turns = 0;
    let calls = 0;
    for (let i = 0; i < messages.length - 1; i++) {
      const m = messages[i] as Message;
      if (m.role !== 'assistant') continue;
      turns++;
      if (m.tool_calls) calls++;
    }
    if (turns === 0) return;
    this.#rows.push(row);
    this.#rows.push(turns);
    this.#rows.push(calls);
  }

  /** The warning over the rows written, or undefined when none answers early. */
  warning(assignment: Uint8Array): string | undefined {
    const v = this.#rows.view();
    let examples = 0;
    let turns = 0;
    let calls = 0;
    for (let i = 0; i + 2 < v.length; i += 3) {
      if (assignment[v[i] as number] === NOT_WRITTEN) continue;
      examples++;
      turns += v[i + 1] as number;
      calls += v[i + 2] as number;
    }
    if (examples === 0) return undefined;
    const n = (x: number) => x.toLocaleString('en-US');
    return `${n(examples)} examples answer before their last message (${n(turns)} assistant turns${calls > 0 ? `, ${n(calls)} of them tool calls` : ''}): mlx-lm with --mask-prompt (next steps) trains only each chat's last message, so those turns are not trained; without it, it trains on every token, prompts too`;
  }
}

/** A message's preview of a value of the row (`got "{\"to\":\"margaret.o…`, its closing quote cut too at times): left out, where no rule could tell what it holds. */
const GOT_PREVIEW = /got "(?:[^"\\]|\\.)*(?:"|$)/g;

/** Six or more digits and separators in a row, not part of a word or a path: what may be a number of a person's in a rejection message. */
const NUMBER_RUN = /(?<![\w/.:-])\d[\d .\/:()-]{4,}\d(?![\w])/g;

/** The text V8's JSON.parse quotes around its error (`, ..." "email": margaret.o"... is not valid JSON`), up to where the quote ends. */
const JSON_ERROR_QUOTE = /, (?:\.\.\.)?"[\s\S]*?"(?:\.\.\.)? is not valid JSON/g;

/** The error of a run whose inputs hold no row at all: an empty train.jsonl is no dataset. */
function noRows(files: string[]): LoraPrepError {
  return new LoraPrepError(
    'DATA_FAILED',
    `no example was kept: the inputs have no rows (an empty file, or a header and no data rows): ${listed(files)}. Nothing was written; check the export that made ${files.length === 1 ? 'it' : 'them'}.`,
  );
}

/** The error of a run that rejected every row: the top reasons, the first rows and what they say. */
/** Warnings a run that kept nothing shows in its error. */
const MAX_FAILED_WARNINGS = 5;

function allRejected(input: number, byReason: Record<string, number>, first: readonly Rejection[], warnings: readonly string[]): LoraPrepError {
  const reasons = Object.entries(byReason).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const top = reasons.slice(0, 3).map(([r, n]) => `${n.toLocaleString('en-US')} ${r}`).join(', ');
  const byTokenizer = (byReason.template_error ?? 0) + (byReason.tokenizer_error ?? 0);
  const hint =
    2 * byTokenizer >= input ? " Most are the tokenizer's or its chat template's: check tokenizer, and systemPrompt (a template that refuses system messages refuses every row given one)." : '';
  const rows = first.slice(0, 3).map((r) => `\n  ${r.source.file}:${r.source.line}: ${r.reason}: ${r.message}`).join('');
  // The run's warnings say what to do for whole files (an encoding to pass, a delimiter): no report is written to hold them.
  const said = warnings.slice(0, MAX_FAILED_WARNINGS).map((w) => `\n  - ${w}`).join('');
  const more = warnings.length > MAX_FAILED_WARNINGS ? `\n  - and ${warnings.length - MAX_FAILED_WARNINGS} more` : '';
  return new LoraPrepError(
    'DATA_FAILED',
    `no example was kept: all ${input.toLocaleString('en-US')} input rows were rejected (${top}${reasons.length > 3 ? ', …' : ''}).${hint} Nothing was written. The first:${rows}${said === '' ? '' : `\nWarnings:${said}${more}`}`,
  );
}

/**
 * `failOn`: the files and the report are in place, so the user can see why; the run still fails.
 */
function failIfWorse(opts: ResolvedOptions, result: PrepareResult): void {
  const { input, rejected, byReason } = result.counts;
  const f = opts.failOn;
  if (!f) return;
  const why: string[] = [];
  if (f.rejectedRatio !== undefined && input > 0 && rejected / input > f.rejectedRatio) {
    why.push(`${rejected} of ${input} rows rejected (${((rejected / input) * 100).toFixed(1)}%), over failOn.rejectedRatio ${f.rejectedRatio}`);
  }
  for (const reason of f.reasons ?? []) {
    if ((byReason[reason] ?? 0) > 0) why.push(`${byReason[reason]} rows rejected as ${reason}, listed in failOn.reasons`);
  }
  if (why.length === 0) return;
  const error = new LoraPrepError('DATA_FAILED', `the data failed the failOn checks: ${why.join('; ')}. The files and ${result.files.report} are written: see ${result.files.rejected}.`);
  Object.assign(error, { result });
  throw error;
}

/** Files lora-prep owns besides the split files: replaced on overwrite, removed when not written again. */
const OWNED_FILES = ['dataset_info.json', 'axolotl.yaml', 'report/next-steps.md', 'report/rejected.jsonl', 'report/report.json', 'report/report.html', 'report/manifest.json'];

/** Longest and shortest written examples shown in report.html. */
const HTML_EXAMPLES = 3;

/** An example's messages, with its tool definitions as one more (a tool's JSON) where it has them, for the PII scan. */
function withTools(example: Example): Message[] {
  return example.tools ? [...example.messages, { role: 'tool', content: JSON.stringify(example.tools) }] : example.messages;
}

/** A column's values redacted for the report, each read after the column's name as a label (a JSON key's way). */
function redactedValue(column: string, types: readonly PiiType[] | undefined): (text: string) => string {
  return (text) => {
    const r = redactMessages([{ role: 'tool', content: JSON.stringify({ [column]: text }) }], types);
    return (JSON.parse(r.messages[0]?.content as string) as Record<string, string>)[column] ?? '[…]';
  };
}

/** A text with the personal data of `types` (default all) replaced by typed placeholders, for the report. */
function redactedForReport(types: readonly PiiType[] | undefined): (text: string) => string {
  return (text) => redactPii(text, findPii(text, types), new Map());
}

/**
 * A job error that quotes the data (a headerless CSV's first row read as its column names, a JSON
 * file's keys, in a MAPPING_INVALID, OPTION_INVALID or INPUT_FORMAT message), with what it quotes redacted and digit runs masked
 * as in `report/rejected.jsonl`, for a run with `pii` set: it goes to terminals and CI logs.
 */
function withoutPii(e: unknown, types: readonly PiiType[] | undefined): unknown {
  if (isLoraPrepError(e) && (e.code === 'MAPPING_INVALID' || e.code === 'OPTION_INVALID' || e.code === 'INPUT_FORMAT')) {
    e.message = redactedForReport(types)(e.message).replace(NUMBER_RUN, '[…]');
  }
  return e;
}

/**
 * The `n` longest and `n` shortest written rows by tokens (ties: earlier row first), for the
 * report page. One pass, no sort of the whole input.
 */
function extremeRows(tokens: Uint32Array, assignment: Uint8Array, n: number): { longest: number[]; shortest: number[]; rows: Set<number> } {
  const longest: number[] = [];
  const shortest: number[] = [];
  const insert = (list: number[], row: number, before: (a: number, b: number) => boolean) => {
    let i = list.length;
    while (i > 0 && before(row, list[i - 1] as number)) i--;
    if (i < n) {
      list.splice(i, 0, row);
      if (list.length > n) list.pop();
    }
  };
  for (let row = 0; row < assignment.length; row++) {
    if (assignment[row] === NOT_WRITTEN) continue;
    const t = tokens[row] as number;
    insert(longest, row, (a, b) => t > (tokens[b] as number) || (t === tokens[b] && a < b));
    insert(shortest, row, (a, b) => t < (tokens[b] as number) || (t === tokens[b] && a < b));
  }
  return { longest, shortest, rows: new Set([...longest, ...shortest]) };
}

/** MLX-LM batches every split: a file under its batch size fails there, so it fails here, before writing. */
function checkSplitMinimum(target: Target, opts: ResolvedOptions, sizes: Record<SplitName, number>): void {
  const min = target.minPerSplit;
  if (min === undefined) return;
  for (const name of SPLIT_NAMES) {
    const wanted = name === 'train' || (name === 'validation' && (target.needsValidation || opts.split.validation > 0)) || (name === 'test' && opts.split.test > 0);
    if (wanted && sizes[name] < min) {
      throw new LoraPrepError(
        'SPLIT_TOO_SMALL',
        `${opts.target} needs at least ${min} examples in ${target.files[name]} (its default batch size); this run has ${sizes[name]}. ` +
          `Add data, or ${name === 'train' ? 'lower split.validation and split.test' : `raise split.${name}`}. Nothing was written.`,
      );
    }
  }
}

function addSizeWarnings(warnings: WarningList, opts: ResolvedOptions, target: Target, sizes: Record<SplitName, number>, kept: number, keys: { groupBy?: string | undefined; stratifyBy?: string | undefined }): void {
  for (const split of ['validation', 'test'] as const) {
    const fraction = opts.split[split];
    if (fraction === 0 || sizes[split] > 0 || kept === 0) continue;
    const wanted = Math.round(kept * fraction);
    if (wanted === 0) {
      warnings.add(`only ${kept} ${kept === 1 ? 'example' : 'examples'} kept: the ${split} split (${fraction}) rounds to 0 examples`);
      continue;
    }
    // Not the rounding: the strategy, the training example kept, or what is split whole or per stratum.
    const why =
      opts.split.strategy === 'hash'
        ? "the 'hash' strategy places each example by its hash, so sizes vary around the fractions, and none landed there"
        : splitSizes(kept, opts.split)[split] === 0
          ? 'train keeps at least one example'
          : keys.groupBy !== undefined
            ? `examples of one ${keys.groupBy} stay together (split.groupBy), and no whole group fitted`
            : keys.stratifyBy !== undefined
              ? `each ${keys.stratifyBy} (split.stratifyBy) is split on its own, and none had an example to spare`
              : 'examples kept together (near-duplicate clusters, snapshots of one chat) did not fit';
    warnings.add(`the ${split} split is empty: ${fraction} of ${kept} examples is ${wanted}, but ${why}`);
  }
  if (target.warnTrainUnder !== undefined && sizes.train < target.warnTrainUnder) {
    warnings.add(`${opts.target} fine-tuning needs at least ${target.warnTrainUnder} training examples; train has ${sizes.train}`);
  }
}

interface ReportInput {
  opts: ResolvedOptions;
  tokenizer: Tokenizer;
  counts: PrepareCounts;
  inputs: PrepareReport['inputs'];
  tokens: Uint32Array;
  prompt: Uint32Array;
  domainOf: Uint32Array;
  domainNames: string[];
  assignment: Uint8Array;
  truncated: PrepareReport['truncated'];
  cost: CostEstimate | undefined;
  plan: Plan;
  stratified: boolean;
  keys: ReturnType<typeof splitKeys>;
  pii: PiiSummary | null;
  warnings: string[];
}

function buildReport(r: ReportInput): PrepareReport {
  const { opts, counts, tokens, prompt, assignment } = r;
  const domainNames = r.domainNames;
  const byDomain: Record<SplitName, Record<string, number>> = { train: {}, validation: {}, test: {} };
  const perSplit: number[][] = [[], [], []];
  const trainableBySplit = [0, 0, 0];
  for (let i = 0; i < assignment.length; i++) {
    const s = assignment[i] as number;
    const name = SPLIT_NAMES[s] as SplitName;
    const domain = domainNames[r.domainOf[i] as number] as string;
    byDomain[name][domain] = (byDomain[name][domain] ?? 0) + 1;
    (perSplit[s] as number[]).push(tokens[i] as number);
    trainableBySplit[s] = (trainableBySplit[s] as number) + (tokens[i] as number) - (prompt[i] as number);
  }
  const bySplit: Record<string, ResultTokens & { histogram: HistogramBin[] }> = {};
  for (const [s, list] of perSplit.entries()) {
    if (list.length === 0) continue;
    const counts = Uint32Array.from(list);
    bySplit[SPLIT_NAMES[s] as string] = { ...tokenStats(counts), trainable: trainableBySplit[s] as number, histogram: tokenHistogram(counts) };
  }
  return {
    tool: LIBRARY,
    target: opts.target,
    format: opts.format,
    tokenizer: r.tokenizer.name,
    counts,
    inputs: r.inputs,
    tokens: {
      ...tokenStats(tokens),
      trainable: trainableTotal(tokens, prompt),
      maxTokens: opts.maxTokens ?? null,
      minTokens: opts.minTokens ?? null,
      histogram: tokenHistogram(tokens),
      bySplit,
    },
    truncated: r.truncated,
    cost: r.cost ?? null,
    dedup: {
      exact: opts.dedup.exact === false ? null : { key: typeof opts.dedup.exact.key === 'function' ? 'function' : opts.dedup.exact.key, duplicates: counts.byReason.duplicate ?? 0 },
      near: r.plan.near,
    },
    splits: {
      strategy: opts.split.strategy,
      seed: opts.split.seed,
      fractions: { validation: opts.split.validation, test: opts.split.test },
      stratifyBy: r.keys.stratifyBy ?? null,
      groupBy: r.keys.groupBy ?? null,
      keysFromPreset: r.keys.fromPreset,
      units: r.plan.units,
      sizes: { train: counts.train, validation: counts.validation, test: counts.test },
      byDomain: { train: sortKeys(byDomain.train), validation: sortKeys(byDomain.validation), test: sortKeys(byDomain.test) },
      byStratum: r.stratified ? sortKeys(r.plan.byStratum) : null,
    },
    leakage: r.plan.leakage,
    pii: r.pii,
    warnings: r.warnings,
  };
}

/** PII facts for the report. */
export interface PiiSummary {
  action: 'report' | 'redact' | 'drop';
  types: PiiType[];
  /** Findings per type over every example scanned (dropped ones included). */
  found: Partial<Record<PiiType, number>>;
  /** Findings per type in the examples written, by split. */
  bySplit: Record<SplitName, Partial<Record<PiiType, number>>>;
  /** Examples with at least one finding. */
  examplesWithPii: number;
  /** A few redacted excerpts (redact only: the report never repeats personal data). */
  samples: Array<{ source: { file: string; line: number }; text: string }>;
}

const PII_SAMPLES = 5;
const PII_SAMPLE_CHARS = 200;

/** Counts PII per example and keeps the counts of kept examples for the per-split figures. */
class PiiLog {
  readonly found: Partial<Record<PiiType, number>> = {};
  examplesWithPii = 0;
  readonly samples: PiiSummary['samples'] = [];
  readonly #pending = new WeakMap<Example, Record<PiiType, number>>();
  readonly #byRow = new Map<number, Record<PiiType, number>>();

  record(example: Example, counts: Record<PiiType, number>, redacted: boolean): void {
    let any = false;
    for (const [type, n] of Object.entries(counts) as Array<[PiiType, number]>) {
      if (n === 0) continue;
      any = true;
      this.found[type] = (this.found[type] ?? 0) + n;
    }
    if (!any) return;
    this.examplesWithPii++;
    this.#pending.set(example, counts);
    if (redacted && this.samples.length < PII_SAMPLES) {
      const m = example.messages.find((x) => /\[[A-Z]+(?:_\d+)?\]/.test(x.content));
      if (m) {
        const at = Math.max(0, m.content.search(/\[[A-Z]+(?:_\d+)?\]/) - 60);
        this.samples.push({ source: example.meta.source, text: m.content.slice(at, at + PII_SAMPLE_CHARS) });
      }
    }
  }

  keep(example: Example, row: number): void {
    const counts = this.#pending.get(example);
    if (counts) this.#byRow.set(row, counts);
  }

  summary(o: { action: 'report' | 'redact' | 'drop'; types?: PiiType[] | undefined }, assignment: Uint8Array): PiiSummary {
    const bySplit: PiiSummary['bySplit'] = { train: {}, validation: {}, test: {} };
    for (const [row, counts] of this.#byRow) {
      const a = assignment[row] as number;
      if (a === NOT_WRITTEN) continue;
      const split = bySplit[SPLIT_NAMES[a] as SplitName];
      for (const [type, n] of Object.entries(counts) as Array<[PiiType, number]>) if (n > 0) split[type] = (split[type] ?? 0) + n;
    }
    return { action: o.action, types: o.types ?? [...PII_TYPES], found: sortKeys(this.found), bySplit, examplesWithPii: this.examplesWithPii, samples: this.samples };
  }
}

/**
 * A warning, without the paths, where input paths hold what looks like personal data (a folder per
 * patient, `MRN-00482913/notes.csv`): the reports and the manifest name inputs by their paths.
 */
function pathsWithPii(paths: readonly string[], types: readonly PiiType[] | undefined): string | undefined {
  const found = new Set<PiiType>();
  const which: number[] = [];
  for (const [i, path] of paths.entries()) {
    // Separators as spaces, so that a label and its value in `MRN_00482913` or `dob/1961-03-14` are read as in text.
    const findings = findPii(path.replace(/[\\/_]+/g, ' '), types);
    for (const f of findings) found.add(f.type);
    if (findings.length > 0) which.push(i + 1);
  }
  if (which.length === 0) return undefined;
  return (
    `the paths of ${which.length === paths.length && paths.length > 1 ? 'all inputs' : `input${which.length > 1 ? 's' : ''} ${listed(which.map(String))} (of ${paths.length})`} hold what looks like personal data (${[...found].join(', ')}): ` +
    'report/ (rejected.jsonl, report.json, report.html) and the manifest name inputs by path, as they are; rename those files or folders, or keep the report private'
  );
}

/**
 * The kept rows with exact copies that near-dedup removed, by `file:line`: the row kept in each
 * one's place and their similarity. Undefined where there are none.
 */
function copiesOfRemoved(plan: Plan, kept: KeptRows, nearIndex: NearIndex, copied: Uint32Array): Map<string, { kept: SourceLocation; similarity: number }> | undefined {
  const keptFor = plan.nearKeptFor;
  let chained: Map<string, { kept: SourceLocation; similarity: number }> | undefined;
  for (const row of copied) {
    const rep = keptFor[row] as number;
    if (rep < 0) continue;
    const { file, line } = kept.source(row);
    const key = `${line}\u0000${file}`;
    chained ??= new Map();
    // Listed once a copy: a row copied many times is looked at once.
    if (!chained.has(key)) chained.set(key, { kept: kept.source(rep), similarity: Math.round(nearIndex.similarity(row, rep) * 1000) / 1000 });
  }
  return chained;
}

/**
 * Rewrites rejected.jsonl (closing its writer) so that each `duplicate` of a row near-dedup removed
 * points at the row kept in that one's place, its message naming both; the sample for the HTML
 * report alike. The reason stays `duplicate`: the row is an exact copy of the one removed.
 */
async function repointCopies(rejections: SyncJsonlWriter, chained: Map<string, { kept: SourceLocation; similarity: number }>, sample: Rejection[]): Promise<WrittenFile> {
  const repointed = (r: Rejection): Rejection | undefined => {
    if (r.reason !== 'duplicate' || !r.duplicateOf) return undefined;
    const via = r.duplicateOf;
    const to = chained.get(`${via.line}\u0000${via.file}`);
    if (!to) return undefined;
    return { ...r, message: `${r.message}, which was removed as a near-duplicate of ${to.kept.file}:${to.kept.line} (Jaccard ${to.similarity}), the row kept`, duplicateOf: to.kept };
  };
  for (const [i, r] of sample.entries()) sample[i] = repointed(r) ?? r;
  const path = rejections.path;
  rejections.close();
  return rewriteLines(path, (line) => {
    // Only duplicates can change: the others are copied as they are.
    if (!line.includes('"reason":"duplicate"')) return line;
    const r = repointed(JSON.parse(line) as Rejection);
    return r ? serializeRecord(r) : line;
  });
}

/** The PII stage for one example: scans or redacts it; undefined when `drop` rejected it. */
function piiCheck(
  example: Example,
  o: { action: 'report' | 'redact' | 'drop'; types?: PiiType[] | undefined },
  log: PiiLog,
  ctx: StageContext,
): Example | undefined {
  if (o.action === 'redact') {
    // The alpaca input the user message ends with is redacted alike, so the alpaca writer can still
    // write it apart; so is the near-dedup text a template's values make (it is spilled and sampled
    // in the report), with the values found in the messages after the template's labels.
    // The tool definitions (descriptions, enums) go along as one more JSON text, read as a tool's.
    const also = [example.alpacaInput ?? '', example.nearUser ?? ''];
    // A template's values are read after their columns' names (`{{mrn}}` placed an MRN).
    const r = redactMessages(withTools(example), o.types, also, example.templateValues);
    delete example.templateValues;
    example.messages = example.tools ? r.messages.slice(0, -1) : r.messages;
    if (example.tools) example.tools = JSON.parse((r.messages.at(-1) as Message).content) as unknown[];
    const [input, near] = r.also as [string, string];
    if (example.alpacaInput !== undefined) example.alpacaInput = input;
    if (example.nearUser !== undefined) example.nearUser = near;
    log.record(example, r.counts, true);
    return example;
  }
  const { counts } = scanMessages(withTools(example), o.types, example.templateValues);
  delete example.templateValues;
  log.record(example, counts, false);
  const found = (Object.entries(counts) as Array<[PiiType, number]>).filter(([, n]) => n > 0);
  if (o.action === 'drop' && found.length > 0) {
    // The message names the types and counts, never the values.
    ctx.reject({ source: example.meta.source, reason: 'pii', message: `personal data found: ${found.map(([t, n]) => `${t} ${n}`).join(', ')}` });
    return undefined;
  }
  return example;
}

/** The per-row arrays of the rows written, in spill order. */
function writtenRows(kept: KeptRows, assignment: Uint8Array) {
  const n = assignment.reduce((c, a) => c + (a === NOT_WRITTEN ? 0 : 1), 0);
  const out = { tokens: new Uint32Array(n), prompt: new Uint32Array(n), domain: new Uint32Array(n), assignment: new Uint8Array(n) };
  const tokens = kept.tokens.view();
  const prompt = kept.prompt.view();
  const domain = kept.domain.view();
  let j = 0;
  for (let row = 0; row < assignment.length; row++) {
    const a = assignment[row] as number;
    if (a === NOT_WRITTEN) continue;
    out.tokens[j] = tokens[row] as number;
    out.prompt[j] = prompt[row] as number;
    out.domain[j] = domain[row] as number;
    out.assignment[j++] = a;
  }
  return out;
}

/** A split or stratify label of an example: `domain`, or a meta column; any value type, as JSON-ish text. */
/** A split column's value in an example's meta: `meta.source` is the row's location, a `source` column is kept as `source_column`. */
function columnValue(meta: Record<string, unknown>, column: string): unknown {
  return column === 'source' ? meta.source_column : meta[column];
}

/** Whether a split column's value is a whole number past 2^53, which JSON parsing rounded. */
function roundedNumber(meta: Record<string, unknown>, column: string): boolean {
  const value = columnValue(meta, column);
  return typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value);
}

function labelOf(meta: Record<string, unknown>, column: string): string | undefined {
  const value = columnValue(meta, column);
  if (value === undefined || value === null || value === '') return undefined;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function trainableTotal(tokens: Uint32Array, prompt: Uint32Array): number {
  let total = 0;
  for (let i = 0; i < tokens.length; i++) total += (tokens[i] as number) - (prompt[i] as number);
  return total;
}

/**
 * OpenAI's default epochs (fine-tuning data-prep guide): 3, raised for small sets so that
 * n × epochs reaches 100 (at most 25), lowered for large ones so that it stays under 25,000.
 */
export function openAiDefaultEpochs(trainExamples: number): number {
  const n = Math.max(1, trainExamples);
  if (n * 3 < 100) return Math.min(25, Math.floor(100 / n));
  if (n * 3 > 25_000) return Math.max(1, Math.floor(25_000 / n));
  return 3;
}

function estimateCost(pricing: PricingOptions, trainExamples: number, tokens: Uint32Array, assignment: Uint8Array): CostEstimate {
  let trainTokens = 0;
  for (let i = 0; i < tokens.length; i++) if (assignment[i] === 0) trainTokens += tokens[i] as number;
  const epochs = pricing.epochs ?? openAiDefaultEpochs(trainExamples);
  const billedTokens = trainTokens * epochs;
  return {
    epochs,
    epochsFrom: pricing.epochs === undefined ? 'openai-default' : 'given',
    trainTokens,
    billedTokens,
    perMillionTokens: pricing.perMillionTokens,
    estimated: Math.round((billedTokens / 1_000_000) * pricing.perMillionTokens * 100) / 100,
  };
}

/** One truncated example, as the report lists it. */
export interface TruncationEntry {
  source: { file: string; line: number };
  tokensBefore: number;
  tokensAfter: number;
  droppedTurns: number;
  cutAnswer: boolean;
}

const TRUNCATIONS_LISTED = 100; // the report lists the first ones; the count covers all

class TruncationLog {
  count = 0;
  #entries: TruncationEntry[] = [];

  add(source: { file: string; line: number }, t: Truncation, tokensAfter: number): void {
    this.count++;
    if (this.#entries.length < TRUNCATIONS_LISTED) {
      this.#entries.push({ source, tokensBefore: t.tokensBefore, tokensAfter, droppedTurns: t.droppedTurns, cutAnswer: t.cutAnswer });
    }
  }

  summary(): PrepareReport['truncated'] {
    return { count: this.count, examples: this.#entries };
  }
}

function manifestOptions(opts: ResolvedOptions, inputs: ResolvedInput[]): Record<string, unknown> {
  // Threads change no byte of the outputs, and their default is the machine's: left out, so that
  // one job's manifests agree from machine to machine.
  const { onProgress: _p, signal: _s, inputs: _i, concurrency: _c, ...rest } = opts;
  const out: Record<string, unknown> = { ...rest, inputs: inputs.map(({ bytes: _b, ...i }) => ({ ...i, mapping: i.mapping as string | TemplateMapping })) };
  if (!opts.pii) return out;
  // The system prompt and the templates' text went into the examples, where pii found what they
  // hold: the manifest records them as the examples have them.
  const redact = redactedForReport(opts.pii.types);
  const texts = (v: unknown): unknown =>
    typeof v === 'string' ? redact(v) : Array.isArray(v) ? v.map(texts) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, texts(x)])) : v;
  if (out.systemPrompt !== undefined) out.systemPrompt = texts(out.systemPrompt);
  if (out.mapping !== undefined) out.mapping = texts(out.mapping);
  out.inputs = (out.inputs as Array<Record<string, unknown>>).map((i) => ({ ...i, mapping: texts(i.mapping) }));
  return out;
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Writes a text file ending in one line break; the manifest's `lines` is its line count (as `wc -l` gives it). */
async function writeTextFile(path: string, text: string): Promise<WrittenFile> {
  const body = text.replace(/\n$/, '');
  const w = new JsonlWriter(path);
  await w.writeLine(body);
  const written = await w.close();
  let lines = 1;
  for (let i = body.indexOf('\n'); i >= 0; i = body.indexOf('\n', i + 1)) lines++;
  return { ...written, lines };
}

async function writeJsonFile(path: string, value: unknown): Promise<WrittenFile> {
  return writeTextFile(path, JSON.stringify(value, null, 2));
}

const STAGE_ORDER = ['read', 'normalize', 'pii', 'count', 'keep', 'plan', 'write'] as const;

/** Main-thread wall time per stage, summed over the input files. */
class StageClock {
  readonly #self: Record<string, number> = {};

  add(name: string, ms: number): void {
    this.#self[name] = (this.#self[name] ?? 0) + Math.max(0, ms);
  }

  /** Own times in pipeline order, rounded to ms. */
  summary(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const k of STAGE_ORDER) if (this.#self[k] !== undefined) out[k] = Math.round(this.#self[k]);
    return out;
  }
}
