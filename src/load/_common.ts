/** Helpers shared by the loaders (not re-exported). */
import { LoraPrepError } from '../errors.js';
import { RAW_EXCERPT_CHARS } from './limits.js';
import type { LoadSource } from './types.js';

/**
 * The name a source goes by in locations and messages: the path exactly as given, or `name`.
 *
 * @example
 * sourceName('data/a.csv') // 'data/a.csv'
 */
export function sourceName(source: LoadSource): string {
  return typeof source === 'string' ? source : source.name;
}

/**
 * `text` cut to {@link RAW_EXCERPT_CHARS}, never between the two halves of a surrogate pair.
 *
 * @example
 * excerpt('x'.repeat(5000)).length // 1001 (1000 characters and '…')
 */
export function excerpt(text: string): string {
  if (text.length <= RAW_EXCERPT_CHARS) return text;
  let end = RAW_EXCERPT_CHARS;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

/**
 * Throws `ABORTED` when `signal` is aborted; loaders call it between chunks and rows.
 *
 * @example
 * throwIfAborted(ctx.signal, 'data/a.csv');
 */
export function throwIfAborted(signal: AbortSignal | undefined, file: string): void {
  if (signal?.aborted) {
    throw new LoraPrepError('ABORTED', `${file}: loading stopped because the run was aborted.`, {
      location: { file },
      cause: signal.reason,
    });
  }
}

/**
 * True for what `JSON.parse` returns for a `{...}`: a non-null, non-array object.
 *
 * @example
 * isJsonObject({ a: 1 }) // true; isJsonObject([1]) // false
 */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * What a parsed JSON value is, as words for messages ("an array", "null", ...).
 *
 * @example
 * describeJsonValue([1, 2]) // 'an array'
 */
export function describeJsonValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'boolean':
      return `a boolean (${String(value)})`;
    default:
      return 'an object';
  }
}

/**
 * The message of a `JSON.parse` failure (or of anything thrown), as a string.
 *
 * @example
 * errorMessage(new SyntaxError('Unexpected end of JSON input')) // 'Unexpected end of JSON input'
 */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
