/**
 * One example's measurements, the same inline, on the main thread beside a worker, and in a
 * worker: its dedup keys (and whether it copies a kept row), the budget, its MinHash signature,
 * and its record for the target, serialised as its JSONL line, each when asked.
 */
import { exampleKeys, hash64Parts, normalizedContents, type ExampleKeys } from '../dedup/index.js';
import { nearText, textSignature, type MinHashParams } from '../dedup/minhash.js';
import type { RecordFormat, RecordResult, RecordSource, TargetName } from '../formats/index.js';
import type { Tokenizer } from '../tokenizers/types.js';
import type { Example, Message, ReasonCode } from '../types.js';
import { serializeRecord } from '../write/jsonl.js';
import { applyBudget, type Budget, type Measured } from './budget.js';

/** Which record to build for each example that passes the budget. */
export interface RecordSpec {
  target: TargetName;
  format: RecordFormat;
}

/**
 * An example's record as its JSONL line, or why the target cannot take it. The line is UTF-8
 * bytes ending in `\n` (`line`) when a worker serialised it, and text without the newline
 * (`text`) when this thread did: encoding it here would only be copied again into the file.
 */
export type RecordLine =
  | { ok: true; line: Uint8Array; text?: undefined }
  | { ok: true; text: string; line?: undefined }
  | { ok: false; reason: ReasonCode; message: string };

/** What stands for the count of a copy of a kept row, which is not tokenized. */
export interface DuplicateResult {
  ok: false;
  reason: 'duplicate';
  message: string;
  /** The kept row it copies. */
  duplicateOf: number;
}

/** The dedup keys to compute beside the count. */
export interface KeySpec {
  /**
   * What exact dedup compares: the whole conversation, its prompt, or the string a function of
   * the user's makes of the example (on the main thread only: a function cannot go to a worker).
   */
  key: 'conversation' | 'prompt' | ((example: Example) => string);
  /**
   * The row already kept with the same key, or -1: a copy of a kept row is not tokenized (the
   * main thread's exact-dedup table, read from shared memory in a worker).
   */
  seen?: ((hi: number, lo: number) => number) | undefined;
}

/**
 * {@link Measured} plus what else was asked of the example: its MinHash signature (and the text it
 * was computed from, when keys were asked too), its record line, its dedup keys; or, instead of a
 * count, the kept row it copies.
 */
export type MeasuredExample = (Measured | DuplicateResult) & {
  signature?: Uint32Array | undefined;
  record?: RecordLine | undefined;
  keys?: ExampleKeys | undefined;
  nearText?: string | undefined;
  /**
   * The exact-dedup key of the example as read, when keys were asked and it is not the one in
   * `keys` (the example was truncated) or there is none (the budget rejected it): a copy of a row
   * kept while this one was with a worker is still a duplicate, as it is when counted inline.
   */
  readKey?: { hi: number; lo: number } | undefined;
};

/** What is measured of an example: an `Example` is one, and so is what the pool sends a worker. */
export interface MeasureItem {
  messages: Message[];
  tools?: unknown[] | undefined;
  nearUser?: string | undefined;
  alpacaInput?: string | undefined;
}

/** What {@link measureExample} does besides counting. */
export interface MeasureOptions {
  budget: Budget;
  /** MinHash parameters: a signature for near-dedup. */
  near?: MinHashParams | undefined;
  /** Dedup keys, and the look-up that skips copies of kept rows. */
  keys?: KeySpec | undefined;
}

/**
 * Applies the budget and, for an example that passes, computes its MinHash signature (on the messages as
 * they will be written, after any truncation, with the item's `nearUser` standing for the user
 * messages), into `signatureOut` when given. With `keys`, the example's hashes come first: a copy
 * of a row already kept is answered with that row and not tokenized; the hashes of a truncated
 * example are those of the messages as written.
 *
 * @example
 * measureExample(tok, example, { budget: { overlong: 'drop' }, near: DEFAULT_MINHASH })
 */
export function measureExample(tokenizer: Tokenizer, item: MeasureItem, options: MeasureOptions, signatureOut?: Uint32Array): MeasuredExample {
  const { budget, near, keys } = options;
  const before = keys ? keysBefore(item, keys) : undefined;
  if (isDuplicate(before)) return before;
  const m: MeasuredExample = applyBudget(tokenizer, item.messages, budget, item.tools, item.alpacaInput);
  if (!m.ok) return withReadKey(m, before);
  if (keys && before) keysAfter(item, m, keys, before, near !== undefined);
  if (near) m.signature = textSignature(m.nearText ?? nearText(m.messages ?? item.messages, undefined, item.nearUser), near, signatureOut);
  return m;
}

/** An example's hashes before counting, with the normalised contents they came from. */
export interface KeysBefore {
  keys: ExampleKeys;
  normalized: string[];
}

/**
 * Before counting: the example's hashes, or (when `spec.seen` knows its key) the kept row it
 * copies, as the result that stands for its count.
 *
 * @example
 * keysBefore(example, { key: 'conversation' }) // { keys, normalized }
 */
export function keysBefore(item: MeasureItem, spec: KeySpec): KeysBefore | DuplicateResult {
  const normalized = normalizedContents(item.messages);
  const keys = keysOf(item, item.messages, spec, normalized);
  const first = spec.seen ? spec.seen(keys.keyHi, keys.keyLo) : -1;
  return first >= 0 ? { ok: false, reason: 'duplicate', message: '', duplicateOf: first } : { keys, normalized };
}

/**
 * After counting: gives a passing example its hashes and, with near-dedup, its near text, both of
 * the messages as written (computed again only when truncation changed them).
 *
 * @example
 * keysAfter(example, measured, { key: 'conversation' }, keysBefore(example, spec), true)
 */
export function keysAfter(item: MeasureItem, m: MeasuredExample & { ok: true }, spec: KeySpec, before: KeysBefore, near: boolean): void {
  let { keys, normalized } = before;
  if (m.messages) {
    withReadKey(m, before);
    normalized = normalizedContents(m.messages);
    // The shorter versions are those of the example as read: truncation drops its early turns.
    const { prefixes } = keys;
    keys = { ...keysOf(item, m.messages, spec, normalized), prefixes };
  }
  m.keys = keys;
  if (near) m.nearText = nearText(m.messages ?? item.messages, normalized, item.nearUser);
}

/**
 * Gives a measurement the exact-dedup key of the example as read (see `MeasuredExample.readKey`),
 * when the keys were computed before counting.
 *
 * @example
 * return withReadKey(applyBudget(tok, messages, budget), keysBefore(item, spec));
 */
export function withReadKey(m: MeasuredExample, before: KeysBefore | undefined): MeasuredExample {
  if (before) m.readKey = { hi: before.keys.keyHi, lo: before.keys.keyLo };
  return m;
}

/** The hashes of `messages` (the item's own, or as truncated); a user's key function is given the example with them. */
function keysOf(item: MeasureItem, messages: Message[], spec: KeySpec, normalized: readonly string[]): ExampleKeys {
  if (typeof spec.key !== 'function') return exampleKeys(messages, spec.key, normalized);
  const { hashHi, hashLo, prefixes } = exampleKeys(messages, 'conversation', normalized);
  // With a key function, items are the caller's examples (countTokens keeps the keys on its thread).
  const example = item as Example;
  const [keyHi, keyLo] = hash64Parts(spec.key(messages === example.messages ? example : { ...example, messages }));
  return { hashHi, hashLo, keyHi, keyLo, ...(prefixes ? { prefixes } : {}) };
}

/**
 * The record of a measured example (its messages as they will be written, after any truncation)
 * as JSON text without the newline, or the writer's reason for refusing it.
 *
 * @example
 * recordText(recordBuilder('openai', 'chat'), example, measured) // { ok: true, text: '{"messages":[...]}' }
 */
export function recordText(
  toRecord: (source: RecordSource) => RecordResult,
  item: MeasureItem,
  measured: Measured & { ok: true },
): { ok: true; text: string } | { ok: false; reason: ReasonCode; message: string } {
  const messages = measured.messages ?? item.messages;
  const source: RecordSource = { messages };
  if (item.tools !== undefined) source.tools = item.tools;
  if (item.alpacaInput !== undefined) source.alpacaInput = item.alpacaInput;
  const built = toRecord(source);
  return built.ok ? { ok: true, text: serializeRecord(built.record) } : built;
}

/**
 * Whether a measurement, or what stands for one, is the answer for a copy of a kept row.
 *
 * @example
 * isDuplicate(keysBefore(example, spec)) // true when spec.seen knows its key
 */
export function isDuplicate(x: object | undefined): x is DuplicateResult {
  return x !== undefined && 'duplicateOf' in x;
}
