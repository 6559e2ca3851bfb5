/** Resource limits of the loaders, each with the reason for its size. */

/**
 * Longest excerpt of an offending row kept in a rejection's `raw`: enough to find and fix the row,
 * small enough that a file of broken rows does not turn `rejected.jsonl` into a second copy.
 *
 * @example
 * if (String(rejection.raw).length > RAW_EXCERPT_CHARS) console.log('cut');
 */
export const RAW_EXCERPT_CHARS = 1_000;

/**
 * Longest single JSONL line or JSON array element, in UTF-16 code units (64 Mi). Guards against a
 * file without newlines (a minified JSON array saved as .jsonl) growing one string until V8's
 * limit of about 512 Mi characters crashes the process; no sane training row comes near it.
 *
 * @example
 * if (line.length > MAX_RECORD_CHARS) console.log('would be rejected as invalid_json');
 */
export const MAX_RECORD_CHARS = 64 * 1024 * 1024;
