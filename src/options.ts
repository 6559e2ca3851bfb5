/**
 * Options of `prepareDataset()`: the public interfaces (with docs), the zod schema that holds every
 * default, and `resolveOptions()`, which validates once and turns every bad option into one
 * `LoraPrepError('OPTION_INVALID')` that names each problem.
 */
import { z } from 'zod';
import { concurrencyFor, defaultConcurrency } from './_cpus.js';
import { closest } from './_suggest.js';
import { LoraPrepError, preview } from './errors.js';
import { targets, type Target, type TargetName } from './formats/index.js';
import { loadPromptTemplate } from './normalize/_presets.js';
import type { InputEncoding, InputFormat } from './load/index.js';
import { PII_TYPES, type PiiType } from './pii/index.js';
import { REASON_CODES, type Example, type ReasonCode } from './types.js';

/**
 * Built-in record shapes that `mapping` can name. `'auto'` picks one per file from its first record.
 * `'mcq'` and `'classification'` find their columns in the first record; give the object forms
 * ({@link McqMapping}, {@link ClassificationMapping}) to name them. See docs/presets.md.
 */
export type MappingPreset = 'auto' | 'messages' | 'sharegpt' | 'alpaca' | 'prompt-completion' | 'qa' | 'mcq' | 'classification';

/** A custom mapping: message templates with `{{column}}` placeholders (dot paths reach nested keys). */
export interface TemplateMapping {
  /** Template of the system message; none when unset (then `systemPrompt` applies). */
  system?: string | undefined;
  /** Template of the user message, e.g. `'Q: {{question}}'`. */
  user: string;
  /** Template of the assistant's answer, e.g. `'{{answer}}'`. */
  assistant: string;
}

/**
 * Question answering: a question (with an optional context) and its answer. Flat `context` text
 * (FiQA), a list of passages, or PubMedQA's `{ contexts, labels }` object; PubMedQA's
 * `long_answer` + `final_decision` become the answer when there is no `answer` column.
 */
export interface QaMapping {
  /** Names the preset. */
  preset: 'qa';
  /** Question column. Default `question`. */
  question?: string | undefined;
  /** Answer column. Default `answer`, else PubMedQA's `long_answer` + `final_decision`. */
  answer?: string | undefined;
  /** Context column (optional per row). Default `context`. */
  context?: string | undefined;
  /** PubMedQA: write `Answer: yes.` before the long answer instead of after it. Default false. */
  decisionFirst?: boolean | undefined;
}

/**
 * Multiple choice: a question, two or more options, and the key. The user message lists the
 * options as `A. ...`; the answer is `B. <option text>`, then the explanation, if any.
 */
export interface McqMapping {
  /** Names the preset. */
  preset: 'mcq';
  /** Question column, or columns joined with a space (`['sent1', 'sent2']`). Default: detected. */
  question?: string | readonly string[] | undefined;
  /** One column holding a list or an object of options, or one column per option. Default: detected. */
  options?: string | readonly string[] | undefined;
  /** Key column: a letter, an index (see `indexBase`), or the option text. Default: detected. */
  answer?: string | undefined;
  /** A column with the answer text, checked against the option the key picks (MedQA `answer`). */
  answerText?: string | undefined;
  /** First number of a numeric key. Default 0 (the Hugging Face exports of MedMCQA, CaseHOLD, MMLU, SWAG). */
  indexBase?: 0 | 1 | undefined;
  /** Explanation column written after the answer, or `false` for none. Default: `exp`, `explanation` or `rationale` when present. */
  explanation?: string | false | undefined;
}

/** Text classification: a text column and a label column, answered with the label's name. */
export interface ClassificationMapping {
  /** Names the preset. */
  preset: 'classification';
  /** Text column. Default `text`, else `sentence`. */
  text?: string | undefined;
  /** Label column. Default `label`. */
  label?: string | undefined;
  /**
   * Names of the classes: a list (ids are positions, as a Hugging Face `ClassLabel`) or a map from
   * id to name. Listed in every prompt; a label outside them is a rejected row. Without it, labels
   * must be names already, and the prompt cannot list them.
   */
  labels?: readonly string[] | Readonly<Record<string, string>> | undefined;
  /** The instruction that opens every prompt. Default `Classify the text. Answer with the label only.` */
  instruction?: string | undefined;
}

/** A task prompt read from a file, with `{{column}}` placeholders filled from each row (LegalBench). */
export interface TemplatePresetMapping {
  /** Names the preset. */
  preset: 'template';
  /** The prompt file (UTF-8), read once when options are resolved. */
  promptFile: string;
  /** Answer column. Default `answer`. */
  answer?: string | undefined;
}

/** A preset with settings. */
export type PresetMapping = QaMapping | McqMapping | ClassificationMapping | TemplatePresetMapping;

/** How rows become chat examples: a preset name, a preset with settings, or templates. */
export type Mapping = MappingPreset | TemplateMapping | PresetMapping;

/** One input file, with per-file settings that override the job-wide ones. */
export interface InputSpec {
  /** The file to read; `source.file` in the report is this path as given. */
  path: string;
  /** Domain stamped on every example of this file (`finance`, `legal`, ...); else a `domain` column is used. */
  domain?: string | undefined;
  /** Input format; else from the extension. */
  format?: InputFormat | undefined;
  /** CSV delimiter for this file; else the job's, the extension's, or sniffed. */
  delimiter?: string | undefined;
  /** CSV quote escape for this file (`'"'` doubled, `'\\'` backslash); else the job's. */
  escape?: '"' | '\\' | undefined;
  /** CSV quoting for this file (`false`: no field is quoted, a quote is text); else the job's. */
  quote?: '"' | false | undefined;
  /** JSON: the top-level key whose array holds this file's records; else the job's. */
  recordsKey?: string | undefined;
  /** Encoding of this file; a BOM wins. */
  encoding?: InputEncoding | undefined;
  /** Mapping for this file; else the job's. */
  mapping?: Mapping | undefined;
}

/** Progress facts, emitted about every 10,000 rows and at each stage change. */
export interface ProgressEvent {
  /**
   * `read` while inputs are read and checked; `plan` once every row is read, while the decisions
   * that need them all are made (near-duplicate clusters, the split: seconds at 200,000 rows with
   * near-dedup, minutes at millions); `write` while files are written; then `done`.
   */
  stage: 'read' | 'plan' | 'write' | 'done';
  /** Input rows read so far. */
  rows: number;
  /** Examples kept so far (after checks and dedup). */
  kept: number;
  /** The file being read, during `read`. */
  file?: string | undefined;
  /** Milliseconds since the run started. */
  elapsedMs: number;
  /** Input bytes read so far, when known (with `totalBytes`, a progress bar's fraction). */
  bytes?: number | undefined;
  /** Input bytes in all, when known. */
  totalBytes?: number | undefined;
  /**
   * During `plan` with near-dedup on (and `checkLeakage`'s near-copy search): the share of the
   * near-duplicate search done, 0 to 1, in events about every 100 ms.
   */
  fraction?: number | undefined;
}

/** Split settings. */
export interface SplitOptions {
  /** Fraction of kept examples for validation. Default 0.1. */
  validation?: number | undefined;
  /** Fraction for test. Default 0. */
  test?: number | undefined;
  /** Seed of the shuffle or hash. Default 42. */
  seed?: number | undefined;
  /**
   * `'random'` (default): a seeded shuffle with exact sizes (per stratum). `'hash'`: each example (or
   * group) goes by a seeded hash of its key, so appending rows later never moves an old one.
   */
  strategy?: 'random' | 'hash' | undefined;
  /**
   * A column (or `domain`) whose values each keep the split fractions. Any value type. Unset: the
   * preset's natural stratify key when every input has it (PubMedQA `final_decision`, MedMCQA
   * `subject_name`, a classification label); `false`: none.
   */
  stratifyBy?: string | false | undefined;
  /**
   * A column (case id, patient id, source document) whose examples always land in the same split.
   * Unset: the preset's natural group key when every input has it (PubMedQA `pubid`, an mcq
   * `case_id`); `false`: none.
   */
  groupBy?: string | false | undefined;
}

/** PII settings. */
export interface PiiOptions {
  /** `report` (default) counts, `redact` writes typed placeholders, `drop` rejects the example as `pii`. */
  action?: 'report' | 'redact' | 'drop' | undefined;
  /** The kinds of personal data to look for; all of them when unset. */
  types?: readonly PiiType[] | undefined;
}

/** When a finished run counts as failed. */
export interface FailOnOptions {
  /** Fail when rejected / input exceeds this fraction. */
  rejectedRatio?: number | undefined;
  /** Fail when any row is rejected for one of these reason codes (docs/errors.md); a name that is none is `OPTION_INVALID`. */
  reasons?: readonly ReasonCode[] | undefined;
}

/** Cost estimate settings. */
export interface PricingOptions {
  /** Price of one million training tokens, in your currency. */
  perMillionTokens: number;
  /** Epochs; absent: OpenAI's default (3, more for small sets, fewer for large ones). */
  epochs?: number | undefined;
}

/** Exact dedup settings. */
export interface ExactDedupOptions {
  /**
   * What counts as the same: `'conversation'` (default: every message), `'prompt'` (everything before
   * the final answer: the same question with another answer is a duplicate), or a function of the example.
   */
  key?: 'conversation' | 'prompt' | ((example: Example) => string) | undefined;
}

/** Near-duplicate settings (MinHash + LSH, every candidate verified by exact Jaccard). */
export interface NearDedupOptions {
  /** Jaccard similarity (word bigrams of user and assistant text) at which two examples are near-duplicates. Default 0.8. */
  threshold?: number | undefined;
  /** `'remove'` (default): keep one per cluster, reject the others as `near_duplicate`. `'group'`: keep all, in the same split. */
  action?: 'remove' | 'group' | undefined;
  /** Which example of a cluster stays: `'first'` (default) or `'longest'` (most tokens). */
  keep?: 'first' | 'longest' | undefined;
}

/** Dedup settings. */
export interface DedupOptions {
  /** Exact duplicates (after NFKC, whitespace collapse and case folding). Default on, key `'conversation'`. */
  exact?: boolean | ExactDedupOptions | undefined;
  /** Near-duplicates. Default on, threshold 0.8; `false` turns it off. */
  near?: boolean | NearDedupOptions | undefined;
}

/** Options of {@link prepareDataset}. Every field is documented in docs/options.md. */
export interface PrepareOptions {
  /** Input files: paths, or {@link InputSpec}s with per-file settings. */
  inputs: ReadonlyArray<string | InputSpec>;
  /** Where the trainer's files and `report/` go. */
  outDir: string;
  /** How rows become chat examples. Default `'auto'`. */
  mapping?: Mapping | undefined;
  /**
   * System message added to examples that have none: the text, or `'finance'`, `'legal'`,
   * `'medical'` for a short neutral prompt of that domain (docs/options.md).
   */
  systemPrompt?: string | undefined;
  /** Record shape: `'chat'` (default) or `'instruction'` (alpaca / prompt-completion). */
  format?: 'chat' | 'instruction' | undefined;
  /** Trainer the files are for. Default `'openai'`. */
  target?: TargetName | undefined;
  /** Tokenizer used for counts and `maxTokens`. Default `'o200k_base'`. */
  tokenizer?: string | undefined;
  /** Largest example, in tokens. Unset: no limit. */
  maxTokens?: number | undefined;
  /**
   * What to do with examples over `maxTokens`: `'drop'` (default, rejected as `overlong`),
   * `'truncate'` (drop the oldest exchanges, then cut the last answer on a token boundary) or
   * `'keep'`. An example whose prompt alone fills the budget is always rejected as `prompt_overflow`.
   */
  overlong?: 'drop' | 'keep' | 'truncate' | undefined;
  /** Examples under this many tokens are rejected as `too_short`. */
  minTokens?: number | undefined;
  /** Estimate the training cost: price per million training tokens, and epochs (else OpenAI's default heuristic). */
  pricing?: PricingOptions | undefined;
  /**
   * Tokenizer worker threads for large inputs. Default: the CPUs this process may use (a
   * container's CPU quota counts), as many as its memory holds (a Hugging Face tokenizer needs
   * about three times an OpenAI encoding's memory per worker), at most 16; 1 counts inline.
   */
  concurrency?: number | undefined;
  /**
   * Fail the run (after writing everything, report included) when the data got worse: more than
   * `rejectedRatio` of the input rows rejected, or any row rejected for one of `reasons`.
   * Throws `LoraPrepError('DATA_FAILED')` carrying the result; the CLI exits 1.
   */
  failOn?: FailOnOptions | undefined;
  /**
   * Personal data in every message: `'report'` (default when set) counts it per type and split,
   * `'redact'` replaces it with typed placeholders ([EMAIL], [CARD], ...) consistent within an
   * example, `'drop'` rejects the example as `pii`. `types` limits the search (default: all).
   */
  pii?: PiiOptions | undefined;
  /** Dedup settings, or `false` to keep duplicates. */
  dedup?: DedupOptions | false | undefined;
  /** Split settings. */
  split?: SplitOptions | undefined;
  /** Default text encoding of inputs (a BOM wins). Default `'utf-8'`. */
  encoding?: InputEncoding | undefined;
  /** Default CSV delimiter (else from the extension, else sniffed). */
  delimiter?: string | undefined;
  /**
   * How a quote is written inside a quoted CSV field: `'"'` (default) doubled, as RFC 4180, Excel,
   * pandas and PostgreSQL write it; `'\\'` after a backslash, as MySQL writes it.
   */
  escape?: '"' | '\\' | undefined;
  /**
   * Whether CSV fields may be quoted: `'"'` (default) or `false`, no field is, a quote is text like
   * any other (a TSV from `mysql -B` or PostgreSQL's text format, where one quote in a question
   * would otherwise open a field that swallows the rows after it).
   */
  quote?: '"' | false | undefined;
  /**
   * JSON: the top-level key whose array holds the records, for files such as
   * `{"version": 1, "data": [...]}` (Hugging Face's `field`). Unset: a JSON input is an array.
   */
  recordsKey?: string | undefined;
  /** A row with bytes that are not valid in the encoding: `'reject'` (default, `invalid_encoding`) or `'replace'` (U+FFFD, with a warning). */
  onInvalidEncoding?: 'reject' | 'replace' | undefined;
  /** A line, JSON element or CSV record longer than this many bytes is rejected as `line_too_long` (default 16 MiB). */
  maxLineBytes?: number | undefined;
  /** A CSV cell longer than this many characters is rejected as `field_too_long` (default 4 Mi). */
  maxFieldChars?: number | undefined;
  /**
   * Text that stands for a missing value, in every input. A top-level field of a row (a CSV cell,
   * a top-level JSON string) whose value, trimmed, is one of them is read as missing (null) before
   * the mapping reads it: a required field then rejects the row as `missing_field`, saying what it
   * held; an optional one (a system column, alpaca's input) is left out. Default `['\\N']`, the NULL
   * of PostgreSQL's text format (`COPY ... TO`) and MySQL's `SELECT ... INTO OUTFILE`; add `'nan'`,
   * `'None'` for pandas' `astype(str)`, `'NA'` for R. `[]`: every value is text. Where a column the
   * mapping reads holds one of the usual markers (`NaN nan None NULL null NA N/A n/a #N/A <NA> NaT \N`)
   * that is not listed, a warning per file says how many, in which columns.
   */
  nullValues?: readonly string[] | undefined;
  /**
   * Read only the first this many input rows (over the inputs, in order; rejected rows count), to
   * try settings on a sample of a large input. The report warns which inputs were not read to the
   * end, and the manifest marks them `partial`. Unset: every row.
   */
  maxRows?: number | undefined;
  /** Replace the contents of a non-empty `outDir`. Default false. */
  overwrite?: boolean | undefined;
  /** Called with progress facts. */
  onProgress?: ((event: ProgressEvent) => void) | undefined;
  /** Aborts the run; `outDir` is left as it was. */
  signal?: AbortSignal | undefined;
}

/** The longest null value: markers are short, and each field of each row is compared with them. */
const NULL_VALUE_CHARS = 64;
const formatSchema = z.enum(['csv', 'tsv', 'jsonl', 'json']);
const encodingSchema = z.enum(['utf-8', 'latin1', 'windows-1252', 'utf-16le']);
const delimiterSchema = z.string().length(1, 'a delimiter is one character');
const escapeSchema = z.enum(['"', '\\']);
const quoteSchema = z.union([z.literal('"'), z.literal(false)]);
const templateSchema = z.strictObject({
  // No `preset` key: it lets the object forms share one discriminated union, so an error names
  // the bad setting of the mapping meant rather than every form that failed.
  preset: z.undefined().optional(),
  system: z.string().optional(),
  user: z.string().min(1),
  assistant: z.string().min(1),
});
const column = z.string().min(1);
const objectMappingSchema = z.discriminatedUnion(
  'preset',
  [
    templateSchema,
    z.strictObject({
      preset: z.literal('qa'),
      question: column.optional(),
      answer: column.optional(),
      context: column.optional(),
      decisionFirst: z.boolean().optional(),
    }),
    z.strictObject({
      preset: z.literal('mcq'),
      question: z.union([column, z.array(column).min(1)]).optional(),
      options: z.union([column, z.array(column).min(2, 'give two or more option columns')]).optional(),
      answer: column.optional(),
      answerText: column.optional(),
      indexBase: z.literal([0, 1], 'expected 0 or 1').optional(),
      explanation: z.union([column, z.literal(false)]).optional(),
    }),
    z.strictObject({
      preset: z.literal('classification'),
      text: column.optional(),
      label: column.optional(),
      labels: z
        .union([
          z.array(z.string().trim().min(1)).min(2, 'name two or more labels'),
          z.record(z.string(), z.string().trim().min(1)).refine((r) => Object.keys(r).length >= 2, 'name two or more labels'),
        ])
        .optional(),
      instruction: z.string().trim().min(1).optional(),
    }),
    z.strictObject({
      preset: z.literal('template'),
      promptFile: column,
      answer: column.optional(),
    }),
  ],
  { error: 'expected a preset: "qa", "mcq", "classification" or "template" (or no preset, with user and assistant templates)' },
);
const mappingSchema = z.union([
  z.enum(['auto', 'messages', 'sharegpt', 'alpaca', 'prompt-completion', 'qa', 'mcq', 'classification']),
  objectMappingSchema,
]);
const inputSchema = z.union([
  z.string().min(1),
  z.strictObject({
    path: z.string().min(1),
    domain: z.string().min(1).optional(),
    format: formatSchema.optional(),
    delimiter: delimiterSchema.optional(),
    escape: escapeSchema.optional(),
    quote: quoteSchema.optional(),
    recordsKey: z.string().min(1).optional(),
    encoding: encodingSchema.optional(),
    mapping: mappingSchema.optional(),
  }),
]);
const fraction = z.number().min(0).max(0.9);
const exactSchema = z.union([
  z.boolean(),
  z.strictObject({
    /** What counts as the same: the whole conversation, the prompt, or a key function. */
    key: z
      .union([z.enum(['conversation', 'prompt']), z.custom<(example: Example) => string>((v) => typeof v === 'function', 'expected "conversation", "prompt" or a function')])
      .optional(),
  }),
]);
const nearSchema = z.union([
  z.boolean(),
  z.strictObject({
    threshold: z.number().min(0.5).max(1).optional(),
    action: z.enum(['remove', 'group']).optional(),
    keep: z.enum(['first', 'longest']).optional(),
  }),
]);

/** Resolved exact dedup: off, or the key. */
export type ResolvedExact =
  | false
  | {
      /** What counts as the same: see {@link ExactDedupOptions.key}. */
      key: 'conversation' | 'prompt' | ((example: Example) => string);
    };
/** Resolved near dedup: off, or every setting. */
export type ResolvedNear = false | { threshold: number; action: 'remove' | 'group'; keep: 'first' | 'longest' };

function resolveExact(e: z.infer<typeof exactSchema> | undefined): ResolvedExact {
  if (e === false) return false;
  if (e === undefined || e === true) return { key: 'conversation' };
  return { key: e.key ?? 'conversation' };
}

function resolveNear(n: z.infer<typeof nearSchema> | undefined): ResolvedNear {
  if (n === false) return false;
  const o = n === undefined || n === true ? {} : n;
  return { threshold: o.threshold ?? 0.8, action: o.action ?? 'remove', keep: o.keep ?? 'first' };
}

/** A path that starts with a `~` the shell did not expand: a folder named `~` is never what was meant. */
const LEADING_TILDE = /^~[^/]*(\/|$)/;

/** The schema of {@link PrepareOptions}; the only place defaults live. */
export const prepareOptionsSchema = z.strictObject({
  inputs: z.array(inputSchema).min(1, 'give at least one input file'),
  outDir: z.string().min(1).refine((dir) => !LEADING_TILDE.test(dir), { message: `starts with ~, which is not expanded here (the shell expands it only at the start of a word, unquoted: not after --out= or in a config file); give the full path` }),
  mapping: mappingSchema.default('auto'),
  systemPrompt: z.string().optional(),
  format: z.enum(['chat', 'instruction']).default('chat'),
  target: z.enum(Object.keys(targets) as [TargetName, ...TargetName[]]).default('openai'),
  tokenizer: z.string().min(1).default('o200k_base'),
  maxTokens: z.number().int().positive().optional(),
  overlong: z.enum(['drop', 'keep', 'truncate']).default('drop'),
  minTokens: z.number().int().positive().optional(),
  pricing: z.strictObject({ perMillionTokens: z.number().nonnegative(), epochs: z.number().int().positive().optional() }).optional(),
  concurrency: z.number().int().min(1).max(64).default(() => defaultConcurrency()),
  pii: z
    .strictObject({ action: z.enum(['report', 'redact', 'drop']).default('report'), types: z.array(z.enum(PII_TYPES as [PiiType, ...PiiType[]])).min(1).optional() })
    .optional(),
  failOn: z.strictObject({ rejectedRatio: z.number().min(0).max(1).optional(), reasons: z.array(z.enum(REASON_CODES)).optional() }).optional(),
  dedup: z
    .union([z.literal(false), z.strictObject({ exact: exactSchema.optional(), near: nearSchema.optional() })])
    .default({})
    .transform((d) => ({
      exact: d === false ? false : resolveExact(d.exact),
      near: d === false ? false : resolveNear(d.near),
    })),
  split: z
    .strictObject({
      validation: fraction.default(0.1),
      test: fraction.default(0),
      seed: z.number().int().default(42),
      strategy: z.enum(['random', 'hash']).default('random'),
      stratifyBy: z.union([z.string().min(1), z.literal(false)]).optional(),
      groupBy: z.union([z.string().min(1), z.literal(false)]).optional(),
    })
    .default({ validation: 0.1, test: 0, seed: 42, strategy: 'random' }),
  encoding: encodingSchema.default('utf-8'),
  delimiter: delimiterSchema.optional(),
  escape: escapeSchema.optional(),
  quote: quoteSchema.optional(),
  recordsKey: z.string().min(1).optional(),
  onInvalidEncoding: z.enum(['reject', 'replace']).default('reject'),
  // Counting a row takes memory in proportion to it (a 75 MB row about 1.3 GB; one of 300 MB
  // ended the process in V8): 64 MiB is millions of tokens past any context.
  maxLineBytes: z
    .number()
    .int()
    .positive()
    .max(64 * 1024 * 1024, { message: 'at most 64 MiB (67108864): a row is counted whole, in memory in proportion to it, and 64 MiB is millions of tokens past any model\'s context' })
    .default(16 * 1024 * 1024),
  maxFieldChars: z.number().int().positive().default(4 * 1024 * 1024),
  // Trimmed, as the values they are compared with are.
  nullValues: z
    .array(
      z
        .string()
        .trim()
        .min(1, 'a null value is not blank (a blank field is empty text already)')
        .max(NULL_VALUE_CHARS, `a null value is at most ${NULL_VALUE_CHARS} characters, a marker such as "\\N" or "nan"`),
    )
    .default(['\\N']),
  maxRows: z.number().int().positive().optional(),
  overwrite: z.boolean().default(false),
  /** Called with a {@link ProgressEvent} about every 10,000 rows and at each stage change. */
  onProgress: z.custom<(event: ProgressEvent) => void>((v) => typeof v === 'function', 'expected a function').optional(),
  signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal, 'expected an AbortSignal').optional(),
});

/** Options after validation, with every default filled in. Stages take this, never raw options. */
export type ResolvedOptions = z.output<typeof prepareOptionsSchema>;

/**
 * The checks across options that the raw values decide on their own (both given, each a number in
 * range), so that a run with another bad option lists them too instead of after it is fixed, and
 * a config file's are named with the file.
 *
 * @example
 * givenCrossIssues({ split: { validation: 0.6, test: 0.5 } }) // ['split: validation + test must leave room for train, got 0.6 + 0.5']
 */
export function givenCrossIssues(options: unknown): string[] {
  if (options === null || typeof options !== 'object') return [];
  const o = options as { split?: { validation?: unknown; test?: unknown }; minTokens?: unknown; maxTokens?: unknown };
  const inUnit = (x: unknown): x is number => typeof x === 'number' && x >= 0 && x <= 0.9;
  const count = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x > 0;
  const { validation, test } = o.split ?? {};
  return crossIssues(inUnit(validation) && inUnit(test) ? { validation, test } : undefined, count(o.minTokens) && count(o.maxTokens) ? { min: o.minTokens, max: o.maxTokens } : undefined);
}

/** What is wrong across options: the split fractions leave no train, or the token bounds cross. */
function crossIssues(split: { validation: number; test: number } | undefined, tokens: { min: number; max: number } | undefined): string[] {
  const out: string[] = [];
  if (split && split.validation + split.test >= 1) out.push(`split: validation + test must leave room for train, got ${split.validation} + ${split.test}`);
  if (tokens && tokens.min > tokens.max) out.push(`minTokens: must not exceed maxTokens, got ${tokens.min} > ${tokens.max}`);
  return out;
}

/**
 * Validates options once. Every problem is named on its own line (`split.validation: ...`).
 *
 * @example
 * const opts = resolveOptions({ inputs: ['a.csv'], outDir: 'out' });
 */
export function resolveOptions(options: unknown): ResolvedOptions {
  const parsed = prepareOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const lines = parsed.error.issues.flatMap((issue) => specific(issue).map((i) => formatIssue(i, options)));
    // Checks across options run once the shape is right; those the values given allow are listed now.
    lines.push(...givenCrossIssues(options));
    throw new LoraPrepError('OPTION_INVALID', `Invalid options:\n${lines.map((l) => `  - ${l}`).join('\n')}`);
  }
  const resolved = loadPromptFiles(parsed.data);
  // The default's memory reckoning depends on the tokenizer, which the schema's default cannot see.
  if ((options as { concurrency?: unknown }).concurrency === undefined) resolved.concurrency = concurrencyFor(resolved.tokenizer);
  const cross = crossIssues(resolved.split, resolved.minTokens !== undefined && resolved.maxTokens !== undefined ? { min: resolved.minTokens, max: resolved.maxTokens } : undefined);
  if (cross.length > 0) throw new LoraPrepError('OPTION_INVALID', `Invalid options:\n${cross.map((l) => `  - ${l}`).join('\n')}`);
  const target: Target = targets[resolved.target];
  if (target.needsValidation && resolved.split.validation === 0) {
    throw new LoraPrepError('OPTION_INVALID', `Invalid options:\n  - split.validation: target "${resolved.target}" always reads a validation file; give a fraction above 0`);
  }
  if (resolved.systemPrompt !== undefined && target.systemless?.includes(resolved.format)) {
    throw new LoraPrepError(
      'OPTION_INVALID',
      `Invalid options:\n  - systemPrompt: ${resolved.target} ${resolved.format} records (prompt/completion) have no system field; use format "chat" to keep a system prompt`,
    );
  }
  const formats = Object.keys(target.formats);
  if (!formats.includes(resolved.format)) {
    throw new LoraPrepError(
      'OPTION_INVALID',
      `Invalid options:\n  - format: target "${resolved.target}" takes ${formats.join(' or ')} records, got "${resolved.format}"`,
    );
  }
  return resolved;
}

// --- internal ---

/**
 * Reads every `template` preset's prompt file once (a file named twice is read once) and puts its
 * templates in place, so a missing file stops the job before any input is opened.
 */
function loadPromptFiles(opts: ResolvedOptions): ResolvedOptions {
  const cache = new Map<string, string>();
  const load = <M extends Mapping | undefined>(m: M): M | TemplateMapping =>
    m !== undefined && typeof m === 'object' && 'preset' in m && m.preset === 'template' ? loadPromptTemplate(m, cache) : m;
  return {
    ...opts,
    mapping: load(opts.mapping),
    inputs: opts.inputs.map((i) => (typeof i === 'string' || i.mapping === undefined ? i : { ...i, mapping: load(i.mapping) })),
  };
}

/**
 * A union that fails reports every branch; name the branch the value meant (the one whose problems
 * lie deepest), so `dedup: { exact: { key: 'x' } }` says `dedup.exact.key`, not just `dedup`.
 */
function specific(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [issue];
  const depth = (list: z.core.$ZodIssue[]) => Math.max(...list.map((i) => i.path.length + (i.code === 'invalid_union' ? 1 : 0)));
  const best = issue.errors.reduce((a, b) => (depth(b) > depth(a) ? b : a));
  if (depth(best) === 0 && best.every((i) => i.code === 'invalid_type')) return [issue];
  return best.flatMap((i) => specific({ ...i, path: [...issue.path, ...i.path] } as z.core.$ZodIssue));
}

function formatIssue(issue: z.core.$ZodIssue, root: unknown): string {
  const path = issue.path.map(String).join('.') || '(options)';
  if (issue.code === 'unrecognized_keys') {
    // A name close to one the object takes there gets a "did you mean" (`split.valdation`).
    const known = keysAt(prepareOptionsSchema, issue.path, valueAt(root, issue.path));
    const named = issue.keys.map((k) => {
      const meant = closest(k, known);
      return `${JSON.stringify(k)}${meant === undefined ? '' : ` (did you mean ${JSON.stringify(meant)}?)`}`;
    });
    return `${path}: unknown option${issue.keys.length > 1 ? 's' : ''} ${named.join(', ')}`;
  }
  const got = valueAt(root, issue.path);
  return `${path}: ${issue.message}, got ${got === undefined ? 'nothing' : preview(got)}`;
}

/** The names the objects of `schema` at `path` take (every object a union there offers). */
function keysAt(schema: z.ZodType, path: readonly PropertyKey[], value: unknown): string[] {
  let at: z.core.$ZodType[] = [schema];
  for (const key of path) at = at.flatMap((s) => objectsIn(s)).flatMap((o) => childOf(o, key));
  const shapes = at
    .flatMap((s) => objectsIn(s))
    .flatMap((o) => (o._zod.def.type === 'object' ? [(o._zod.def as z.core.$ZodObjectDef).shape] : []));
  // Of a union's objects, those whose fixed fields (`preset: 'mcq'`) the value has.
  const given = value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  const fits = shapes.filter((shape) =>
    Object.entries(shape).every(([k, field]) => {
      const def = field._zod.def as unknown as { type: string; values?: unknown[] };
      return def.type !== 'literal' || !Object.hasOwn(given, k) || (def.values ?? []).includes(given[k]);
    }),
  );
  return [...new Set((fits.length > 0 ? fits : shapes).flatMap((shape) => Object.keys(shape)))];
}

/** The object (or array) schemas a schema stands for, through optional, default, nullable, pipes and unions. */
function objectsIn(s: z.core.$ZodType): z.core.$ZodType[] {
  const def = s._zod.def as unknown as { type: string; innerType?: z.core.$ZodType; options?: z.core.$ZodType[]; in?: z.core.$ZodType };
  if (def.type === 'object' || def.type === 'array') return [s];
  if (def.innerType) return objectsIn(def.innerType);
  if (def.type === 'union' && def.options) return def.options.flatMap(objectsIn);
  if (def.type === 'pipe' && def.in) return objectsIn(def.in);
  return [];
}

function childOf(s: z.core.$ZodType, key: PropertyKey): z.core.$ZodType[] {
  const def = s._zod.def as unknown as { type: string; shape?: Record<string, z.core.$ZodType>; element?: z.core.$ZodType };
  if (def.type === 'array' && typeof key === 'number' && def.element) return [def.element];
  const child = typeof key === 'string' ? def.shape?.[key] : undefined;
  return child ? [child] : [];
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur = root;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}
