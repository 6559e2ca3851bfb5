/** One example's measurements, the same inline and in a worker: budget, then its MinHash signature. */
import { nearSignature, type MinHashParams } from '../dedup/minhash.js';
import type { Tokenizer } from '../tokenizers/types.js';
import type { Message } from '../types.js';
import { applyBudget, type Budget, type Measured } from './budget.js';

/** {@link Measured} plus the example's MinHash signature when near-dedup is on. */
export type MeasuredExample = Measured & { signature?: Uint32Array | undefined };

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
