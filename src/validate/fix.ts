/**
 * `fixFile`: a repaired copy of a JSONL file, fixing only mechanical problems that have one right
 * answer and never change what a record means. Everything else is left for the user: the copy is
 * then validated like any file.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { once } from 'node:events';
import { exists } from '../_exists.js';
import { LoraPrepError } from '../errors.js';
import { entryOf, escapeSeparators, isFloatLiteral, MAX_JSON_DEPTH, nestingDepth, parseJsonNode, stringifyJsonNode, type JsonNode } from './_json-ast.js';
import { MAX_LINE_BYTES, rawLines } from './_raw-lines.js';
import { settleSchema, type Settled } from './_settle.js';
import type { RuleId } from './rules.js';
import { isBlank } from './schemas.js';
import { resolveSchema, type Resolved } from './targets.js';
import { checkOptions, fileSize, type ValidationOptions } from './validate.js';

/** What {@link fixFile} changed, per rule, and where the copy is. */
export interface FixResult {
  /** The rules whose problems were fixed, with how many lines (or records, or messages) changed, in order of first change. */
  changes: Array<{ rule: RuleId; count: number }>;
  /**
   * Where the repaired copy was written; the input's own path when nothing needed a fix and no
   * `outPath` was given, since no copy is written then (`written: false`): a copy beside a
   * dataset's files would be read as data.
   */
  outPath: string;
  /** False when nothing needed a fix and, no `outPath` given, no copy was written. */
  written: boolean;
  /**
   * Present when some records were copied without their record fixes (role names, float weights,
   * alpaca `input`): the first 100 such lines of the input, the rule that still fails there and
   * why `fixFile` left it. Line-level fixes (BOM, CRLF, U+2028) still apply to them.
   */
  left?: Array<{ line: number; rule: RuleId; reason: string }> | undefined;
}

/**
 * The path `fixFile` writes by default: `<name>.fixed.jsonl` beside the input.
 *
 * @example
 * defaultFixedPath('data/train.jsonl') // 'data/train.fixed.jsonl'
 */
export function defaultFixedPath(path: string): string {
  return path.endsWith('.jsonl') ? `${path.slice(0, -'.jsonl'.length)}.fixed.jsonl` : `${path}.fixed.jsonl`;
}

/**
 * Writes a repaired copy of `path` to `outPath` (default `<name>.fixed.jsonl`), fixing: a BOM; CRLF
 * and stray `\r` (JSON whitespace only); blank lines; a missing or repeated final newline; raw
 * U+2028/U+2029/U+0085 (escaped); ShareGPT role names (`user`→`human`, `assistant`→`gpt` in a
 * ShareGPT file, `human`/`gpt`→`user`/`assistant` in a messages file and in the prompt and
 * completion lists of TRL's conversational prompt-completion); a missing alpaca `input` (added as
 * `""`); float weights `1.0`/`0.0` (written `1`/`0`). A line that is not valid JSON is copied as
 * it is; so is a record nested deeper than Python's `json.loads` reads (no fix makes it readable),
 * listed in `left` with the reason. Records that need a fix are re-serialised compactly with
 * every other value, number literals included, kept exactly; untouched lines keep their bytes.
 * The input is never changed; the copy appears whole or not at all (temporary file, then rename),
 * and not at all when nothing needed a fix and no `outPath` was given (`written: false`, `outPath`
 * the input's path).
 *
 * @param path - the JSONL file to repair.
 * @param outPath - where to write; must not exist. Default `<name>.fixed.jsonl`.
 * @param options - `target` (or `'auto'`) and `format`, which decide the record fixes.
 * @returns the changes made, per rule, and the path written.
 * @throws LoraPrepError `OPTION_INVALID`, `INPUT_NOT_FOUND`, `INPUT_UNREADABLE`, `INPUT_FORMAT` (a `.gz`), `OUTPUT_NOT_EMPTY` (outPath exists), `WRITE_FAILED`.
 *
 * @example
 * const { changes, outPath } = await fixFile('train.jsonl', undefined, { target: 'openai' });
 * const report = await validateFile(outPath, { target: 'openai' });
 */
export async function fixFile(path: string, outPath: string | undefined, options: ValidationOptions): Promise<FixResult> {
  checkOptions(options);
  await fileSize(path);
  const out = outPath ?? defaultFixedPath(path);
  if (resolve(out) === resolve(path) || (await exists(out))) {
    throw new LoraPrepError('OUTPUT_NOT_EMPTY', `${out} already exists: lora-prep never overwrites a file with a fixed copy. Remove it, or pass another --out.`, {
      location: { file: out },
    });
  }
  let settled: Settled;
  try {
    settled = await settleSchema(path, options);
  } catch (e) {
    throw new LoraPrepError('INPUT_UNREADABLE', `${path}: cannot read the file: ${(e as Error).message}`, { location: { file: path }, cause: e });
  }
  const temp = join(dirname(out), `.${basename(out)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const fixer = new Fixer(options, settled);
  let stream;
  try {
    stream = createWriteStream(temp, { flags: 'wx' });
    await once(stream, 'open');
  } catch (e) {
    throw new LoraPrepError('WRITE_FAILED', `cannot create ${temp}: ${(e as Error).message}. Check the folder and its permissions.`, { cause: e });
  }
  const ws = stream;
  try {
    for await (const raw of rawLines(path)) {
      if (raw.overlong !== undefined) {
        throw new LoraPrepError('INPUT_FORMAT', `${path}:${raw.line}: the line is over ${MAX_LINE_BYTES.toLocaleString('en-US')} bytes; --fix cannot repair a file without line breaks.`, {
          location: { file: path, line: raw.line },
        });
      }
      for (const chunk of fixer.line(raw.line, raw.bytes, raw.terminated)) {
        if (!ws.write(chunk)) await once(ws, 'drain');
      }
    }
    fixer.finish();
    ws.end();
    await once(ws, 'finish');
    // Nothing to fix and no path asked for: no copy beside the input (one beside a dataset's files
    // would be read as data). A path the caller named gets its copy whatever it holds.
    if (fixer.changes().length === 0 && outPath === undefined) {
      await rm(temp, { force: true });
      const left = fixer.left();
      return left.length > 0 ? { changes: [], outPath: path, written: false, left } : { changes: [], outPath: path, written: false };
    }
    if (await exists(out)) {
      throw new LoraPrepError('OUTPUT_NOT_EMPTY', `${out} appeared while the fixed copy was being written; it was left alone. Remove it, or pass another --out.`);
    }
    await rename(temp, out);
  } catch (e) {
    ws.destroy();
    await rm(temp, { force: true }).catch(() => undefined);
    if (e instanceof LoraPrepError) throw e;
    throw new LoraPrepError('WRITE_FAILED', `cannot write ${out}: ${(e as Error).message}`, { cause: e });
  }
  const left = fixer.left();
  return left.length > 0 ? { changes: fixer.changes(), outPath: out, written: true, left } : { changes: fixer.changes(), outPath: out, written: true };
}

// --- internal ---

/** Most lines listed in `FixResult.left`. */
const MAX_LEFT_LISTED = 100;


const NEWLINE = Buffer.from('\n');
const SEPARATORS = /[\u2028\u2029\u0085]/;
const FLOAT_WEIGHT = /"weight"\s*:\s*-?\d+(?:\.|[eE])/;
const TO_MESSAGES_ROLE: Record<string, string> = { human: 'user', gpt: 'assistant' };
const TO_SHAREGPT_ROLE: Record<string, string> = { user: 'human', assistant: 'gpt' };

/**
 * The parts of a line that holds several JSON objects separated by CR alone (a file with classic
 * Mac OS line endings reads as one line), a trailing CR dropped; undefined for anything else.
 */
function crSeparated(bytes: Buffer): Buffer[] | undefined {
  const cr = bytes.indexOf(0x0d);
  if (cr < 0 || cr === bytes.length - 1) return undefined;
  const parts: Buffer[] = [];
  let from = 0;
  for (let at = cr; at >= 0; at = bytes.indexOf(0x0d, from)) {
    parts.push(bytes.subarray(from, at));
    from = at + 1;
  }
  if (from < bytes.length) parts.push(bytes.subarray(from));
  const objects = parts.filter((p) => p.toString('utf8').trim() !== '');
  if (objects.length < 2) return undefined;
  for (const p of objects) {
    try {
      const v: unknown = JSON.parse(p.toString('utf8'));
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    } catch {
      return undefined;
    }
  }
  return parts;
}

class Fixer {
  readonly #options: ValidationOptions;
  readonly #decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  readonly #counts = new Map<RuleId, number>();
  readonly #left: Array<{ line: number; rule: RuleId; reason: string }> = [];
  #resolved: Resolved | undefined;
  /** True once the schema is known: from the head of the file, else from the first record met. */
  #settled: boolean;
  #blank: { count: number; allEmpty: boolean } | undefined;
  #wrote = false;

  constructor(options: ValidationOptions, settled: Settled) {
    this.#options = options;
    this.#resolved = settled.resolved;
    this.#settled = settled.firstLine !== undefined;
  }

  left(): Array<{ line: number; rule: RuleId; reason: string }> {
    return this.#left;
  }

  #leave(line: number, rule: RuleId, reason: string): void {
    if (this.#left.length < MAX_LEFT_LISTED) this.#left.push({ line, rule, reason });
  }

  #change(rule: RuleId, n = 1): void {
    if (n > 0) this.#counts.set(rule, (this.#counts.get(rule) ?? 0) + n);
  }

  changes(): Array<{ rule: RuleId; count: number }> {
    return [...this.#counts].map(([rule, count]) => ({ rule, count }));
  }

  /** The chunks to write for one input line (none for a blank line). */
  *line(n: number, raw: Buffer, terminated: boolean): Generator<Buffer | string> {
    let bytes = raw;
    if (n === 1 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
      bytes = bytes.subarray(3);
      this.#change('A.1-bom');
    }
    const records = crSeparated(bytes);
    if (records) {
      // Records that classic Mac OS line endings (CR alone) joined into one line: one line each.
      this.#change('A.2-cr', records.length - 1);
      // A CR at the end of the file ended its last record as a line break would have.
      const last = terminated || bytes[bytes.length - 1] === 0x0d;
      for (const [i, part] of records.entries()) yield* this.line(n + 1, part, i < records.length - 1 || last);
      return;
    }
    if (bytes[bytes.length - 1] === 0x0d) {
      bytes = bytes.subarray(0, bytes.length - 1);
      this.#change('A.2-crlf');
    }
    let text: string;
    try {
      text = this.#decoder.decode(bytes);
    } catch {
      // Not UTF-8: copied byte for byte, for the user to re-encode.
      this.#flushBlank();
      this.#wrote = true;
      yield bytes;
      yield NEWLINE;
      if (!terminated) this.#change('A.2-final-newline');
      return;
    }
    if (isBlank(text)) {
      if (this.#blank) {
        this.#blank.count++;
        this.#blank.allEmpty &&= text === '';
      } else this.#blank = { count: 1, allEmpty: text === '' };
      return;
    }
    this.#flushBlank();
    let value: unknown;
    let parsed = true;
    try {
      value = JSON.parse(text);
    } catch {
      parsed = false;
    }
    if (parsed) {
      // In valid JSON a raw \r can only be whitespace between tokens (never inside a string).
      if (text.includes('\r')) {
        text = text.replace(/\r/g, '');
        this.#change('A.2-cr');
      }
      const hadSeparators = SEPARATORS.test(text);
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        const depth = nestingDepth(value);
        if (depth > MAX_JSON_DEPTH) {
          // Python cannot read the line whatever else is fixed, and flattening it would change the
          // record: it is copied as it is, and the copy's validation reports it (A.3).
          this.#leave(n, 'A.3-json', `nested ${depth.toLocaleString('en-US')} levels deep, past the ${MAX_JSON_DEPTH} that Python's json.loads reads (RecursionError): no fix can make it readable without changing the record; store the deep value as a JSON string, or flatten it`);
        } else {
          try {
            text = this.#fixRecord(text, value as Record<string, unknown>);
          } catch {
            // parseJsonNode recurses once per level; a stack too small for it leaves the record as it is.
            this.#leave(n, 'A.3-json', 'nested too deeply for the reader that keeps number literals as written: copied without record fixes');
          }
        }
      }
      if (hadSeparators) {
        text = escapeSeparators(text);
        this.#change('A.4-unescaped-separator');
      }
    }
    this.#wrote = true;
    yield text;
    yield NEWLINE;
    if (!terminated) this.#change('A.2-final-newline');
  }

  finish(): void {
    const b = this.#blank;
    if (!b) return;
    // Trailing empty lines are extra final newlines; whitespace lines are blank lines.
    if (b.allEmpty && this.#wrote) this.#change('A.2-final-newline');
    else this.#change('A.2-blank', b.count);
    this.#blank = undefined;
  }

  #flushBlank(): void {
    if (this.#blank) this.#change('A.2-blank', this.#blank.count);
    this.#blank = undefined;
  }

  /** The record's line with its record-level fixes, or `text` unchanged when none applies. */
  #fixRecord(text: string, record: Record<string, unknown>): string {
    if (!this.#settled) {
      // The head of the file held no record (CR-only line endings join it into one line): settle here.
      this.#settled = true;
      this.#resolved = resolveSchema(this.#options, record);
    }
    const r = this.#resolved;
    if (!r) return text;
    let node: JsonNode | undefined;
    const ast = (): JsonNode => (node ??= parseJsonNode(text));
    let changed = false;
    const messagesSchema = r.schema === 'messages' || r.schema === 'together-chat' || r.schema === 'mistral';
    if (messagesSchema && Array.isArray(record.messages)) {
      const renames = record.messages.filter((m) => isObj(m) && typeof m.role === 'string' && TO_MESSAGES_ROLE[m.role] !== undefined).length;
      if (renames > 0) {
        renameIn(ast(), 'messages', 'role', TO_MESSAGES_ROLE);
        this.#change(roleRule(r), renames);
        changed = true;
      }
      if (FLOAT_WEIGHT.test(text)) {
        const fixed = integerWeights(ast());
        this.#change(weightRule(r), fixed);
        changed ||= fixed > 0;
      }
    }
    if (r.schema === 'trl-pc') {
      // Conversational prompt-completion: the same ShareGPT names in the prompt and completion lists.
      let renames = 0;
      for (const key of ['prompt', 'completion'] as const) {
        const list = record[key];
        if (Array.isArray(list)) renames += list.filter((m) => isObj(m) && typeof m.role === 'string' && TO_MESSAGES_ROLE[m.role] !== undefined).length;
      }
      if (renames > 0) {
        renameIn(ast(), 'prompt', 'role', TO_MESSAGES_ROLE);
        renameIn(ast(), 'completion', 'role', TO_MESSAGES_ROLE);
        this.#change('F.3-sharegpt-role', renames);
        changed = true;
      }
    }
    if (r.schema === 'sharegpt' && Array.isArray(record.conversations)) {
      const renames = record.conversations.filter((t) => isObj(t) && typeof t.from === 'string' && TO_SHAREGPT_ROLE[t.from] !== undefined).length;
      if (renames > 0) {
        renameIn(ast(), 'conversations', 'from', TO_SHAREGPT_ROLE);
        this.#change('G.3-role', renames);
        changed = true;
      }
    }
    if (r.schema === 'alpaca' && 'instruction' in record && !('input' in record)) {
      const root = ast();
      if (root.kind === 'object') {
        const at = root.entries.findIndex(([k]) => k === 'instruction');
        root.entries.splice(at + 1, 0, ['input', { kind: 'string', value: '' }]);
        this.#change('H.1-missing-input');
        changed = true;
      }
    }
    return changed && node !== undefined ? stringifyJsonNode(node) : text;
  }
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The rule a role rename fixes, as the validator names it for this target. */
function roleRule(r: Resolved): RuleId {
  if (r.schema === 'together-chat') return 'C.3-role';
  if (r.schema === 'mistral') return 'D.2-role';
  return r.target === 'trl' || r.target === 'unsloth' ? 'F.3-sharegpt-role' : 'B.2-role';
}

function weightRule(r: Resolved): RuleId {
  if (r.schema === 'together-chat') return 'C.3-weight';
  if (r.schema === 'mistral') return 'D.5-weight';
  return 'B.6-weight';
}

/** Renames `field` values of the objects in the array under `key` (the last entry of that key, as parsers read it). */
function renameIn(node: JsonNode, key: string, field: string, map: Record<string, string>): void {
  const list = entryOf(node, key);
  if (list?.kind !== 'array') return;
  for (const item of list.items) {
    if (item.kind !== 'object') continue;
    for (const entry of item.entries) {
      const v = entry[1];
      if (entry[0] === field && v.kind === 'string' && map[v.value] !== undefined) entry[1] = { kind: 'string', value: map[v.value] as string };
    }
  }
}

/** Rewrites float weights equal to 0 or 1 (`1.0`, `0.0`, `1e0`) on messages as integers; returns how many. */
function integerWeights(node: JsonNode): number {
  const list = entryOf(node, 'messages');
  if (list?.kind !== 'array') return 0;
  let n = 0;
  for (const item of list.items) {
    if (item.kind !== 'object') continue;
    for (const entry of item.entries) {
      const v = entry[1];
      if (entry[0] !== 'weight' || v.kind !== 'number' || !isFloatLiteral(v.raw)) continue;
      const value = Number(v.raw);
      if (value === 0 || value === 1) {
        entry[1] = { kind: 'number', raw: String(Math.abs(value)) };
        n++;
      }
    }
  }
  return n;
}
