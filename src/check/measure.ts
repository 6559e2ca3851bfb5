/**
 * One example's measurements, the same inline and in a worker: budget, then its MinHash signature,
 * then (when asked) its record for the target, serialised as its JSONL line.
 */
import { nearSignature, type MinHashParams } from '../dedup/minhash.js';
import { recordBuilder, type RecordFormat, type RecordResult, type RecordSource, type TargetName } from '../formats/index.js';
import type { Tokenizer } from '../tokenizers/types.js';
import type { Message, ReasonCode } from '../types.js';
import { serializeRecord } from '../write/jsonl.js';
import { applyBudget, type Budget, type Measured } from './budget.js';

/** Which record to build for each example that passes the budget. */
export interface RecordSpec {
  target: TargetName;
  format: RecordFormat;
}

/** An example's record as its JSONL line (UTF-8, ending in `\n`), or why the target cannot take it. */
export type RecordLine = { ok: true; line: Uint8Array } | { ok: false; reason: ReasonCode; message: string };

/** {@link Measured} plus the example's MinHash signature when near-dedup is on, and its record line when asked. */
export type MeasuredExample = Measured & { signature?: Uint32Array | undefined; record?: RecordLine | undefined };

/** What is measured of an example: an `Example` is one, and so is what the pool sends a worker. */
export interface MeasureItem {
  messages: Message[];
  tools?: unknown[] | undefined;
  nearUser?: string | undefined;
}

/**
 * Applies the budget and, for an example that passes, computes its MinHash signature (on the messages as
 * they will be written, after any truncation, with the item's `nearUser` standing for the user
 * messages), into `signatureOut` when given.
 *
 * @example
 * measureExample(tok, example, { overlong: 'drop' }, DEFAULT_MINHASH)
 */
export function measureExample(tokenizer: Tokenizer, item: MeasureItem, budget: Budget, near?: MinHashParams, signatureOut?: Uint32Array): MeasuredExample {
  const m = applyBudget(tokenizer, item.messages, budget, item.tools);
  if (!m.ok || !near) return m;
  return { ...m, signature: nearSignature(m.messages ?? item.messages, near, signatureOut, item.nearUser) };
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
  const built = toRecord(item.tools === undefined ? { messages } : { messages, tools: item.tools });
  return built.ok ? { ok: true, text: serializeRecord(built.record) } : built;
}

const builders = new Map<string, (source: RecordSource) => RecordResult>();

/** The record builder of a spec, made once per thread. */
export function builderFor(spec: RecordSpec): (source: RecordSource) => RecordResult {
  const key = `${spec.target}\u0000${spec.format}`;
  let build = builders.get(key);
  if (!build) {
    build = recordBuilder(spec.target, spec.format);
    builders.set(key, build);
  }
  return build;
}
