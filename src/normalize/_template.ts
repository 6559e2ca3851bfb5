/** `{{column}}` templates: parsing once, checking columns, rendering per row; what a header read the wrong way looks like. */
import { LoraPrepError } from '../errors.js';
import { exactNumber, inexactNumber } from './_fields.js';

/** A parsed template: literal text and placeholders in order. */
export type TemplatePart = { text: string } | { path: string };

const PLACEHOLDER = /\{\{\s*([^{}]+?)\s*\}\}/g;

/** Splits a template into literal text and `{{path}}` placeholders. */
export function parseTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const m of template.matchAll(PLACEHOLDER)) {
    const at = m.index;
    if (at > last) parts.push({ text: template.slice(last, at) });
    parts.push({ path: m[1] as string });
    last = at + m[0].length;
  }
  if (last < template.length) parts.push({ text: template.slice(last) });
  return parts;
}

/** The placeholders of a parsed template. */
export function placeholders(parts: TemplatePart[]): string[] {
  return parts.flatMap((p) => ('path' in p ? [p.path] : []));
}

/**
 * Looks a placeholder up in a row: the exact key first (CSV headers may contain dots), then the
 * dot path through nested objects and arrays.
 */
export function lookup(data: Record<string, unknown>, path: string): unknown {
  if (Object.hasOwn(data, path)) return data[path];
  let cur: unknown = data;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, key)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/**
 * Whether a dot path's walk through a row stops at an object lacking the next key (not at a missing
 * or non-object value, nor in a list, whose length varies from row to row).
 */
function reachesObject(data: Record<string, unknown>, path: string): boolean {
  let cur: unknown = data;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return false;
    if (!Object.hasOwn(cur, key)) return true;
    cur = (cur as Record<string, unknown>)[key];
  }
  return false;
}

/** The top-level column a placeholder reads (what the mapping "uses"). */
export function topColumn(data: Record<string, unknown>, path: string): string {
  return Object.hasOwn(data, path) ? path : (path.split('.')[0] as string);
}

/**
 * Throws `MAPPING_INVALID` when a placeholder names a column the input lacks, listing the columns
 * that exist. Run on the first row of each file, before anything is written.
 */
export function checkColumns(paths: string[], first: Record<string, unknown>, file: string, nested: readonly string[] = paths): void {
  // A dot path is checked as far as the first row goes: a typo under an object it has ({{meta.nope}})
  // is as much a job problem as a column it lacks; under a value that is not an object, left to the rows.
  const missing = paths.filter((p) => lookup(first, p) === undefined && (!Object.hasOwn(first, topColumn(first, p)) || (nested.includes(p) && reachesObject(first, p))));
  if (missing.length > 0) {
    const have = Object.keys(first);
    throw new LoraPrepError(
      'MAPPING_INVALID',
      `${file}: the mapping names ${missing.map((m) => `{{${m}}}`).join(', ')} but the input has no such column; ` +
        `columns are: ${have.map((h) => JSON.stringify(h)).join(', ') || '(none)'}. Fix the template or the input.${headerHint(first)}`,
      { location: { file, line: 1, field: missing[0] } },
    );
  }
}

/** Why a value cannot fill a placeholder (with the words, for `invalid_record`), or its text. */
export type RenderResult =
  | { ok: true; text: string }
  | { ok: false; reason: 'missing_field' | 'empty_content'; field: string }
  | { ok: false; reason: 'invalid_record'; field: string; message: string };

/**
 * Renders a parsed template against one row. Missing or null values and blank strings fail, and so
 * does a number JSON could not hold as written (past 2^53, or too large), also inside a list or an
 * object (written as JSON). Other numbers take their shortest form (`1.50` → `1.5`). The text of
 * each placeholder is also pushed to `values` when given, and with its path to `placed`.
 */
export function render(parts: TemplatePart[], data: Record<string, unknown>, values?: string[], placed?: Array<[string, string]>): RenderResult {
  let out = '';
  for (const part of parts) {
    if ('text' in part) {
      out += part.text;
      continue;
    }
    const value = lookup(data, part.path);
    if (value === undefined || value === null) return { ok: false, reason: 'missing_field', field: part.path };
    let text: string;
    if (typeof value === 'string') text = value;
    else if (typeof value === 'object') {
      let bad: number | undefined;
      text = JSON.stringify(value, (_key, v: unknown) => {
        if (bad === undefined && typeof v === 'number' && !exactNumber(v)) bad = v;
        return v;
      });
      if (bad !== undefined) return { ok: false, reason: 'invalid_record', field: part.path, message: inexactNumber(bad, `field "${part.path}" (a ${Array.isArray(value) ? 'list' : 'JSON object'})`) };
    } else if (typeof value === 'number' && !exactNumber(value)) {
      return { ok: false, reason: 'invalid_record', field: part.path, message: inexactNumber(value, `field "${part.path}"`) };
    } else text = String(value);
    if (text.trim() === '') return { ok: false, reason: 'empty_content', field: part.path };
    values?.push(text);
    placed?.push([part.path, text]);
    out += text;
  }
  return { ok: true, text: out };
}

/** The delimiters the CSV loader sniffs among, shown as the CLI takes them. */
const DELIMITERS: ReadonlyArray<[string, string]> = [
  [',', ','],
  [';', ';'],
  ['\t', '\\t'],
  ['|', '|'],
];

/**
 * A sentence for a header read the wrong way, or `''`: one column whose name holds a delimiter (the
 * file was split on another one), or names holding U+FFFD (bytes not valid in the encoding the file
 * was read with; the loader's warning about them is lost when the job stops).
 *
 * @example
 * headerHint({ 'question,answer': 'q,a' })
 * // ' The header has one column, "question,answer", whose name contains ",": ...'
 */
export function headerHint(first: Record<string, unknown>): string {
  const keys = Object.keys(first);
  let hint = '';
  const only = keys.length === 1 ? (keys[0] as string) : undefined;
  const delimiter = only === undefined ? undefined : DELIMITERS.find(([d]) => only.includes(d));
  if (only !== undefined && delimiter !== undefined) {
    const [, shown] = delimiter;
    hint +=
      ` The header has one column, ${JSON.stringify(only)}, whose name contains "${shown}": if the file's fields are separated by "${shown}", ` +
      `pass delimiter: '${shown}' (CLI --delimiter '${shown}').`;
  }
  const replaced = keys.filter((k) => k.includes('\uFFFD'));
  if (replaced.length > 0) {
    hint +=
      ` The column name${replaced.length === 1 ? '' : 's'} ${replaced.map((k) => JSON.stringify(k)).join(', ')} hold${replaced.length === 1 ? 's' : ''} U+FFFD (\uFFFD): ` +
      `the header has bytes that are not valid in the encoding the file was read with (UTF-8 unless set). ` +
      `Pass the file's encoding, e.g. encoding: 'windows-1252' (CLI --encoding windows-1252), the usual one of Excel exports.`;
  }
  return hint;
}
