/** `{"messages":[...]}`: OpenAI, Together, Mistral, MLX-LM, TRL, Axolotl, Unsloth and torchtune chat. */
import type { Example } from '../types.js';
import type { RecordResult } from './index.js';
import { firstProblem, type Rule } from './_rules.js';

/** How a target treats per-message `weight`. */
export type WeightSupport = 'assistant' | 'any' | 'none';

/** Settings of a messages writer. */
export interface MessagesOptions {
  /** Target name, for messages. */
  target: string;
  /** Where `weight` may appear: OpenAI and Mistral on assistant turns, Together on any; others not at all. */
  weights: WeightSupport;
  /** Conversation rules the trainer enforces. */
  rules?: readonly Rule[] | undefined;
}

/**
 * A `{"messages":[{role, content, name?, weight?}]}` builder for one target. A conversation that
 * breaks a rule of the target, or that marks a turn untrained (`weight: 0`) for a trainer that would
 * train on it anyway, is rejected as `unsupported_shape`. `weight: 1` is the default meaning and is
 * written only where the target reads weights.
 *
 * @example
 * messagesRecord({ target: 'openai', weights: 'assistant' })(example) // { ok: true, record: { messages: [...] } }
 */
export function messagesRecord(options: MessagesOptions): (example: Example) => RecordResult {
  return (example) => {
    const problem = firstProblem(example.messages, options.rules ?? []);
    if (problem) return { ok: false, reason: 'unsupported_shape', message: `${options.target}: ${problem}` };
    const messages: Array<Record<string, unknown>> = [];
    for (const m of example.messages) {
      const out: Record<string, unknown> = { role: m.role, content: m.content };
      if (m.name !== undefined) out.name = m.name;
      if (m.weight !== undefined) {
        const supported = options.weights === 'any' || (options.weights === 'assistant' && m.role === 'assistant');
        if (supported) out.weight = m.weight;
        else if (m.weight === 0 && m.role === 'assistant') {
          return { ok: false, reason: 'unsupported_shape', message: `${options.target} has no per-message weight: it would train on the assistant turn marked weight 0` };
        }
      }
      messages.push(out);
    }
    return { ok: true, record: { messages } };
  };
}
