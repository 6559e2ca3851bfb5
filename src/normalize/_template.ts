/** `{{column}}` templates: parsing once, checking columns, rendering per row. */
import { LoraPrepError } from '../errors.js';

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

/** The top-level column a placeholder reads (what the mapping "uses"). */
export function topColumn(data: Record<string, unknown>, path: string): string {
  return Object.hasOwn(data, path) ? path : (path.split('.')[0] as string);
}

/**
 * Throws `MAPPING_INVALID` when a placeholder names a column the input lacks, listing the columns
 * that exist. Run on the first row of each file, before anything is written.
 */
export function checkColumns(paths: string[], first: Record<string, unknown>, file: string): void {
  const missing = paths.filter((p) => lookup(first, p) === undefined && !Object.hasOwn(first, topColumn(first, p)));
  if (missing.length > 0) {
    const have = Object.keys(first);
    throw new LoraPrepError(
      'MAPPING_INVALID',
      `${file}: the mapping names ${missing.map((m) => `{{${m}}}`).join(', ')} but the input has no such column; ` +
        `columns are: ${have.map((h) => JSON.stringify(h)).join(', ') || '(none)'}. Fix the template or the input.`,
      { location: { file, line: 1, field: missing[0] } },
    );
  }
}

/** Why a value cannot fill a placeholder, or its text. */
export type RenderResult = { ok: true; text: string } | { ok: false; reason: 'missing_field' | 'empty_content'; field: string };

/**
 * Renders a parsed template against one row. Missing or null values and blank strings fail. The
 * text of each placeholder is also pushed to `values` when given.
 */
export function render(parts: TemplatePart[], data: Record<string, unknown>, values?: string[]): RenderResult {
  let out = '';
  for (const part of parts) {
    if ('text' in part) {
      out += part.text;
      continue;
    }
    const value = lookup(data, part.path);
    if (value === undefined || value === null) return { ok: false, reason: 'missing_field', field: part.path };
    const text = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
    if (text.trim() === '') return { ok: false, reason: 'empty_content', field: part.path };
    values?.push(text);
    out += text;
  }
  return { ok: true, text: out };
}
