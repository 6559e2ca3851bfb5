/**
 * `validateFile`: checks an existing JSONL file, made by anyone, against every rule its trainer
 * enforces (FORMATS.md §12). Streams the raw bytes line by line, so a BOM, a `\r`, a blank line or
 * a raw U+2028 is seen as it is; memory holds one line plus the type of each key path.
 */
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { ProgressTicker } from '../_progress.js';
import { isLoraPrepError, LoraPrepError } from '../errors.js';
import type { ProgressEvent } from '../options.js';
import { isGzipped } from '../load/format.js';
import { recordText, targets, type Target } from '../formats/index.js';
import { loadTokenizer } from '../tokenizers/index.js';
import type { Tokenizer } from '../tokenizers/types.js';
import { entryOf, isFloatLiteral, MAX_JSON_DEPTH, nestingDepth, parseJsonNode } from './_json-ast.js';
import { MAX_LINE_BYTES, rawLines } from './_raw-lines.js';
import { settleSchema, type Settled } from './_settle.js';
import type { RuleId } from './rules.js';
import { checkRecord, isBlank, OPTIONAL_KEYS, toChatMessages, type RecordContext } from './schemas.js';
import { formatsOf, isValidationTarget, resolveSchema, TEXT_TARGETS, VALIDATION_TARGETS, type Resolved, type ValidationRecordFormat, type ValidationTarget } from './targets.js';

/** One problem: where (1-based line, 0 for the file as a whole), which rule, and what is wrong. */
export interface Problem {
  line: number;
  rule: RuleId;
  message: string;
}

/** Options of {@link validateFile}. */
export interface ValidationOptions {
  /**
   * The trainer that will read the file, or `'auto'` to guess it from the first records: line 1
   * fixes the format, and later lines (up to 1,000 records or 4 MiB) may name the trainer when
   * line 1 fits several (the report's warnings say which line decided).
   */
  target: ValidationTarget | 'auto';
  /**
   * The record shape; by default taken from the keys of the first record. `'text'` (plain
   * `{"text": ...}` records) is read by together, mlx-lm, trl, unsloth, axolotl and torchtune, and is
   * picked automatically when the first record holds `text` and no chat or instruction key.
   */
  format?: ValidationRecordFormat | undefined;
  /** Token limit per example; tokens are counted only when this is given. */
  maxTokens?: number | undefined;
  /** MLX-LM's batch size: each file needs at least this many records (default 4). */
  batchSize?: number | undefined;
  /** Tokenizer for `maxTokens` (default `o200k_base`): an OpenAI encoding or model, or a local Hugging Face folder. */
  tokenizer?: string | undefined;
  /** Most problems kept in `problems` (default 1000); `problemCount` counts them all. */
  maxProblems?: number | undefined;
  /**
   * Called about every 10,000 records (`stage: 'read'`) and once at the end (`'done'`): `rows` is
   * the records read so far, `kept` those without a problem on their line.
   */
  onProgress?: ((event: ProgressEvent) => void) | undefined;
}

/** What {@link validateFile} found. */
export interface ValidationReport {
  file: string;
  /** The target checked against (the guess when `guessed`); `'auto'` when no guess was possible. */
  target: ValidationTarget | 'auto';
  /** The record shape checked against; null when it could not be told. */
  format: ValidationRecordFormat | null;
  /** True when `target` was `'auto'` and this target was guessed from the first records. */
  guessed: boolean;
  /** Physical lines in the file. */
  lines: number;
  /** Non-blank lines (records, parseable or not). */
  records: number;
  /** The first `maxProblems` problems, by line (0 first). */
  problems: Problem[];
  /** Every problem found, including those not kept in `problems`. */
  problemCount: number;
  /** Problems per rule id. */
  problemsByRule: Record<string, number>;
  /** Things worth knowing that break no rule (e.g. fewer than 50 OpenAI examples, the guess made). */
  warnings: string[];
  /** True when no problem was found. */
  ok: boolean;
}

/** Default of {@link ValidationOptions.maxProblems}: enough to fix by, small enough for a huge broken file. */
export const MAX_STORED_PROBLEMS = 1_000;

/**
 * Most key paths whose JSON type is tracked for A.6 (type stability). Bounds memory on records with
 * open-ended keys (tool parameter schemas, metadata maps); paths past it are not tracked.
 */
export const MAX_TYPE_PATHS = 10_000;

/**
 * Deepest nesting the A.4 and A.6 walks descend into: keeps a pathological line (thousands of
 * nested arrays, which `JSON.parse` accepts) from overflowing the stack. No trainer schema nests
 * anywhere near it.
 */
const MAX_WALK_DEPTH = 64;

/**
 * Checks a JSONL file against the rules of the trainer that will read it: the file-level rules
 * (BOM, `\r`, final newline, blank lines, one JSON object per line, raw U+2028, lone surrogates,
 * one key set, stable types) and the schema rules of the target. Never throws for bad content:
 * every defect is a {@link Problem} with a line and a stable rule id (see `VALIDATION_RULES`).
 *
 * @param path - the JSONL file.
 * @param options - `target` (or `'auto'`), `format`, `maxTokens`, `batchSize`, `tokenizer`.
 * @returns the report; `ok` is true when no problem was found.
 * @throws LoraPrepError `OPTION_INVALID` (bad options), `INPUT_NOT_FOUND`, `INPUT_UNREADABLE`, `INPUT_FORMAT` (a `.gz`: validate the file a trainer reads), `TOKENIZER_UNAVAILABLE`.
 *
 * @example
 * const report = await validateFile('out/train.jsonl', { target: 'mistral' });
 * for (const p of report.problems) console.log(`${report.file}:${p.line}  ${p.rule}  ${p.message}`);
 */
export async function validateFile(path: string, options: ValidationOptions): Promise<ValidationReport> {
  checkOptions(options);
  const size = await fileSize(path);
  const tokenizer = options.maxTokens === undefined ? undefined : await loadTokenizer(options.tokenizer ?? 'o200k_base');
  const progress = new ProgressTicker(options.onProgress, size);
  // A read error is the file's; a LoraPrepError (the tokenizer's) passes as it is.
  const unreadable = (e: unknown) =>
    isLoraPrepError(e) ? e : new LoraPrepError('INPUT_UNREADABLE', `${path}: cannot read the file: ${(e as Error).message}`, { location: { file: path }, cause: e });
  let settled: Settled;
  try {
    settled = await settleSchema(path, options);
  } catch (e) {
    throw unreadable(e);
  }
  const v = new Validator(path, options, tokenizer, settled);
  try {
    for await (const raw of rawLines(path)) {
      v.line(raw.line, raw.bytes, raw.terminated, raw.overlong);
      progress.bytes += (raw.overlong ?? raw.bytes.length) + (raw.terminated ? 1 : 0);
      progress.tick(v.records, v.cleanRecords, path);
    }
  } catch (e) {
    throw unreadable(e);
  }
  const report = v.finish(size);
  progress.done(v.records, v.cleanRecords);
  return report;
}

/**
 * Checks validation options; throws `OPTION_INVALID` naming each bad one. Shared with `fixFile`.
 *
 * @example
 * checkOptions({ target: 'openai', format: 'instruction' }) // throws: openai has no instruction format
 */
export function checkOptions(options: ValidationOptions): void {
  const bad: string[] = [];
  const target = options.target as string;
  if (target !== 'auto' && !isValidationTarget(target)) {
    bad.push(`target: expected auto or one of ${Object.keys(VALIDATION_TARGETS).join(', ')}, got ${JSON.stringify(target)}`);
  }
  const format = options.format as string | undefined;
  if (format !== undefined && format !== 'chat' && format !== 'instruction' && format !== 'text') bad.push(`format: expected chat, instruction or text, got ${JSON.stringify(format)}`);
  else if (format !== undefined && isValidationTarget(target) && !(formatsOf(target) as readonly string[]).includes(format)) {
    const reads = formatsOf(target);
    const text = format === 'text' ? ` (plain {text} records are read by ${TEXT_TARGETS.join(', ')})` : '';
    bad.push(`format: ${target} reads ${reads.length === 1 ? reads[0] : `${reads.slice(0, -1).join(', ')} and ${reads[reads.length - 1]}`} only, got ${JSON.stringify(format)}${text}`);
  }
  for (const key of ['maxTokens', 'batchSize', 'maxProblems'] as const) {
    const n = options[key];
    if (n !== undefined && !(Number.isInteger(n) && n > 0)) bad.push(`${key}: expected a positive integer, got ${JSON.stringify(n)}`);
  }
  if (bad.length > 0) throw new LoraPrepError('OPTION_INVALID', `invalid validation options:\n  ${bad.join('\n  ')}`);
}

/**
 * The size of the file at `path`; throws `INPUT_NOT_FOUND` or `INPUT_UNREADABLE`, and
 * `INPUT_FORMAT` for a `.gz` (the rules are about the bytes a trainer reads).
 *
 * @example
 * await fileSize('train.jsonl') // 12345
 */
export async function fileSize(path: string): Promise<number> {
  if (isGzipped(path)) {
    throw new LoraPrepError('INPUT_FORMAT', `${path}: validate checks the JSONL file a trainer reads, not a compressed one; \`gunzip -k ${path}\` and validate the .jsonl.`, {
      location: { file: path },
    });
  }
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new LoraPrepError('INPUT_NOT_FOUND', `${path} is not a file. Give the path of a .jsonl file.`, { location: { file: path } });
    return s.size;
  } catch (e) {
    if (e instanceof LoraPrepError) throw e;
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new LoraPrepError('INPUT_NOT_FOUND', `${path}: no such file. Check the path.`, { location: { file: path }, cause: e });
    }
    throw new LoraPrepError('INPUT_UNREADABLE', `${path}: cannot read the file: ${(e as Error).message}`, { location: { file: path }, cause: e });
  }
}

// --- internal ---

const BOM = [0xef, 0xbb, 0xbf] as const;
const SEPARATORS = /[\u2028\u2029\u0085]/;
/** A `\uD800`–`\uDFFF` escape: the only way a lone surrogate gets into valid UTF-8 JSON. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?:^|[^\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** A weight written with a fraction or exponent, which Python reads as a float. */
const FLOAT_WEIGHT = /"weight"\s*:\s*-?\d+(?:\.|[eE])/;

/** Targets whose reader parses each line with `json.loads` (no Arrow: FORMATS.md §0). */
const LINE_READERS: ReadonlySet<ValidationTarget> = new Set(['openai', 'together', 'mistral', 'mlx-lm']);
/** Tool-call arguments and tool parameter schemas: free-form JSON. */
const FREE_FORM_PATH = /(?:^|\.)(?:tool_calls\[\]\.function\.arguments|tools\[\]\.function\.parameters)$/;
/** A word of a file name that marks evaluation data. */
const EVALUATION_NAME = /(?:^|[^a-z])(?:valid|validation|val|eval|evaluation|test|dev)(?:[^a-z]|$)/i;

/**
 * Whether a file is a training file, for the rules that only training files must meet (OpenAI's
 * 10 examples, B.9): yes unless its name says evaluation data (`validation.jsonl`, `valid.jsonl`,
 * `test.jsonl`, `eval-2024.jsonl`).
 */
function isTrainingFile(path: string): boolean {
  const name = basename(path).replace(/\.jsonl?$/i, '');
  return !EVALUATION_NAME.test(name);
}

const OPENAI_MIN_LINES = 10;
const OPENAI_RECOMMENDED_LINES = 50;
const OPENAI_MAX_BYTES = 512 * 1024 * 1024;
const TOGETHER_MAX_BYTES = 50.1 * 1e9;
const MISTRAL_MIN_LINES = 10;
const MISTRAL_MIN_BYTES = 1_000;
const MLX_DEFAULT_BATCH = 4;

/**
 * Literal end-of-sequence markers of common tokenizers, for the note on `{text}` records that end
 * with one (the text readers add the tokenizer's own EOS).
 */
const EOS_MARKERS = ['</s>', '<|endoftext|>', '<|end_of_text|>', '<|eot_id|>', '<|im_end|>', '<|end|>', '<eos>', '<end_of_turn>'];

/** What each reader of `{text}` records does with them, said once per file (FORMATS.md §4–§7). */
const TEXT_NOTES: Partial<Record<ValidationTarget, string>> = {
  'mlx-lm': 'MLX-LM reads {text} lines as a TextDataset: it trains on the whole text, appends the EOS token when a text does not end with it, and refuses --mask-prompt for such data',
  trl: "TRL reads {text} rows as language modelling: it trains on the whole text and appends the tokenizer's EOS token unless the text already ends with it",
  unsloth: "Unsloth (TRL's SFTTrainer) reads {text} rows as language modelling: it trains on the whole text and appends the tokenizer's EOS token unless the text already ends with it",
  axolotl: 'Axolotl reads {text} records with `type: completion` in its datasets entry (not chat_template or alpaca); a text longer than sequence_len is split into several samples',
  torchtune: 'torchtune reads {text} records with `_component_: torchtune.datasets.text_completion_dataset` (column: text), which adds BOS and EOS to every text',
};

class Validator {
  readonly #file: string;
  readonly #options: ValidationOptions;
  readonly #tokenizer: Tokenizer | undefined;
  readonly #max: number;
  readonly #decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  readonly #problems: Problem[] = [];
  readonly #byRule: Record<string, number> = {};
  readonly #warnings: string[] = [];
  #count = 0;
  #lines = 0;
  #records = 0;
  #lastTerminated = true;
  #lastBlank = false;
  #blank: { start: number; count: number; allEmpty: boolean } | undefined;
  #crlf: { first: number; count: number } | undefined;
  #resolved: Resolved | undefined;
  /** True until the first record: its line reports an unknown shape and the guess. */
  #first = true;
  /** True when the head of the file held no record, so the first record met settles the schema. */
  readonly #lazy: boolean;
  #eosMarkers: { count: number; line: number; marker: string } | undefined;
  #refKeys: { line: number; keys: string } | undefined;
  readonly #types = new Map<string, { type: string; line: number }>();
  #typesFull = false;

  constructor(file: string, options: ValidationOptions, tokenizer: Tokenizer | undefined, settled: Settled) {
    this.#file = file;
    this.#options = options;
    this.#tokenizer = tokenizer;
    this.#max = options.maxProblems ?? MAX_STORED_PROBLEMS;
    this.#resolved = settled.resolved;
    this.#lazy = settled.firstLine === undefined;
  }

  #add(line: number, rule: RuleId, message: string, force = false): void {
    this.#count++;
    this.#byRule[rule] = (this.#byRule[rule] ?? 0) + 1;
    if (force || this.#problems.length < this.#max) this.#problems.push({ line, rule, message });
  }

  /** Records (non-blank lines) read so far. */
  get records(): number {
    return this.#records;
  }

  /** Records without a problem on their own line. */
  cleanRecords = 0;

  line(n: number, raw: Buffer, terminated: boolean, overlong: number | undefined): void {
    const records = this.#records;
    const problems = this.#count;
    this.#line(n, raw, terminated, overlong);
    if (this.#records > records && this.#count === problems) this.cleanRecords++;
  }

  #line(n: number, raw: Buffer, terminated: boolean, overlong: number | undefined): void {
    this.#lines = n;
    this.#lastTerminated = terminated;
    if (overlong !== undefined) {
      this.#flushBlank();
      this.#records++;
      this.#lastBlank = false;
      this.#add(n, 'A.3-json', `the line is ${overlong.toLocaleString('en-US')} bytes long, over the limit of ${MAX_LINE_BYTES.toLocaleString('en-US')}, so it was not parsed: is this a JSON array or a file without newlines?`);
      return;
    }
    let bytes = raw;
    if (n === 1 && bytes[0] === BOM[0] && bytes[1] === BOM[1] && bytes[2] === BOM[2]) {
      this.#add(1, 'A.1-bom', 'the file starts with a UTF-8 BOM: Python readers fail with "Unexpected UTF-8 BOM" (--fix removes it)');
      bytes = bytes.subarray(3);
    }
    if (bytes[bytes.length - 1] === 0x0d) {
      if (this.#crlf) this.#crlf.count++;
      else this.#crlf = { first: n, count: 1 };
      bytes = bytes.subarray(0, bytes.length - 1);
    }
    let text: string;
    try {
      text = this.#decoder.decode(bytes);
    } catch {
      this.#flushBlank();
      this.#records++;
      this.#lastBlank = false;
      this.#add(n, 'A.1-utf8', 'the line is not valid UTF-8: save the file as UTF-8');
      return;
    }
    if (isBlank(text)) {
      this.#lastBlank = true;
      if (this.#blank) {
        this.#blank.count++;
        this.#blank.allEmpty &&= text === '';
      } else this.#blank = { start: n, count: 1, allEmpty: text === '' };
      return;
    }
    this.#flushBlank();
    this.#lastBlank = false;
    this.#records++;
    if (text.includes('\r')) this.#add(n, 'A.2-cr', 'a raw \\r inside the line: records are separated by \\n only (str.splitlines and some readers split here)');
    if (SEPARATORS.test(text)) {
      this.#add(n, 'A.4-unescaped-separator', 'raw U+2028, U+2029 or U+0085 in the line: write it as a \\uXXXX escape, since str.splitlines() treats it as a line break (--fix does)');
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      this.#add(n, 'A.3-json', `not valid JSON: ${(e as Error).message}${jsonHint(n, text)}`);
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.#add(n, 'A.3-not-object', `each line must be a JSON object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`}${n === 1 && Array.isArray(value) ? ' (is the whole file a JSON array? write one object per line)' : ''}`);
      return;
    }
    const record = value as Record<string, unknown>;
    const depth = nestingDepth(record);
    if (depth > MAX_JSON_DEPTH) {
      this.#add(
        n,
        'A.3-json',
        `the line nests arrays and objects ${depth.toLocaleString('en-US')} levels deep: Python's json.loads, which the trainers read each line with, raises RecursionError past about 1,000 levels (995 on Python 3.8–3.11, fewer inside a trainer's call stack), so keep records within ${MAX_JSON_DEPTH} levels: store the deep value as a JSON string, or flatten it (--fix cannot)`,
      );
      return;
    }
    if (SURROGATE_ESCAPE.test(text)) {
      const where = loneSurrogate(record, '');
      if (where !== undefined) this.#add(n, 'A.4-lone-surrogate', `${where || 'a key'} holds a lone UTF-16 surrogate: it is not valid Unicode text and cannot be encoded`);
    }
    this.#record(n, text, record);
  }

  #record(n: number, text: string, record: Record<string, unknown>): void {
    if (this.#first) {
      this.#first = false;
      if (this.#lazy) this.#resolved = resolveSchema(this.#options, record);
      const r = this.#resolved;
      if (!r) {
        this.#add(n, 'A.5-unrecognised-shape', `cannot tell the format from this first record (keys ${Object.keys(record).map((k) => JSON.stringify(k)).join(', ') || 'none'}): expected messages, conversations, instruction/input/output, prompt/completion or text; pass --target`);
      } else {
        if (r.guessedFrom !== undefined) this.#warnings.push(`guessed target ${r.target} (${r.format}) from line ${r.guessedAt ?? n}: ${r.guessedFrom}; pass --target to choose`);
        const note = r.format === 'text' ? TEXT_NOTES[r.target] : undefined;
        if (note) this.#warnings.push(note);
      }
    }
    const resolved = this.#resolved;
    if (resolved?.format === 'text' && typeof record.text === 'string') this.#noteEosMarker(n, record.text);
    const optional = resolved ? OPTIONAL_KEYS[resolved.schema] : new Set<string>();
    let clean = true;
    let keysReported = false;
    if (resolved) {
      const before = this.#count;
      const ctx: RecordContext = {
        add: (rule, message) => this.#add(n, rule, message),
        floatWeights: floatWeights(resolved, text),
        target: resolved.target,
      };
      keysReported = checkRecord(resolved.schema, record, ctx).keysReported;
      clean = this.#count === before;
    }
    // A.5: the same top-level keys as line 1, keys optional for the target aside. A closed schema
    // (every key named) already reports each missing or unexpected key, so A.5 adds nothing there.
    const keys = Object.keys(record).filter((k) => !optional.has(k)).sort().join(',');
    const open = !resolved || resolved.schema === 'mlx-completions' || resolved.schema === 'mlx-text' || resolved.schema === 'text';
    if (open && !keysReported) {
      if (!this.#refKeys) this.#refKeys = { line: n, keys };
      else if (keys !== this.#refKeys.keys) {
        const ref = new Set(this.#refKeys.keys.split(',').filter(Boolean));
        const here = new Set(keys.split(',').filter(Boolean));
        const missing = [...ref].filter((k) => !here.has(k));
        const extra = [...here].filter((k) => !ref.has(k));
        const diff = [missing.length ? `missing ${missing.join(', ')}` : '', extra.length ? `extra ${extra.join(', ')}` : ''].filter(Boolean).join('; ');
        this.#add(n, 'A.5-key-set', `the keys differ from line ${this.#refKeys.line}: ${diff}`);
      }
    }
    // A.6: only records that passed their schema check, so one defect is not reported twice.
    if (clean) {
      const changed = this.#observeTypes(n, record);
      if (changed.length > 0) this.#add(n, 'A.6-type-change', `${changed.slice(0, 3).join('; ')}${changed.length > 3 ? `; and ${changed.length - 3} more` : ''}: Arrow-based loaders (datasets) fail with "changed from … to …"`);
    }
    if (clean && resolved && this.#tokenizer && this.#options.maxTokens !== undefined) {
      const limit = this.#options.maxTokens;
      let m;
      try {
        // A text record is trained whole: its tokens are those of the text, with no chat around it.
        m = resolved.format === 'text' ? { total: this.#tokenizer.count(String(record.text)), prompt: 0 } : this.#measureRecord(resolved, record, this.#tokenizer);
      } catch (e) {
        // A template feature the renderer lacks is the job's problem (TOKENIZER_UNAVAILABLE), as in prepare.
        if (isLoraPrepError(e)) throw e;
        this.#warnings.push(`line ${n}: tokens not counted (${(e as Error).message})`);
        return;
      }
      if (m.prompt >= limit) this.#add(n, 'I.1-prompt-overflow', `the prompt part alone is ${m.prompt} tokens, at or over the limit of ${limit}: right truncation leaves nothing to train on`);
      else if (m.total > limit) this.#add(n, 'I.1-overlong', `${m.total} tokens, over the limit of ${limit} (${this.#tokenizer.name})`);
    }
  }

  /**
   * A record's tokens as its trainer builds them: an instruction record Axolotl, Unsloth, TRL or
   * Together read as plain text is counted as that text (as prepare counts it), the rest as a chat.
   */
  #measureRecord(resolved: Resolved, record: Record<string, unknown>, tokenizer: Tokenizer): { total: number; prompt: number } {
    const countAs = resolved.format === 'instruction' ? (targets as Record<string, Target | undefined>)[resolved.target]?.countsAs?.instruction : undefined;
    const text = countAs === undefined ? undefined : recordText(countAs, record);
    return text && tokenizer.measureText ? tokenizer.measureText(text.prompt, text.completion, text.apart) : tokenizer.measure(toChatMessages(resolved.schema, record));
  }

  #observeTypes(n: number, record: Record<string, unknown>): string[] {
    const changed = new Map<string, string>();
    // Readers that parse each line on its own take any JSON inside arguments and parameter schemas.
    const target = this.#resolved?.target;
    const payloadsFree = target !== undefined && LINE_READERS.has(target);
    const walk = (v: unknown, path: string, depth: number): void => {
      if (v === null || v === undefined || depth > MAX_WALK_DEPTH) return;
      const type = Array.isArray(v) ? 'array' : typeof v;
      if (path !== '') {
        const seen = this.#types.get(path);
        if (seen === undefined) {
          if (this.#types.size < MAX_TYPE_PATHS) this.#types.set(path, { type, line: n });
          else if (!this.#typesFull) {
            this.#typesFull = true;
            this.#warnings.push(`more than ${MAX_TYPE_PATHS.toLocaleString('en-US')} key paths: type stability (A.6) is checked for the first ${MAX_TYPE_PATHS.toLocaleString('en-US')} only`);
          }
        } else if (seen.type !== type && !changed.has(path)) {
          changed.set(path, `${path} is ${article(type)} here but ${article(seen.type)} on line ${seen.line}`);
        }
      }
      if (payloadsFree && type === 'object' && FREE_FORM_PATH.test(path)) return;
      if (Array.isArray(v)) for (const item of v) walk(item, `${path}[]`, depth + 1);
      else if (typeof v === 'object') for (const [k, item] of Object.entries(v)) walk(item, path === '' ? k : `${path}.${k}`, depth + 1);
    };
    walk(record, '', 0);
    return [...changed.values()];
  }

  /** Counts `{text}` records ending with a literal EOS marker, for one warning at the end. */
  #noteEosMarker(n: number, text: string): void {
    const end = text.trimEnd();
    const marker = EOS_MARKERS.find((m) => end.endsWith(m));
    if (marker === undefined) return;
    if (this.#eosMarkers) this.#eosMarkers.count++;
    else this.#eosMarkers = { count: 1, line: n, marker };
  }

  #flushBlank(): void {
    const b = this.#blank;
    if (!b) return;
    for (let i = 0; i < b.count; i++) this.#add(b.start + i, 'A.2-blank', 'blank line: Python readers fail on it ("JSONDecodeError: Expecting value"); --fix removes it');
    this.#blank = undefined;
  }

  finish(size: number): ValidationReport {
    const b = this.#blank;
    if (b && this.#records > 0) {
      if (b.allEmpty) {
        this.#add(b.start, 'A.2-final-newline', `the file ends with ${b.count + 1} newlines: it must end with exactly one (a second one is a blank line to Python readers); --fix trims them`, true);
      } else this.#flushBlank();
      this.#blank = undefined;
    }
    if (!this.#lastTerminated && !this.#lastBlank) {
      this.#add(this.#lines, 'A.2-final-newline', 'the last line has no newline after it: the file must end with exactly one \\n (--fix adds it)', true);
    }
    if (this.#crlf) {
      const { first, count } = this.#crlf;
      this.#add(first, 'A.2-crlf', `${count === 1 ? 'this line ends' : `${count.toLocaleString('en-US')} lines end`} with \\r\\n (CRLF)${count > 1 ? ', this one first' : ''}: use \\n only (--fix converts)`, true);
    }
    if (this.#records === 0) this.#add(0, 'A.2-empty-file', 'the file holds no records (trainers refuse an empty training file)', true);
    const resolved = this.#resolved;
    const target = resolved?.target ?? (this.#options.target === 'auto' ? undefined : this.#options.target);
    const n = this.#records;
    if (target === 'openai' && isTrainingFile(this.#file)) {
      if (n < OPENAI_MIN_LINES) this.#add(0, 'B.9-min-lines', `${n} examples: OpenAI needs at least ${OPENAI_MIN_LINES} in a training file`, true);
      else if (n < OPENAI_RECOMMENDED_LINES) this.#warnings.push(`${n} examples: OpenAI recommends at least ${OPENAI_RECOMMENDED_LINES}`);
    }
    if (target === 'openai') {
      if (size > OPENAI_MAX_BYTES) this.#add(0, 'B.11-file-size', `${size.toLocaleString('en-US')} bytes: the Files API takes at most 512 MB (use the Uploads API, or split the file)`, true);
    }
    if (target === 'together') {
      if (!this.#file.endsWith('.jsonl')) this.#add(0, 'C.1-extension', 'Together reads .jsonl files: rename the file to end in .jsonl', true);
      if (size > TOGETHER_MAX_BYTES) this.#add(0, 'C.1-file-size', `${size.toLocaleString('en-US')} bytes: Together takes at most 50.1 GB`, true);
    }
    if (target === 'mistral' && n > 0 && (n < MISTRAL_MIN_LINES || size < MISTRAL_MIN_BYTES)) {
      this.#warnings.push(`${n} lines, ${size} bytes: mistral-finetune's size check (currently disabled) asks for at least ${MISTRAL_MIN_LINES} lines and ${MISTRAL_MIN_BYTES} bytes`);
    }
    if (target === 'mlx-lm') {
      const batch = this.#options.batchSize ?? MLX_DEFAULT_BATCH;
      if (n < batch) this.#add(0, 'E.2-min-lines', `${n} records: MLX-LM needs at least batch_size=${batch} per file ("Dataset must have at least batch_size=${batch} examples")`, true);
    }
    const eos = this.#eosMarkers;
    if (eos) {
      this.#warnings.push(
        `${eos.count.toLocaleString('en-US')} ${eos.count === 1 ? 'text ends' : 'texts end'} with a literal end-of-sequence marker (line ${eos.line}: ${JSON.stringify(eos.marker)}): the trainer adds the tokenizer's own EOS token, so keep the marker only if it is that token (torchtune adds EOS regardless); a marker of another model is trained as plain text`,
      );
    }
    const problems = this.#problems.sort((a, b) => a.line - b.line);
    return {
      file: this.#file,
      target: resolved?.target ?? this.#options.target,
      format: resolved?.format ?? this.#options.format ?? null,
      guessed: resolved?.guessedFrom !== undefined,
      lines: this.#lines,
      records: this.#records,
      problems,
      problemCount: this.#count,
      problemsByRule: this.#byRule,
      warnings: this.#warnings,
      ok: this.#count === 0,
    };
  }
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/** A hint for the usual causes of a line that does not parse. */
function jsonHint(n: number, text: string): string {
  const t = text.trim();
  if (n === 1 && t.startsWith('[')) return ' (the file looks like a JSON array: write one object per line)';
  if (t === '{' || t === '[' || (t.startsWith('{') && !t.endsWith('}')) || t.startsWith('"') || t === '}' || t === ']') {
    return ' (a pretty-printed object spread over several lines? each record must be on one line)';
  }
  return '';
}

/** The path of the first string or key holding a lone surrogate, or undefined. */
function loneSurrogate(v: unknown, path: string, depth = 0): string | undefined {
  if (typeof v === 'string') return LONE_SURROGATE.test(v) ? path : undefined;
  if (depth > MAX_WALK_DEPTH) return undefined;
  if (Array.isArray(v)) {
    for (const [i, item] of v.entries()) {
      const w = loneSurrogate(item, `${path}[${i}]`, depth + 1);
      if (w !== undefined) return w;
    }
  } else if (typeof v === 'object' && v !== null) {
    for (const [k, item] of Object.entries(v)) {
      const here = path === '' ? k : `${path}.${k}`;
      if (LONE_SURROGATE.test(k)) return here;
      const w = loneSurrogate(item, here, depth + 1);
      if (w !== undefined) return w;
    }
  }
  return undefined;
}

const NO_FLOATS: ReadonlySet<number> = new Set();

/** Indices of `messages` whose weight is a float literal (`1.0`): `JSON.parse` cannot tell. */
function floatWeights(resolved: Resolved, text: string): ReadonlySet<number> {
  if (!FLOAT_WEIGHT.test(text)) return NO_FLOATS;
  if (resolved.schema !== 'messages' && resolved.schema !== 'together-chat' && resolved.schema !== 'mistral') return NO_FLOATS;
  let root;
  try {
    root = parseJsonNode(text);
  } catch {
    return NO_FLOATS; // nesting too deep for the literal-keeping reader: JSON.parse's view stands
  }
  const messages = entryOf(root, 'messages');
  const out = new Set<number>();
  if (messages?.kind !== 'array') return out;
  for (const [i, m] of messages.items.entries()) {
    const w = entryOf(m, 'weight');
    if (w?.kind === 'number' && isFloatLiteral(w.raw)) out.add(i);
  }
  return out;
}
