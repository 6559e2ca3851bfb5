/** Resource limits of the loaders, each with the reason for its size. */
import { LoraPrepError } from '../errors.js';
import type { LoadOptions } from './types.js';

/**
 * Longest excerpt of an offending row kept in a rejection's `raw`: enough to find and fix the row,
 * small enough that a file of broken rows does not turn `rejected.jsonl` into a second copy.
 *
 * @example
 * if (String(rejection.raw).length > RAW_EXCERPT_CHARS) console.log('cut');
 */
export const RAW_EXCERPT_CHARS = 1_000;

/**
 * Default of `maxLineBytes`: the longest JSONL line, JSON array element or CSV record, in UTF-8
 * bytes (16 MiB). A training row that long would be some 4 million tokens, beyond every model's
 * context, so real data never comes near it; what does is a file without line breaks (a minified
 * JSON array saved as .jsonl, binary data, a CSV quote that never closes). A loader holds at most
 * one line at a time, so this also caps the memory one bad line can take, far below V8's limit of
 * about 512 Mi characters per string, which would otherwise crash the process.
 *
 * @example
 * loadJsonl(path, { maxLineBytes: 64 * 1024 * 1024 }, ctx); // for unusually long rows
 */
export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;

/**
 * Default of `maxFieldChars`: the longest CSV/TSV cell, in characters (4 Mi, about a million
 * tokens). Real cells (a question, an answer, a whole contract) are far shorter; a longer one is
 * nearly always the rest of the file swallowed by a stray quote, and saying so beats training on it.
 *
 * @example
 * loadCsv(path, { maxFieldChars: 16 * 1024 * 1024 }, ctx);
 */
export const DEFAULT_MAX_FIELD_CHARS = 4 * 1024 * 1024;

/**
 * Deepest nesting of arrays and objects accepted in a JSON row (890 levels). `JSON.parse` itself
 * copes with any depth, but what later handles the value recurses: V8's `JSON.stringify` and
 * `structuredClone` overflow the stack at about 4,000 levels, and Python's `json.loads`, which the
 * trainers read with, at 995 (3.8-3.11). `validate` fails lines past 900; a row's nesting reaches
 * the output with a few levels added at most (`tools` → function → parameters), so rows are held
 * to 890 and lora-prep never writes a line its own `validate` fails. Real rows nest a handful of
 * levels, so a deeper row is rejected as `invalid_record` instead of crashing a later stage.
 *
 * @example
 * if (depth > MAX_JSON_DEPTH) console.log('rejected');
 */
export const MAX_JSON_DEPTH = 890;

/**
 * Most fields in one CSV record (100,000). csv-parse makes an object per field, so a 16 MiB line of
 * delimiters would take gigabytes; real tables have tens of columns, wide exports a few thousand.
 *
 * @example
 * if (fields > MAX_CSV_FIELDS) console.log('rejected as malformed_row');
 */
export const MAX_CSV_FIELDS = 100_000;

/**
 * The loaders' limits and encoding policy, defaults applied and values checked.
 *
 * @example
 * const { maxLineBytes } = resolveLimits(options, 'data/a.jsonl');
 */
export interface ResolvedLimits {
  maxLineBytes: number;
  maxFieldChars: number;
  onInvalidEncoding: 'reject' | 'replace';
}

/**
 * Applies the defaults to the limit options and checks them (they may come from a caller that
 * skipped option validation).
 *
 * @throws LoraPrepError `OPTION_INVALID` naming the option and the value.
 *
 * @example
 * resolveLimits({}, 'a.csv') // { maxLineBytes: 16777216, maxFieldChars: 4194304, onInvalidEncoding: 'reject' }
 */
export function resolveLimits(options: LoadOptions, file: string): ResolvedLimits {
  const maxLineBytes = positiveInteger(options.maxLineBytes, DEFAULT_MAX_LINE_BYTES, 'maxLineBytes', file);
  const maxFieldChars = positiveInteger(options.maxFieldChars, DEFAULT_MAX_FIELD_CHARS, 'maxFieldChars', file);
  const onInvalidEncoding = options.onInvalidEncoding ?? 'reject';
  if (onInvalidEncoding !== 'reject' && onInvalidEncoding !== 'replace') {
    throw new LoraPrepError(
      'OPTION_INVALID',
      `${file}: onInvalidEncoding must be 'reject' or 'replace', got ${JSON.stringify(onInvalidEncoding)}.`,
      { location: { file, field: 'onInvalidEncoding' } },
    );
  }
  return { maxLineBytes, maxFieldChars, onInvalidEncoding };
}

// --- internal ---

function positiveInteger(value: unknown, fallback: number, name: string, file: string): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return value;
  throw new LoraPrepError('OPTION_INVALID', `${file}: ${name} must be a positive whole number of ${name === 'maxLineBytes' ? 'bytes' : 'characters'}, got ${JSON.stringify(value) ?? String(value)}.`, {
    location: { file, field: name },
  });
}
