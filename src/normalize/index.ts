/**
 * Normalising stage: source rows in, canonical chat examples out. The mapping is resolved per file
 * from its first row (`'auto'`), checked before any row is processed, and applied to every row; a
 * row that does not fit is rejected with a reason, never bent.
 */
import { LoraPrepError, preview } from '../errors.js';
import { jsonNodeText } from '../formats/_tools.js';
import { RAW_EXCERPT_CHARS } from '../load/limits.js';
import type { Mapping, MappingPreset, TemplateMapping } from '../options.js';
import type { Example, Message, ReasonCode, Role, SourceRow, StageContext, ToolCall } from '../types.js';
import { parseJsonNode, type JsonNode } from '../validate/_json-ast.js';
import { cleanContent, invalid, kindOf, missing, optionalText, text, withSystem, type Converted, type Converter, type Rejected } from './_fields.js';
import { isMcq, isPubMedQa, loadPromptTemplate, looksLikeClassification, presetConverter, resolvePreset, type ResolvedMcq } from './_presets.js';
import { nulledMessage, nullReader, type MarkerTally } from './_nulls.js';
import { checkColumns, headerHint, parseTemplate, placeholders, render, topColumn, type TemplatePart } from './_template.js';

export { cleanContent };

/** A mapping ready to apply: anything but `'auto'`. */
export type ResolvedMapping = Exclude<Mapping, 'auto'>;

/** Options of {@link normalizeRecords}. */
export interface NormalizeOptions {
  /** A preset (not `'auto'`: resolve it first with {@link resolveMapping}) or templates. */
  mapping: ResolvedMapping;
  /** System message for examples without one. */
  systemPrompt?: string | undefined;
  /** Domain stamped on every example (else a `domain` column is used). */
  domain?: string | undefined;
  /**
   * A row whose text holds a lone UTF-16 surrogate (a JSON `\uD800` escape without its pair), which
   * no UTF-8 file can hold: `'reject'` (default) rejects it as `invalid_encoding`, naming the field;
   * `'replace'` writes U+FFFD in its place and warns once.
   */
  onInvalidEncoding?: 'reject' | 'replace' | undefined;
  /**
   * Columns kept in `meta` although the mapping reads them, or `id`: the split's `groupBy` and
   * `stratifyBy` (a question or a case id shared by rows is how related rows are kept together).
   * A `source` column is kept as `meta.source_column` whatever this says.
   */
  keepColumns?: readonly string[] | undefined;
  /**
   * A template mapping's examples carry the values its placeholders took, each with its column
   * (`Example.templateValues`): the PII stage reads each after its column's name as a label.
   */
  templateValues?: boolean | undefined;
  /**
   * Text that stands for a missing value: a top-level field (a CSV cell, a top-level JSON string)
   * whose value, trimmed, is one of them is read as null before the mapping reads it, so a
   * required field rejects the row as `missing_field` (its message names the value) and an
   * optional one (system, alpaca input) is left out. Default none; `prepareDataset` passes its
   * `nullValues` (default `['\\N']`, the NULL of PostgreSQL's and MySQL's exports).
   */
  nullValues?: readonly string[] | undefined;
}

/**
 * Resolves `'auto'` from a file's first row, names the columns of `mcq` and `classification`, reads
 * a `template` preset's prompt file, and checks a template mapping's columns against the first row.
 * Throws `MAPPING_INVALID` naming the file, the keys found and what to do. With `header` (the
 * first row is a CSV or TSV header's, so every row has its columns), a named preset whose columns
 * it lacks throws too, naming the preset they fit.
 *
 * @example
 * resolveMapping('auto', { instruction: 'Sum', input: '', output: '3' }, 'a.json') // 'alpaca'
 * resolveMapping('auto', { question: 'q', opa: 'x', opb: 'y', cop: 1 }, 'm.csv')
 * // { preset: 'mcq', question: 'question', options: ['opa', 'opb'], answer: 'cop', indexBase: 0 }
 */
export function resolveMapping(mapping: Mapping, first: Record<string, unknown> | undefined, file: string, options: { header?: boolean } = {}): ResolvedMapping {
  if (typeof mapping !== 'string') {
    if ('preset' in mapping) {
      if (mapping.preset === 'template') return resolveMapping(loadPromptTemplate(mapping), first, file);
      return resolvePreset(mapping, first, file);
    }
    if (first) {
      const paths = [mapping.user, mapping.assistant, mapping.system ?? ''].flatMap((t) => placeholders(parseTemplate(t)));
      if (paths.length === 0) {
        throw new LoraPrepError('MAPPING_INVALID', 'mapping: the user and assistant templates name no {{column}}; every example would be the same');
      }
      // A system template is optional content: its dot paths are left to the rows.
      const required = [mapping.user, mapping.assistant].flatMap((t) => placeholders(parseTemplate(t)));
      checkColumns(paths, first, file, required);
    }
    return mapping;
  }
  if (mapping === 'mcq' || mapping === 'classification') return first ? resolvePreset({ preset: mapping }, first, file) : mapping;
  if (mapping !== 'auto') return first ? namedFolded(mapping, first, file, options.header === true) : mapping;
  if (!first) return 'messages'; // an empty file: nothing to map
  const detected = detectPreset(first);
  if (!detected) {
    const keys = Object.keys(first);
    if (BINARY.test(keys.join(''))) {
      // Bytes no text holds in its column names: a spreadsheet or archive renamed, or another encoding.
      const shown = JSON.stringify(keys.join(', ').slice(0, 60));
      throw new LoraPrepError(
        'INPUT_FORMAT',
        `${file}: does not look like text: its first line holds control characters (${shown}…). ` +
          'Is it a spreadsheet (.xlsx), an archive or a database file under another name? Export it as CSV or JSONL; for text in another encoding, pass encoding (CLI --encoding, e.g. windows-1252 or utf-16le).',
        { location: { file, line: 1 } },
      );
    }
    const folded = foldedColumns(first);
    const fits = folded && detectPreset(folded.first);
    if (folded && fits) {
      const named = namedPreset(fits, folded, file);
      if (named) return named;
    }
    const hint = (folded && fits ? foldedHint(fits, folded) : shapeHint(first)) + headerHint(first);
    throw new LoraPrepError(
      'MAPPING_INVALID',
      `${file}: cannot tell the record shape from the first record (keys ${keys.map((k) => JSON.stringify(k)).join(', ') || 'none'}). ` +
        'Recognised: messages; conversations (ShareGPT); instruction/output (alpaca); prompt/completion; question/answer (qa, PubMedQA); ' +
        'a question with options and a key (mcq: MedMCQA, MedQA, CaseHOLD, MMLU, SWAG).' +
        hint +
        ' Name a preset with `mapping`, or give templates such as { user: "{{col1}}", assistant: "{{col2}}" }.',
      { location: { file, line: 1 } },
    );
  }
  return detected === 'mcq' ? resolvePreset({ preset: 'mcq' }, first, file) : detected;
}

/**
 * A C0 control other than tab and line breaks: no column name holds one. (A name with U+FFFD is
 * text in another encoding: headerHint says which to pass.)
 */
const BINARY = /[\x00-\x08\x0b\x0c\x0e-\x1f]/;

/**
 * What a first row that fits no preset looks like, where that can be told: a conversation column
 * that holds no list, preference data, or classification.
 */
function shapeHint(first: Record<string, unknown>): string {
  for (const key of ['messages', 'conversations']) {
    if (!Object.hasOwn(first, key)) continue;
    const v = first[key];
    const held = typeof v === 'string' ? `text that is not a JSON list (${preview(v, 60)})` : kindOf(v);
    // pandas' to_csv writes a list column as Python's repr: single quotes, None, True.
    const repr = typeof v === 'string' && /^\s*\[\s*\{\s*'/.test(v) ? " It looks like Python's repr of a list (single quotes, as pandas' to_csv writes a list column): write the column with json.dumps." : '';
    return ` Column "${key}" is there, but holds ${held}: it must hold a list of messages (in a CSV cell, as JSON text).${repr}`;
  }
  if (Object.hasOwn(first, 'chosen') && Object.hasOwn(first, 'rejected')) return preferenceHint(first);
  if (looksLikeClassification(first)) {
    return ' A text and a label column look like classification, which is never guessed: use mapping { preset: "classification", labels: [...] }.';
  }
  // Half a preset's columns: an exporter that leaves out empty fields wrote the first record without the rest.
  for (const [preset, columns] of Object.entries(REQUIRED_COLUMNS)) {
    const has = columns.filter((any) => any.some((c) => Object.hasOwn(first, c)));
    if (columns.length > 1 && has.length > 0 && has.length < columns.length) {
      return ` The first record has ${has.map((any) => `"${any.find((c) => Object.hasOwn(first, c))}"`).join(', ')} of the "${preset}" preset but not the rest: if later records have it (an exporter that leaves out empty fields), name the preset: mapping "${preset}" (CLI --mapping ${preset}), and a record without it is rejected on its own.`;
    }
  }
  return '';
}

/**
 * For a first row of preference data (`chosen` / `rejected`, as DPO trainers read it): how to
 * train on the chosen answers, which is what a supervised dataset can hold of it.
 */
function preferenceHint(first: Record<string, unknown>): string {
  const head = ' chosen and rejected look like preference data (DPO); lora-prep prepares supervised examples.';
  if (Array.isArray(first.chosen)) return `${head} Here chosen holds a whole conversation: to train on it, write it under "messages", one row each.`;
  const prompt = ['prompt', 'question', 'instruction', 'input'].find((k) => typeof first[k] === 'string');
  if (prompt === undefined) return head;
  return `${head} To train on the chosen answers, use mapping { user: "{{${prompt}}}", assistant: "{{chosen}}" } (CLI --user '{{${prompt}}}' --assistant '{{chosen}}').`;
}

/** The columns a preset without an object form needs in every row (any one of each list). */
const REQUIRED_COLUMNS: Record<'messages' | 'sharegpt' | 'alpaca' | 'prompt-completion' | 'qa', string[][]> = {
  messages: [['messages']],
  sharegpt: [['conversations']],
  alpaca: [['instruction'], ['output']],
  'prompt-completion': [['prompt'], ['completion']],
  qa: [['question'], ['answer', 'long_answer', 'final_decision']],
};

/**
 * A preset named by the caller whose columns the first row has only in other capitals or with
 * spaces: `qa` names them as written (its object form); the others stop the job saying what to
 * rename. A first row that lacks them and whose header was plainly read the wrong way (one column
 * named with a delimiter, names holding U+FFFD) stops the job saying which option to pass; so does
 * a CSV or TSV header (`header`: every row has its columns) that lacks them, naming the preset its
 * columns fit. Anything else is left to the rows (a JSON row missing a field is rejected like any).
 */
function namedFolded(preset: keyof typeof REQUIRED_COLUMNS, first: Record<string, unknown>, file: string, header: boolean): ResolvedMapping {
  const absent = (row: Record<string, unknown>) => REQUIRED_COLUMNS[preset].filter((any) => !any.some((c) => Object.hasOwn(row, c))).map((any) => any.join(' or '));
  const lacking = absent(first);
  if (lacking.length === 0) return preset;
  const folded = foldedColumns(first);
  if (!folded || absent(folded.first).length > 0) {
    // A header split on the wrong delimiter or read in the wrong encoding: every row would be rejected.
    const hint = headerHint(first);
    if (hint === '' && header) {
      // Every row of the file lacks the columns: a job problem, not thousands of rejected rows.
      const fits = detectPreset(first);
      const columns = Object.keys(first).map((c) => JSON.stringify(c)).join(', ');
      const instead = fits ? ` They fit "${fits}": use mapping "${fits}" or "auto" for this file (beside other files, its own: inputs: [{ path, mapping }] in the options or a config file).` : ' Give templates naming these columns, such as { user: "{{col1}}", assistant: "{{col2}}" }.';
      throw new LoraPrepError('MAPPING_INVALID', `${file}: mapping "${preset}" needs column ${lacking.map((c) => `"${c}"`).join(', ')}; the header has ${columns}.${instead}`, {
        location: { file, line: 1 },
      });
    }
    if (hint === '') return preset;
    throw new LoraPrepError('MAPPING_INVALID', `${file}: mapping "${preset}": the first row has no column ${lacking.map((c) => `"${c}"`).join(', ')}.${hint}`, {
      location: { file, line: 1 },
    });
  }
  const named = preset === 'qa' ? namedPreset('qa', folded, file) : undefined;
  if (named) return named;
  throw new LoraPrepError('MAPPING_INVALID', `${file}: mapping "${preset}": the first row has no column ${lacking.map((c) => `"${c}"`).join(', ')} as written.${foldedHint(preset, folded)}`, {
    location: { file, line: 1 },
  });
}

/** A first row's columns under their folded names (trimmed, lower case), and each one's name as written. */
interface FoldedColumns {
  first: Record<string, unknown>;
  written: Map<string, string>;
}

/**
 * The first row with its column names trimmed and in lower case, when that changes a name and no
 * two names fold to one; else undefined.
 */
function foldedColumns(first: Record<string, unknown>): FoldedColumns | undefined {
  const written = new Map<string, string>();
  let changed = false;
  for (const key of Object.keys(first)) {
    const name = key.trim().toLowerCase();
    if (written.has(name)) return undefined;
    written.set(name, key);
    if (name !== key) changed = true;
  }
  if (!changed) return undefined;
  const folded: Record<string, unknown> = {};
  for (const [name, key] of written) folded[name] = first[key];
  return { first: folded, written };
}

/**
 * `'auto'` for columns that fit `qa` or `mcq` only once folded (`Question`, `Answer`): the
 * preset's object form, naming the columns as written. Undefined for a preset without one (the
 * caller's error then says what to rename) and for PubMedQA's shape.
 */
function namedPreset(preset: Exclude<MappingPreset, 'auto'>, folded: FoldedColumns, file: string): ResolvedMapping | undefined {
  const as = (name: string): string => folded.written.get(name) ?? name;
  if (preset === 'qa') {
    if (!folded.written.has('answer')) return undefined;
    const context = folded.written.get('context');
    return { preset: 'qa', question: as('question'), answer: as('answer'), ...(context === undefined ? {} : { context }) };
  }
  if (preset === 'mcq') {
    const m = resolvePreset({ preset: 'mcq' }, folded.first, file) as ResolvedMcq;
    const named: ResolvedMcq = {
      ...m,
      question: typeof m.question === 'string' ? as(m.question) : m.question.map(as),
      options: typeof m.options === 'string' ? as(m.options) : m.options.map(as),
      answer: as(m.answer),
    };
    if (m.answerText !== undefined) named.answerText = as(m.answerText);
    if (typeof m.explanation === 'string') named.explanation = as(m.explanation);
    return named;
  }
  return undefined;
}

/**
 * What to do about columns that fit `preset` only once folded, where no object form names them
 * (alpaca, prompt-completion, messages, sharegpt, PubMedQA's shape): rename them, which keeps
 * everything the preset does (alpaca's optional input and history, PubMedQA's decision).
 */
function foldedHint(preset: Exclude<MappingPreset, 'auto'>, folded: FoldedColumns): string {
  const renames = [...folded.written].filter(([name, key]) => name !== key).map(([name, key]) => `"${key}" to "${name}"`);
  return ` The columns fit ${preset} in other capitals or with spaces: rename ${renames.join(', ')}.`;
}

/**
 * The preset that fits a record, from its keys, or undefined. `classification` and `template` are
 * never detected: their meaning (label names, the task prompt) is not in the file.
 *
 * @example
 * detectPreset({ prompt: 'a', completion: 'b' }) // 'prompt-completion'
 * detectPreset({ question: 'q', opa: 'x', opb: 'y', opc: 'z', opd: 'w', cop: 2 }) // 'mcq'
 */
export function detectPreset(record: Record<string, unknown>): Exclude<MappingPreset, 'auto'> | undefined {
  for (const [preset, fits] of SHAPES) if (fits(record)) return preset;
  if (isPubMedQa(record)) return 'qa';
  // Before question/answer: MedQA has both, plus its options and answer_idx.
  if (isMcq(record)) return 'mcq';
  if (QA_SHAPE(record)) return 'qa';
  return undefined;
}

/** The shapes told by their keys alone, in the order `auto` tries them (then PubMedQA, mcq, qa). */
const SHAPES: ReadonlyArray<[Exclude<MappingPreset, 'auto'>, (record: Record<string, unknown>) => boolean]> = [
  ['messages', (r) => Object.hasOwn(r, 'messages') && isList(r.messages)],
  ['sharegpt', (r) => Object.hasOwn(r, 'conversations') && isList(r.conversations)],
  ['alpaca', (r) => Object.hasOwn(r, 'instruction') && Object.hasOwn(r, 'output')],
  ['prompt-completion', (r) => Object.hasOwn(r, 'prompt') && Object.hasOwn(r, 'completion')],
];
const QA_SHAPE = (r: Record<string, unknown>): boolean => Object.hasOwn(r, 'question') && Object.hasOwn(r, 'answer');

/**
 * The other shapes a record's keys also fit, besides the preset `auto` chose for it (a file with
 * both question/answer and prompt/completion columns is read as one of them, the rest kept in
 * `meta`); none for MedQA's question/answer beside its options, which are its own.
 *
 * @example
 * alsoFits({ prompt: 'p', completion: 'c', question: 'q', answer: 'a' }, 'prompt-completion') // ['qa']
 */
export function alsoFits(record: Record<string, unknown>, chosen: Exclude<MappingPreset, 'auto'>): string[] {
  const others = SHAPES.filter(([preset, fits]) => preset !== chosen && fits(record)).map(([preset]) => preset as string);
  if (chosen !== 'qa' && chosen !== 'mcq' && QA_SHAPE(record)) others.push('qa');
  return others;
}

/** A list, or text holding a JSON list (a CSV cell). */
function isList(v: unknown): boolean {
  if (Array.isArray(v)) return true;
  if (typeof v !== 'string') return false;
  const t = v.trim();
  if (!t.startsWith('[')) return false;
  try {
    return Array.isArray(JSON.parse(t));
  } catch {
    return false;
  }
}

/**
 * The columns a preset's data names for splitting, when the first row has them: a group key (rows
 * that must share a split) and a stratify key (whose values keep the split fractions). They stay in
 * `example.meta`. PubMedQA: `pubid` / `final_decision`; mcq: `case_id` / `subject_name`
 * (MedMCQA), `meta_info` (MedQA) or `subject` (MMLU); classification: the label column. Meant as
 * defaults for `split.groupBy` / `split.stratifyBy` when the user sets neither.
 *
 * @example
 * naturalKeys('auto', { pubid: 1, question: 'q', context: { contexts: ['c'] }, long_answer: 'a', final_decision: 'yes' })
 * // { groupBy: 'pubid', stratifyBy: 'final_decision' }
 */
export function naturalKeys(mapping: Mapping, first: Record<string, unknown> | undefined): { groupBy?: string; stratifyBy?: string } {
  if (!first) return {};
  const preset = typeof mapping === 'string' ? (mapping === 'auto' ? detectPreset(first) : mapping) : 'preset' in mapping ? mapping.preset : undefined;
  const present = (cols: string[]) => cols.find((c) => Object.hasOwn(first, c));
  let groupBy: string | undefined;
  let stratifyBy: string | undefined;
  if (preset === 'qa') {
    groupBy = present(['pubid']);
    stratifyBy = present(['final_decision']);
  } else if (preset === 'mcq') {
    groupBy = present(['case_id']);
    stratifyBy = present(['subject_name', 'meta_info', 'subject']);
  } else if (preset === 'classification') {
    const label = typeof mapping === 'object' && 'preset' in mapping && mapping.preset === 'classification' ? mapping.label : undefined;
    stratifyBy = present([label ?? 'label']);
  }
  return { ...(groupBy === undefined ? {} : { groupBy }), ...(stratifyBy === undefined ? {} : { stratifyBy }) };
}

/**
 * A short name of a resolved mapping for reports: the preset's name, or `'template'`.
 *
 * @example
 * mappingName({ preset: 'mcq', question: 'question', options: 'options', answer: 'answer_idx', indexBase: 0 }) // 'mcq'
 */
export function mappingName(mapping: ResolvedMapping): string {
  if (typeof mapping === 'string') return mapping;
  return 'preset' in mapping ? mapping.preset : 'template';
}

/**
 * Turns rows into canonical examples. Rejected rows go to `ctx.reject` with `missing_field`,
 * `empty_content` or `invalid_record`.
 *
 * @example
 * for await (const ex of normalizeRecords(rows, { mapping: 'qa' }, ctx)) console.log(ex.messages);
 */
export async function* normalizeRecords(
  rows: AsyncIterable<SourceRow>,
  options: NormalizeOptions,
  ctx: StageContext,
): AsyncIterable<Example> {
  const normalize = rowNormalizer(options);
  for await (const row of rows) {
    const example = normalize(row, ctx);
    if (example) yield example;
  }
}

/**
 * The per-row function behind {@link normalizeRecords}: an example, or undefined when the row
 * went to `ctx.reject`. `prepareDataset` calls it directly, one async step fewer per row, with a
 * `markers` tally per file (the usual missing-value markers left as text in the columns read).
 *
 * @example
 * const normalize = rowNormalizer({ mapping: 'qa' });
 * const ex = normalize({ data: { question: 'q', answer: 'a' }, source: { file: 'a.csv', line: 2 } }, ctx);
 */
export function rowNormalizer(options: NormalizeOptions, markers?: MarkerTally): (row: SourceRow, ctx: StageContext) => Example | undefined {
  const convert = converterFor(options.mapping);
  const readNulls = nullReader(options.nullValues);
  const system = options.systemPrompt !== undefined && options.systemPrompt.trim() !== '' ? cleanContent(options.systemPrompt) : undefined;
  const preset = typeof options.mapping === 'string' ? options.mapping : undefined;
  const replace = options.onInvalidEncoding === 'replace';
  const keep = options.keepColumns ?? [];
  let replaced = false;
  return (asRead, ctx) => {
    // A row with null values is read as a copy with those fields null; its raw excerpt stays as read.
    const read = readNulls?.(asRead.data);
    const row = read === undefined || read.nulled === undefined ? asRead : { data: read.data, source: asRead.source };
    const result = convert(row.data);
    if ('reason' in result) {
      let message = result.reason === 'missing_field' ? result.message + otherShape(row.data, preset) : result.message;
      if (result.reason === 'missing_field' && read?.nulled !== undefined) message = nulledMessage(message, read.nulled);
      ctx.reject({ source: row.source, reason: result.reason, message, raw: excerpt(asRead.data) });
      return undefined;
    }
    markers?.see(row.data, result.used);
    // A blank system message is none ("optional fields: absent, null or blank means none"):
    // `systemPrompt` fills in, as for a row without one.
    const messages = result.messages.some((m) => m.role === 'system' && isBlank(m.content)) ? result.messages.filter((m) => !(m.role === 'system' && isBlank(m.content))) : result.messages;
    if (system !== undefined && !messages.some((m) => m.role === 'system')) messages.unshift({ role: 'system', content: system });
    const problem = checkConversation(messages);
    if (problem) {
      ctx.reject({ source: row.source, reason: problem.reason, message: problem.message, raw: excerpt(asRead.data) });
      return undefined;
    }
    const example: Example = { id: exampleId(row), messages, meta: buildMeta(row, keep.length === 0 ? result.used : result.used.filter((c) => !keep.includes(c)), options.domain, keep) };
    if (result.nearUser !== undefined) example.nearUser = result.nearUser;
    if (options.templateValues && result.templateValues !== undefined) example.templateValues = result.templateValues;
    if (result.alpacaInput !== undefined) example.alpacaInput = result.alpacaInput;
    // Blank text is no tools: a CSV column, or a LLaMA-Factory row without them (`"tools": ""`).
    const given = result.used.includes('tools') ? row.data.tools : undefined;
    const tools = typeof given === 'string' && given.trim() === '' ? undefined : toolList(given);
    if (Array.isArray(tools) && tools.length > 0) example.tools = tools;
    else if (tools !== undefined && tools !== null && !Array.isArray(tools)) {
      ctx.reject({ source: row.source, reason: 'invalid_record', message: 'field "tools" must be a list of tool definitions (or that list as JSON text)', raw: excerpt(asRead.data) });
      return undefined;
    }
    if (!wellFormedExample(example)) {
      // A JSON escape such as \ud800 without its other half: no UTF-8 file can hold it.
      const where = surrogateAt(row.data, result.used, example.messages);
      if (!replace) {
        ctx.reject({
          source: row.source,
          reason: 'invalid_encoding',
          message: `${where} holds a lone UTF-16 surrogate (a \\uD800–\\uDFFF escape without its other half), which is not Unicode text and cannot be written as UTF-8; fix the text at the source`,
          raw: excerpt(asRead.data),
        });
        return undefined;
      }
      makeWellFormed(example);
      if (!replaced) {
        replaced = true;
        ctx.warn(`${row.source.file}:${row.source.line}: ${where} holds a lone UTF-16 surrogate; it was written as U+FFFD (onInvalidEncoding: 'replace'), as is any later one (this warning is given once)`);
      }
    }
    return example;
  };
}

// --- internal ---

/**
 * A `tools` column as a list of tool definitions: the list, or the list its JSON text holds (TRL
 * and Unsloth files keep tools as text, Axolotl keeps each `parameters` as text: lora-prep writes
 * them so), with text `parameters` read back as the objects the trainer reads. Anything else is
 * returned as it is, for the caller to refuse.
 */
function toolList(value: unknown): unknown {
  let list = value;
  if (typeof list === 'string' && list.trimStart().startsWith('[')) {
    try {
      list = JSON.parse(list) as unknown;
    } catch {
      return value;
    }
  }
  if (!Array.isArray(list)) return list;
  if (!list.some((t) => typeof (t as { function?: { parameters?: unknown } } | null)?.function?.parameters === 'string')) return list;
  return list.map((t) => {
    const fn = (t as { function?: Record<string, unknown> } | null)?.function;
    if (typeof fn?.parameters !== 'string') return t;
    try {
      return { ...(t as object), function: { ...fn, parameters: JSON.parse(fn.parameters) as unknown } };
    } catch {
      return t;
    }
  });
}

/** `String.prototype.isWellFormed` and `toWellFormed` (Node 20, V8 11.3), not yet in the ES2023 lib. */
interface WellFormedString {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

/** False for text holding a lone UTF-16 surrogate. V8 answers at once for one-byte text. */
function wellFormed(s: string): boolean {
  return (s as unknown as WellFormedString).isWellFormed();
}

/** True when every string the writers take from an example (messages, tool calls, tools) is Unicode text. */
function wellFormedExample(example: Example): boolean {
  for (const m of example.messages) {
    if (!wellFormed(m.content)) return false;
    if (m.name !== undefined && !wellFormed(m.name)) return false;
    if (m.tool_call_id !== undefined && !wellFormed(m.tool_call_id)) return false;
    if (m.tool_calls !== undefined && !wellFormedDeep(m.tool_calls, 0)) return false;
  }
  return example.tools === undefined || wellFormedDeep(example.tools, 0);
}

/** True when every string and key of a JSON value is Unicode text (no path built: this runs per row). */
function wellFormedDeep(v: unknown, depth: number): boolean {
  if (typeof v === 'string') return wellFormed(v);
  if (v === null || typeof v !== 'object' || depth > 1000) return true;
  if (Array.isArray(v)) {
    for (const item of v) if (!wellFormedDeep(item, depth + 1)) return false;
    return true;
  }
  for (const key in v) {
    if (!Object.hasOwn(v, key)) continue;
    if (!wellFormed(key) || !wellFormedDeep((v as Record<string, unknown>)[key], depth + 1)) return false;
  }
  return true;
}

/**
 * Where the first lone surrogate of a value is (`messages[0].content`, `a key in tools[0]`), or
 * undefined. Loaders cap nesting at 1,000 levels; so does this walk.
 */
function illFormedPath(v: unknown, path: string, depth: number): string | undefined {
  if (typeof v === 'string') return wellFormed(v) ? undefined : path;
  if (v === null || typeof v !== 'object' || depth > 1000) return undefined;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const at = illFormedPath(v[i], `${path}[${i}]`, depth + 1);
      if (at !== undefined) return at;
    }
    return undefined;
  }
  for (const key of Object.keys(v)) {
    if (!wellFormed(key)) return `a key in ${path}`;
    const at = illFormedPath((v as Record<string, unknown>)[key], `${path}.${key}`, depth + 1);
    if (at !== undefined) return at;
  }
  return undefined;
}

/**
 * The field an example's lone surrogate came from, for the message: the path within the columns
 * the mapping read, else the message that holds it (text parsed from a CSV cell, `systemPrompt`).
 */
function surrogateAt(data: Record<string, unknown>, used: string[], messages: Message[]): string {
  for (const column of used) {
    if (!Object.hasOwn(data, column)) continue;
    const at = illFormedPath(data[column], column, 0);
    if (at !== undefined) return at.startsWith('a key in ') ? at : `field "${at}"`;
  }
  const i = messages.findIndex((m) => !wellFormed(m.content));
  return i === -1 ? 'a tool call or tool definition' : `message ${i + 1} (${messages[i]?.role})`;
}

/** Puts U+FFFD in place of every lone surrogate the writers would take from an example. */
function makeWellFormed(example: Example): void {
  for (const m of example.messages) {
    m.content = (m.content as unknown as WellFormedString).toWellFormed();
    if (m.name !== undefined) m.name = (m.name as unknown as WellFormedString).toWellFormed();
    if (m.tool_call_id !== undefined) m.tool_call_id = (m.tool_call_id as unknown as WellFormedString).toWellFormed();
    if (m.tool_calls !== undefined) m.tool_calls = toWellFormedDeep(m.tool_calls) as typeof m.tool_calls;
  }
  if (example.tools !== undefined) example.tools = toWellFormedDeep(example.tools) as unknown[];
  if (example.nearUser !== undefined) example.nearUser = (example.nearUser as unknown as WellFormedString).toWellFormed();
}

/** A copy of a JSON value with U+FFFD in place of lone surrogates, in keys and strings. */
function toWellFormedDeep(v: unknown): unknown {
  if (typeof v === 'string') return (v as unknown as WellFormedString).toWellFormed();
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(toWellFormedDeep);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(v)) define(out, (key as unknown as WellFormedString).toWellFormed(), toWellFormedDeep(value));
  return out;
}

/**
 * For a row missing a field of the file's preset: what it would be read as instead, when its
 * fields fit another preset (a file mixing shapes, or a mapping chosen from an odd first row).
 */
function otherShape(data: Record<string, unknown>, preset: string | undefined): string {
  const other = preset === undefined ? undefined : detectPreset(data);
  if (other === undefined || other === preset) return '';
  return `; the row has the fields of ${other}, and the file is read as ${preset} (from its first row unless the mapping was given): put rows of each shape in a file of their own`;
}

function excerpt(data: Record<string, unknown>): unknown {
  const json = JSON.stringify(data);
  return json.length <= RAW_EXCERPT_CHARS ? data : `${json.slice(0, RAW_EXCERPT_CHARS)}…`;
}

function converterFor(mapping: NormalizeOptions['mapping']): Converter {
  if (typeof mapping !== 'string') {
    if (!('preset' in mapping)) return templateConverter(mapping);
    return mapping.preset === 'template' ? templateConverter(loadPromptTemplate(mapping)) : presetConverter(mapping);
  }
  switch (mapping) {
    case 'messages':
      return fromMessages;
    case 'sharegpt':
      return fromShareGpt;
    case 'alpaca':
      return fromAlpaca;
    case 'prompt-completion':
      return fromPromptCompletion;
    case 'qa':
    case 'mcq':
    case 'classification':
      return presetConverter(mapping);
  }
}

const promptCompletionText = fields('prompt', 'completion');

/**
 * `{prompt, completion}` as text, or as TRL's conversational prompt-completion (both lists of
 * messages): the conversation is the prompt's messages, then the completion's, read as the
 * `messages` preset reads a list.
 */
function fromPromptCompletion(data: Record<string, unknown>): Converted {
  if (!Array.isArray(data.prompt) || !Array.isArray(data.completion)) return promptCompletionText(data);
  const converted = fromMessages({ ...data, messages: [...data.prompt, ...data.completion] });
  return 'reason' in converted ? converted : { ...converted, used: ['prompt', 'completion', 'tools', 'system'] };
}

function fields(userKey: string, assistantKey: string): Converter {
  return (data) => {
    const user = text(data, userKey);
    if (typeof user !== 'string') return user;
    const assistant = text(data, assistantKey);
    if (typeof assistant !== 'string') return assistant;
    return withSystem(
      data,
      [
        { role: 'user', content: user },
        { role: 'assistant', content: assistant },
      ],
      [userKey, assistantKey, 'system'],
    );
  };
}

function fromAlpaca(data: Record<string, unknown>): Converted {
  const instruction = text(data, 'instruction');
  if (typeof instruction !== 'string') return instruction;
  const output = text(data, 'output');
  if (typeof output !== 'string') return output;
  const input = optionalText(data, 'input');
  if (typeof input === 'object') return input;
  const turns: Message[] = [];
  const history = data.history;
  if (history !== undefined && history !== null) {
    if (!Array.isArray(history)) return { reason: 'invalid_record', message: 'field "history" must be a list of [question, answer] pairs' };
    for (const [i, pair] of history.entries()) {
      if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') {
        return { reason: 'invalid_record', message: `history[${i}] must be a [question, answer] pair of strings` };
      }
      turns.push({ role: 'user', content: cleanContent(pair[0]) }, { role: 'assistant', content: cleanContent(pair[1]) });
    }
  }
  turns.push(
    { role: 'user', content: input === undefined ? instruction : `${instruction}\n\n${input}` },
    { role: 'assistant', content: output },
  );
  const converted = withSystem(data, turns, ['instruction', 'input', 'output', 'system', 'history']);
  // An alpaca writer puts it back in its own field (Example.alpacaInput).
  if (input !== undefined && 'messages' in converted) converted.alpacaInput = input;
  return converted;
}

/**
 * Role names as datasets write them, in any case: OpenAI's (and its `developer`, the system role of
 * its reasoning models), ShareGPT's (`human`, `gpt`, `chatgpt`), Gemini's `model`, LangChain's `ai`,
 * OpenAssistant's `prompter`, and `bot`. Either preset reads a message in either shape
 * (`role`/`content` or `from`/`value`), since exports mix them.
 */
const ROLE_NAMES: ReadonlyMap<string, Role> = new Map([
  ['system', 'system'],
  ['developer', 'system'],
  ['user', 'user'],
  ['human', 'user'],
  ['prompter', 'user'],
  ['assistant', 'assistant'],
  ['gpt', 'assistant'],
  ['chatgpt', 'assistant'],
  ['model', 'assistant'],
  ['ai', 'assistant'],
  ['bot', 'assistant'],
  ['tool', 'tool'],
]);

/** A message's role (`role`, else `from`) as one of ours, or undefined; `tool` only where `tools` says a tool turn can be read. */
function roleOf(msg: Record<string, unknown>, tools: boolean): Role | undefined {
  const name = typeof msg.role === 'string' ? msg.role : msg.from;
  // Most data writes the names as they are listed: one look-up, no new string.
  const role = typeof name === 'string' ? (ROLE_NAMES.get(name) ?? ROLE_NAMES.get(name.trim().toLowerCase())) : undefined;
  return role === 'tool' && !tools ? undefined : role;
}

/** The name a message gives its role, for messages: `role`, else `from`. */
function roleName(msg: Record<string, unknown>): unknown {
  return msg.role !== undefined ? msg.role : msg.from;
}

/** A message's text field: `content`, else ShareGPT's `value` (when there is no `content`). */
function contentOf(msg: Record<string, unknown>): unknown {
  return msg.content === undefined && 'value' in msg ? msg.value : msg.content;
}

/**
 * A conversation column's list of messages: the list itself or, in text (a CSV cell), the JSON list
 * the text holds. A blank cell is empty_content; text that is not JSON, or anything but a non-empty
 * list, is invalid_record.
 */
function conversationList(data: Record<string, unknown>, key: string): unknown[] | Rejected {
  let list = data[key];
  if (list === undefined || list === null) return missing(key);
  if (typeof list === 'string') {
    const t = list.trim();
    if (t === '') return { reason: 'empty_content', message: `field "${key}" is blank` };
    try {
      list = JSON.parse(t) as unknown;
    } catch (e) {
      const why = (e as Error).message;
      const hint = why.includes('control character') ? ' (a line break inside a JSON string is written \\n)' : '';
      return invalid(`field "${key}" is text that is not valid JSON (${why})${hint}; it must be a list of messages, as JSON text in a CSV cell`);
    }
    if (!Array.isArray(list) || list.length === 0) return invalid(`field "${key}" must be a non-empty list of messages, got JSON text of ${Array.isArray(list) ? 'an empty list' : kindOf(list)}`);
    return list;
  }
  if (!Array.isArray(list) || list.length === 0) return invalid(`field "${key}" must be a non-empty list of messages, got ${Array.isArray(list) ? 'an empty list' : kindOf(list)}`);
  return list;
}

/** A turn's `weight`: 0 or 1, undefined when absent or null, else the rejection of the row. */
function weightOf(msg: Record<string, unknown>, where: string): 0 | 1 | undefined | Rejected {
  const w = msg.weight;
  if (w === undefined || w === null) return undefined;
  if (w === 0 || w === 1) return w;
  return invalid(`${where}.weight must be 0 or 1, got ${JSON.stringify(w)}`);
}

function fromMessages(data: Record<string, unknown>): Converted {
  const list = conversationList(data, 'messages');
  if (!Array.isArray(list)) return list;
  const messages: Message[] = [];
  const callIds = new Set<string>();
  for (const [i, m] of list.entries()) {
    if (m === null || typeof m !== 'object' || Array.isArray(m)) return { reason: 'invalid_record', message: `messages[${i}] is not an object` };
    const msg = m as Record<string, unknown>;
    const role = roleOf(msg, true);
    if (role === undefined) {
      return { reason: 'invalid_record', message: `messages[${i}].role must be system, user, assistant or tool (or developer, human, prompter, gpt, chatgpt, model, ai, bot), got ${JSON.stringify(roleName(msg))}` };
    }
    const calls = role === 'assistant' ? toolCalls(msg.tool_calls, i, messages.length) : undefined;
    if (typeof calls === 'string') return { reason: 'invalid_record', message: calls };
    // An assistant turn that only calls tools may have no content.
    const given = contentOf(msg);
    const content = (calls || role === 'system') && (given === null || given === undefined) ? '' : messageText(given);
    if (content === undefined) {
      return { reason: 'invalid_record', message: `messages[${i}].content must be text (a string or text parts), got ${describe(given)}` };
    }
    const out: Message = { role, content: cleanContent(content) };
    if (calls) {
      out.tool_calls = calls;
      for (const c of calls) callIds.add(c.id);
    }
    if (role === 'tool') {
      if (typeof msg.tool_call_id !== 'string' || !callIds.has(msg.tool_call_id)) {
        return { reason: 'invalid_record', message: `messages[${i}] (tool) must answer an earlier tool call: tool_call_id ${JSON.stringify(msg.tool_call_id)} matches none` };
      }
      out.tool_call_id = msg.tool_call_id;
    }
    const weight = weightOf(msg, `messages[${i}]`);
    if (typeof weight === 'object') return weight;
    if (weight !== undefined) out.weight = weight;
    if (typeof msg.name === 'string' && msg.name !== '') out.name = msg.name;
    messages.push(out);
  }
  return withSystem(data, messages, ['messages', 'tools', 'system']);
}

/**
 * Tool calls of an assistant turn in the canonical form: ids kept (or `call_<turn>_<n>` when the
 * data has none), arguments as JSON text (objects are serialised; text must parse as JSON).
 */
function toolCalls(value: unknown, at: number, turn: number): ToolCall[] | string | undefined {
  // An empty list is no calls (OpenAI's logs write "tool_calls": [] on plain answers).
  if (value === undefined || value === null || (Array.isArray(value) && value.length === 0)) return undefined;
  if (!Array.isArray(value)) return `messages[${at}].tool_calls must be a list`;
  const calls: ToolCall[] = [];
  for (const [n, c] of value.entries()) {
    const fn = (c as { function?: { name?: unknown; arguments?: unknown } } | null)?.function;
    if (!fn || typeof fn.name !== 'string' || fn.name === '') return `messages[${at}].tool_calls[${n}] needs function.name`;
    let args: string;
    if (typeof fn.arguments === 'string') {
      try {
        JSON.parse(fn.arguments);
      } catch {
        return `messages[${at}].tool_calls[${n}].function.arguments is not valid JSON`;
      }
      args = fn.arguments;
    } else if (fn.arguments !== null && typeof fn.arguments === 'object') {
      args = JSON.stringify(fn.arguments);
    } else if (fn.arguments === undefined) {
      args = '{}';
    } else {
      return `messages[${at}].tool_calls[${n}].function.arguments must be JSON text or an object`;
    }
    const id = (c as { id?: unknown }).id;
    calls.push({ id: typeof id === 'string' && id !== '' ? id : `call_${turn}_${n}`, type: 'function', function: { name: fn.name, arguments: args } });
  }
  return calls;
}

/**
 * A ShareGPT row, LLaMA-Factory's tool turns included: a `function_call` turn is an assistant
 * message that only calls tools, an `observation` turn the tool message answering the next call of
 * the `function_call` turn before it not yet answered (ShareGPT has no call ids: calls get
 * `call_<turn>_<n>` as in `messages`, and an observation the id of the call it answers). The row's
 * `tools` (a list, or its JSON text) become the example's tools.
 */
function fromShareGpt(data: Record<string, unknown>): Converted {
  const list = conversationList(data, 'conversations');
  if (!Array.isArray(list)) return list;
  const messages: Message[] = [];
  // The calls of the latest function_call turn that no observation has answered yet, and where it is.
  let pending: ToolCall[] = [];
  let lastCall: { at: number; calls: number } | undefined;
  for (const [i, m] of list.entries()) {
    if (m === null || typeof m !== 'object' || Array.isArray(m)) return { reason: 'invalid_record', message: `conversations[${i}] is not an object` };
    const msg = m as Record<string, unknown>;
    // Tool tags are looked for only where the name is no role: most turns are human or gpt.
    const plain = roleOf(msg, false);
    const tag = plain === undefined ? toolTag(msg) : undefined;
    const role = tag === 'function_call' ? 'assistant' : tag === 'observation' ? 'tool' : plain;
    if (!role) {
      return {
        reason: 'invalid_record',
        message: `conversations[${i}].from must be system, human or gpt (or developer, user, prompter, assistant, chatgpt, model, ai, bot), got ${JSON.stringify(roleName(msg))}; tool turns are function_call (a call) and observation (its result)`,
      };
    }
    const value = msg.value === undefined && 'content' in msg ? msg.content : msg.value;
    // A system turn without text is no system turn (OpenHermes writes {"from":"system","value":""}).
    const content = role === 'system' && (value === null || value === undefined) ? '' : messageText(value);
    if (content === undefined) {
      return { reason: 'invalid_record', message: `conversations[${i}].value must be text (a string or text parts), got ${describe(value)}` };
    }
    let out: Message;
    if (tag === 'function_call') {
      const calls = functionCalls(content, i, messages.length);
      if (!Array.isArray(calls)) return calls;
      out = { role, content: '', tool_calls: calls };
      pending = [...calls];
      lastCall = { at: i, calls: calls.length };
    } else if (tag === 'observation') {
      const answered = pending.shift();
      if (answered === undefined) {
        return {
          reason: 'invalid_record',
          message: lastCall
            ? `conversations[${i}] (observation) answers no call: the function_call turn conversations[${lastCall.at}] made ${lastCall.calls} call${lastCall.calls === 1 ? '' : 's'}, each answered already by an observation before it`
            : `conversations[${i}].from must be system, human or gpt here, got ${JSON.stringify(roleName(msg))}: an observation is a tool's result, and no function_call turn comes before it`,
        };
      }
      // One observation after a turn of N parallel calls, holding a JSON list of N answers (as
      // the llama-factory writer joins them): one tool message per call.
      // Not when another observation follows: then each answers its own call.
      const next = list[i + 1];
      const alone = !(next !== null && typeof next === 'object' && !Array.isArray(next) && toolTag(next as Record<string, unknown>) === 'observation');
      const answers = alone && lastCall && lastCall.calls > 1 && pending.length === lastCall.calls - 1 ? splitAnswers(content, lastCall.calls) : undefined;
      if (answers) {
        const weight = weightOf(msg, `conversations[${i}]`);
        if (typeof weight === 'object') return weight;
        for (const [k, answer] of answers.entries()) {
          const call = k === 0 ? answered : (pending.shift() as ToolCall);
          messages.push({ role, content: cleanContent(answer), tool_call_id: call.id, ...(weight === undefined ? {} : { weight }) });
        }
        continue;
      }
      out = { role, content: cleanContent(content), tool_call_id: answered.id };
    } else {
      out = { role, content: cleanContent(content) };
    }
    const weight = weightOf(msg, `conversations[${i}]`);
    if (typeof weight === 'object') return weight;
    if (weight !== undefined) out.weight = weight;
    messages.push(out);
  }
  return withSystem(data, messages, ['conversations', 'tools', 'system']);
}

/**
 * The answers of `calls` parallel calls in one observation: its value a JSON list of exactly that
 * many, each a string as it is or other JSON as its compact text (numbers as written); else undefined.
 */
function splitAnswers(value: string, calls: number): string[] | undefined {
  if (!value.trimStart().startsWith('[')) return undefined;
  let node: JsonNode;
  try {
    node = parseJsonNode(value);
  } catch {
    return undefined;
  }
  if (node.kind !== 'array' || node.items.length !== calls) return undefined;
  return node.items.map((item) => (item.kind === 'string' ? item.value : jsonNodeText(item)));
}

/** LLaMA-Factory's tool tags, in any case: `function_call` or `observation`, else undefined. */
function toolTag(msg: Record<string, unknown>): 'function_call' | 'observation' | undefined {
  const name = roleName(msg);
  if (typeof name !== 'string') return undefined;
  const tag = name === 'function_call' || name === 'observation' ? name : name.trim().toLowerCase();
  return tag === 'function_call' || tag === 'observation' ? tag : undefined;
}

/**
 * The calls of a ShareGPT `function_call` turn: its value is the JSON text of one call
 * `{"name","arguments"}` or of a list of them (parallel calls), as LLaMA-Factory reads it.
 * `arguments` may be JSON text (kept as written, as `messages` keeps it) or any other JSON value,
 * kept as its compact JSON text with every number as written (`12345678901234567890`, `1.0`);
 * no `arguments` is `{}`. A blank value is empty_content; anything else wrong is invalid_record,
 * naming the turn.
 */
function functionCalls(value: string, at: number, turn: number): ToolCall[] | Rejected {
  const where = `conversations[${at}] (function_call)`;
  if (value.trim() === '') return { reason: 'empty_content', message: `${where} is blank: it must hold a call {"name","arguments"}` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (e) {
    return invalid(`${where}: the value is not valid JSON (${(e as Error).message}); it must be the JSON text of a call {"name","arguments"} or of a list of calls, got ${preview(value, 60)}`);
  }
  let node: JsonNode | undefined;
  // Number literals as written (JSON.parse would round 12345678901234567890), read only when needed.
  const nodeOf = (): JsonNode => (node ??= parseJsonNode(value));
  const items = Array.isArray(parsed) ? parsed : [parsed];
  if (items.length === 0) return invalid(`${where}: the value is an empty list; it must hold at least one call {"name","arguments"}`);
  const calls: ToolCall[] = [];
  for (const [n, item] of items.entries()) {
    const which = Array.isArray(parsed) ? `${where}: call ${n + 1} of the list` : `${where}: the call`;
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return invalid(`${which} must be an object {"name","arguments"}, got ${kindOf(item)}`);
    const call = item as Record<string, unknown>;
    if (typeof call.name !== 'string' || call.name.trim() === '') {
      return invalid(`${which} needs a name (the function called, as text), got ${call.name === undefined ? 'none' : JSON.stringify(call.name)}`);
    }
    let args: string;
    const given = call.arguments;
    if (given === undefined) args = '{}';
    else if (typeof given === 'string') {
      try {
        JSON.parse(given);
      } catch {
        return invalid(`${which} (${call.name}): arguments is text that is not valid JSON, got ${preview(given, 60)}; give an object or its JSON text`);
      }
      args = given;
    } else {
      let text: string | undefined;
      try {
        const root = nodeOf();
        const callNode = root.kind === 'array' ? root.items[n] : root;
        const argsNode = callNode?.kind === 'object' ? lastEntry(callNode, 'arguments') : undefined;
        text = argsNode && jsonNodeText(argsNode);
      } catch {
        // Valid JSON (JSON.parse read it) nested deeper than the walk's stack.
        return invalid(`${which} (${call.name}): arguments nest too deep to read`);
      }
      // The fallback is unreachable: JSON.parse found the arguments, so the node reader does too.
      args = text ?? JSON.stringify(given);
    }
    calls.push({ id: `call_${turn}_${n}`, type: 'function', function: { name: call.name, arguments: args } });
  }
  return calls;
}

/** The value of the last entry named `key` (JSON.parse keeps the last of duplicate keys). */
function lastEntry(node: Extract<JsonNode, { kind: 'object' }>, key: string): JsonNode | undefined {
  for (let j = node.entries.length - 1; j >= 0; j--) {
    const entry = node.entries[j] as [string, JsonNode];
    if (entry[0] === key) return entry[1];
  }
  return undefined;
}

/**
 * A string, or OpenAI text parts (`[{ type: 'text', text }]`) joined with nothing between them, as
 * chat templates that loop over parts write them; undefined for anything else (images, audio, null).
 */
function messageText(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  const texts: string[] = [];
  for (const part of content) {
    // OpenAI's Responses API writes `input_text` and `output_text` parts.
    const type = part === null || typeof part !== 'object' ? undefined : (part as { type?: unknown }).type;
    if (type !== 'text' && type !== 'input_text' && type !== 'output_text') return undefined;
    const t = (part as { text?: unknown }).text;
    if (typeof t !== 'string') return undefined;
    texts.push(t);
  }
  return texts.join('');
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list with non-text parts';
  return typeof v === 'object' ? 'an object' : typeof v;
}

function templateConverter(mapping: TemplateMapping): Converter {
  const user = parseTemplate(mapping.user);
  const assistant = parseTemplate(mapping.assistant);
  const system = mapping.system === undefined ? undefined : parseTemplate(mapping.system);
  const paths = [user, assistant, system ?? []].flatMap(placeholders);
  // Fixed text around the user placeholders (instructions, few-shot examples) is the same in every
  // row: near-dedup then compares the placeholders' values instead (Example.nearUser).
  const fixedUserText = user.some((part) => 'text' in part && part.text.trim() !== '');
  return (data) => {
    const messages: Message[] = [];
    let userValues: string[] | undefined;
    const placed: Array<[string, string]> = [];
    if (system) {
      // A system template is optional content: a blank or missing value leaves it out (and
      // `systemPrompt` fills in) rather than rejecting the row.
      const s = render(system, data, undefined, placed);
      if (s.ok) {
        if (s.text.trim() !== '') messages.push({ role: 'system', content: cleanContent(s.text) });
      } else if (s.reason === 'invalid_record') return invalid(s.message);
    }
    for (const [role, parts] of [
      ['user', user],
      ['assistant', assistant],
    ] as Array<[Role, TemplatePart[]]>) {
      if (role === 'user' && fixedUserText) userValues = [];
      const r = render(parts, data, role === 'user' ? userValues : undefined, placed);
      if (!r.ok) {
        if (r.reason === 'invalid_record') return invalid(r.message);
        return {
          reason: r.reason,
          message: r.reason === 'missing_field' ? `field "${r.field}" is missing or null` : `field "${r.field}" is blank`,
        };
      }
      messages.push({ role, content: cleanContent(r.text) });
    }
    const used = paths.map((p) => topColumn(data, p));
    const converted: Converted = userValues ? { messages, used, nearUser: userValues.join('\n') } : { messages, used };
    if (placed.length > 0) converted.templateValues = placed;
    return converted;
  };
}

/**
 * Whether a message holds no text a reader sees: nothing, or only invisible characters (zero-width
 * spaces and joiners, a soft hyphen, a BOM, Hangul and Braille blanks), which web scrapes and
 * chat exports leave in place of a deleted answer.
 *
 * @example
 * isBlank('\u2800') // true: a Braille blank
 */
export function isBlank(text: string): boolean {
  return text === '' || INVISIBLE_ONLY.test(text);
}

const INVISIBLE_ONLY = /^[\s\u00ad\u180e\u200b-\u200d\u2060\u2800\u3164\ufeff\uffa0]+$/;

function checkConversation(messages: Message[]): { reason: ReasonCode; message: string } | undefined {
  const blank = messages.findIndex((m) => isBlank(m.content) && !m.tool_calls);
  if (blank !== -1) {
    const invisible = messages[blank]?.content !== '' ? ' (it holds only invisible characters)' : '';
    return { reason: 'empty_content', message: `message ${blank + 1} (${messages[blank]?.role}) is blank${invisible}` };
  }
  if (!messages.some((m) => m.role === 'user')) return { reason: 'invalid_record', message: 'the conversation has no user message' };
  if (!messages.some((m) => m.role === 'assistant')) return { reason: 'invalid_record', message: 'the conversation has no assistant message' };
  const last = messages[messages.length - 1] as Message;
  if (last.role !== 'assistant') {
    return { reason: 'invalid_record', message: `the conversation ends with a ${last.role} message; it must end with the assistant's answer` };
  }
  return undefined;
}

function exampleId(row: SourceRow): string {
  const id = row.data.id;
  if ((typeof id === 'string' && id.trim() !== '') || typeof id === 'number') return String(id);
  return `${row.source.file}:${row.source.line}`;
}

function define(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function buildMeta(row: SourceRow, used: string[], domain: string | undefined, keep: readonly string[]): Example['meta'] {
  const meta: Example['meta'] = { source: row.source };
  for (const key in row.data) {
    // `used` is the few columns the mapping read: a scan beats building a Set per row.
    if ((key === 'id' && !keep.includes(key)) || used.includes(key) || !Object.hasOwn(row.data, key)) continue;
    const value = row.data[key];
    // `meta.source` is the row's location: the column keeps another name. A `__proto__` column
    // must become a property, not the object's prototype.
    if (key === 'source') define(meta, 'source_column', value);
    else if (key === '__proto__') define(meta, key, value);
    else meta[key] = value;
  }
  if (domain !== undefined) meta.domain = domain;
  else if (typeof row.data.domain === 'string' && row.data.domain.trim() !== '') meta.domain = row.data.domain.trim();
  else delete meta.domain;
  return meta;
}
