/**
 * The CLI as a function: argv in, exit code out, output through `io`. It reaches the library only
 * through its public entry. Exit codes: 0 done, 1 the run failed (a write error, an abort), 2 bad
 * usage, options or input files.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import {
  checkLeakage,
  fixFile,
  fileStats,
  formatLeakage,
  formatStats,
  formatVerify,
  isLoraPrepError,
  prepareDataset,
  summarize,
  validateFile,
  VALIDATION_TARGETS,
  verifyOutput,
  type FixResult,
  type LeakageOptions,
  type PrepareOptions,
  type ProgressEvent,
  type ValidationOptions,
  type ValidationReport,
} from '../index.js';
import { closest } from '../_suggest.js';
import { loadConfigFile } from '../config.js';
import { resolveOptions } from '../options.js';
import { LIBRARY } from '../version.js';
import { DEFAULT_CONFIG_FILE, writeStarterConfig } from './init.js';

/** Where the CLI writes, so tests can capture it. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** True when stderr is a terminal (progress redraws one line). */
  isTTY?: boolean | undefined;
  /** Aborts the run (Ctrl-C). */
  signal?: AbortSignal | undefined;
  /** Least time between two plain progress lines when stderr is not a terminal (default 5 s). */
  progressEveryMs?: number | undefined;
}

/** Exit codes. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

const USAGE = `Usage:
  lora-prep prepare <input...> --out DIR [options]
  lora-prep prepare --config lora-prep.config.ts [options]
  lora-prep init [--force] [FILE]  write a commented starter config (default lora-prep.config.ts)
  lora-prep leakage <a.jsonl> <b.jsonl> [more...] [--threshold 0.8] [--exact-only] [--json] [--quiet]
  lora-prep validate <file.jsonl> [--target NAME|auto] [--format chat|instruction|text] [--max-tokens N [--tokenizer NAME]] [--batch-size N] [--json] [--quiet] [--fix [--out FILE]]
  lora-prep verify <outDir> [--json]
  lora-prep stats <file.jsonl> [--tokenizer NAME] [--max-tokens N] [--json] [--quiet]
                            token statistics and a length histogram of any file

Options of prepare:
  --out DIR                 output folder (required)
  --mapping NAME            auto | messages | sharegpt | alpaca | prompt-completion | qa | mcq |
                            classification | template (default auto; see docs/presets.md)
  --labels LIST|JSON        classification label names: negative,neutral,positive (ids are positions)
                            or a JSON map such as {"0":"negative","1":"neutral","2":"positive"}
  --prompt-file FILE        template: a task prompt with {{column}} placeholders; the answer is the
                            answer column
  --user TPL --assistant TPL
                            custom mapping: templates with {{column}} placeholders
  --system TEXT             system prompt for examples without one
  --format chat|instruction record shape (default chat)
  --target NAME             openai | together | mistral | mlx-lm | trl | axolotl | llama-factory |
                            unsloth | torchtune (default openai)
  --tokenizer NAME          o200k_base | cl100k_base | an OpenAI model name (default o200k_base)
  --tokenizer DIR           or a folder with a Hugging Face tokenizer.json + tokenizer_config.json,
                            or llama-3 | llama-3.1 | qwen3 | gemma3 | deepseek-v3 (optional packages)
  --max-tokens N            token budget per example
  --overlong MODE           drop (default) | truncate | keep: what happens over --max-tokens
  --min-tokens N            reject examples under N tokens as too_short
  --price P                 estimate the training cost at P per million training tokens
  --epochs N                epochs for the cost estimate (default: OpenAI's heuristic)
  --concurrency N           tokenizer threads for large inputs (default: the CPUs available, as many
                            as the memory holds, at most 16)
  --validation F            validation fraction (default 0.1)
  --test F                  test fraction (default 0)
  --seed N                  split seed (default 42)
  --split-strategy S        random (exact sizes, default) | hash (stable when rows are appended)
  --dedup near|exact|none   near: exact + near-duplicates (default); exact: exact only; none
  --near-threshold X        Jaccard similarity of near-duplicates, 0.5 to 1 (default 0.8)
  --near-action A           remove (default) | group: keep near-copies, in the same split
  --near-keep K             first (default) | longest: the row of a near-duplicate cluster that stays
  --dedup-key K             conversation (default) | prompt: what counts as an exact copy (prompt:
                            the same question with another answer is a copy too)
  --stratify-by COL|none    keep the split fractions within each value of COL (or domain);
                            default: the preset's natural key (PubMedQA final_decision, ...)
  --group-by COL|none       examples sharing a COL value land in the same split;
                            default: the preset's natural key (PubMedQA pubid, ...)
  --encoding E              utf-8 | latin1 | windows-1252 | utf-16le (default utf-8)
  --delimiter C             CSV delimiter, \\t or tab for a tab (default: a sep= first line, else from
                            the extension, else sniffed)
  --escape C                how a quote is written inside a quoted CSV field: " (doubled, the
                            default) or \\ (after a backslash, as MySQL writes CSV)
  --quote none              no CSV field is quoted: a quote is text (a TSV from mysql -B or psql)
  --null-values LIST        text read as a missing value, comma-separated; '' for none (default \\N,
                            the NULL of MySQL and of PostgreSQL's text format, which --quote none
                            --escape '\\' reads, escapes decoded); pandas writes nan,None
  --records-key KEY         JSON: the top-level key whose array holds the records, as in
                            {"version": 1, "data": [...]}
  --input-format F          csv | tsv | jsonl | json: read the inputs as F whatever their
                            extension (default: from each file's extension)
  --pii ACTION              report | redact | drop: personal data (e-mail, phone, card, IBAN, SSN,
                            birth dates, IP, credentials in URLs, MRN, account numbers)
  --pii-types LIST          with --pii (or a config's pii): only these types (default all): email,
                            phone, card, iban, ssn, dob, ip, url_credentials, mrn, account
  --on-invalid-encoding M   reject (default: invalid_encoding) | replace (keep rows, U+FFFD)
  --max-line-bytes N        reject longer lines/records as line_too_long (default 16 MiB)
  --max-field-chars N       reject CSV/TSV rows with a longer cell as field_too_long (default 4 Mi)
  --max-rows N              read only the first N input rows, to try settings on a sample
  --fail-on RULE            fail (exit 1, after writing the report) when the data got worse:
                            rejected=0.05 (more than 5% of rows rejected) or reasons=pii,invalid_json;
                            repeatable
  --config FILE             options from a config file: lora-prep.config.ts (.mts .cts .js .mjs
                            .cjs: the default export) or .json; flags and input files given on the
                            command line override it; its relative paths (inputs, outDir,
                            mapping.promptFile, a ./ tokenizer folder) are relative to the config
                            file's folder
  --overwrite               replace the files of an earlier run in --out
  --json                    print the result object as JSON on stdout
  --quiet                   no progress on stderr

Options of init:
  --force                   replace an existing config file

Options of leakage (exit 0 when no conversation is in two files, 1 when some are):
  --threshold J             least Jaccard similarity of a near overlap, above 0, at most 1 (default 0.8)
  --exact-only              report exact overlaps only
  --json                    print the report object as JSON on stdout
  --quiet                   no progress on stderr

Options of validate (exit 0 when the file breaks no rule of its trainer, 1 when it does):
  --target NAME|auto        openai | together | mistral | mlx-lm | trl | axolotl | llama-factory |
                            unsloth | torchtune, or auto: guess from the first records (line 1
                            fixes the shape; later ones, up to 1,000, can name the trainer)
                            (default auto)
  --format chat|instruction|text
                            record shape (default: from line 1); text: {"text"} records, read
                            by together, mlx-lm, trl, unsloth, axolotl and torchtune
  --max-tokens N            also flag examples over N tokens (counted only when given)
  --tokenizer NAME          tokenizer for --max-tokens (default o200k_base)
  --batch-size N            MLX-LM batch size: the file needs at least N records (default 4)
  --fix                     write a repaired copy (BOM, CRLF, blank lines, final newline, raw U+2028,
                            ShareGPT role names, missing alpaca input, weights 1.0/0.0), then validate it
  --out FILE                where --fix writes (default <name>.fixed.jsonl; never overwritten)
  --json                    print the report (and the fix) as JSON on stdout
  --quiet                   no progress on stderr

Options of verify (exit 0 when every file listed in outDir/report/manifest.json still has its sha256,
1 when not, or when a .jsonl/.json the manifest does not list sits beside them):
  --json                    print the report as JSON on stdout

Options of stats:
  --tokenizer NAME          tokenizer to count with (default o200k_base; the names prepare takes)
  --max-tokens N            also count the examples over N tokens
  --json                    print the statistics as JSON on stdout
  --quiet                   no progress on stderr

  lora-prep --version | --help`;

/**
 * Runs the CLI. Never calls `process.exit`; returns the exit code.
 *
 * @example
 * process.exitCode = await runCli(process.argv.slice(2), { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) });
 */
export async function runCli(argv: string[], given: CliIo): Promise<number> {
  // File names and data reach the messages: their control characters are shown, not obeyed.
  const io: CliIo = { ...given, stdout: (text) => given.stdout(shownSafely(text)), stderr: (text) => given.stderr(shownSafely(text)) };
  const [command, ...rest] = argv;
  if (command === undefined) {
    // No command is a usage error: the usage goes where errors go, and the exit says so.
    io.stderr(`${USAGE}\n`);
    return EXIT.usage;
  }
  if (command === '--help' || command === '-h' || command === 'help') {
    const about = rest[0];
    io.stdout(`${about !== undefined && COMMANDS.includes(about) ? commandHelp(about) : USAGE}\n`);
    return EXIT.ok;
  }
  if (command === '--version' || command === '-v') {
    io.stdout(`${LIBRARY.version}\n`);
    return EXIT.ok;
  }
  if (command === 'leakage') return leakageCommand(rest, io);
  if (command === 'validate') return validateCommand(rest, io);
  if (command === 'verify') return verifyCommand(rest, io);
  if (command === 'stats') return statsCommand(rest, io);
  if (command === 'init') return initCommand(rest, io);
  if (command !== 'prepare') {
    const meant = closest(command, COMMANDS);
    io.stderr(`lora-prep: unknown command ${JSON.stringify(command)}${meant === undefined ? '' : ` (did you mean ${meant}?)`}\n\n${USAGE}\n`);
    return EXIT.usage;
  }
  return prepareCommand(rest, io);
}

// --- internal ---

const COMMANDS = ['prepare', 'init', 'leakage', 'validate', 'verify', 'stats'];

/**
 * One command's help: its usage lines and its options, cut from the whole usage; `lora-prep
 * --help` has every command's.
 */
function commandHelp(command: string): string {
  const usage = USAGE.split('\n\n')[0] as string;
  const lines = usage.split('\n').filter((line, i) => i === 0 || line.startsWith(`  lora-prep ${command} `) || (line.startsWith('    ') && usage.split('\n')[i - 1]?.startsWith(`  lora-prep ${command} `)));
  const section = USAGE.split('\n\n').find((block) => block.startsWith(`Options of ${command}`));
  return [lines.join('\n'), ...(section === undefined ? [] : [section]), 'lora-prep --help lists every command.'].join('\n\n');
}

const PREPARE_ARGS = {
  out: { type: 'string' },
  mapping: { type: 'string' },
  labels: { type: 'string' },
  'prompt-file': { type: 'string' },
  user: { type: 'string' },
  assistant: { type: 'string' },
  system: { type: 'string' },
  format: { type: 'string' },
  target: { type: 'string' },
  tokenizer: { type: 'string' },
  'max-tokens': { type: 'string' },
  overlong: { type: 'string' },
  'min-tokens': { type: 'string' },
  price: { type: 'string' },
  epochs: { type: 'string' },
  concurrency: { type: 'string' },
  validation: { type: 'string' },
  test: { type: 'string' },
  seed: { type: 'string' },
  'split-strategy': { type: 'string' },
  dedup: { type: 'string' },
  'near-threshold': { type: 'string' },
  'on-invalid-encoding': { type: 'string' },
  pii: { type: 'string' },
  'max-line-bytes': { type: 'string' },
  'fail-on': { type: 'string', multiple: true },
  'near-action': { type: 'string' },
  'near-keep': { type: 'string' },
  'dedup-key': { type: 'string' },
  'pii-types': { type: 'string' },
  'max-field-chars': { type: 'string' },
  'max-rows': { type: 'string' },
  'stratify-by': { type: 'string' },
  'group-by': { type: 'string' },
  encoding: { type: 'string' },
  delimiter: { type: 'string' },
  escape: { type: 'string' },
  quote: { type: 'string' },
  'null-values': { type: 'string' },
  'records-key': { type: 'string' },
  'input-format': { type: 'string' },
  config: { type: 'string' },
  overwrite: { type: 'boolean' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} satisfies ParseArgsConfig['options'];

class UsageError extends Error {}

const INPUT_FORMATS = ['csv', 'tsv', 'jsonl', 'json'];

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

async function prepareCommand(argv: string[], io: CliIo): Promise<number> {
  let options: PrepareOptions;
  let flags: { json?: boolean | undefined; quiet?: boolean | undefined };
  try {
    const parsed = parseArgs({ args: argv, options: PREPARE_ARGS, allowPositionals: true, strict: true });
    if (parsed.values.help) {
      io.stdout(`${commandHelp('prepare')}\n`);
      return EXIT.ok;
    }
    flags = parsed.values;
    options = await toOptions(parsed.values, parsed.positionals);
  } catch (e) {
    const message = argsProblem(e, PREPARE_ARGS);
    return usageError(io, 'prepare', message, argv.includes('--json'));
  }
  if (!flags.quiet) options.onProgress = progressPrinter(io);
  if (io.signal) options.signal = io.signal;
  try {
    const result = await prepareDataset(options);
    if (!flags.quiet && io.isTTY) io.stderr('\r\x1b[K');
    if (flags.json) io.stdout(`${JSON.stringify(result, null, 2)}\n`);
    else io.stdout(`${summarize(result)}\n\n${result.nextSteps}`);
    return EXIT.ok;
  } catch (e) {
    if (io.isTTY) io.stderr('\r\x1b[K');
    // failOn: the run wrote everything and failed on purpose; show what it did before why it failed.
    const failed = isLoraPrepError(e) && e.code === 'DATA_FAILED' ? (e as { result?: Parameters<typeof summarize>[0] }).result : undefined;
    if (failed) io.stdout(flags.json ? `${JSON.stringify(failed, null, 2)}\n` : `${summarize(failed)}\n`);
    return failure(io, e, flags.json === true && !failed);
  }
}

/**
 * What a command's usage problem says: a conversion's own message, or for a flag parseArgs does not
 * know, the flag and the one it most likely meant (its own message tells to put a positional
 * argument after '--', which is never the fix for a misspelt flag).
 */
function argsProblem(e: unknown, known: Record<string, unknown>): string {
  const code = (e as { code?: string }).code;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const flag = /'([^']+)'/.exec((e as Error).message)?.[1];
    if (flag !== undefined) {
      const meant = closest(flag.replace(/^-+/, ''), Object.keys(known));
      return `unknown option ${flag}${meant === undefined ? '' : ` (did you mean --${meant}?)`}`;
    }
  }
  return e instanceof UsageError || code?.startsWith('ERR_PARSE_ARGS') ? (e as Error).message : String(e);
}

/**
 * Text for a terminal with its control characters written as escapes (`\u001b`): an input named
 * `x\e]0;title\a.jsonl` would otherwise retitle or clear the user's terminal when a message names
 * it. Newlines, tabs, and the progress line's own `\r` and `\x1b[K` stay.
 */
function shownSafely(text: string): string {
  return CONTROL.test(text) ? text.replace(CONTROL_ALL, (c, at: number) => (c === '\x1b' && text.startsWith('\x1b[K', at) ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)) : text;
}
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]/;
const CONTROL_ALL = new RegExp(CONTROL.source, 'g');

/** Prints a usage problem of a command and returns the usage exit code. */
function usageError(io: CliIo, command: string, message: string, json = false): number {
  io.stderr(`lora-prep ${command}: ${message}\n\nRun lora-prep --help for the options.\n`);
  // --json among the arguments: the problem with the arguments is printed as JSON too.
  if (json) jsonError(io, 'OPTION_INVALID', message);
  return EXIT.usage;
}

/** A failure as `--json` prints it on stdout: `{"error": {"code", "message"}}`. */
function jsonError(io: CliIo, code: string | null, message: string): void {
  io.stdout(`${JSON.stringify({ error: { code, message } }, null, 2)}\n`);
}

/** Prints an error the way every command does and returns its exit code. */
function failure(io: CliIo, e: unknown, json = false): number {
  if (isLoraPrepError(e)) {
    io.stderr(`lora-prep: ${e.code}: ${e.message}\n`);
    // --json: a script reading stdout gets the error too, as JSON, not an empty stdout.
    if (json) jsonError(io, e.code, e.message);
    return USAGE_CODES.has(e.code) ? EXIT.usage : EXIT.failed;
  }
  io.stderr(`lora-prep: unexpected error: ${(e as Error).stack ?? String(e)}\n`);
  if (json) jsonError(io, null, e instanceof Error ? e.message : String(e));
  return EXIT.failed;
}

/** Codes of a job that cannot be done as asked (options, inputs, tokenizer, outDir): exit 2; the others (a run that failed) exit 1. */
const USAGE_CODES = new Set(['OPTION_INVALID', 'INPUT_NOT_FOUND', 'INPUT_UNREADABLE', 'INPUT_FORMAT', 'MAPPING_INVALID', 'TOKENIZER_UNAVAILABLE', 'SPLIT_TOO_SMALL', 'OUTPUT_NOT_EMPTY']);

type PrepareValues = { [K in keyof typeof PREPARE_ARGS]?: (typeof PREPARE_ARGS)[K] extends { multiple: true } ? string[] : (typeof PREPARE_ARGS)[K]['type'] extends 'boolean' ? boolean : string };

async function toOptions(v: PrepareValues, positionals: string[]): Promise<PrepareOptions> {
  let base: Record<string, unknown> = {};
  if (v.config !== undefined) {
    try {
      base = (await loadConfigFile(v.config)) as Record<string, unknown>;
    } catch (e) {
      throw new UsageError(`--config ${isLoraPrepError(e) ? e.message : String(e)}`);
    }
  }
  const o: Record<string, unknown> = { ...base };
  // Flags that give no value of their kind, all named together (with the options' own problems).
  const bad: string[] = [];
  if (positionals.length > 0) o.inputs = positionals;
  if (o.inputs === undefined) throw new UsageError(`give at least one input file${v.config === undefined ? ' (or --config FILE with inputs)' : `: ${v.config} has no inputs`}`);
  const inputFormat = v['input-format'];
  if (inputFormat !== undefined) {
    if (!INPUT_FORMATS.includes(inputFormat)) bad.push(`--input-format must be ${INPUT_FORMATS.join(', ')}, got ${JSON.stringify(inputFormat)}`);
    // Inputs named on the command line, or the config's inputs that do not name their own format.
    else if (Array.isArray(o.inputs)) o.inputs = o.inputs.map((i: unknown) => (typeof i === 'string' ? { path: i, format: inputFormat } : isRecord(i) && i.format === undefined ? { ...i, format: inputFormat } : i));
  }
  if (v.out !== undefined) o.outDir = v.out;
  if (o.outDir === undefined) throw new UsageError(`--out DIR is required${v.config === undefined ? '' : ` (or outDir in ${v.config})`}`);
  if (v.user !== undefined || v.assistant !== undefined) {
    if (v.user === undefined || v.assistant === undefined) throw new UsageError('--user and --assistant go together');
    if (v.mapping !== undefined) throw new UsageError('use either --mapping or --user/--assistant, not both');
    if (v.labels !== undefined || v['prompt-file'] !== undefined) throw new UsageError('--labels and --prompt-file are not for --user/--assistant templates');
    o.mapping = { user: v.user, assistant: v.assistant };
  } else if (v.mapping !== undefined || v.labels !== undefined || v['prompt-file'] !== undefined) o.mapping = mappingFlags(v.mapping, v.labels, v['prompt-file'], o.mapping);
  if (v.system !== undefined) o.systemPrompt = v.system;
  if (v.format !== undefined) o.format = v.format;
  if (v.target !== undefined) o.target = v.target;
  if (v.tokenizer !== undefined) o.tokenizer = v.tokenizer;
  if (v['max-tokens'] !== undefined) put(o, 'maxTokens', num('--max-tokens', v['max-tokens'], bad));
  if (v.overlong !== undefined) o.overlong = v.overlong;
  if (v['min-tokens'] !== undefined) put(o, 'minTokens', num('--min-tokens', v['min-tokens'], bad));
  if (v.concurrency !== undefined) put(o, 'concurrency', num('--concurrency', v.concurrency, bad));
  if (v.price !== undefined || v.epochs !== undefined) {
    if (v.price === undefined) bad.push('--epochs goes with --price');
    else {
      const perMillionTokens = num('--price', v.price, bad);
      const epochs = v.epochs === undefined ? undefined : num('--epochs', v.epochs, bad);
      // A price that is no number leaves pricing out: the options then have nothing more to say of it.
      if (perMillionTokens !== undefined) o.pricing = { perMillionTokens, ...(epochs === undefined ? {} : { epochs }) };
    }
  }
  if (v.encoding !== undefined) o.encoding = v.encoding;
  if (v.delimiter !== undefined) o.delimiter = v.delimiter === '\\t' || v.delimiter.toLowerCase() === 'tab' ? '\t' : v.delimiter;
  if (v['records-key'] !== undefined) o.recordsKey = v['records-key'];
  if (v.escape !== undefined) o.escape = v.escape === '\\\\' ? '\\' : v.escape;
  if (v.quote !== undefined) {
    if (v.quote === 'none') o.quote = false;
    else if (v.quote === '"') o.quote = '"';
    else bad.push(`--quote must be none (no field is quoted) or " (the default), got ${JSON.stringify(v.quote)}`);
  }
  // '' is none; a blank entry is left in, for the options to name.
  if (v['null-values'] !== undefined) o.nullValues = v['null-values'] === '' ? [] : v['null-values'].split(',').map((t) => t.trim());
  if (v.overwrite) o.overwrite = true;
  const split: Record<string, unknown> = { ...(base.split as Record<string, unknown> | undefined) };
  if (v.validation !== undefined) put(split, 'validation', num('--validation', v.validation, bad));
  if (v.test !== undefined) put(split, 'test', num('--test', v.test, bad));
  if (v.seed !== undefined) put(split, 'seed', num('--seed', v.seed, bad));
  if (v['split-strategy'] !== undefined) split.strategy = v['split-strategy'];
  if (v['fail-on'] !== undefined) o.failOn = failOn(v['fail-on'], bad);
  if (v['on-invalid-encoding'] !== undefined) o.onInvalidEncoding = v['on-invalid-encoding'];
  // --pii-types goes with --pii, or with the config's pii (its action kept, as the split flags keep the config's split).
  const configPii = isRecord(base.pii) ? base.pii : undefined;
  if (v['pii-types'] !== undefined && v.pii === undefined && configPii === undefined) bad.push('--pii-types goes with --pii report|redact|drop');
  if (v.pii !== undefined || (v['pii-types'] !== undefined && configPii !== undefined)) {
    const types = v['pii-types']?.split(',').map((t) => t.trim()).filter(Boolean);
    o.pii = { ...(v.pii === undefined ? configPii : { ...configPii, action: v.pii }), ...(types === undefined ? {} : { types }) };
  }
  if (v['max-line-bytes'] !== undefined) put(o, 'maxLineBytes', num('--max-line-bytes', v['max-line-bytes'], bad));
  if (v['max-field-chars'] !== undefined) put(o, 'maxFieldChars', num('--max-field-chars', v['max-field-chars'], bad));
  if (v['max-rows'] !== undefined) put(o, 'maxRows', num('--max-rows', v['max-rows'], bad));
  if (v['stratify-by'] !== undefined) split.stratifyBy = v['stratify-by'] === 'none' ? false : v['stratify-by'];
  if (v['group-by'] !== undefined) split.groupBy = v['group-by'] === 'none' ? false : v['group-by'];
  if (Object.keys(split).length > 0) o.split = split;
  if (v.dedup !== undefined && !['near', 'exact', 'none'].includes(v.dedup)) {
    bad.push(`--dedup must be near, exact or none, got ${JSON.stringify(v.dedup)}`);
  } else {
    const dedup = dedupFlags(v, base.dedup, v.config, bad);
    if (dedup !== undefined) o.dedup = dedup;
  }
  if (bad.length > 0) {
    // The options' own problems too (a target or a format misspelt), so one run names them all.
    let others: string[] = [];
    try {
      resolveOptions(o);
    } catch (e) {
      if (isLoraPrepError(e) && e.code === 'OPTION_INVALID') others = e.message.split('\n').filter((l) => l.startsWith('  - ')).map((l) => l.slice(4));
    }
    throw new UsageError(bad.length + others.length === 1 ? (bad[0] as string) : `invalid options:\n${[...bad, ...others].map((l) => `  - ${l}`).join('\n')}`);
  }
  return o as unknown as PrepareOptions;
}

/**
 * The `dedup` option from the flags over the config's: `--dedup none|exact|near` sets what is on,
 * `--dedup-key` and the `--near-*` flags replace those keys and keep the config's others (as the
 * split flags do). A flag for something the config turns off, without `--dedup` turning it on, is
 * refused rather than switching it back on unasked. `undefined`: no dedup flag, the config's stands.
 */
function dedupFlags(v: PrepareValues, base: unknown, config: string | undefined, bad: string[]): unknown {
  const near: Record<string, unknown> = {};
  if (v['near-threshold'] !== undefined) put(near, 'threshold', num('--near-threshold', v['near-threshold'], bad));
  if (v['near-action'] !== undefined) near.action = v['near-action'];
  if (v['near-keep'] !== undefined) near.keep = v['near-keep'];
  const nearFlags = Object.keys(near).length > 0;
  const key = v['dedup-key'];
  const mode = v.dedup;
  if (mode === undefined && !nearFlags && key === undefined) return undefined;
  if (mode === 'none') {
    if (nearFlags) throw new UsageError('--near-threshold, --near-action and --near-keep need near dedup (not --dedup none)');
    if (key !== undefined) throw new UsageError('--dedup-key needs dedup (not --dedup none)');
    return false;
  }
  if (mode === 'exact' && nearFlags) throw new UsageError('--near-threshold, --near-action and --near-keep need near dedup (not --dedup exact)');
  const where = config ?? 'the config';
  const off = (flags: string, setting: string, turnOn: string) => new UsageError(`${flags}: ${where} turns that dedup off (${setting}); add ${turnOn} to turn it on`);
  if (base === false && mode === undefined) throw off(nearFlags ? NEAR_FLAGS : '--dedup-key', 'dedup: false', nearFlags ? '--dedup near' : '--dedup exact or --dedup near');
  const from = isRecord(base) ? base : {};
  // --dedup exact|near turns exact dedup on, keeping the config's key.
  let exact = mode === undefined ? (from.exact ?? true) : isRecord(from.exact) ? from.exact : true;
  if (key !== undefined) {
    if (exact === false) throw off('--dedup-key', 'dedup.exact: false', '--dedup exact or --dedup near');
    exact = { ...(isRecord(exact) ? exact : {}), key };
  }
  let nearOut = mode === 'exact' ? false : mode === 'near' ? (isRecord(from.near) ? from.near : true) : (from.near ?? true);
  if (nearFlags) {
    if (nearOut === false) throw off(NEAR_FLAGS, 'dedup.near: false', '--dedup near');
    nearOut = { ...(isRecord(nearOut) ? nearOut : {}), ...near };
  }
  return { exact, near: nearOut };
}

const NEAR_FLAGS = '--near-threshold, --near-action and --near-keep';

function failOn(rules: string[], bad: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const rule of rules) {
    const [key, value] = rule.split('=', 2);
    if (key === 'rejected' && value !== undefined) put(out, 'rejectedRatio', num('--fail-on rejected', value, bad));
    else if (key === 'reasons' && value) out.reasons = value.split(',').map((r) => r.trim()).filter(Boolean);
    else bad.push(`--fail-on takes rejected=FRACTION or reasons=CODE,CODE, got ${JSON.stringify(rule)}`);
  }
  return out;
}

/** A decimal number as people write one (`0.1`, `2048`, `1e3`): not hexadecimal, not padded with spaces. */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * The number a flag gives; where it gives none, the problem goes to `bad` (so that every bad flag
 * is named at once) and the result is undefined: the caller leaves the option unset.
 */
function num(flag: string, value: string, bad: string[]): number | undefined {
  const n = Number(value);
  if (DECIMAL.test(value) && Number.isFinite(n)) return n;
  bad.push(`${flag} must be a number, got ${JSON.stringify(value)}`);
  return undefined;
}

/** The number a flag gives, or a usage error (commands with a few flags stop at the first). */
function oneNumber(flag: string, value: string): number {
  const bad: string[] = [];
  const n = num(flag, value, bad);
  if (n === undefined) throw new UsageError(bad[0] as string);
  return n;
}

/** Sets `key` of `o` to `value` unless it is undefined (a flag that gave no number). */
function put(o: Record<string, unknown>, key: string, value: unknown): void {
  if (value !== undefined) o[key] = value;
}

const PLAIN_PROGRESS_EVERY_MS = 5_000;

/**
 * Progress on stderr: one redrawn line on a terminal, a plain line at most every few seconds
 * otherwise (logs, CI). `kept` names what the command's `kept` counts.
 */
function progressPrinter(io: CliIo, kept = 'kept'): (e: ProgressEvent) => void {
  let lastPlain = 0;
  const every = io.progressEveryMs ?? PLAIN_PROGRESS_EVERY_MS;
  return (e) => {
    if (io.isTTY) {
      io.stderr(`\r\x1b[K${progressLine(e, true, kept)}`);
    } else if (e.stage !== 'done' && e.elapsedMs - lastPlain >= every) {
      lastPlain = e.elapsedMs;
      io.stderr(`${progressLine(e, false, kept)}\n`);
    }
  };
}

/**
 * One progress line: the share of the input read (with a bar on a terminal), or in the `plan`
 * stage the share of the near-duplicate search done; the stage, rows, what `kept` counts, rows/s,
 * then while reading the time the rest of the input should take at the rate so far (from
 * {@link TIME_LEFT_AFTER_MS} and 1% on), else the time since the start.
 *
 * @example
 * progressLine({ stage: 'read', rows: 10_000, kept: 9_990, elapsedMs: 5_000, bytes: 25, totalBytes: 100 }, false)
 * // 'lora-prep: 25% · read · 10,000 rows · 9,990 kept · 2,000 rows/s · 15s left to read'
 */
export function progressLine(e: ProgressEvent, bar: boolean, kept = 'kept'): string {
  const rate = e.elapsedMs > 0 ? Math.round((e.rows / e.elapsedMs) * 1000) : 0;
  const searching = e.stage === 'plan' && e.fraction !== undefined;
  const fraction = searching ? e.fraction : e.totalBytes ? Math.min(1, (e.stage === 'read' ? (e.bytes ?? 0) : e.totalBytes) / e.totalBytes) : undefined;
  const time = e.stage === 'read' ? timeLeft(e.elapsedMs, fraction) : `${formatDuration(e.elapsedMs)} elapsed`;
  const facts = `${searching ? 'plan: near-duplicates' : e.stage} · ${e.rows.toLocaleString('en-US')} rows · ${e.kept.toLocaleString('en-US')} ${kept} · ${rate.toLocaleString('en-US')} rows/s${time ? ` · ${time}` : ''}${e.file ? ` · ${e.file}` : ''}`;
  if (fraction === undefined) return `lora-prep: ${facts}`;
  return `lora-prep: ${bar ? `${progressBar(fraction)} ` : ''}${Math.floor(fraction * 100)}% · ${facts}`;
}

/** No estimate of the time left before this much has passed: the first seconds include starting up. */
const TIME_LEFT_AFTER_MS = 2_000;

/** `"1m 05s left to read"` from the time so far and the share read, or undefined while too early to tell. */
function timeLeft(elapsedMs: number, fraction: number | undefined): string | undefined {
  if (fraction === undefined || fraction < 0.01 || fraction >= 1 || elapsedMs < TIME_LEFT_AFTER_MS) return undefined;
  return `${formatDuration((elapsedMs * (1 - fraction)) / fraction)} left to read`;
}

/**
 * A duration for people: whole seconds under a minute, then minutes and seconds, then hours and minutes.
 *
 * @example
 * formatDuration(65_000) // '1m 05s'
 */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, '0')}s`;
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}

/** A 20-cell bar of block characters: `[██████░░░░░░░░░░░░░░]`. */
export function progressBar(fraction: number, cells = 20): string {
  const full = Math.round(Math.min(1, Math.max(0, fraction)) * cells);
  return `[${'█'.repeat(full)}${'░'.repeat(cells - full)}]`;
}

/** Clears the progress line on a terminal before the command prints its result. */
function clearProgress(io: CliIo, quiet: boolean): void {
  if (!quiet && io.isTTY) io.stderr('\r\x1b[K');
}

const LEAKAGE_ARGS = {
  threshold: { type: 'string' },
  'exact-only': { type: 'boolean' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} satisfies ParseArgsConfig['options'];

/** Shown on the terminal; `--json` lists up to the library's cap. */
const LEAKAGE_SHOWN = 20;

async function leakageCommand(argv: string[], io: CliIo): Promise<number> {
  const options: LeakageOptions = {};
  let files: string[];
  let json: boolean;
  let quiet: boolean;
  try {
    const parsed = parseArgs({ args: argv, options: LEAKAGE_ARGS, allowPositionals: true, strict: true });
    if (parsed.values.help) {
      io.stdout(`${commandHelp('leakage')}\n`);
      return EXIT.ok;
    }
    files = parsed.positionals;
    if (files.length < 2) throw new UsageError(`give at least two files to compare, got ${files.length}`);
    const threshold = parsed.values.threshold;
    if (parsed.values['exact-only']) {
      if (threshold !== undefined) throw new UsageError('--threshold is for near overlaps; it has no effect with --exact-only');
      options.near = false;
    }
    if (threshold !== undefined) {
      const t = oneNumber('--threshold', threshold);
      if (!(t > 0 && t <= 1)) throw new UsageError(`--threshold must be above 0 and at most 1, got ${threshold}`);
      options.threshold = t;
    }
    json = parsed.values.json === true;
    quiet = parsed.values.quiet === true;
  } catch (e) {
    const message = argsProblem(e, LEAKAGE_ARGS);
    return usageError(io, 'leakage', message, argv.includes('--json'));
  }
  if (io.signal) options.signal = io.signal;
  if (!quiet) options.onProgress = progressPrinter(io, 'compared');
  try {
    const report = await checkLeakage(files, options).finally(() => clearProgress(io, quiet));
    io.stdout(`${json ? JSON.stringify(report, null, 2) : formatLeakage(report, LEAKAGE_SHOWN)}\n`);
    return report.clean ? EXIT.ok : EXIT.failed;
  } catch (e) {
    return failure(io, e, json);
  }
}

const VALIDATE_ARGS = {
  target: { type: 'string' },
  format: { type: 'string' },
  'max-tokens': { type: 'string' },
  tokenizer: { type: 'string' },
  'batch-size': { type: 'string' },
  fix: { type: 'boolean' },
  out: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} satisfies ParseArgsConfig['options'];

/** Problems printed on the terminal; `--json` lists up to the library's cap. */
const VALIDATE_SHOWN = 50;

async function validateCommand(argv: string[], io: CliIo): Promise<number> {
  let file: string;
  let options: ValidationOptions;
  let flags: { fix: boolean; out: string | undefined; json: boolean; quiet: boolean };
  try {
    const parsed = parseArgs({ args: argv, options: VALIDATE_ARGS, allowPositionals: true, strict: true });
    const v = parsed.values;
    if (v.help) {
      io.stdout(`${commandHelp('validate')}\n`);
      return EXIT.ok;
    }
    if (parsed.positionals.length !== 1) throw new UsageError(`give exactly one file to validate, got ${parsed.positionals.length}`);
    file = parsed.positionals[0] as string;
    if (v.out !== undefined && !v.fix) throw new UsageError('--out goes with --fix');
    const target = v.target ?? 'auto';
    if (target !== 'auto' && !Object.hasOwn(VALIDATION_TARGETS, target)) {
      throw new UsageError(`--target must be auto or one of ${Object.keys(VALIDATION_TARGETS).join(', ')}, got ${JSON.stringify(target)}`);
    }
    if (v.format !== undefined && v.format !== 'chat' && v.format !== 'instruction' && v.format !== 'text') throw new UsageError(`--format must be chat, instruction or text, got ${JSON.stringify(v.format)}`);
    options = { target: target as ValidationOptions['target'] };
    if (v.format !== undefined) options.format = v.format;
    if (v['max-tokens'] !== undefined) options.maxTokens = oneNumber('--max-tokens', v['max-tokens']);
    if (v['batch-size'] !== undefined) options.batchSize = oneNumber('--batch-size', v['batch-size']);
    if (v.tokenizer !== undefined) {
      if (options.maxTokens === undefined) throw new UsageError('--tokenizer goes with --max-tokens (tokens are counted only against a limit)');
      options.tokenizer = v.tokenizer;
    }
    flags = { fix: v.fix === true, out: v.out, json: v.json === true, quiet: v.quiet === true };
    if (!flags.quiet) options.onProgress = progressPrinter(io, 'without problems');
  } catch (e) {
    const message = argsProblem(e, VALIDATE_ARGS);
    return usageError(io, 'validate', message, argv.includes('--json'));
  }
  try {
    let fix: FixResult | undefined;
    if (flags.fix) {
      fix = await fixFile(file, flags.out, options);
      if (!flags.json) {
        const lines = fix.changes.map((c) => `  ${c.rule}  ${c.count.toLocaleString('en-US')}`);
        io.stdout(!fix.written ? 'nothing mechanical to fix: no copy written\n\n' : `wrote ${fix.outPath}${lines.length > 0 ? `, fixing:\n${lines.join('\n')}` : ': nothing mechanical to fix'}\n\n`);
      }
      file = fix.outPath;
    }
    const report = await validateFile(file, options).finally(() => clearProgress(io, flags.quiet));
    if (flags.json) io.stdout(`${JSON.stringify(fix ? { fix, report } : report, null, 2)}\n`);
    else io.stdout(`${formatValidation(report, VALIDATE_SHOWN)}\n`);
    return report.ok ? EXIT.ok : EXIT.failed;
  } catch (e) {
    return failure(io, e, flags.json);
  }
}

/** `file:line  rule  message` for the first `shown` problems, then the count, a summary and the warnings. */
function formatValidation(r: ValidationReport, shown: number): string {
  const out = r.problems.slice(0, shown).map((p) => `${p.line === 0 ? r.file : `${r.file}:${p.line}`}  ${p.rule}  ${p.message}`);
  if (r.problemCount > shown) out.push(`… and ${(r.problemCount - shown).toLocaleString('en-US')} more (--json lists up to ${r.problems.length.toLocaleString('en-US')})`);
  const what = `${r.target}${r.format ? ` ${r.format}` : ''}${r.guessed ? ' (guessed)' : ''}`;
  const counts = `${r.records.toLocaleString('en-US')} record${r.records === 1 ? '' : 's'}`;
  if (r.ok) out.push(`${r.file}: ${what}, ${counts}: no problems`);
  else {
    const byRule = Object.entries(r.problemsByRule).sort((a, b) => b[1] - a[1]).map(([rule, n]) => `${rule} ${n.toLocaleString('en-US')}`);
    if (out.length > 0) out.push('');
    out.push(`${r.file}: ${what}, ${counts}: ${r.problemCount.toLocaleString('en-US')} problem${r.problemCount === 1 ? '' : 's'} (${byRule.join(' · ')})`);
  }
  for (const w of r.warnings) out.push(`warning: ${w}`);
  return out.join('\n');
}

const VERIFY_ARGS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} satisfies ParseArgsConfig['options'];

async function verifyCommand(argv: string[], io: CliIo): Promise<number> {
  let outDir: string;
  let json: boolean;
  try {
    const parsed = parseArgs({ args: argv, options: VERIFY_ARGS, allowPositionals: true, strict: true });
    if (parsed.values.help) {
      io.stdout(`${commandHelp('verify')}\n`);
      return EXIT.ok;
    }
    if (parsed.positionals.length !== 1) throw new UsageError(`give exactly one output folder to verify, got ${parsed.positionals.length}`);
    outDir = parsed.positionals[0] as string;
    json = parsed.values.json === true;
  } catch (e) {
    const message = argsProblem(e, VERIFY_ARGS);
    return usageError(io, 'verify', message, argv.includes('--json'));
  }
  try {
    const report = await verifyOutput(outDir, io.signal ? { signal: io.signal } : {});
    io.stdout(`${json ? JSON.stringify(report, null, 2) : formatVerify(report)}\n`);
    return report.ok ? EXIT.ok : EXIT.failed;
  } catch (e) {
    return failure(io, e, json);
  }
}

const STATS_ARGS = {
  tokenizer: { type: 'string' },
  'max-tokens': { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} satisfies ParseArgsConfig['options'];

async function statsCommand(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: STATS_ARGS, allowPositionals: true, strict: true });
    if (parsed.values.help) {
      io.stdout(`${commandHelp('stats')}\n`);
      return EXIT.ok;
    }
    if (parsed.positionals.length !== 1) throw new UsageError('give one file');
  } catch (e) {
    return usageError(io, 'stats', argsProblem(e, STATS_ARGS), argv.includes('--json'));
  }
  try {
    const maxTokens = parsed.values['max-tokens'] === undefined ? undefined : oneNumber('--max-tokens', parsed.values['max-tokens']);
    if (maxTokens !== undefined && !(Number.isInteger(maxTokens) && maxTokens > 0)) throw new UsageError(`--max-tokens must be a positive integer, got ${parsed.values['max-tokens']}`);
    const quiet = parsed.values.quiet === true;
    const stats = await fileStats(parsed.positionals[0] as string, {
      tokenizer: parsed.values.tokenizer,
      maxTokens,
      signal: io.signal,
      ...(quiet ? {} : { onProgress: progressPrinter(io, 'counted') }),
    }).finally(() => clearProgress(io, quiet));
    io.stdout(`${parsed.values.json ? JSON.stringify(stats, null, 2) : formatStats(stats)}\n`);
    return EXIT.ok;
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`lora-prep stats: ${e.message}\n`);
      if (parsed.values.json === true) jsonError(io, 'OPTION_INVALID', e.message);
      return EXIT.usage;
    }
    return failure(io, e, parsed.values.json === true);
  }
}

const INIT_ARGS = {
  force: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} satisfies ParseArgsConfig['options'];

async function initCommand(argv: string[], io: CliIo): Promise<number> {
  let file: string;
  let force: boolean;
  try {
    const parsed = parseArgs({ args: argv, options: INIT_ARGS, allowPositionals: true, strict: true });
    if (parsed.values.help) {
      io.stdout(`${commandHelp('init')}\n`);
      return EXIT.ok;
    }
    if (parsed.positionals.length > 1) throw new UsageError(`give at most one file name, got ${parsed.positionals.length}`);
    file = parsed.positionals[0] ?? DEFAULT_CONFIG_FILE;
    force = parsed.values.force === true;
  } catch (e) {
    return usageError(io, 'init', argsProblem(e, INIT_ARGS));
  }
  let outcome: 'written' | 'exists';
  try {
    outcome = await writeStarterConfig(file, force);
  } catch (e) {
    return usageError(io, 'init', `cannot write ${file}: ${(e as Error).message}`);
  }
  if (outcome === 'exists') return usageError(io, 'init', `${file} already exists; pass --force to replace it`);
  io.stdout(`wrote ${file}: edit its inputs and outDir, then run\n  lora-prep prepare --config ${file}\n`);
  return EXIT.ok;
}

/**
 * `--mapping`, `--labels` and `--prompt-file` as one mapping option. The flags override a config
 * file's mapping, but keep its other settings of the same preset (named columns, `answer`).
 */
function mappingFlags(name: string | undefined, labels: string | undefined, promptFile: string | undefined, configured: unknown): unknown {
  const same = (preset: string) =>
    configured !== null && typeof configured === 'object' && (configured as { preset?: unknown }).preset === preset ? (configured as Record<string, unknown>) : {};
  if (promptFile !== undefined) {
    if (name !== undefined && name !== 'template') throw new UsageError(`--prompt-file goes with --mapping template, not --mapping ${name}`);
    if (labels !== undefined) throw new UsageError('--labels goes with --mapping classification, not with --prompt-file');
    return { ...same('template'), preset: 'template', promptFile };
  }
  if (name === 'template') throw new UsageError('--mapping template needs --prompt-file FILE (the task prompt with {{column}} placeholders)');
  if (labels === undefined) return name;
  if (name !== undefined && name !== 'classification') throw new UsageError(`--labels goes with --mapping classification, not --mapping ${name}`);
  let parsed: unknown;
  if (/^\s*[[{]/.test(labels)) {
    try {
      parsed = JSON.parse(labels);
    } catch (e) {
      throw new UsageError(`--labels is not valid JSON: ${(e as Error).message}`);
    }
  } else parsed = labels.split(',').map((l) => l.trim());
  return { ...same('classification'), preset: 'classification', labels: parsed };
}
