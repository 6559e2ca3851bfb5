/**
 * Settles what a file is checked (or fixed) against before the checking pass: reads the first
 * records (streamed, bounded) and resolves the target, format and schema. For `target: 'auto'`
 * it reads on while the guess is only a default (see `TargetGuesser`), so a file whose first
 * lines have no tools is not taken for OpenAI when later lines show whose tools they are.
 */
import { MAX_JSON_DEPTH, nestingDepth } from './_json-ast.js';
import { rawLines, type RawLine } from './_raw-lines.js';
import { isBlank } from './schemas.js';
import { GUESS_MAX_BYTES, resolveSchema, TargetGuesser, type Resolved, type ValidationRecordFormat, type ValidationTarget } from './targets.js';

/** What the first records of a file settle. */
export interface Settled {
  /** The target, format and schema; undefined when there is no record, or `auto` cannot tell. */
  resolved: Resolved | undefined;
  /**
   * The line of the first record (a line that parses to a JSON object a trainer can read);
   * undefined when none was found within the first {@link GUESS_MAX_BYTES} bytes, in which case
   * the checking pass settles from the first record it meets.
   */
  firstLine: number | undefined;
}

/**
 * Reads the head of the file at `path` and settles the schema: from the first record for a named
 * target, from the first records (at most `GUESS_MAX_RECORDS`, `GUESS_MAX_BYTES`) for `'auto'`.
 *
 * @example
 * const { resolved } = await settleSchema('train.jsonl', { target: 'auto' });
 */
export async function settleSchema(path: string, options: { target: ValidationTarget | 'auto'; format?: ValidationRecordFormat | undefined }): Promise<Settled> {
  const guesser = options.target === 'auto' ? new TargetGuesser() : undefined;
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let first: { line: number; record: Record<string, unknown> } | undefined;
  let bytes = 0;
  for await (const raw of rawLines(path)) {
    bytes += raw.overlong ?? raw.bytes.length;
    const record = recordOf(raw, decoder);
    if (record) {
      first ??= { line: raw.line, record };
      if (!guesser || guesser.add(raw.line, record)) break;
    }
    if (bytes >= GUESS_MAX_BYTES) break;
  }
  if (!first) return { resolved: undefined, firstLine: undefined };
  const guess = guesser?.result();
  if (guesser && !guess) return { resolved: undefined, firstLine: first.line };
  return { resolved: resolveSchema(options, first.record, guess), firstLine: first.line };
}

/**
 * The record a line holds, exactly where the validator checks a record: a BOM on line 1 and a
 * final `\r` set aside, valid UTF-8, not blank, JSON that parses to an object nested no deeper
 * than Python reads. Undefined for anything else.
 */
function recordOf(raw: RawLine, decoder: InstanceType<typeof TextDecoder>): Record<string, unknown> | undefined {
  if (raw.overlong !== undefined) return undefined;
  let bytes = raw.bytes;
  if (raw.line === 1 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
  if (bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, bytes.length - 1);
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return undefined;
  }
  if (isBlank(text)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  if (nestingDepth(value) > MAX_JSON_DEPTH) return undefined;
  return value as Record<string, unknown>;
}
