/** The OpenAI chat record `{"messages":[...]}`, also what Axolotl's `chat_template` type reads. */
import type { Example } from '../types.js';
import type { RecordResult } from './index.js';

/**
 * `{"messages":[{role, content, name?, weight?}]}`. `weight` is written only on assistant messages,
 * the only ones it applies to.
 *
 * @example
 * messagesRecord(example) // { ok: true, record: { messages: [...] } }
 */
export function messagesRecord(example: Example): RecordResult {
  const messages = example.messages.map((m) => {
    const out: Record<string, unknown> = { role: m.role, content: m.content };
    if (m.name !== undefined) out.name = m.name;
    if (m.weight !== undefined && m.role === 'assistant') out.weight = m.weight;
    return out;
  });
  return { ok: true, record: { messages } };
}
