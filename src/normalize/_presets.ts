/**
 * Domain presets of the normalising stage: question answering with PubMedQA's nested context,
 * multiple choice (MedMCQA, MedQA, CaseHOLD, MMLU, SWAG/HellaSwag), text classification with named
 * labels, and a task prompt read from a file (LegalBench). Columns are found once, from a file's
 * first row, and every row is converted on its own; a row that does not fit is rejected, never
 * guessed at. docs/presets.md shows each shape and the example it becomes.
 */
import { readFileSync } from 'node:fs';
import { LoraPrepError, preview } from '../errors.js';
import type { ClassificationMapping, McqMapping, PresetMapping, QaMapping, TemplateMapping, TemplatePresetMapping } from '../options.js';
import type { Message } from '../types.js';
import { cleanContent, exactNumber, inexactNumber, invalid, kindOf, missing, numberText, optionalText, text, withSystem, type Converted, type Converter, type Rejected } from './_fields.js';
import { headerHint, parseTemplate, placeholders } from './_template.js';

/** An `mcq` mapping with its columns named (what {@link resolvePreset} returns for a file). */
export type ResolvedMcq = McqMapping & { question: string | readonly string[]; options: string | readonly string[]; answer: string; indexBase: 0 | 1 };

/** A `classification` mapping with its columns named. */
export type ResolvedClassification = ClassificationMapping & { text: string; label: string };

/** The default instruction of `classification` prompts. */
export const CLASSIFICATION_INSTRUCTION = 'Classify the text. Answer with the label only.';

// A prompt larger than this is the wrong file (a data file given as the prompt, say), not a prompt.
const MAX_PROMPT_FILE_BYTES = 1024 * 1024;

/**
 * Reads a `template` preset's prompt file and returns the equivalent templates: the prompt as the
 * user message, `{{answer}}` (or the named column) as the assistant's. Throws `INPUT_NOT_FOUND` for a
 * file that cannot be read and `MAPPING_INVALID` for one without a `{{column}}`.
 *
 * @example
 * loadPromptTemplate({ preset: 'template', promptFile: 'task.txt' }) // { user: '...{{text}}\nA:', assistant: '{{answer}}' }
 */
export function loadPromptTemplate(mapping: TemplatePresetMapping, cache?: Map<string, string>): TemplateMapping {
  const file = mapping.promptFile;
  let prompt = cache?.get(file);
  if (prompt === undefined) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      throw new LoraPrepError(
        'INPUT_NOT_FOUND',
        `mapping.promptFile: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? 'unreadable'}). Check the path; relative paths start at ${process.cwd()}.`,
        { location: { file }, cause: e },
      );
    }
    if (bytes.length > MAX_PROMPT_FILE_BYTES) {
      throw new LoraPrepError('MAPPING_INVALID', `mapping.promptFile: ${file} is ${bytes.length.toLocaleString('en-US')} bytes, over the ${MAX_PROMPT_FILE_BYTES.toLocaleString('en-US')} a prompt can be; is it the right file?`, {
        location: { file },
      });
    }
    prompt = bytes.toString('utf8').replace(/^\uFEFF/, '');
    cache?.set(file, prompt);
  }
  if (placeholders(parseTemplate(prompt)).length === 0) {
    throw new LoraPrepError(
      'MAPPING_INVALID',
      `mapping.promptFile: ${file} has no {{column}} placeholder, so every example would have the same prompt. Put the row's text in it, e.g. {{text}}.`,
      { location: { file } },
    );
  }
  return { user: prompt, assistant: `{{${mapping.answer ?? 'answer'}}}` };
}

/**
 * Names a preset's columns from a file's first row, so every row is read the same way and a
 * missing column stops the job before any row. Throws `MAPPING_INVALID` naming the file, what is
 * missing and the columns there are.
 */
export function resolvePreset(mapping: Exclude<PresetMapping, TemplatePresetMapping>, first: Record<string, unknown> | undefined, file: string): Exclude<PresetMapping, TemplatePresetMapping> {
  if (!first) return mapping;
  const fail = (what: string, field?: string): never => {
    const have = Object.keys(first).map((k) => JSON.stringify(k)).join(', ') || '(none)';
    throw new LoraPrepError('MAPPING_INVALID', `${file}: mapping "${mapping.preset}": ${what}; columns are: ${have}.${headerHint(first)}`, {
      location: field === undefined ? { file, line: 1 } : { file, line: 1, field },
    });
  };
  const need = (col: string | undefined, option: string) => {
    if (col !== undefined && !Object.hasOwn(first, col)) fail(`${option} names column "${col}", which the input lacks`, col);
  };
  switch (mapping.preset) {
    case 'qa':
      need(mapping.question, 'question');
      need(mapping.answer, 'answer');
      return mapping;
    case 'mcq': {
      for (const c of [mapping.question ?? []].flat()) need(c, 'question');
      for (const c of [mapping.options ?? []].flat()) need(c, 'options');
      need(mapping.answer, 'answer');
      need(mapping.answerText, 'answerText');
      const filled = fillMcq(mapping, first);
      if (typeof filled === 'string') fail(filled);
      return filled as ResolvedMcq;
    }
    case 'classification': {
      need(mapping.text, 'text');
      need(mapping.label, 'label');
      const filled = fillClassification(mapping, first);
      if (typeof filled === 'string') fail(filled);
      const resolved = filled as ResolvedClassification;
      const label = first[resolved.label];
      if (resolved.labels === undefined && isId(label)) {
        fail(
          `column "${resolved.label}" holds class ids (${preview(label)}), and without names every answer would be a number. ` +
            `Name the classes: { preset: 'classification', labels: ['negative', 'neutral', 'positive'] } (ids are positions) or labels: { "0": "negative", ... } (CLI --labels)`,
          resolved.label,
        );
      }
      return resolved;
    }
  }
}

/** The converter of a preset (string or object form; columns not named are found per row). */
export function presetConverter(mapping: 'qa' | 'mcq' | 'classification' | PresetMapping): Converter {
  const m = typeof mapping === 'string' ? ({ preset: mapping } as Exclude<PresetMapping, TemplatePresetMapping>) : mapping;
  switch (m.preset) {
    case 'qa':
      return (data) => fromQa(m, data);
    case 'mcq':
      return (data) => {
        const filled = fillMcq(m, data);
        return typeof filled === 'string' ? { reason: 'missing_field', message: filled } : fromMcq(filled, data);
      };
    case 'classification':
      return (data) => {
        const filled = fillClassification(m, data);
        return typeof filled === 'string' ? { reason: 'missing_field', message: filled } : fromClassification(filled, data);
      };
    case 'template':
      throw new Error('internal: a template preset is converted through its templates');
  }
}

/** PubMedQA: a question, a `context` object with `contexts`, and a long answer or a final decision. */
export function isPubMedQa(record: Record<string, unknown>): boolean {
  const ctx = record.context;
  return (
    Object.hasOwn(record, 'question') &&
    ctx !== null &&
    typeof ctx === 'object' &&
    Array.isArray((ctx as { contexts?: unknown }).contexts) &&
    (Object.hasOwn(record, 'long_answer') || Object.hasOwn(record, 'final_decision'))
  );
}

/** True when a record has a question, options and a key in a shape `mcq` finds by itself. */
export function isMcq(record: Record<string, unknown>): boolean {
  return detectQuestion(record) !== undefined && detectOptions(record) !== undefined && detectKey(record) !== undefined;
}

/** True for a record with a text column and a label column (classification, never auto-detected). */
export function looksLikeClassification(record: Record<string, unknown>): boolean {
  return TEXT_COLUMNS.some((c) => Object.hasOwn(record, c)) && Object.hasOwn(record, 'label');
}

// --- internal ---

const TEXT_COLUMNS = ['text', 'sentence'];

function has(data: Record<string, unknown>, key: string): boolean {
  return Object.hasOwn(data, key) && data[key] !== undefined;
}

// --- qa ---

const DECISIONS = new Set(['yes', 'no', 'maybe']);

function fromQa(m: QaMapping, data: Record<string, unknown>): Converted {
  const questionKey = m.question ?? 'question';
  const question = text(data, questionKey);
  if (typeof question !== 'string') return question;
  const used = [questionKey, 'system'];
  let answer: string | Converted;
  const contextKey = m.context ?? 'context';
  // PubMedQA has no answer column: its answer is the long answer and the final decision.
  const pubMed = has(data, 'long_answer') || has(data, 'final_decision') || isPubMedContext(data[contextKey]);
  if (m.answer === undefined && !has(data, 'answer') && pubMed) {
    answer = pubMedAnswer(data, m.decisionFirst === true);
    used.push('long_answer'); // final_decision stays in meta: it is the natural stratify key
  } else {
    const answerKey = m.answer ?? 'answer';
    answer = text(data, answerKey);
    used.push(answerKey);
  }
  if (typeof answer !== 'string') return answer;
  const context = contextText(data[contextKey], contextKey);
  if (typeof context === 'object') return context;
  used.push(contextKey);
  const user = context === undefined ? question : `Context:\n${context}\n\nQuestion: ${question}`;
  return withSystem(
    data,
    [
      { role: 'user', content: user },
      { role: 'assistant', content: answer },
    ],
    used,
  );
}

function isPubMedContext(v: unknown): boolean {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.hasOwn(v, 'contexts');
}

/** PubMedQA's answer: the long answer, then `Answer: yes.` (or the decision first). */
function pubMedAnswer(data: Record<string, unknown>, decisionFirst: boolean): string | Converted {
  const long = optionalText(data, 'long_answer');
  if (typeof long === 'object') return long;
  const raw = data.final_decision;
  let decision: string | undefined;
  if (raw !== undefined && raw !== null && !(typeof raw === 'string' && raw.trim() === '')) {
    decision = typeof raw === 'string' ? raw.trim().toLowerCase() : undefined;
    if (decision === undefined || !DECISIONS.has(decision)) return invalid(`field "final_decision" must be yes, no or maybe, got ${preview(raw)}`);
  }
  if (long === undefined && decision === undefined) {
    return has(data, 'long_answer')
      ? { reason: 'empty_content', message: 'field "long_answer" is blank and there is no final_decision' }
      : { reason: 'missing_field', message: 'fields "long_answer" and "final_decision" are both missing or null (and there is no "answer")' };
  }
  if (decision === undefined) return long as string;
  const verdict = `Answer: ${decision}.`;
  if (long === undefined) return verdict;
  return decisionFirst ? `${verdict}\n\n${long}` : `${long}\n\n${verdict}`;
}

/** Flat text, a list of passages, or PubMedQA's `{ contexts, labels }`; undefined when absent or blank. */
function contextText(v: unknown, key: string): string | undefined | Converted {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string' || typeof v === 'number') {
    const t = typeof v === 'number' ? numberText(v, key) : v;
    if (typeof t !== 'string') return t;
    const s = cleanContent(t);
    return s === '' ? undefined : s;
  }
  if (Array.isArray(v)) {
    if (!v.every((p) => typeof p === 'string')) return invalid(`field "${key}" must be text or a list of passages (strings)`);
    return joinPassages((v as string[]).map((p) => cleanContent(p)));
  }
  if (typeof v === 'object') {
    const { contexts, labels } = v as { contexts?: unknown; labels?: unknown };
    if (!Array.isArray(contexts) || !contexts.every((p) => typeof p === 'string')) {
      return invalid(`field "${key}" is an object without "contexts" (a list of passages, as PubMedQA writes it)`);
    }
    const names = Array.isArray(labels) ? labels : [];
    return joinPassages(
      (contexts as string[]).map((p, i) => {
        const passage = cleanContent(p);
        const label = names[i];
        return typeof label === 'string' && label.trim() !== '' && passage !== '' ? `${label.trim()}: ${passage}` : passage;
      }),
    );
  }
  return invalid(`field "${key}" must be text, got ${typeof v}`);
}

function joinPassages(passages: string[]): string | undefined {
  const kept = passages.filter((p) => p !== '');
  return kept.length === 0 ? undefined : kept.join('\n\n');
}

// --- mcq ---

/** Question columns, in the order they are looked for (a pair is joined with a space). */
const QUESTION_COLUMNS: Array<string | [string, string]> = ['question', 'citing_prompt', 'startphrase', ['sent1', 'sent2'], 'sent1', 'ctx', 'question_stem', 'context', 'prompt'];
/** Columns holding all options at once (a list, an object, or either as JSON text). */
const OPTION_LIST_COLUMNS = ['options', 'choices', 'endings'];
/** Prefixes of one-column-per-option layouts: opa.. (MedMCQA), holding_0.. (CaseHOLD), ending0.. (SWAG). */
const OPTION_PREFIXES = ['op', 'option_', 'option', 'holding_', 'ending', 'choice_', 'choice'];
const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const SEQUENCES = [[...LETTERS.toLowerCase()], [...LETTERS], Array.from({ length: 26 }, (_, i) => String(i)), Array.from({ length: 26 }, (_, i) => String(i + 1))];
/** Key columns: MedQA's letter before its answer text, then MedMCQA, CaseHOLD/SWAG, ARC, MMLU. */
const KEY_COLUMNS = ['answer_idx', 'cop', 'label', 'answerKey', 'answer', 'correct_answer', 'correct', 'gold'];
const EXPLANATION_COLUMNS = ['exp', 'explanation', 'rationale'];

function detectQuestion(data: Record<string, unknown>): string | string[] | undefined {
  for (const c of QUESTION_COLUMNS) {
    if (typeof c === 'string' ? has(data, c) : c.every((k) => has(data, k))) return c;
  }
  return undefined;
}

function detectOptions(data: Record<string, unknown>): string | string[] | undefined {
  for (const c of OPTION_LIST_COLUMNS) {
    const v = data[c];
    if (v !== null && typeof v === 'object') return c;
    if (typeof v === 'string' && parseJsonOptions(v) !== undefined) return c;
  }
  for (const prefix of OPTION_PREFIXES) {
    for (const seq of SEQUENCES) {
      const cols: string[] = [];
      for (const s of seq) {
        if (!Object.hasOwn(data, prefix + s)) break;
        cols.push(prefix + s);
      }
      if (cols.length >= 2) return cols;
    }
  }
  // Bare letter columns: question,A,B,C,D,answer (MMLU's CSV layout).
  const letters: string[] = [];
  for (const l of LETTERS) {
    if (!Object.hasOwn(data, l)) break;
    letters.push(l);
  }
  return letters.length >= 2 ? letters : undefined;
}

function detectKey(data: Record<string, unknown>): string | undefined {
  return KEY_COLUMNS.find((c) => has(data, c));
}

function fillMcq(m: McqMapping, data: Record<string, unknown>): ResolvedMcq | string {
  const question = m.question ?? detectQuestion(data);
  if (question === undefined) return 'no question column (looked for question, citing_prompt, startphrase, sent1 + sent2, ctx, question_stem, context, prompt); name it with mapping.question';
  const options = m.options ?? detectOptions(data);
  if (options === undefined) {
    return 'no options (looked for a list or object in options, choices or endings, and for one column per option: opa.., holding_0.., ending0.., A, B, ..); name them with mapping.options';
  }
  const answer = m.answer ?? detectKey(data);
  if (answer === undefined) return `no answer key column (looked for ${KEY_COLUMNS.join(', ')}); name it with mapping.answer`;
  const out: ResolvedMcq = { preset: 'mcq', question, options, answer, indexBase: m.indexBase ?? 0 };
  // MedQA writes the key (answer_idx) and the answer text (answer): check that they agree.
  const answerText = m.answerText ?? (m.answer === undefined && answer === 'answer_idx' && has(data, 'answer') ? 'answer' : undefined);
  if (answerText !== undefined) out.answerText = answerText;
  const explanation = m.explanation === false ? undefined : (m.explanation ?? EXPLANATION_COLUMNS.find((c) => Object.hasOwn(data, c)));
  if (explanation !== undefined) out.explanation = explanation;
  else if (m.explanation === false) out.explanation = false;
  return out;
}

interface McqOption {
  /** The letter shown: A, B, ... */
  label: string;
  text: string;
  /** The option's own key, for options given as an object (`{"A": ...}`, `{"opa": ...}`). */
  key?: string;
  /** The column it came from, for messages. */
  column?: string;
}

function fromMcq(m: ResolvedMcq, data: Record<string, unknown>): Converted {
  const questionCols = Array.isArray(m.question) ? m.question : [m.question];
  const parts: string[] = [];
  for (const c of questionCols) {
    const t = text(data, c);
    if (typeof t !== 'string') return t;
    parts.push(t);
  }
  const question = parts.join(' ');
  const options = readOptions(data, m.options);
  if (!Array.isArray(options)) return options;
  const picked = pickOption(data, m, options);
  if ('reason' in picked) return picked;
  const used = [...questionCols, ...(Array.isArray(m.options) ? m.options : [m.options]), m.answer, 'system'];
  if (m.answerText !== undefined) {
    used.push(m.answerText);
    const said = optionalText(data, m.answerText);
    if (typeof said === 'object') return said;
    if (said !== undefined && normal(said) !== normal(picked.text)) {
      return invalid(`field "${m.answer}" (${preview(data[m.answer])}) picks ${picked.label}. ${preview(picked.text, 40)}, but field "${m.answerText}" says ${preview(said, 40)}`);
    }
  }
  let answer = `${picked.label}. ${picked.text}`;
  if (typeof m.explanation === 'string') {
    used.push(m.explanation);
    const exp = optionalText(data, m.explanation);
    if (typeof exp === 'object') return exp;
    if (exp !== undefined) answer += `\n\n${exp}`;
  }
  const user = `${question}\n\n${options.map((o) => `${o.label}. ${o.text}`).join('\n')}`;
  return withSystem(
    data,
    [
      { role: 'user', content: user },
      { role: 'assistant', content: answer },
    ],
    used,
  );
}

function parseJsonOptions(v: string): unknown[] | Record<string, unknown> | undefined {
  const t = v.trim();
  if (!(t.startsWith('[') && t.endsWith(']')) && !(t.startsWith('{') && t.endsWith('}'))) return undefined;
  try {
    const parsed: unknown = JSON.parse(t);
    return parsed !== null && typeof parsed === 'object' ? (parsed as unknown[] | Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The options of a row, lettered in order; trailing blank options are dropped, a blank one in between is an error. */
function readOptions(data: Record<string, unknown>, spec: string | readonly string[]): McqOption[] | Converted {
  let entries: Array<{ value: unknown; key?: string; column?: string; letter?: string }>;
  if (typeof spec !== 'string') {
    entries = spec.map((c) => ({ value: data[c], column: c }));
  } else {
    let v = data[spec];
    if (v === undefined || v === null) return missing(spec);
    if (typeof v === 'string') {
      const parsed = parseJsonOptions(v);
      if (parsed === undefined) return invalid(`field "${spec}" must be a list or an object of options, got text ${preview(v, 40)}`);
      v = parsed;
    }
    if (Array.isArray(v)) entries = v.map((value) => ({ value }));
    else if (typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (Array.isArray(o.text) && Array.isArray(o.label) && o.text.length === o.label.length) {
        // Hugging Face columnar choices (ARC, OpenBookQA): { text: [...], label: ['A', 'B', ...] }.
        const keys = o.label as unknown[];
        entries = o.text.map((value, i) => ({ value, key: String(keys[i]) }));
      } else {
        entries = Object.entries(o).map(([key, value]) => ({ value, key }));
      }
      // Keys that are letters label their options (MedQA {"A": ..., "B": ...}), in letter order.
      if (entries.length > 0 && entries.every((e) => e.key !== undefined && /^[A-Za-z]$/.test(e.key))) {
        entries = entries.map((e) => ({ ...e, letter: (e.key as string).toUpperCase() })).sort((a, b) => (a.letter < b.letter ? -1 : a.letter > b.letter ? 1 : 0));
        if (new Set(entries.map((e) => e.letter)).size !== entries.length) return invalid(`field "${spec}" names the same letter twice (upper and lower case)`);
      }
    } else return invalid(`field "${spec}" must be a list or an object of options, got ${typeof v}`);
  }
  const blank = (v: unknown) => v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
  let end = entries.length;
  while (end > 0 && blank(entries[end - 1]?.value)) end--;
  entries = entries.slice(0, end);
  if (entries.length > LETTERS.length) return invalid(`${entries.length} options are more than the ${LETTERS.length} letters A–Z`);
  const out: McqOption[] = [];
  for (const [i, e] of entries.entries()) {
    const label = e.letter ?? (LETTERS[i] as string);
    const where = e.column !== undefined ? `column "${e.column}"` : e.key !== undefined ? `key ${JSON.stringify(e.key)}` : `item ${i + 1}`;
    if (blank(e.value)) return { reason: 'empty_content', message: `option ${label} (${where}) is blank, but later options are not` };
    if (typeof e.value !== 'string' && typeof e.value !== 'number' && typeof e.value !== 'boolean') return invalid(`option ${label} (${where}) must be text, got ${kindOf(e.value)}`);
    if (typeof e.value === 'number' && !exactNumber(e.value)) return invalid(inexactNumber(e.value, `option ${label} (${where})`));
    const opt: McqOption = { label, text: cleanContent(String(e.value)) };
    if (e.key !== undefined) opt.key = e.key;
    if (e.column !== undefined) opt.column = e.column;
    out.push(opt);
  }
  if (out.length < 2) return invalid(`a multiple-choice question needs two or more options, got ${out.length}`);
  return out;
}

function normal(s: string): string {
  return s.replace(/\s+/g, ' ').trim().toLowerCase();
}

/** The option a key picks: an option's own key, an index, a letter, or the option's exact text. Never a guess. */
function pickOption(data: Record<string, unknown>, m: ResolvedMcq, options: McqOption[]): McqOption | Rejected {
  const col = m.answer;
  const v = data[col];
  if (v === undefined || v === null) return missing(col);
  const range = `${options[0]?.label}–${options[options.length - 1]?.label}`;
  const byIndex = (n: number): McqOption | Rejected => {
    const opt = options[n - m.indexBase];
    if (opt) return opt;
    const hint = m.indexBase === 0 && n === options.length ? `; if the file numbers options from 1, set mapping.indexBase to 1` : '';
    return invalid(
      `field "${col}" is ${n}, which picks no option: there are ${options.length} (${range}), numbered ${m.indexBase}–${options.length - 1 + m.indexBase} (indexBase ${m.indexBase})${hint}`,
    );
  };
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) return invalid(`field "${col}" must be a letter, a whole number or the option text, got ${v}`);
    return byIndex(v);
  }
  if (typeof v !== 'string') return invalid(`field "${col}" must be a letter, a number or the option text, got ${Array.isArray(v) ? 'a list' : typeof v}`);
  const s = v.trim();
  if (s === '') return { reason: 'empty_content', message: `field "${col}" is blank` };
  const own = options.filter((o) => o.key !== undefined && (o.key === s || o.key.toLowerCase() === s.toLowerCase()));
  if (own.length === 1) return own[0] as McqOption;
  const digits = /^-?\d+(?:\.0+)?$/.exec(s);
  if (digits) return byIndex(Number.parseInt(s, 10));
  const letter = /^\(?([A-Za-z])[.)]?$/.exec(s);
  if (letter) {
    const l = (letter[1] as string).toUpperCase();
    const opt = options.find((o) => o.label === l);
    return opt ?? invalid(`field "${col}" is ${JSON.stringify(s)}, which picks no option: the options are ${range}`);
  }
  const same = options.filter((o) => normal(o.text) === normal(s));
  if (same.length === 1) return same[0] as McqOption;
  if (same.length > 1) return invalid(`field "${col}" is the text of ${same.length} options (${same.map((o) => o.label).join(', ')}); it must pick one`);
  return invalid(`field "${col}" is ${preview(s, 40)}, which is neither a letter (${range}), a number, nor the text of an option`);
}

// --- classification ---

function fillClassification(m: ClassificationMapping, data: Record<string, unknown>): ResolvedClassification | string {
  const textCol = m.text ?? TEXT_COLUMNS.find((c) => Object.hasOwn(data, c));
  if (textCol === undefined) return `no text column (looked for ${TEXT_COLUMNS.join(', ')}); name it with mapping.text`;
  const label = m.label ?? (Object.hasOwn(data, 'label') ? 'label' : undefined);
  if (label === undefined) return 'no label column (looked for label); name it with mapping.label';
  return { ...m, text: textCol, label };
}

/** A number, or text of digits: a class id rather than a class name. */
function isId(v: unknown): boolean {
  return (typeof v === 'number' && Number.isInteger(v)) || (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v));
}

function labelNames(labels: ClassificationMapping['labels']): string[] {
  if (labels === undefined) return [];
  return [...new Set((Array.isArray(labels) ? labels : Object.values(labels)).map((l) => l.trim()))];
}

function fromClassification(m: ResolvedClassification, data: Record<string, unknown>): Converted {
  const body = text(data, m.text);
  if (typeof body !== 'string') return body;
  const raw = data[m.label];
  if (raw === undefined || raw === null) return missing(m.label);
  if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') return invalid(`field "${m.label}" must be a label name or id, got ${kindOf(raw)}`);
  if (typeof raw === 'number' && !exactNumber(raw)) return invalid(inexactNumber(raw, `field "${m.label}"`));
  const value = String(raw).trim();
  if (value === '') return { reason: 'empty_content', message: `field "${m.label}" is blank` };
  const names = labelNames(m.labels);
  let name: string | undefined;
  if (m.labels === undefined) {
    if (isId(raw)) return invalid(`field "${m.label}" is ${preview(raw)}, a class id; name the classes with mapping.labels`);
    name = value;
  } else if (isList(m.labels)) {
    // A name as written wins over an id, so labels ['1', '2', '3'] (star ratings) read as names.
    name = names.includes(value) ? value : isId(value) ? m.labels[Number.parseInt(value, 10)]?.trim() : undefined;
  } else {
    name = Object.hasOwn(m.labels, value) ? m.labels[value]?.trim() : names.includes(value) ? value : undefined;
  }
  if (name === undefined) {
    const allowed = isList(m.labels) ? m.labels.map((n, i) => `${i} = ${n}`) : Object.entries(m.labels ?? {}).map(([k, n]) => `${k} = ${n}`);
    return invalid(`field "${m.label}" is ${preview(raw)}, which is not one of the labels (${allowed.join(', ')})`);
  }
  const instruction = cleanContent(m.instruction ?? CLASSIFICATION_INSTRUCTION);
  const listed = names.length > 0 ? `\nLabels: ${names.join(', ')}` : '';
  const messages: Message[] = [
    { role: 'user', content: `${instruction}${listed}\n\nText: ${body}` },
    { role: 'assistant', content: name },
  ];
  // The label column stays in meta: it is the natural stratify key.
  return withSystem(data, messages, [m.text, 'system']);
}

/** `Array.isArray` for a list that may be readonly (which `Array.isArray` does not narrow). */
function isList<T>(value: readonly T[] | object | undefined): value is readonly T[] {
  return Array.isArray(value);
}
