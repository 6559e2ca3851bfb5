/** One example's measurements, the same inline and in a worker: budget, then its MinHash signature. */
import { nearSignature, type MinHashParams } from '../dedup/minhash.js';
import type { Tokenizer } from '../tokenizers/types.js';
import type { Message } from '../types.js';
import { applyBudget, type Budget, type Measured } from './budget.js';

/** {@link Measured} plus the example's MinHash signature when near-dedup is on. */
export type MeasuredExample = Measured & { signature?: Uint32Array | undefined };

/**
 * Applies the budget and, for an example that passes, computes its MinHash signature (on the messages as
 * they will be written, after any truncation, with `nearUser` standing for the user messages when
 * given), into `signatureOut` when given.
 *
 * @example
 * measureExample(tok, messages, { overlong: 'drop' }, DEFAULT_MINHASH)
 */
export function measureExample(
  tokenizer: Tokenizer,
  messages: Message[],
  budget: Budget,
  near?: MinHashParams,
  tools?: readonly unknown[],
  signatureOut?: Uint32Array,
  nearUser?: string,
): MeasuredExample {
  const m = applyBudget(tokenizer, messages, budget, tools);
  if (!m.ok || !near) return m;
  return { ...m, signature: nearSignature(m.messages ?? messages, near, signatureOut, nearUser) };
}
