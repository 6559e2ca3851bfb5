/**
 * The loading stage: CSV, TSV, JSONL and JSON sources → `SourceRow`s stamped with file and line.
 * Streams every format; bad rows go to `ctx.reject`, never thrown.
 */
export { loadRecords } from './records.js';
export { detectFormat } from './format.js';
export { loadCsv } from './csv.js';
export { loadJsonl } from './jsonl.js';
export { loadJson } from './json.js';
export { readText, READ_CHUNK_BYTES } from './text.js';
export {
  DEFAULT_MAX_FIELD_CHARS,
  DEFAULT_MAX_LINE_BYTES,
  MAX_CSV_FIELDS,
  MAX_JSON_DEPTH,
  RAW_EXCERPT_CHARS,
} from './limits.js';
export type { InputEncoding, InputFormat, LoadOptions, LoadSource, ReadTextOptions } from './types.js';
